"""A bulk add that would make a .txt caption beside an existing .caption (caption_extension is probably
wrong) says so in the preview, with the count and the files, so the user can cancel (user hunt; Pilot)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from fixtures.tui_dataset import make_dataset
from PIL import Image

from loratui.core.captions import AddTags, plan_edits, read_caption
from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.bulk_preview import beside_note, captions_beside
from loratui.tui.screens.noted_plan_preview import NotedPlanPreview


async def until(pilot, test, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, f"{what}: never true"
        await pilot.pause(0.05)


def test_the_preview_names_the_caption_beside_and_the_setting(tmp_path):
    img = make_dataset(tmp_path / "proj") / "img"
    Image.new("RGB", (16, 16)).save(img / "10_alice" / "a13.png")
    (img / "10_alice" / "a13.caption").write_text("alice, kohya style caption\n")
    app = LoratuiApp(locate_dataset(img), settings_file=tmp_path / "cfg" / "tui.toml",
                     keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.store.captions_loaded and app.store.scan is not None, "loaded")
            await pilot.press("slash", *"folder:*alice*", "enter")
            await pilot.pause()
            await pilot.press("plus", *"alice", "enter")
            await until(pilot, lambda: isinstance(app.screen, NotedPlanPreview), "the preview with its note")
            [note] = app.screen.notes
            assert note.startswith("1 of the 2 new caption file(s) would sit beside a caption with another extension")
            assert "10_alice/a13.caption" in note and "a04" not in note
            assert 'caption_extension = ".caption" on Settings (3)' in note and "cancel" in note
            assert [str(w.render()) for w in app.screen.query(".plan-left-out")] == [note]
            assert {p.name for p in (e.path for e in app.screen.plan.edits if e.new_file)} == {"a04.txt", "a13.txt"}
            await pilot.press("escape")  # cancelled: nothing written
            await pilot.pause()

    asyncio.run(main())
    assert not (img / "10_alice" / "a13.txt").exists()


def test_the_note_counts_and_cuts_the_list(tmp_path):
    folder = tmp_path / "10_x"
    folder.mkdir()
    captions = []
    for i in range(8):
        (folder / f"i{i}.caption").write_text("t\n")
        captions.append(read_caption(folder / f"i{i}.txt"))
    (folder / "plain.png").write_bytes(b"")
    captions.append(read_caption(folder / "plain.txt"))
    plan = plan_edits(captions, [AddTags(["new"], 0)])
    beside = captions_beside(plan)
    assert len(beside) == 8 and all(other.suffix == ".caption" for other in beside.values())
    note = beside_note(beside, tmp_path, plan.new_files, "")
    assert note.startswith("8 of the 9 new caption file(s)") and "and 3 more" in note
    assert "on Settings" in note and "\n" not in note


def test_no_note_when_nothing_is_beside(tmp_path):
    folder = tmp_path / "10_x"
    folder.mkdir()
    (folder / "a.txt").write_text("t\n")
    plan = plan_edits([read_caption(folder / "a.txt"), read_caption(folder / "b.txt")], [AddTags(["new"], 0)])
    assert captions_beside(plan) == {}
