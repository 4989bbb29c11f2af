"""The Dataset screen (Pilot) with reg rows: a config whose reg_data_dir is "" lists no reg row beside the
project's reg/ (what trains, r1 item 2), and a change of a train caption ends redo of an undone reg change
(redo works until the next change, whichever folder's journal holds it: r1 item 1)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset, run_dataset_app
from PIL import Image

from loratui.core.captions import redo_dir


def add_reg(project: Path) -> Path:
    concept = project / "reg" / "1_person"
    concept.mkdir(parents=True)
    for name in ("p1", "p2"):
        Image.new("RGB", (32, 32), (10, 20, 30)).save(concept / f"{name}.png")
    (concept / "p1.txt").write_text("person, solo, standing\n", encoding="utf-8")
    return concept


def dataset_screen(app):
    from loratui.tui.screens.dataset import DatasetScreen

    return next(s for s in app.screen_stack if isinstance(s, DatasetScreen))


def test_a_config_with_reg_data_dir_empty_shows_no_reg_rows(tmp_path):
    from loratui.core.dataset import locate_dataset
    from loratui.tui.app import LoratuiApp

    project = make_dataset(tmp_path / "proj")
    add_reg(project)
    config = project / "config.toml"
    config.write_text('[dataset]\ntrain_data_dir = "img"\nreg_data_dir = ""\n')
    app = LoratuiApp(locate_dataset(project), config_path=config, settings_file=tmp_path / "cfg" / "tui.toml",
                     keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.store.captions_loaded and app.store.scan is not None, "captions and scan")
            await pilot.pause()
            assert app.store.reg_rows == [] and len(app.store.all_rows) == 6
            status = str(dataset_screen(app).query_one("#status").render())
            assert "6 images" in status and "reg" not in status

    asyncio.run(main())


def test_a_train_edit_after_undoing_a_reg_edit_ends_its_redo(tmp_path):
    project = make_dataset(tmp_path / "proj")
    reg = add_reg(project)
    caption = reg / "p1.txt"
    train_caption = project / "img" / "10_alice" / "a01.txt"

    async def scenario(app, pilot):
        screen = dataset_screen(app)
        await pilot.press("slash", *"reg", "enter")
        await pilot.pause()
        await pilot.press("a", *"blue eyes", "enter")
        await until(pilot, lambda: "blue eyes" in caption.read_text(), "the reg caption written")
        await pilot.press("escape", "escape")
        await pilot.press("ctrl+z")
        await until(pilot, lambda: caption.read_text() == "person, solo, standing\n", "the reg undo")
        await until(pilot, lambda: not screen.writing, "the undo's end")
        assert list(redo_dir(reg.parent).glob("*.json"))  # redoable, until the next change
        await pilot.press("slash", "ctrl+u", *"not reg", "enter")
        await pilot.pause()
        assert screen.current.name == "a01.png"
        await pilot.press("a", *"green eyes", "enter")
        await until(pilot, lambda: "green eyes" in train_caption.read_text(), "the train caption written")
        await until(pilot, lambda: not screen.writing, "the write's end")
        assert not list(redo_dir(reg.parent).glob("*.json"))  # the train change ended the reg redo
        await pilot.press("escape", "escape")
        await pilot.press("ctrl+y")
        await until(pilot, lambda: not screen.writing and any(
            "nothing to redo" in n.message for n in app._notifications), "ctrl+y refused")
        assert caption.read_text() == "person, solo, standing\n"
        await pilot.press("ctrl+z")  # the newest change: the train one
        await until(pilot, lambda: "green eyes" not in train_caption.read_text(), "the train undo")

    run_dataset_app(tmp_path, project, scenario)
