"""`loratui vram` end to end (in-process)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from loratui.cli import cli, main
from loratui.core.config import TrainingConfig
from loratui.core.config import save_config
from loratui.core.plan import calibration_points


@pytest.fixture(autouse=True)
def isolated_user_presets(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "loratui" / "presets"


@pytest.fixture
def config_file(tmp_path):
    cfg = TrainingConfig()
    cfg.model.pretrained_model_name_or_path = "models/sd_xl_base_1.0.safetensors"
    path = tmp_path / "run.toml"
    save_config(cfg, path)
    return path


def run(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_vram_table_json_and_calibration(config_file):
    out = run("vram", str(config_file)).output
    assert "UNet weights" in out and "total" in out and "Assumptions:" in out and "guessed" in out
    assert "Fits on" in out and "sdxl-" in out
    data = json.loads(run("vram", str(config_file), "--json", "--family", "sd15").output)
    assert data["family"] == "sd1" and data["total_bytes"] == sum(p["bytes"] for p in data["parts"])
    assert "sd15-6gb" in data["fits_presets"]
    out = run("vram", "--calibration").output
    assert "SDXL 1024px" in out and "%" in out
    assert len(json.loads(run("vram", "--calibration", "--json").output)["points"]) == len(calibration_points())


def test_vram_needs_a_config(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["vram"])
    assert exc.value.code == 2 and "give a config file" in capsys.readouterr().err


def test_family_auto_reads_the_weights_or_says_it_cannot(tmp_path):
    """issue 11: an unreadable model is not silently estimated as SD1."""
    from fixtures.bad_inputs import SDXL_KEYS, write_safetensors

    cfg = TrainingConfig()
    cfg.model.pretrained_model_name_or_path = "m.safetensors"
    path = tmp_path / "c.toml"
    save_config(cfg, path)
    (tmp_path / "m.safetensors").write_bytes(b"\x00" * 100)
    result = CliRunner().invoke(cli, ["vram", str(path)])
    assert result.exit_code != 0 and "cannot tell the model family" in str(result.exception)
    write_safetensors(tmp_path / "m.safetensors", SDXL_KEYS)
    assert "(sdxl)" in run("vram", str(path)).output


def _batch_64_on_21_samples(tmp_path) -> TrainingConfig:
    """A config of batch 64 over one bucket of 21 samples (7 images x 3 repeats) in tmp_path/img."""
    from PIL import Image

    folder = tmp_path / "img" / "3_x"
    folder.mkdir(parents=True)
    for i in range(7):
        Image.new("RGB", (512, 512)).save(folder / f"{i}.png")
    cfg = TrainingConfig()
    cfg.dataset.train_data_dir = str(tmp_path / "img")
    cfg.training.train_batch_size = 64
    return cfg


def test_no_batch_is_larger_than_the_largest_bucket(tmp_path):
    """Batch 64 on a 24-sample dataset was sized as 64 images of activations: about twice the peak."""
    from loratui.core.plan import estimate_vram

    cfg = _batch_64_on_21_samples(tmp_path)
    cfg.model.pretrained_model_name_or_path = "models/v1-5-pruned.safetensors"
    cfg.dataset.train_data_dir = "img"  # relative to the config written next
    path = tmp_path / "run.toml"
    save_config(cfg, path)
    data = json.loads(run("vram", str(path), "--json", "--family", "sd15").output)
    assert any("batches of 21, not train_batch_size 64" in a for a in data["assumptions"]), data["assumptions"]
    assert data["total_bytes"] == estimate_vram(cfg, family="sd1", largest_bucket=21).total_bytes
    assert data["total_bytes"] < estimate_vram(cfg, family="sd1").total_bytes


def test_the_fixes_size_batches_as_the_headline_does(tmp_path):
    """The panel said a batch-64 config on 21 samples fits, while its fixes (uncapped) said it did not."""
    from loratui.core.plan import estimate_vram, largest_bucket_samples, scan_for_config, vram_fixes

    cfg = _batch_64_on_21_samples(tmp_path)
    scan = scan_for_config(cfg)
    capped = estimate_vram(cfg, family="sd1", largest_bucket=largest_bucket_samples(cfg, scan))
    card = next(gb for gb in range(4, 200) if capped.fits(gb))  # the smallest card it fits, as trained
    assert not estimate_vram(cfg, family="sd1").fits(card)  # sized for batch 64 it would not
    assert vram_fixes(cfg, card, family="sd1", scan=scan) == []
    assert vram_fixes(cfg, card, family="sd1")  # without the dataset: fixes offered
