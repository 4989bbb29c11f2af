"""VramPanel and PresetPicker: the bar against a (fake) nvidia-smi's card, the chosen card size, the
breakdown key, the fixes for a config that does not fit, and a preset shown (diff, estimate) then applied.

pytest-asyncio is not installed: each test is a plain function running its Pilot session in asyncio.run.
nvidia-smi is faked with a shell script first on PATH (or PATH holds none).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import OptionList, Select, Static

from loratui.core.config import TrainingConfig, load_presets, preset_changes
from loratui.core.plan import estimate_vram, vram_fixes
from loratui.tui.screens.preset_picker import PresetPicker
from loratui.tui.services.gpu import GPU_STATE, detect_gpus
from loratui.tui.widgets.vram_panel import VramPanel, vram_bar


class VramApp(App):
    def __init__(self, cfg: TrainingConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.changes: list[tuple[dict, str]] = []

    def compose(self) -> ComposeResult:
        yield VramPanel(id="vram")

    def on_mount(self) -> None:
        self.query_one(VramPanel).update_config(self.cfg, None)

    def on_vram_panel_fields_changed(self, message: VramPanel.FieldsChanged) -> None:
        self.changes.append((message.changes, message.origin))


def fake_nvidia_smi(monkeypatch, tmp_path: Path, output: str | None, status: int = 0) -> None:
    """PATH holds only a folder with (or without) an nvidia-smi script printing ``output``."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    if output is not None:
        script = folder / "nvidia-smi"
        script.write_text(f"#!/bin/sh\nprintf '{output}\\n'\nexit {status}\n", encoding="utf-8")
        script.chmod(0o755)
    monkeypatch.setenv("PATH", str(folder))
    GPU_STATE.reset()


def sd15(batch=1, res=512, **training) -> TrainingConfig:
    cfg = TrainingConfig()
    cfg.model.model_family = "sd1"
    cfg.dataset.resolution = (res, res)
    cfg.training.train_batch_size = batch
    for key, value in training.items():
        setattr(cfg.training, key, value)
    return cfg


def big_sdxl() -> TrainingConfig:
    cfg = TrainingConfig()
    cfg.model.model_family = "sdxl"
    cfg.dataset.resolution = (1024, 1024)
    cfg.training.train_batch_size = 4
    cfg.optimizer.optimizer_type = "AdamW"
    return cfg


def text(widget, selector: str) -> str:
    return str(widget.query_one(selector, Static).render())


async def settle(pilot, panel: VramPanel) -> None:
    for _ in range(100):
        await pilot.pause(0.02)
        if GPU_STATE.detected and panel.estimate is not None:
            break
    await pilot.pause()


def test_bar_against_the_detected_gpu(tmp_path, monkeypatch):
    fake_nvidia_smi(monkeypatch, tmp_path, "NVIDIA GeForce RTX 4090, 24564")
    cfg = sd15()

    async def main():
        app = VramApp(cfg)
        async with app.run_test(size=(80, 24)) as pilot:
            panel = app.query_one(VramPanel)
            await settle(pilot, panel)
            assert "GPU: NVIDIA GeForce RTX 4090, 24.0 GiB (nvidia-smi)" in text(panel, "#vram-card")
            total = estimate_vram(cfg).total_gib
            summary = text(panel, "#vram-summary")
            assert f"{total:.2f} GiB of NVIDIA GeForce RTX 4090 (24.0 GiB)" in summary and "fits" in summary
            bar = text(panel, "#vram-bar")
            assert bar.startswith("[") and bar.endswith("]") and "█" in bar and "░" in bar
            assert panel.fits is True and text(panel, "#vram-warning") == ""
            assert not panel.query_one(Select).display

    asyncio.run(main())


def test_no_gpu_means_a_chosen_card_size_remembered_while_the_app_runs(tmp_path, monkeypatch):
    fake_nvidia_smi(monkeypatch, tmp_path, None)
    cfg = sd15(batch=4, res=768)  # ~12 GiB: does not fit 8 GB

    async def main():
        app = VramApp(cfg)
        async with app.run_test(size=(80, 24)) as pilot:
            panel = app.query_one(VramPanel)
            await settle(pilot, panel)
            assert "no GPU found" in text(panel, "#vram-card") and panel.card_gib is None
            assert "fits" in text(panel, "#vram-summary") and text(panel, "#vram-bar") == ""
            panel.focus()
            await pilot.press("c")
            select = panel.query_one(Select)
            assert select.display and select.has_focus
            select.value = 8
            await pilot.pause()
            assert GPU_STATE.chosen_gb == 8 and panel.card_gib == 8
            assert "DOES NOT FIT" in text(panel, "#vram-summary") and "a 8 GB card" in text(panel, "#vram-summary")
            assert "▓" in text(panel, "#vram-bar")  # the part over the card, drawn apart (not colour only)

        app = VramApp(cfg)  # a second panel in the same process: the choice is remembered
        async with app.run_test(size=(80, 24)) as pilot:
            panel = app.query_one(VramPanel)
            await settle(pilot, panel)
            assert panel.card_gib == 8 and panel.query_one(Select).value == 8
            assert "a 8 GB card" in text(panel, "#vram-summary") and "Will not fit" in text(panel, "#vram-warning")

    asyncio.run(main())
    GPU_STATE.reset()


def test_breakdown_on_a_key(tmp_path, monkeypatch):
    fake_nvidia_smi(monkeypatch, tmp_path, "NVIDIA H200, 143771")

    async def main():
        app = VramApp(sd15())
        async with app.run_test(size=(80, 24)) as pilot:
            panel = app.query_one(VramPanel)
            await settle(pilot, panel)
            breakdown = panel.query_one("#vram-breakdown", Static)
            assert not breakdown.display
            panel.focus()
            await pilot.press("b")
            assert breakdown.display
            shown = text(panel, "#vram-breakdown")
            for part in ("UNet weights", "LoRA weights", "optimizer state", "activations", "CUDA context", "total"):
                assert part in shown
            await pilot.press("b")
            assert not breakdown.display

    asyncio.run(main())


def test_too_big_shows_the_cheapest_fixes_and_f_applies_the_first(tmp_path, monkeypatch):
    fake_nvidia_smi(monkeypatch, tmp_path, "NVIDIA GeForce RTX 3060, 12288")
    cfg = big_sdxl()

    async def main():
        app = VramApp(cfg)
        async with app.run_test(size=(80, 24)) as pilot:
            panel = app.query_one(VramPanel)
            await settle(pilot, panel)
            assert panel.fits is False and panel.has_class("-too-big")
            warning = text(panel, "#vram-warning")
            expected = vram_fixes(cfg, 12.0)
            assert "Will not fit on NVIDIA GeForce RTX 3060" in warning
            assert expected and f"1. {expected[0].describe()}" in warning and expected[0].fields_text() in warning
            panel.focus()
            await pilot.press("f")
            await pilot.pause()
            assert app.changes == [(expected[0].changes, "fix")]

    asyncio.run(main())


def test_a_failing_nvidia_smi_is_no_gpu(tmp_path, monkeypatch):
    fake_nvidia_smi(monkeypatch, tmp_path, "NVIDIA-SMI has failed", status=9)
    assert detect_gpus() == []
    fake_nvidia_smi(monkeypatch, tmp_path, "NVIDIA A100-SXM4-80GB, 81920\\nNVIDIA A100-SXM4-80GB, 81920")
    gpus = detect_gpus()
    assert [g.index for g in gpus] == [0, 1] and gpus[0].memory_gib == 80.0


def test_bar_drawing():
    assert vram_bar(5, 10, 10, ("#", "-", "!")) == "[#####-----]"
    assert vram_bar(15, 10, 12, ("#", "-", "!")) == "[########!!!!]"
    assert vram_bar(10, 10, 10, ("#", "-", "!")) == "[##########]"


# ---- the preset picker ----------------------------------------------------------------------------


def test_preset_picker_shows_the_diff_and_the_estimate_then_applies(tmp_path, monkeypatch):
    fake_nvidia_smi(monkeypatch, tmp_path, "NVIDIA GeForce RTX 3070, 8192")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    cfg = sd15(batch=4, res=768)
    cfg.model.pretrained_model_name_or_path = "models/v1-5-pruned.safetensors"

    async def main():
        app = VramApp(cfg)
        async with app.run_test(size=(100, 40)) as pilot:
            panel = app.query_one(VramPanel)
            await settle(pilot, panel)
            panel.focus()
            await pilot.press("p")
            await pilot.pause()
            picker = app.screen
            assert isinstance(picker, PresetPicker)
            assert [p.family for p in picker.presets] == ["sd15"] * len(picker.presets)
            options = picker.query_one(OptionList)
            highlighted = picker.presets[options.highlighted]
            assert highlighted.id == "sd15-8gb"  # the biggest preset that fits the 8 GB card
            diff = text(picker, "#picker-diff")
            for change in preset_changes(cfg, highlighted):
                assert change.key in diff
            assert "train_batch_size" in diff and "4 -> " in diff and "768 -> 512" in diff
            summary = text(picker, "#picker-summary")  # below the diff, always in view
            assert f"{estimate_vram(cfg).total_gib:.2f} GiB -> " in summary and "fits the card" in summary
            await pilot.press("up")
            assert picker.presets[options.highlighted].vram_gb == 6
            assert "sd15-6gb" in str(picker.presets[options.highlighted].id)
            await pilot.press("down", "enter")
            await pilot.pause()
            assert not isinstance(app.screen, PresetPicker)
            wanted = {tuple(c.key.split(".", 1)): c.new for c in preset_changes(cfg, highlighted)}
            assert app.changes == [(wanted, "sd15-8gb")]

    asyncio.run(main())


def test_preset_picker_lists_user_presets_for_the_family_and_escape_cancels(tmp_path, monkeypatch):
    fake_nvidia_smi(monkeypatch, tmp_path, None)
    user = tmp_path / "config" / "loratui" / "presets"
    user.mkdir(parents=True)
    (user / "mine.toml").write_text('id = "my-xl"\nfamily = "sdxl"\nvram_gb = 10\ndescription = "mine"\n'
                                    "[training]\ntrain_batch_size = 1\ngradient_checkpointing = true\n",
                                    encoding="utf-8")
    (user / "broken.toml").write_text("id = 3\n", encoding="utf-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    cfg = big_sdxl()

    async def main():
        app = VramApp(cfg)
        async with app.run_test(size=(100, 40)) as pilot:
            panel = app.query_one(VramPanel)
            await settle(pilot, panel)
            panel.focus()
            await pilot.press("p")
            await pilot.pause()
            picker = app.screen
            ids = [p.id for p in picker.presets]
            assert "my-xl" in ids and all(p.family == "sdxl" for p in picker.presets)
            labels = [str(picker.query_one(OptionList).get_option_at_index(i).prompt) for i in range(len(ids))]
            assert any("my-xl (user)" in label for label in labels)
            assert "broken.toml" in text(picker, "#picker-problems")
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, PresetPicker) and app.changes == []

    asyncio.run(main())


def test_preset_with_nothing_to_change_posts_nothing(tmp_path, monkeypatch):
    fake_nvidia_smi(monkeypatch, tmp_path, None)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    preset = load_presets().get("sd15-8gb")
    cfg = TrainingConfig()
    cfg.model.model_family = "sd1"
    for section, values in preset.settings.items():
        for key, value in values.items():
            setattr(getattr(cfg, section), key, value)

    async def main():
        app = VramApp(cfg)
        async with app.run_test(size=(100, 40)) as pilot:
            panel = app.query_one(VramPanel)
            await settle(pilot, panel)
            panel.focus()
            await pilot.press("p")
            await pilot.pause()
            picker = app.screen
            options = picker.query_one(OptionList)
            options.highlighted = [p.id for p in picker.presets].index("sd15-8gb")
            await pilot.pause()
            assert "nothing to change" in text(picker, "#picker-diff")
            await pilot.press("enter")
            await pilot.pause()
            assert app.changes == []

    asyncio.run(main())
