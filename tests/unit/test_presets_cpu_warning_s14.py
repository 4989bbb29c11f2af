"""`loratui presets apply` on a machine with no NVIDIA GPU warns, as the Settings preset picker does, when the
preset brings AdamW8bit or fp16/bf16 (h5 item 3: the CLI switched to them without a word)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import loratui.core.config as core_config
from loratui.cli import cli
from loratui.core.config import TrainingConfig, save_config

LINE = ('warning: no CUDA GPU here: AdamW8bit and fp16 run about 10x slower on a CPU: set optimizer_type = "AdamW" '
        'and mixed_precision = "no"')


@pytest.fixture(autouse=True)
def isolated_user_presets(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def _cpu_config(tmp_path):
    """What `config new` writes on a CPU machine: AdamW and no mixed precision."""
    cfg = TrainingConfig()
    cfg.model.pretrained_model_name_or_path = "models/v1-5-pruned-emaonly.safetensors"
    cfg.model.model_family = "sd1"
    cfg.dataset.max_bucket_reso = 1024
    cfg.optimizer.optimizer_type = "AdamW"
    cfg.training.mixed_precision = "no"
    path = tmp_path / "p2.toml"
    save_config(cfg, path)
    return path


def _apply(path, *extra):
    return CliRunner().invoke(cli, ["presets", "apply", str(path), "sd15-8gb", *extra])


def test_no_gpu_warns_on_stderr_and_still_writes(tmp_path, monkeypatch):
    monkeypatch.setattr(core_config, "has_nvidia_gpu", lambda: False)
    path = _cpu_config(tmp_path)
    result = _apply(path, "--yes")
    assert result.exit_code == 0, result.output
    assert LINE in result.stderr.splitlines()
    assert f"wrote {path}" in result.stdout
    assert 'optimizer_type = "AdamW8bit"' in path.read_text()


def test_the_dry_run_warns_too(tmp_path, monkeypatch):
    monkeypatch.setattr(core_config, "has_nvidia_gpu", lambda: False)
    result = _apply(_cpu_config(tmp_path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert LINE in result.stderr.splitlines()


def test_a_gpu_machine_gets_no_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(core_config, "has_nvidia_gpu", lambda: True)
    result = _apply(_cpu_config(tmp_path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "no CUDA GPU" not in result.output


def test_settings_the_config_had_already_are_not_named(tmp_path, monkeypatch):
    """Only what the preset changes is named: a config on AdamW8bit already hears about fp16 alone."""
    monkeypatch.setattr(core_config, "has_nvidia_gpu", lambda: False)
    path = _cpu_config(tmp_path)
    text = path.read_text().replace('optimizer_type = "AdamW"', 'optimizer_type = "AdamW8bit"')
    path.write_text(text)
    result = _apply(path, "--dry-run")
    assert result.exit_code == 0, result.output
    assert ('warning: no CUDA GPU here: fp16 run about 10x slower on a CPU: set mixed_precision = "no"'
            in result.stderr.splitlines())
