"""The status line's problem names the app's key for its fix, not the shell command (Pilot, 80x24)."""

from __future__ import annotations

import asyncio
import time

from fixtures.tui_dataset import make_dataset

from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp


def test_a_repeated_tag_names_the_dedupe_key(tmp_path):
    root = make_dataset(tmp_path / "proj", {"10_alice/a01.png": "alice, solo, no humans, no humans"})
    app = LoratuiApp(locate_dataset(root), settings_file=tmp_path / "cfg" / "tui.toml",
                     keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            deadline = time.monotonic() + 10
            while not (app.store.captions_loaded and app.store.scan is not None):
                assert time.monotonic() < deadline
                await pilot.pause(0.05)
            await pilot.pause(0.2)
            app.screen.update_status()
            status = str(app.screen.query_one("#status").render())
            assert "D (dedupe)" in status and "loratui tags dedupe" not in status

    asyncio.run(main())
