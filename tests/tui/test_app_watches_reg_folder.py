"""The app's watcher (LoratuiApp.start_watching) follows the reg folder as well as the train folder:
reg images are rows of the Dataset table, so a reg caption changed outside the app (a tagger run, an
editor) shows in the table like a train one instead of staying stale until F5 (Pilot, watch on).
pytest-asyncio is not installed: the session runs in asyncio.run."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset
from PIL import Image

from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp


def add_reg(project: Path) -> Path:
    concept = project / "reg" / "1_person"
    concept.mkdir(parents=True)
    Image.new("RGB", (32, 32), (10, 20, 30)).save(concept / "p1.png")
    (concept / "p1.txt").write_text("person, solo\n", encoding="utf-8")
    return concept


def table_text(app) -> str:
    from loratui.tui.screens.dataset import DatasetScreen

    table = next(s for s in app.screen_stack if isinstance(s, DatasetScreen)).table
    return "\n".join(table.render_line(y).text for y in range(table.size.height))


def caption_tags(app, name: str) -> list[str]:
    row = next(row for row in app.store.all_rows if row.name == name)
    return row.caption.tags if row.caption is not None else []


async def write_until_shown(pilot, app, path: Path, name: str, tag: str) -> None:
    """Write ``path`` from outside until its row holds ``tag`` (the watcher starts in its thread)."""
    for i in range(40):
        path.write_text(f"person, {tag}{i}\n", encoding="utf-8")
        for _ in range(6):
            await pilot.pause(0.1)
            if any(t.startswith(tag) for t in caption_tags(app, name)):
                return
    raise AssertionError(f"{path}: the outside change never reached the table")


def test_a_reg_caption_changed_outside_shows_in_the_table(tmp_path):
    project = make_dataset(tmp_path / "proj")
    reg = add_reg(project)
    app = LoratuiApp(locate_dataset(project), settings_file=tmp_path / "cfg" / "tui.toml",
                     keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=True)

    async def main():
        async with app.run_test(size=(100, 24)) as pilot:
            await until(pilot, lambda: app.store.captions_loaded and app.store.scan is not None
                        and app.store.reg_root is not None, "captions, scan and reg rows", timeout=10, poll=0.05)
            await write_until_shown(pilot, app, project / "img" / "10_alice" / "a01.txt", "a01.png", "trainedit")
            await write_until_shown(pilot, app, reg / "p1.txt", "p1.png", "regedit")
            await pilot.press("end")
            await pilot.pause()
            assert "regedit" in table_text(app)  # the row shows the new caption
            assert (reg / "p1.txt").read_text(encoding="utf-8").startswith("person, regedit")  # nothing written back

    asyncio.run(main())
