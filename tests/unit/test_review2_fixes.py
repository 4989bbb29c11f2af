"""Second review of session 9: an fp8 LoRA is checked for NaN as float; a `~nosuchuser`
path imports with a warning; `c:`, an existing folder beside the config, is no Windows path."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from click.testing import CliRunner

from loratui.cli import cli
from loratui.core.config import TrainingConfig
from loratui.core.config.load import windows_path_problems


def test_an_fp8_lora_is_checked_for_nan_as_float():
    from loratui.engine.lora_convert import _all_finite

    good = torch.ones(4, 4).to(torch.float8_e4m3fn)
    assert _all_finite(good)
    assert not _all_finite(torch.tensor([1.0, float("nan")]).to(torch.float8_e4m3fn))


def test_an_unknown_user_home_imports_with_a_warning(tmp_path):
    source = tmp_path / "k.json"
    source.write_text(json.dumps({"train_data_dir": "~nosuchuser/img", "output_dir": "out", "network_dim": 8}))
    (tmp_path / "o").mkdir()
    result = CliRunner().invoke(cli, ["config", "import-kohya", str(source), "-o", str(tmp_path / "o" / "c.toml")])
    assert result.exit_code == 0, result.output
    assert "~nosuchuser/img" in result.output and "internal error" not in result.output


def test_a_folder_named_c_colon_beside_the_config_is_no_windows_path(tmp_path):
    cfg = TrainingConfig()
    cfg.config_dir = tmp_path  # as load_config sets it
    (tmp_path / "c:").mkdir()
    cfg.saving.output_dir = "c:"
    assert "output_dir" not in windows_path_problems(cfg)
    cfg.saving.output_dir = "D:/out"
    assert "output_dir" in windows_path_problems(cfg)
    cfg.saving.output_dir = "c:\\out"
    assert "output_dir" in windows_path_problems(cfg)
