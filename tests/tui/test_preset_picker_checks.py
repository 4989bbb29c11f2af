"""PresetPicker on a config the preset would leave invalid (sd15-6gb's 512 px past max_bucket_reso 256,
as in the demo): the picker says so in the CLI's words and Enter applies the bucket fix with it, or
refuses when no fix is known; a GPU-only optimizer or precision is named on a machine without CUDA."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import OptionList, Static

from loratui.core.config import Preset, PresetCatalog, TrainingConfig, load_presets
from loratui.tui.screens.preset_picker import PresetPicker


class Host(App):
    def __init__(self, picker: PresetPicker) -> None:
        super().__init__()
        self.picker = picker
        self.chosen: list = []

    def compose(self) -> ComposeResult:
        yield Static("host")

    def on_mount(self) -> None:
        self.push_screen(self.picker, self.chosen.append)


def demo_config() -> TrainingConfig:
    cfg = TrainingConfig()
    cfg.model.model_family = "sd1"
    cfg.dataset.resolution = (128, 128)
    cfg.dataset.min_bucket_reso, cfg.dataset.max_bucket_reso = 64, 256
    cfg.optimizer.optimizer_type, cfg.training.mixed_precision = "AdamW", "no"
    return cfg


def summary(picker) -> str:
    return str(picker.query_one("#picker-summary", Static).render())


def test_a_preset_past_max_bucket_reso_shows_why_and_enter_applies_the_fix(tmp_path):
    catalog = load_presets(tmp_path / "none")

    async def main():
        app = Host(PresetPicker(demo_config(), catalog=catalog, has_gpu=False))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            picker = app.screen
            options = picker.query_one(OptionList)
            options.highlighted = [p.id for p in picker.presets].index("sd15-6gb")
            await pilot.pause()
            text = summary(picker)
            assert ("sd15-6gb would leave the config invalid: resolution 512x512 must lie between min_bucket_reso "
                    "(64) and max_bucket_reso (256)") in text.replace("\n", " ")
            assert "Enter also sets dataset.max_bucket_reso 256 -> 512 to fix it" in text.replace("\n", " ")
            assert "no CUDA GPU here: AdamW8bit and fp16 run about 10x slower on a CPU" in text
            assert picker.query_one("#picker-summary").region.bottom <= 24  # in view at 80x24
            await pilot.press("enter")
            await pilot.pause()
            preset_id, changes = app.chosen[0]
            assert preset_id == "sd15-6gb" and changes[("dataset", "resolution")] == (512, 512)
            assert changes[("dataset", "max_bucket_reso")] == 512

    asyncio.run(main())


def test_a_preset_with_no_known_fix_is_refused_and_a_gpu_machine_hears_nothing_of_speed(tmp_path):
    bad = Preset("bad-bf16", "sd15", 8, "full bf16 without bf16 precision", {"training": {"full_bf16": True}},
                 tmp_path / "bad.toml", "user")
    catalog = PresetCatalog(presets={bad.id: bad})

    async def main():
        app = Host(PresetPicker(demo_config(), catalog=catalog, has_gpu=True))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            picker = app.screen
            text = summary(picker)
            assert "bad-bf16 would leave the config invalid: full_bf16 needs mixed_precision" in text
            assert "Enter refuses it" in text and "no CUDA GPU" not in text
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen is picker and app.chosen == []  # nothing handed to the form
            await pilot.press("escape")
            await pilot.pause()
            assert app.chosen == [None]

    asyncio.run(main())
