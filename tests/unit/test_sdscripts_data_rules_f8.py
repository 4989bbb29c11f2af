"""Config, steps and export against sd-scripts' data rules: cache_latents_to_disk turns cache_latents on,
bucket bounds are checked after rounding, and buckets off without cached latents crops (random_crop) or
stops sd-scripts (images other than the resolution), which `config check` and the export name."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli
from loratui.core.config import (
    TrainingConfig, config_file_problems, config_from_dict, config_notes, export_problems, import_kohya, load_config,
    save_config, validate, with_resolved_paths,
)
from loratui.core.errors import LoratuiError
from loratui.core.plan import compute_schedule, make_buckets, scan_for_config

CACHE_NOTE = ("dataset.cache_latents_to_disk = true turns dataset.cache_latents on (its false is overridden, as "
              "sd-scripts does)")


def _config(root: Path, images: dict[str, tuple[int, int]], **dataset) -> Path:
    """A config under ``root`` whose images are {"N_name/file.png": (w, h)}."""
    for name, size in images.items():
        path = root / "img" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, "red").save(path)
    header = json.dumps({"cond_stage_model.transformer.x": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]}})
    (root / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header.encode() + b"\0\0")
    data = {"model": {"pretrained_model_name_or_path": "org/base", "model_family": "sd1"},
            "dataset": {"train_data_dir": "img", "resolution": 64, "min_bucket_reso": 64, "max_bucket_reso": 128,
                        **dataset},
            "training": {"max_train_epochs": 1, "train_batch_size": 1}}
    path = root / "c.toml"
    save_config(config_from_dict(data), path)
    return path


# ---- 1. cache_latents_to_disk alone ---------------------------------------------------------------

def test_cache_to_disk_alone_is_a_note_not_a_refusal():
    cfg = TrainingConfig()
    cfg.dataset.cache_latents, cfg.dataset.cache_latents_to_disk = False, True
    assert not [p for p in validate(cfg) if "cache_latents" in p]
    assert any(n.startswith(CACHE_NOTE) for n in config_notes(cfg))
    assert with_resolved_paths(cfg).dataset.cache_latents is True  # what `train` runs on
    assert cfg.dataset.cache_latents is False  # the user's config itself is not changed
    cfg.dataset.cache_latents = True
    assert not any(n.startswith(CACHE_NOTE) for n in config_notes(cfg))


def test_random_crop_with_cache_to_disk_is_refused_by_check_as_by_train():
    """config check reads the file as written, `train` the resolved copy: both refuse it."""
    cfg = TrainingConfig()
    cfg.dataset.cache_latents, cfg.dataset.cache_latents_to_disk, cfg.dataset.random_crop = False, True, True
    for checked in (cfg, with_resolved_paths(cfg)):
        assert [p for p in validate(checked) if p.startswith("random_crop does nothing with cache_latents")]
    assert "cache_latents_to_disk, which turns cache_latents on" in " ".join(validate(cfg))


def test_import_kohya_turns_cache_latents_on_with_a_note():
    cfg, report = import_kohya({"LoRA_type": "Standard", "network_dim": 8, "cache_latents": False,
                                "cache_latents_to_disk": True})
    assert cfg.dataset.cache_latents is True and cfg.dataset.cache_latents_to_disk is True
    assert ("  cache_latents -> dataset.cache_latents  (false in the file, imported as true: cache_latents_to_disk "
            "turns it on, as sd-scripts does)") in report.lines()
    cfg, _ = import_kohya({"LoRA_type": "Standard", "network_dim": 8, "cache_latents": False,
                           "cache_latents_to_disk": False})
    assert cfg.dataset.cache_latents is False


def test_config_check_cli_says_ok_with_the_note(tmp_path):
    path = _config(tmp_path, {"1_a/a.png": (64, 64)}, cache_latents=False, cache_latents_to_disk=True)
    text = path.read_text().replace('"org/base"', '"model.safetensors"')
    path.write_text(text)
    result = CliRunner().invoke(cli, ["config", "check", str(path)])
    assert "cache_latents_to_disk needs" not in result.output
    assert f"note: {CACHE_NOTE}" in result.output


# ---- 3. bucket bounds after rounding --------------------------------------------------------------

def _bucket_cfg(resolution=256, low=64, high=250, steps=64) -> TrainingConfig:
    cfg = TrainingConfig()
    d = cfg.dataset
    d.resolution, d.min_bucket_reso, d.max_bucket_reso, d.bucket_reso_steps = (resolution, resolution), low, high, steps
    return cfg


def test_bounds_are_checked_after_sd_scripts_rounding():
    cfg = _bucket_cfg()  # max 250 rounds up to 256: resolution 256 is inside, as steps says
    assert not [p for p in validate(cfg) if "bucket_reso" in p]
    assert make_buckets((256, 256), 64, 250, 64).max_reso == 256
    assert not [p for p in validate(_bucket_cfg(low=260, high=250)) if "bucket_reso" in p]  # both 256
    assert make_buckets((256, 256), 260, 250, 64).min_reso == 256


def test_bounds_still_refused_past_the_rounded_values():
    problems = [p for p in validate(_bucket_cfg(resolution=320)) if "bucket_reso" in p]
    assert problems == ["resolution 320x320 must lie between min_bucket_reso (64) and max_bucket_reso (250, rounded "
                        "up to 256) when enable_bucket is true"]
    with pytest.raises(LoratuiError, match="max_bucket_reso"):
        make_buckets((320, 320), 64, 250, 64)
    assert [p for p in validate(_bucket_cfg(low=400, high=300)) if p.startswith("min_bucket_reso (400) is larger")]


def test_the_export_does_not_refuse_a_rounded_max(tmp_path):
    path = _config(tmp_path, {"1_a/a.png": (256, 256)}, resolution=256, max_bucket_reso=250)
    assert not [p for p in export_problems(load_config(path)) if "bucket_reso" in p]


# ---- 2. buckets off, latents not cached ----------------------------------------------------------

def _schedule_notes(path: Path) -> list[str]:
    cfg = load_config(path)
    return compute_schedule(cfg, scan_for_config(cfg)).notes


def test_random_crop_without_buckets_crops_larger_images_at_full_size(tmp_path):
    path = _config(tmp_path, {"1_a/big.png": (96, 80), "1_a/exact.png": (64, 64)}, enable_bucket=False,
                   cache_latents=False, random_crop=True)
    cfg = load_config(path)
    schedule = compute_schedule(cfg, scan_for_config(cfg))
    assert ("1 image(s) are larger than 64x64: with enable_bucket off, random_crop on and latents not cached, each "
            "step trains a random 64x64 patch of them at full scale (no resize), as sd-scripts does") in schedule.notes
    assert not [p for p in export_problems(cfg) if "sd-scripts stops" in p]


def test_random_crop_without_buckets_refuses_a_smaller_image_as_sd_scripts_stops(tmp_path):
    path = _config(tmp_path, {"1_a/small.png": (60, 80), "1_a/exact.png": (64, 64)}, enable_bucket=False,
                   cache_latents=False, random_crop=True)
    cfg = load_config(path)
    with pytest.raises(LoratuiError) as info:
        compute_schedule(cfg, scan_for_config(cfg))
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'img' / '1_a' / 'small.png'}: 60x80 is smaller than the resolution 64x64")
    assert "image size is small" in message and "enable_bucket = true or cache_latents = true" in message


def test_the_steps_note_says_where_sd_scripts_resizes_and_where_it_stops(tmp_path):
    cached = _config(tmp_path / "c", {"1_a/big.png": (96, 80)}, enable_bucket=False, cache_latents=True)
    assert ("1 image(s) are not 64x64: with enable_bucket off they are resized to cover it and centre-cropped before "
            "their latents are cached, as sd-scripts does") in _schedule_notes(cached)
    on_disk = _config(tmp_path / "d", {"1_a/big.png": (96, 80)}, enable_bucket=False, cache_latents=False,
                      cache_latents_to_disk=True)
    assert any("as sd-scripts does" in n and "latents are cached" in n for n in _schedule_notes(on_disk))
    uncached = _config(tmp_path / "u", {"1_a/big.png": (96, 80)}, enable_bucket=False, cache_latents=False)
    note = next(n for n in _schedule_notes(uncached) if n.startswith("1 image(s) are not 64x64"))
    assert "sd-scripts without cached latents stops on them" in note and "set cache_latents = true" in note
    assert "sd-scripts does so only with cache_latents" not in note


def test_check_and_export_name_images_sd_scripts_stops_on(tmp_path):
    path = _config(tmp_path, {"1_a/big.png": (96, 80), "1_a/big2.png": (64, 70), "1_a/exact.png": (64, 64),
                              "1_a/small.png": (32, 32)}, enable_bucket=False, cache_latents=False)
    cfg = load_config(path)
    found = [p for p in export_problems(cfg) if "sd-scripts stops on it" in p]
    big = tmp_path / "img" / "1_a" / "big.png"
    assert found == [
        f"{big} (and 1 more image(s) like it): 96x80 is larger than the resolution 64x64: sd-scripts stops on it "
        "(\"image too large, but cropping and bucketing are disabled\") with enable_bucket = false, cache_latents = "
        "false and random_crop = false; `loratui train` resizes it to cover the resolution and centre-crops, `config "
        "export-sdscripts` stops on it: set cache_latents = true (both then resize), random_crop = true (both then "
        "crop at full size) or enable_bucket = true in [dataset]",
        f"{tmp_path / 'img' / '1_a' / 'small.png'}: 32x32 is smaller than the resolution 64x64: sd-scripts stops on "
        "it (\"image size is small\") with enable_bucket = false, cache_latents = false; `loratui train` resizes it "
        "to cover the resolution and centre-crops, `config export-sdscripts` stops on it: set cache_latents = true "
        "(both then resize) or enable_bucket = true, or upscale it in [dataset]"]
    _, problems = config_file_problems(path)
    assert f"{path}: {found[0]}" in problems  # config check reports what only sd-scripts refuses
    _, train_only = config_file_problems(path, sdscripts=False)
    assert not [p for p in train_only if "sd-scripts stops on it" in p]
    for fixed in ({"cache_latents": True}, {"enable_bucket": True}, {"cache_latents_to_disk": True}):
        other = _config(tmp_path / str(len(fixed) + len(str(fixed))), {"1_a/big.png": (96, 80)},
                        **{"enable_bucket": False, "cache_latents": False, **fixed})
        assert not [p for p in export_problems(load_config(other)) if "sd-scripts stops on it" in p], fixed


def test_unused_reg_images_are_not_named(tmp_path):
    """sd-scripts registers reg images only until their samples match the train samples."""
    path = _config(tmp_path, {"2_a/a.png": (64, 64), "2_a/b.png": (64, 64)}, enable_bucket=False,
                   cache_latents=False, reg_data_dir="reg")
    for name, size in (("a.png", (64, 64)), ("b.png", (64, 64)), ("c.png", (96, 96))):
        (tmp_path / "reg" / "2_r").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size).save(tmp_path / "reg" / "2_r" / name)
    assert not [p for p in export_problems(load_config(path)) if "sd-scripts stops on it" in p]
    Image.new("RGB", (96, 96)).save(tmp_path / "reg" / "2_r" / "a.png")
    assert [p for p in export_problems(load_config(path)) if "sd-scripts stops on it" in p]
