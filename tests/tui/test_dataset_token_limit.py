"""The Dataset screen checks long captions against the open config's max_token_length (it used the
225 of sd-scripts' longest setting whatever the config said), in the scan and after a write; the
message names the limit. Without a config, 75: what sd-scripts reads when max_token_length is unset (it
was 225, sd-scripts' most, so a 76-225 token caption that training cuts at 75 went unwarned)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fixtures.tui_dataset import CAPTIONS, make_dataset

from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.core.dataset import config_token_limit as config_max_token_length
from tests.tui.test_dataset_screen import _loaded, until

NINETY_TOKENS = ", ".join(f"blue sky {i}" for i in range(30))  # over 75 CLIP tokens, under 150


def project(tmp_path: Path, max_token_length: int | None) -> tuple[Path, Path | None]:
    root = make_dataset(tmp_path / "proj", {**CAPTIONS, "10_alice/a01.png": NINETY_TOKENS})
    if max_token_length is None:
        return root, None
    from loratui.core.config import TrainingConfig, save_config

    cfg = TrainingConfig()
    cfg.dataset.train_data_dir = "img"
    cfg.training.max_token_length = max_token_length
    save_config(cfg, root / "run.toml")
    return root, root / "run.toml"


def run_on(tmp_path: Path, root: Path, config: Path | None, scenario) -> None:
    app = LoratuiApp(locate_dataset(root), config_path=config, settings_file=tmp_path / "cfg" / "tui.toml",
                     keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await _loaded(app, pilot)
            await scenario(app, pilot)

    asyncio.run(main())


def row(app, name: str):
    return next(r for r in app.store.rows if r.name == name)


def test_the_configs_limit_flags_a_caption_the_default_would_not(tmp_path):
    root, config = project(tmp_path, 75)

    async def scenario(app, pilot):
        first = row(app, "a01.png")
        assert first.problem_kind == "long_caption"
        assert "over the 75 sd-scripts reads with max_token_length 75" in first.problem
        # a write checks the caption again with the same limit
        await pilot.press("plus", *"extra", "enter")
        await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen")
        await pilot.press("enter")
        await until(pilot, lambda: "extra" in first.caption.tags)
        await pilot.pause(0.1)
        assert first.problem_kind == "long_caption" and "max_token_length 75" in first.problem

    run_on(tmp_path, root, config, scenario)


def test_a_config_with_a_longer_limit_flags_nothing(tmp_path):
    root, config = project(tmp_path, 150)

    async def scenario(app, pilot):
        assert row(app, "a01.png").problem_kind != "long_caption"

    run_on(tmp_path, root, config, scenario)


def test_without_a_config_the_limit_is_sd_scripts_default_75(tmp_path):
    root, _ = project(tmp_path, None)

    async def scenario(app, pilot):
        first = row(app, "a01.png")
        assert app.store.token_limit() is None  # no config: core's default
        assert first.problem_kind == "long_caption"
        assert "over the 75 tokens sd-scripts reads by default (max_token_length unset)" in first.problem
        assert "set max_token_length = 150 or 225 in the config to keep more" in first.problem
        assert row(app, "a02.png").problem_kind != "long_caption"  # a short caption: no warning

    run_on(tmp_path, root, None, scenario)


def test_reading_the_limit_from_a_config(tmp_path):
    path = tmp_path / "c.toml"
    assert config_max_token_length(None) is None
    assert config_max_token_length(path) is None  # missing
    path.write_text("[training]\nmax_token_length = 225\n")
    assert config_max_token_length(path) == 225
    path.write_text("[dataset]\ncaption_extension = '.txt'\n")
    assert config_max_token_length(path) == 75  # unset: sd-scripts' 75
    path.write_text("[training]\nmax_token_length = 100\n")
    assert config_max_token_length(path) is None  # Settings names it; the check keeps the widest
    path.write_text("not toml [")
    assert config_max_token_length(path) is None
