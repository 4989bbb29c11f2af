"""A bulk "add a tag" in the app makes no caption file for an image sd-scripts cannot load (0 bytes,
corrupt), as `loratui tags add` does: the preview says how many were left out and names them; an image
sharing its caption with a readable one (pair.png + pair.jpg) keeps it; captioned images are not probed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from fixtures.tui_dataset import make_dataset
from PIL import Image

from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.noted_plan_preview import NotedPlanPreview
from loratui.tui.screens.plan_preview import PlanPreviewScreen


async def until(pilot, test, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, f"{what}: never true"
        await pilot.pause(0.05)


def broken_dataset(tmp_path: Path) -> Path:
    img = make_dataset(tmp_path / "proj") / "img"
    folder = img / "10_alice"
    (folder / "zero.png").write_bytes(b"")
    (folder / "corrupt.png").write_bytes(b"this is not a png at all")
    (folder / "pair.png").write_bytes(b"")  # shares pair.txt with a readable pair.jpg
    Image.new("RGB", (16, 16)).save(folder / "pair.jpg")
    (folder / "cap.png").write_bytes(b"")  # captioned already: edited like any other
    (folder / "cap.txt").write_text("solo\n")
    return img


def run(tmp_path: Path, img: Path, scenario) -> None:
    app = LoratuiApp(locate_dataset(img.parent), settings_file=tmp_path / "cfg" / "tui.toml",
                     keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.store.captions_loaded and app.store.scan is not None, "loaded")
            await pilot.pause()
            await scenario(app, pilot)

    asyncio.run(main())


def test_bulk_add_leaves_out_unreadable_images_and_the_preview_names_them(tmp_path):
    img = broken_dataset(tmp_path)
    folder = img / "10_alice"

    async def scenario(app, pilot):
        await pilot.press("plus", *"trig", "enter")
        await until(pilot, lambda: isinstance(app.screen, NotedPlanPreview), "the preview with its note")
        [note] = app.screen.notes
        assert note.startswith("left out 2 unreadable image(s), no caption file made for them: ")
        assert "10_alice/corrupt.png" in note and "10_alice/zero.png" in note and "pair" not in note
        shown = [str(w.render()) for w in app.screen.query(".plan-left-out")]
        assert shown == [note]
        assert all("zero.txt" not in str(edit.path) and "corrupt.txt" not in str(edit.path)
                   for edit in app.screen.plan.edits)
        await pilot.press("y")
        await until(pilot, lambda: (folder / "a04.txt").exists(), "the captions written")

    run(tmp_path, img, scenario)
    assert (folder / "a04.txt").read_text() == "trig\n" and (folder / "pair.txt").read_text() == "trig\n"
    assert (folder / "cap.txt").read_text() == "solo, trig\n"
    assert not (folder / "zero.txt").exists() and not (folder / "corrupt.txt").exists()


def test_a_change_to_captioned_images_probes_nothing(tmp_path, monkeypatch):
    import loratui.core.dataset as dataset_api

    img = broken_dataset(tmp_path)
    probed = []
    real = dataset_api.unreadable_reason
    monkeypatch.setattr(dataset_api, "unreadable_reason", lambda path: probed.append(path) or real(path))

    async def scenario(app, pilot):
        await pilot.press("minus", *"solo", "enter")
        await until(pilot, lambda: isinstance(app.screen, PlanPreviewScreen), "the preview")
        assert not isinstance(app.screen, NotedPlanPreview) and probed == []
        await pilot.press("escape")

    run(tmp_path, img, scenario)


def test_only_unreadable_new_captions_leave_an_empty_plan_that_says_why(tmp_path):
    img = broken_dataset(tmp_path)

    async def scenario(app, pilot):
        await pilot.press("slash", *"file:zero.txt")  # the filter picks the 0-byte image alone
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("plus", *"trig", "enter")
        await until(pilot, lambda: isinstance(app.screen, NotedPlanPreview), "the preview with its note")
        assert app.screen.empty and "left out 1 unreadable image(s)" in app.screen.notes[0]
        await pilot.press("escape")

    run(tmp_path, img, scenario)
    assert not (img / "10_alice" / "zero.txt").exists()
