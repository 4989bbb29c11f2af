"""What only sd-scripts refuses (bucket_reso_steps 32 on SD1/SD2): config check reports it, the export
refuses it without --force, `train` (validate) accepts it. A warmup as long as the run is a note of
`loratui steps` and the Settings calculator (compute_schedule's notes)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli, main
from loratui.core.config import (
    TrainingConfig, config_file_problems, config_from_dict, export_problems, load_config, save_config, validate,
)
from loratui.core.dataset import DatasetScan, ImageEntry, Subset
from loratui.core.plan import compute_schedule

REFUSAL = ("bucket_reso_steps 32 is not divisible by 64: sd-scripts' SD1/SD2 trainer refuses it (it needs a "
           "multiple of 64; `loratui train` trains it, `config export-sdscripts` stops on it): set "
           "bucket_reso_steps = 64")


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "img" / "10_mychar").mkdir(parents=True)
    Image.new("RGB", (512, 512), "red").save(tmp_path / "img" / "10_mychar" / "a.png")
    return tmp_path


def _config(project: Path, family: str = "sd1", model: str = "org/base-model", **dataset) -> Path:
    data = {"model": {"pretrained_model_name_or_path": model, "model_family": family},
            "dataset": {"train_data_dir": "img", "resolution": 512, "bucket_reso_steps": 32, **dataset},
            "training": {"max_train_epochs": 1}}
    path = project / "c.toml"
    save_config(config_from_dict(data), path)
    return path


def _safetensors(path: Path, key: str) -> str:
    """A header-only .safetensors naming ``key``: enough for the export to read the family."""
    header = json.dumps({key: {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0\0")
    return path.name


def test_config_check_reports_it_and_train_does_not_refuse_it(project):
    path = _config(project)
    cfg, problems = config_file_problems(path)
    assert f"{path}: {REFUSAL}" in problems
    assert REFUSAL not in validate(cfg)  # what `train` checks before a model loads
    _, train_only = config_file_problems(path, sdscripts=False)
    assert not any("bucket_reso_steps" in p for p in train_only)
    assert REFUSAL in export_problems(cfg)


def test_the_export_refuses_it_unless_forced(project, capsys):
    path = _config(project)
    with pytest.raises(SystemExit) as info:
        main(["config", "export-sdscripts", str(path), "--yes"])
    assert info.value.code == 2 and not (project / "c_sdscripts").exists()
    assert f"error: {path}: {REFUSAL}" in capsys.readouterr().err.splitlines()
    forced = CliRunner().invoke(cli, ["config", "export-sdscripts", str(path), "--force"])
    assert forced.exit_code == 0, forced.output
    assert f"warning: {path}: {REFUSAL} (exported anyway: --force)" in forced.output


@pytest.mark.parametrize("family, steps, refused", [
    ("sd1", 64, False), ("sd2", 32, True), ("sd2", 128, False), ("sdxl", 32, False), ("sdxl", 48, True),
])
def test_the_rule_per_family(project, family, steps, refused):
    cfg = load_config(_config(project, family, bucket_reso_steps=steps))
    found = [p for p in export_problems(cfg) if "bucket_reso_steps" in p]
    assert bool(found) == refused, found
    if refused:
        need = 32 if family == "sdxl" else 64
        assert found[0].startswith(f"bucket_reso_steps {steps} is not divisible by {need}: ")


def test_bucketing_off_writes_no_steps_and_is_not_refused(project):
    cfg = load_config(_config(project, enable_bucket=False))
    assert not [p for p in export_problems(cfg) if "bucket_reso_steps" in p]


def test_auto_family_is_read_from_the_weights_as_the_export_reads_it(project):
    sd1 = _safetensors(project / "sd1.safetensors", "cond_stage_model.transformer.x")
    sdxl = _safetensors(project / "sdxl.safetensors", "conditioner.embedders.1.x")
    cfg = load_config(_config(project, "auto", sd1))
    assert REFUSAL in export_problems(cfg)
    assert not [p for p in export_problems(load_config(_config(project, "auto", sdxl)))
                if "bucket_reso_steps" in p]
    unknown = load_config(_config(project, "auto", "nothing.safetensors", bucket_reso_steps=48))
    assert [p for p in export_problems(unknown) if p.startswith("bucket_reso_steps 48 is not divisible by 32: "
                                                                "sd-scripts refuses it for every family")]


# ---- warmup longer than the run -------------------------------------------------------------------------

def _scan(images: int) -> DatasetScan:
    root = Path("/train/1_a")
    entries = [ImageEntry(root / f"{i}.png", 512, 512, None) for i in range(images)]
    return DatasetScan(Path("/train"), None, ".txt", [Subset(root, "1_a", 1, "a", False, entries)], [])


def _cfg(warmup, steps: int = 50, scheduler: str = "cosine") -> TrainingConfig:
    cfg = TrainingConfig()
    cfg.dataset.train_data_dir = "/train"
    cfg.training.max_train_steps = steps
    cfg.optimizer.lr_scheduler = scheduler
    cfg.optimizer.lr_warmup_steps = warmup
    return cfg


def _warmup_notes(cfg) -> list[str]:
    return [n for n in compute_schedule(cfg, _scan(10)).notes if n.startswith("lr_warmup_steps")]


def test_a_warmup_past_the_last_step_is_noted_with_how_far_the_lr_gets():
    assert _warmup_notes(_cfg(100)) == [
        "lr_warmup_steps 100 is not shorter than the run's 50 steps: the learning rate is still warming up "
        "when training ends and reaches only 49% of learning_rate; lower lr_warmup_steps (5-10% of the steps "
        "is common, e.g. 0.05 as a ratio)"]
    assert "reaches only 98% of learning_rate" in _warmup_notes(_cfg(50))[0]


@pytest.mark.parametrize("warmup, scheduler", [(49, "cosine"), (0, "cosine"), (0.99, "linear"), (100, "constant")])
def test_no_note_when_the_warmup_ends_in_time_or_does_nothing(warmup, scheduler):
    # a ratio below 1 always ends before the last step; with "constant" config check names the warmup
    assert _warmup_notes(_cfg(warmup, scheduler=scheduler)) == []


def test_the_note_reaches_loratui_steps(tmp_path):
    img = tmp_path / "img" / "1_a"
    img.mkdir(parents=True)
    for i in range(4):
        Image.new("RGB", (64, 64)).save(img / f"{i}.png")
    data = {"dataset": {"train_data_dir": "img", "resolution": 64, "min_bucket_reso": 64, "max_bucket_reso": 64},
            "optimizer": {"lr_scheduler": "cosine", "lr_warmup_steps": 100},
            "training": {"max_train_steps": 50}}
    save_config(config_from_dict(data), tmp_path / "c.toml")
    result = CliRunner().invoke(cli, ["steps", str(tmp_path / "c.toml")])
    assert result.exit_code == 0, result.output
    assert "lr_warmup_steps 100 is not shorter than the run's 50 steps" in result.output
