"""ctrl+z leaves out a caption whose image is gone, says with the app's keys how its text comes back, and
it does: the image put back, ctrl+y then ctrl+z write it (r1 review item 2). A walk that leaves out every
file promises no redo of it."""

from __future__ import annotations

import asyncio
import shutil

from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset

from loratui.core.captions import AddTags, apply_plan, load_captions, plan_edits, read_caption
from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp


def app_for(tmp_path, root) -> LoratuiApp:
    return LoratuiApp(locate_dataset(root), settings_file=tmp_path / "cfg" / "tui.toml",
                      keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=False)


def notes(app, word: str) -> list:
    return [n for n in app._notifications if word in str(n.message)]


def test_ctrl_z_keeps_the_text_and_ctrl_y_then_ctrl_z_writes_it_once_the_image_is_back(tmp_path):
    root = make_dataset(tmp_path / "proj")
    img = root / "img"
    before = (img / "5_bob" / "b01.txt").read_bytes()
    apply_plan(plan_edits(load_captions(img), [AddTags(["w2tag"])]), img)
    shutil.move(img / "5_bob" / "b01.png", tmp_path / "b01.png")  # to the trash, caption and all
    (img / "5_bob" / "b01.txt").unlink()
    app = app_for(tmp_path, root)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.store.captions_loaded and app.store.scan is not None, timeout=10)
            await pilot.press("ctrl+z")
            await until(pilot, lambda: notes(app, "undid"))
            (note,) = notes(app, "undid")
            assert ("Left out 1 caption(s) whose image is gone (deleted since), not undone: 5_bob/b01.txt; the "
                    "journal keeps their text until the next change: put the image back, then ctrl+y and ctrl+z "
                    "write it") in note.message, note.message
            assert "ctrl+y redoes it" in note.message and note.severity == "warning"
            shutil.move(tmp_path / "b01.png", img / "5_bob" / "b01.png")  # back from the trash
            await pilot.press("ctrl+y")
            await until(pilot, lambda: notes(app, "redid"))
            await pilot.press("ctrl+z")
            await until(pilot, lambda: len(notes(app, "undid")) == 2)
            assert (img / "5_bob" / "b01.txt").read_bytes() == before

    asyncio.run(main())


def test_a_walk_that_left_out_every_file_promises_no_redo(tmp_path):
    root = make_dataset(tmp_path / "proj")
    img = root / "img"
    apply_plan(plan_edits([read_caption(img / "5_bob" / "b01.txt")], [AddTags(["w2tag"])]), img)
    (img / "5_bob" / "b01.png").unlink()
    (img / "5_bob" / "b01.txt").unlink()
    app = app_for(tmp_path, root)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.store.captions_loaded and app.store.scan is not None, timeout=10)
            await pilot.press("ctrl+z")
            await until(pilot, lambda: notes(app, "undid"))
            (note,) = notes(app, "undid")
            assert "0 caption(s); nothing in it to redo. Left out 1 caption(s)" in note.message, note.message
            assert "redoes it" not in note.message

    asyncio.run(main())
