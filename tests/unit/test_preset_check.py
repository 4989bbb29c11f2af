"""core.config.preset_check: what a preset would leave invalid, its bucket fix, and the CLI refusing in
the same words the Settings picker shows."""

from __future__ import annotations

import pytest

from loratui.cli import main
from loratui.core.config import (
    TrainingConfig, gpu_only_settings, load_presets, preset_check, preset_problem_line, validate,
)


def demo() -> TrainingConfig:
    cfg = TrainingConfig()
    cfg.model.model_family = "sd1"
    cfg.dataset.resolution = (128, 128)
    cfg.dataset.min_bucket_reso, cfg.dataset.max_bucket_reso = 64, 256
    cfg.optimizer.optimizer_type, cfg.training.mixed_precision = "AdamW", "no"
    return cfg


def test_bucket_limits_are_raised_to_fit_and_the_result_is_valid(tmp_path):
    preset = load_presets(tmp_path).get("sd15-6gb")
    check = preset_check(demo(), preset)
    assert check.problems and "max_bucket_reso (256)" in check.problems[0] and not check.refused
    assert [(c.key, c.old, c.new) for c in check.fixes] == [("dataset.max_bucket_reso", 256, 512)]
    assert validate(check.after) == [] and check.after.dataset.resolution == (512, 512)
    assert gpu_only_settings(demo(), check.after) == ['optimizer_type = "AdamW8bit"', 'mixed_precision = "fp16"']
    fine = demo()
    fine.dataset.max_bucket_reso = 1024
    assert preset_check(fine, preset).problems == [] and preset_check(fine, preset).fixes == []


def test_the_cli_refuses_with_the_same_line_and_names_the_fix(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    config = tmp_path / "c.toml"
    config.write_text('[model]\nmodel_family = "sd1"\n[dataset]\nresolution = 128\nmin_bucket_reso = 64\n'
                      "max_bucket_reso = 256\n", encoding="utf-8")
    before = config.read_text()
    with pytest.raises(SystemExit) as exc:
        main(["presets", "apply", str(config), "sd15-6gb", "--yes"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and config.read_text() == before
    line = preset_problem_line("sd15-6gb", config, preset_check(demo(), load_presets(tmp_path).get("sd15-6gb"))
                               .problems)
    assert line in err and "setting dataset.max_bucket_reso 256 -> 512 with it would fix that" in err
