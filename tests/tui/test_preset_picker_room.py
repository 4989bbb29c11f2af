"""The VRAM preset picker's change list uses the height the screen leaves (a user-tester saw 5 of a
preset's 7 changes at 120x40, the rest only after Tab and scrolling, with no hint); when it must cut,
a line under it says how many lines are hidden and how to scroll to them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import Static

from loratui.core.config import Preset, PresetCatalog
from loratui.tui.screens.preset_picker import PresetPicker
from test_preset_picker_checks import Host, demo_config

SETTINGS = {  # 12 fields the demo config holds otherwise
    "dataset": {"keep_tokens": 1, "resolution": (192, 192)},
    "network": {"network_dim": 4, "network_alpha": 2.0, "network_train_unet_only": True},
    "optimizer": {"learning_rate": 0.0002},
    "training": {"train_batch_size": 3, "gradient_accumulation_steps": 2, "gradient_checkpointing": True,
                 "max_train_epochs": 7, "seed": 7, "cache_text_encoder_outputs": True},
}


def preset(tmp_path: Path, count: int, vram_gb: int = 6) -> Preset:
    settings, left = {}, count
    for section, values in SETTINGS.items():
        for key, value in values.items():
            if left:
                settings.setdefault(section, {})[key] = value
                left -= 1
    return Preset(f"many-{count}", "sd15", vram_gb, "a preset with many changes for the room test", settings,
                  tmp_path / "p.toml", "user")


def diff_lines(picker) -> list[str]:
    return str(picker.query_one("#picker-diff", Static).render()).splitlines()


def more_text(picker) -> str:
    more = picker.query_one("#picker-more", Static)
    return str(more.render()) if more.display else ""


def run(tmp_path: Path, count: int, size: tuple[int, int], scenario) -> None:
    """The picker on a catalog whose first preset changes ``count`` fields, with five more below it
    (the list takes its 6 rows)."""
    presets = [preset(tmp_path, count)] + [preset(tmp_path, n, 8 + n) for n in range(1, 6)]
    catalog = PresetCatalog(presets={p.id: p for p in presets})

    async def main():
        app = Host(PresetPicker(demo_config(), catalog=catalog, has_gpu=True))
        async with app.run_test(size=size) as pilot:
            for _ in range(4):
                await pilot.pause()
            await scenario(app.screen, pilot)

    asyncio.run(main())


def test_seven_changes_all_show_at_120x40(tmp_path):
    async def scenario(picker, pilot):
        lines = diff_lines(picker)
        assert "changes 7 field(s):" in lines
        detail = picker.query_one("#picker-detail")
        assert detail.size.height >= len(lines)  # every change in view: no scrolling needed
        assert more_text(picker) == ""
        assert picker.query_one("#picker-keys").region.bottom <= 40

    run(tmp_path, 7, (120, 40), scenario)


def test_a_cut_list_says_how_many_lines_are_hidden_and_how_to_see_them(tmp_path):
    async def scenario(picker, pilot):
        lines = diff_lines(picker)
        assert "changes 12 field(s):" in lines
        detail = picker.query_one("#picker-detail")
        hidden = len(lines) - detail.size.height
        assert hidden > 0
        assert more_text(picker) == f"… {hidden} more line(s): Tab, then ↓ to scroll"
        for name in ("#picker-summary", "#picker-keys", "#picker-more"):  # all still on the 80x24 screen
            assert picker.query_one(name).region.bottom <= 24, name
        await pilot.press("tab")
        assert picker.focused is detail
        await pilot.press("end")
        for _ in range(3):
            await pilot.pause()
        assert more_text(picker) == "(the end of the changes; ↑ scrolls back)"
        await pilot.press("home")
        for _ in range(3):
            await pilot.pause()
        assert more_text(picker).startswith(f"… {hidden} more")

    run(tmp_path, 12, (80, 24), scenario)
