"""The Dataset screen (Pilot) with reg rows: a config whose reg_data_dir is "" lists no reg row beside the
project's reg/ (what trains, r1 item 2), and a change of a train caption ends redo of an undone reg change
(redo works until the next change, whichever folder's journal holds it: r1 item 1)."""

from __future__ import annotations

import asyncio

from fixtures.pilot_wait import until
from fixtures.reg_rows import add_reg, app_with_config, dataset_screen
from fixtures.tui_dataset import make_dataset, run_dataset_app

from loratui.core.captions import redo_dir


def test_a_config_with_reg_data_dir_empty_shows_no_reg_rows(tmp_path):
    project = make_dataset(tmp_path / "proj")
    add_reg(project)
    config = project / "config.toml"
    config.write_text('[dataset]\ntrain_data_dir = "img"\nreg_data_dir = ""\n')
    app = app_with_config(project, config, tmp_path)

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
