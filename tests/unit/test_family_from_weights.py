"""model_family = "auto" is one answer everywhere: the family read from the model's weights (an SDXL
model without "xl" in its name is SDXL to the VRAM estimate, the presets, the advice, the bucket notes,
the run-speed match, `config new` and `config check`), cached per file change; the name guess is the
last resort and says so."""

from __future__ import annotations

import json
import os

from click.testing import CliRunner

from fixtures.bad_inputs import SD1_KEYS, SDXL_KEYS, write_png, write_safetensors
from loratui.cli import cli
from loratui.core.config import (
    TrainingConfig, config_model_family, config_notes, field_help, load_config, read_model_family, save_config,
)
from loratui.core.config.sdscripts_export import sdscripts_refusals
from loratui.core.plan import (
    Schedule, compute_schedule, estimate_vram, plan_advice, plan_epoch, resolve_family, scan_for_config, vram_fixes,
)


def sdxl_folder(path):
    """A diffusers folder the family is read from (model_index.json names text_encoder_2)."""
    path.mkdir(parents=True)
    (path / "model_index.json").write_text(json.dumps({
        "_class_name": "StableDiffusionXLPipeline", "text_encoder": ["transformers", "CLIPTextModel"],
        "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"]}), encoding="utf-8")
    return path


def project(tmp_path, model_name="animeModel_v10.safetensors", keys=SDXL_KEYS, **model_fields) -> TrainingConfig:
    """A config (saved as tmp_path/c.toml, loaded back) over a fake model named without "xl"."""
    if keys is not None:
        write_safetensors(tmp_path / model_name, keys)
    for i in range(3):
        write_png(tmp_path / "img" / "5_thing" / f"{i}.png", size=(128, 128))
    cfg = TrainingConfig()
    cfg.model.pretrained_model_name_or_path = model_name
    cfg.dataset.train_data_dir = "img"
    cfg.dataset.resolution = (128, 128)
    cfg.dataset.min_bucket_reso = 64
    cfg.training.max_train_epochs = 10
    for key, value in model_fields.items():
        setattr(cfg.model, key, value)
    save_config(cfg, tmp_path / "c.toml")
    return load_config(tmp_path / "c.toml")


def test_auto_reads_the_weights_not_the_name(tmp_path):
    read = config_model_family(project(tmp_path))
    assert (read.family, read.source, read.guessed) == ("sdxl", "weights", False)
    sdxl_folder(tmp_path / "sdxl")
    os.symlink(tmp_path / "sdxl", tmp_path / "base")  # a link named without "xl"
    cfg = project(tmp_path, model_name="base", keys=None)
    assert config_model_family(cfg).family == "sdxl" and resolve_family(cfg, None, []) == "sdxl"
    assert config_model_family(project(tmp_path, model_family="sd1")).source == "config"


def test_the_name_guess_is_the_last_resort_and_says_why(tmp_path):
    missing = config_model_family(project(tmp_path, model_name="my_xl.safetensors", keys=None))
    assert (missing.family, missing.guessed) == ("sdxl", True) and "does not exist" in missing.why
    (tmp_path / "broken.safetensors").write_bytes(b"\x00" * 50)
    broken = project(tmp_path, model_name="broken.safetensors", keys=None)
    assert config_model_family(broken).guessed and "cannot be read" in config_model_family(broken).why
    notes: list[str] = []
    assert resolve_family(broken, None, notes) == "sd1"
    assert any("guessed from the model name" in n and "cannot be read" in n for n in notes)


def test_the_weights_are_read_once_per_change_of_the_file(tmp_path, monkeypatch):
    import loratui.core.config.model_check as model_check

    path = write_safetensors(tmp_path / "m.safetensors", SDXL_KEYS)
    calls = []
    real = model_check.detect_model_family
    monkeypatch.setattr(model_check, "detect_model_family", lambda p: calls.append(p) or real(p))
    assert read_model_family(path) == "sdxl" and read_model_family(path) == "sdxl"
    assert len(calls) == 1
    write_safetensors(path, SD1_KEYS)  # replaced by another model: read again
    os.utime(path, ns=(1, 1))
    assert read_model_family(path) == "sd1" and len(calls) == 2


def test_estimate_presets_advice_and_fixes_follow_the_weights(tmp_path):
    cfg = project(tmp_path)
    estimate = estimate_vram(cfg)
    assert estimate.family == "sdxl" and not any("guessed" in a for a in estimate.assumptions)
    assert estimate.total_bytes == estimate_vram(cfg, family="sdxl").total_bytes
    schedule = compute_schedule(cfg, scan_for_config(cfg))
    assert isinstance(schedule, Schedule)
    samples = next(a for a in plan_advice(cfg, schedule) if a.rule == "samples_per_epoch")
    assert "SDXL" in samples.message and "SD 1.5" not in samples.message
    cfg.dataset.resolution = (1024, 1024)
    cfg.training.train_batch_size = 4
    assert vram_fixes(cfg, 12) == vram_fixes(cfg, 12, family="sdxl")


def test_presets_apply_reads_the_family_from_the_weights(tmp_path):
    project(tmp_path)
    config = str(tmp_path / "c.toml")
    result = CliRunner().invoke(cli, ["presets", "apply", config, "sdxl-12gb", "--dry-run"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["presets", "apply", config, "sd15-8gb", "--dry-run"])
    assert result.exit_code != 0 and "model is sdxl" in str(result.exception)
    assert "guessed" not in str(result.exception)


def test_picker_and_run_speed_use_the_weights(tmp_path):
    from loratui.tui.screens.preset_picker import config_family
    from loratui.tui.services.run_speed import _config_family

    cfg = project(tmp_path)
    assert config_family(cfg) == "sdxl" and _config_family(cfg) == "sdxl"


def test_bucket_reso_steps_judged_for_the_family_read(tmp_path):
    cfg = project(tmp_path)
    cfg.dataset.bucket_reso_steps = 32  # SDXL's trainer takes it; SD1/SD2's does not
    assert not [n for n in plan_epoch(cfg, scan_for_config(cfg)).notes if "bucket_reso_steps" in n]
    assert sdscripts_refusals(cfg) == []  # the export reads the model file the same way
    sd1 = project(tmp_path, model_name="sd1.safetensors", keys=SD1_KEYS)
    sd1.dataset.bucket_reso_steps = 32
    assert any("SD1/SD2 trainer" in n for n in plan_epoch(sd1, scan_for_config(sd1)).notes)
    unread = project(tmp_path, model_name="gone_xl.safetensors", keys=None)  # a name guess is not trusted
    unread.dataset.bucket_reso_steps = 40
    assert any("SD1/SD2 trainer and its SDXL trainer" in n for n in plan_epoch(unread, scan_for_config(unread)).notes)


def test_config_new_applies_the_defaults_of_the_family_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_safetensors(tmp_path / "animeModel_v10.safetensors", SDXL_KEYS)
    result = CliRunner().invoke(cli, ["config", "new", "a.toml", "--model", "animeModel_v10.safetensors"])
    assert result.exit_code == 0 and "model family sdxl, read from the weights" in result.output
    cfg = load_config(tmp_path / "a.toml")
    assert cfg.model.model_family == "auto"
    assert (cfg.dataset.resolution, cfg.dataset.max_bucket_reso, cfg.training.gradient_checkpointing) == \
        ((1024, 1024), 2048, True)
    write_safetensors(tmp_path / "sd.safetensors", SD1_KEYS)
    CliRunner().invoke(cli, ["config", "new", "b.toml", "--model", "sd.safetensors"])
    assert load_config(tmp_path / "b.toml").dataset.resolution == (512, 512)
    (tmp_path / "bad.safetensors").write_bytes(b"\x00" * 50)
    result = CliRunner().invoke(cli, ["config", "new", "c.toml", "--model", "bad.safetensors"])
    assert result.exit_code == 0 and "cannot read the model family" in result.output
    assert load_config(tmp_path / "c.toml").dataset.resolution == (512, 512)


def test_clip_skip_on_sdxl_is_a_note(tmp_path):
    cfg = project(tmp_path)
    cfg.training.clip_skip = 2
    line = "training.clip_skip = 2 is ignored for SDXL (sd-scripts ignores it too; the metadata records it)"
    assert line in config_notes(cfg)
    sd1 = project(tmp_path, model_name="sd1.safetensors", keys=SD1_KEYS)
    sd1.training.clip_skip = 2
    assert not any("clip_skip" in n for n in config_notes(sd1))
    assert "SD1/SD2 only" in field_help("training", "clip_skip")
    assert "2 for most SD1 anime models" in field_help("training", "clip_skip")
