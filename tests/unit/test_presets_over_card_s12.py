"""`loratui presets apply` says when the config with the preset applied is still over the preset's card
(user test s12/h6: a DoRA config showed 11.04 GiB for sd15-8gb without a word), with the cheapest fix."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from loratui.cli import cli
from loratui.core.config import TrainingConfig, save_config


@pytest.fixture(autouse=True)
def isolated_user_presets(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def _config(tmp_path, **network):
    cfg = TrainingConfig()
    cfg.model.pretrained_model_name_or_path = "models/v1-5-pruned-emaonly.safetensors"
    cfg.model.model_family = "sd1"
    cfg.dataset.max_bucket_reso = 1024
    cfg.training.gradient_checkpointing = False
    for key, value in network.items():
        setattr(cfg.network, key, value)
    path = tmp_path / "run.toml"
    save_config(cfg, path)
    return path


def test_a_config_over_the_presets_card_gets_a_line_with_the_cheapest_fix(tmp_path):
    path = _config(tmp_path, network_module="lycoris.kohya", network_args=["algo=locon", "dora_wd=true"])
    result = CliRunner().invoke(cli, ["presets", "apply", str(path), "sd15-8gb", "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    shown = next(line for line in lines if line.startswith("estimated peak VRAM after applying: "))
    over = [line for line in lines if line.startswith("! ")]
    assert len(over) == 1, result.output
    gib = shown.split(": ")[1].removesuffix(" GiB")
    assert over[0].startswith(f"! {gib} GiB is more than the preset's 8 GB card holds: cheapest fix: ")
    assert "gradient checkpointing on" in over[0] and "(training.gradient_checkpointing false -> true)" in over[0]
    assert lines.index(over[0]) == lines.index(shown) + 1


def test_a_config_that_fits_gets_no_such_line(tmp_path):
    path = _config(tmp_path)
    result = CliRunner().invoke(cli, ["presets", "apply", str(path), "sd15-8gb", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert not [line for line in result.output.splitlines() if line.startswith("!")]
