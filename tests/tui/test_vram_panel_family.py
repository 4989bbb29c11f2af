"""The Settings VRAM panel and its preset picker read model_family = "auto" from the model's weights: an
SDXL checkpoint named without "xl" is estimated as SDXL (the number `loratui vram` prints) and `p` lists the
SDXL presets, not SD 1.5's.

pytest-asyncio is not installed: the Pilot session runs in asyncio.run. PATH holds no nvidia-smi.
"""

from __future__ import annotations

import asyncio
import json

from click.testing import CliRunner
from textual.app import App, ComposeResult
from textual.widgets import Static

from fixtures.bad_inputs import SDXL_KEYS, write_safetensors
from loratui.cli import cli
from loratui.core.config import TrainingConfig, load_config, save_config
from loratui.tui.screens.preset_picker import PresetPicker
from loratui.tui.services.gpu import GPU_STATE
from loratui.tui.widgets.vram_panel import VramPanel


class VramApp(App):
    def __init__(self, cfg: TrainingConfig) -> None:
        super().__init__()
        self.cfg = cfg

    def compose(self) -> ComposeResult:
        yield VramPanel(id="vram")

    def on_mount(self) -> None:
        self.query_one(VramPanel).update_config(self.cfg, None)


def test_panel_and_picker_use_the_family_read_from_the_weights(tmp_path, monkeypatch):
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # no nvidia-smi: no GPU, no card chosen
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    GPU_STATE.reset()
    write_safetensors(tmp_path / "animeModel_v10.safetensors", SDXL_KEYS)
    cfg = TrainingConfig()  # model_family stays "auto"
    cfg.model.pretrained_model_name_or_path = "animeModel_v10.safetensors"
    save_config(cfg, tmp_path / "c.toml")
    cfg = load_config(tmp_path / "c.toml")
    cli_json = CliRunner().invoke(cli, ["vram", str(tmp_path / "c.toml"), "--json"]).output
    cli_gib = f"{json.loads(cli_json)['total_gib']:.2f} GiB"

    async def main():
        app = VramApp(cfg)
        async with app.run_test(size=(100, 40)) as pilot:
            panel = app.query_one(VramPanel)
            for _ in range(100):
                await pilot.pause(0.02)
                if GPU_STATE.detected and panel.estimate is not None:
                    break
            summary = str(panel.query_one("#vram-summary", Static).render())
            assert panel.estimate.family == "sdxl" and "(sdxl)" in summary and cli_gib in summary
            assert not any("guessed" in a for a in panel.estimate.assumptions)
            panel.focus()
            await pilot.press("p")
            await pilot.pause()
            picker = app.screen
            assert isinstance(picker, PresetPicker)
            assert picker.presets and all(p.family == "sdxl" for p in picker.presets)
            assert "Presets for SDXL" in str(picker.query_one("#picker-help", Static).render())

    asyncio.run(main())


def test_a_name_guess_says_so_on_the_panel_and_in_the_picker(tmp_path, monkeypatch):
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    GPU_STATE.reset()
    cfg = TrainingConfig()
    cfg.model.pretrained_model_name_or_path = "not_downloaded_yet.safetensors"  # cannot be read: the name
    save_config(cfg, tmp_path / "c.toml")
    cfg = load_config(tmp_path / "c.toml")

    async def main():
        app = VramApp(cfg)
        async with app.run_test(size=(100, 40)) as pilot:
            panel = app.query_one(VramPanel)
            for _ in range(100):
                await pilot.pause(0.02)
                if GPU_STATE.detected and panel.estimate is not None:
                    break
            assert panel.estimate.family_guessed
            assert "(sd1, guessed from the name)" in str(panel.query_one("#vram-summary", Static).render())
            panel.focus()
            await pilot.press("p")
            await pilot.pause()
            help_line = str(app.screen.query_one("#picker-help", Static).render())
            assert "Presets for SD 1.5 (guessed from the model's name" in help_line

    asyncio.run(main())
