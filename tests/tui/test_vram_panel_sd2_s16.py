"""The VRAM panel names an SD2 config's family as the user set it, and says the estimate uses SD 1.5's
shapes (the estimator has no SD2 table), as `loratui vram` does; it said "sd1"."""

from __future__ import annotations

import asyncio

from test_vram_panel import VramApp, fake_nvidia_smi, sd15, settle, text

from loratui.tui.widgets.vram_panel import VramPanel


def test_an_sd2_config_is_named_sd2(tmp_path, monkeypatch):
    fake_nvidia_smi(monkeypatch, tmp_path, "NVIDIA GeForce RTX 4090, 24564")
    cfg = sd15()
    cfg.model.model_family = "sd2"

    async def main():
        app = VramApp(cfg)
        async with app.run_test(size=(120, 40)) as pilot:
            panel = app.query_one(VramPanel)
            await settle(pilot, panel)
            summary = text(panel, "#vram-summary")
            assert "sd2: counted with SD 1.5's shapes" in summary and "(sd1)" not in summary

    asyncio.run(main())
