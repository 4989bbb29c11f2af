"""The Dataset screen's filter box takes `tokens>N` (about N CLIP tokens, core's --where term): a taggui
user's `/tokens>75` was read as plain words and showed 0 rows without a word (h5 (b)1). Pilot, 80x24."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fixtures.tui_dataset import CAPTIONS, make_dataset

from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from tests.tui.test_dataset_screen import _loaded, until

HUNDRED = ", ".join(f"blue sky {i}" for i in range(22))  # about 100 CLIP tokens


def test_the_filter_box_finds_captions_over_75_tokens(tmp_path: Path):
    root = make_dataset(tmp_path / "proj", {**CAPTIONS, "10_alice/a01.png": HUNDRED})
    app = LoratuiApp(locate_dataset(root), settings_file=tmp_path / "cfg" / "tui.toml",
                     keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await _loaded(app, pilot)
            scr = app.screen
            long = next(r for r in app.store.rows if r.name == "a01.png")
            assert long.problem_kind == "long_caption"  # no config: sd-scripts' 75 is the limit
            await pilot.press("slash", *"tokens>75", "enter")
            await until(pilot, lambda: [r.name for r in scr.shown] == ["a01.png"])
            error = scr.query_one("#filter-error")
            assert not error.display or not str(error.render()).strip()
            await pilot.press("slash", "ctrl+u", *"tokens<75 and tag:solo", "enter")
            await until(pilot, lambda: [r.name for r in scr.shown] == ["a02.png", "b01.png"])
            await pilot.press("slash", "ctrl+u", *"tokens>lots", "enter")
            await until(pilot, lambda: "'tokens>lots'" in str(scr.query_one("#filter-error").render()))
            assert "tokens>N" in str(scr.query_one("#filter-error").render())

    asyncio.run(main())
