"""`loratui presets apply` prints the estimate `loratui vram` prints for the same file: both size no batch
past the dataset's largest bucket (hunt s14/h3 finding 3: 3 images at batch 4 gave 13.61 GiB against
10.92 GiB), and the over-the-card line and its fix count batches the same way."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli
from loratui.core.config import TrainingConfig, save_config


@pytest.fixture(autouse=True)
def isolated_user_presets(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def _config(tmp_path, images: int, batch: int, **network):
    folder = tmp_path / "ds" / "img" / "1_bob"
    folder.mkdir(parents=True)
    for i in range(images):
        Image.new("RGB", (512, 512), (i * 40, 90, 160)).save(folder / f"{i}.png")
        (folder / f"{i}.txt").write_text("bob", encoding="utf-8")
    cfg = TrainingConfig()
    cfg.model.pretrained_model_name_or_path = "models/v1-5-pruned-emaonly.safetensors"
    cfg.model.model_family = "sd1"
    cfg.dataset.train_data_dir = "ds/img"
    cfg.dataset.max_bucket_reso = 1024
    cfg.training.train_batch_size = batch
    for key, value in network.items():
        setattr(cfg.network, key, value)
    path = tmp_path / "run.toml"
    save_config(cfg, path)
    return path


def _applied_gib(output: str) -> str:
    line = next(x for x in output.splitlines() if x.startswith("estimated peak VRAM after applying: "))
    return line.split(": ")[1]


def _vram_total(path) -> tuple[str, list[str]]:
    result = CliRunner().invoke(cli, ["vram", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    return f"{data['total_bytes'] / 1024 ** 3:.2f} GiB", data["assumptions"]


def test_apply_prints_the_total_vram_prints_for_fewer_images_than_the_batch(tmp_path):
    path = _config(tmp_path, images=3, batch=8)
    result = CliRunner().invoke(cli, ["presets", "apply", str(path), "sd15-16gb", "--yes"])
    assert result.exit_code == 0, result.output
    assert "train_batch_size  8 -> 4" in result.output
    total, assumptions = _vram_total(path)
    assert _applied_gib(result.output) == total
    assert any(a.startswith("batches of 3, not train_batch_size 4") for a in assumptions)


def test_dry_run_agrees_with_vram_after_the_real_apply(tmp_path):
    path = _config(tmp_path, images=1, batch=8)
    dry = CliRunner().invoke(cli, ["presets", "apply", str(path), "sd15-24gb", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    CliRunner().invoke(cli, ["presets", "apply", str(path), "sd15-24gb", "--yes"])
    assert _applied_gib(dry.output) == _vram_total(path)[0]


def test_no_over_the_card_line_when_the_largest_bucket_makes_it_fit(tmp_path):
    """A DoRA network at sd15-16gb's batch 4 is over 16 GB; with two images every batch holds 2 and it fits."""
    dora = {"network_module": "lycoris.kohya", "network_args": ["algo=locon", "dora_wd=true"]}
    four = _config(tmp_path / "four", images=4, batch=1, **dora)
    over = CliRunner().invoke(cli, ["presets", "apply", str(four), "sd15-16gb", "--dry-run"])
    assert [x for x in over.output.splitlines() if x.startswith("! ")], over.output
    two = _config(tmp_path / "two", images=2, batch=1, **dora)
    fits = CliRunner().invoke(cli, ["presets", "apply", str(two), "sd15-16gb", "--yes"])
    assert fits.exit_code == 0, fits.output
    assert not [x for x in fits.output.splitlines() if x.startswith("! ")], fits.output
    assert _applied_gib(fits.output) == _vram_total(two)[0]


def test_an_unreadable_dataset_still_gets_an_estimate(tmp_path):
    path = _config(tmp_path, images=0, batch=2)
    text = path.read_text(encoding="utf-8").replace('train_data_dir = "ds/img"', 'train_data_dir = "nowhere"')
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["presets", "apply", str(path), "sd15-8gb", "--yes"])
    assert result.exit_code == 0, result.output
    assert _applied_gib(result.output) == _vram_total(path)[0]
