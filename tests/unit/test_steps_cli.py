"""`loratui steps` end to end on real (tiny) image folders."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli, main
from loratui.core.config import TrainingConfig
from loratui.core.config import save_config


def images(folder, sizes):
    folder.mkdir(parents=True)
    for i, (w, h) in enumerate(sizes):
        Image.new("RGB", (w, h), (i * 7 % 255, 80, 120)).save(folder / f"{i:03d}.png")
        (folder / f"{i:03d}.txt").write_text("tag", encoding="utf-8")


@pytest.fixture
def project(tmp_path):
    """The issue's case, scaled to tiny images: 10_a x 20 + 5_b x 10, one reg folder of 300 images,
    all 64x64 at resolution 64 (one bucket), batch 4, accumulation 2, 10 epochs."""
    images(tmp_path / "img" / "10_a", [(64, 64)] * 20)
    images(tmp_path / "img" / "5_b", [(64, 64)] * 10)
    images(tmp_path / "reg" / "1_person", [(64, 64)] * 300)
    cfg = TrainingConfig()
    cfg.dataset.train_data_dir = "img"  # relative to the config file's folder
    cfg.dataset.reg_data_dir = "reg"
    cfg.dataset.resolution = (64, 64)
    cfg.dataset.min_bucket_reso = 64
    cfg.training.train_batch_size = 4
    cfg.training.gradient_accumulation_steps = 2
    cfg.training.max_train_epochs = 10
    path = tmp_path / "run.toml"
    save_config(cfg, path)
    return path, cfg


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_json_has_the_contract_keys(project):
    path, _ = project
    data = json.loads(run("steps", str(path), "--json").output)
    assert {k: data[k] for k in ("samples_per_epoch", "reg_samples_per_epoch", "batches_per_epoch",
                                 "steps_per_epoch", "total_steps", "epochs")} == {
        "samples_per_epoch": 250, "reg_samples_per_epoch": 250, "batches_per_epoch": 125,
        "steps_per_epoch": 63, "total_steps": 630, "epochs": 10}
    assert data["buckets"] == {"64x64": 500} and data["kohya_gui_steps"] == 625


def test_human_breakdown(project):
    path, _ = project
    out = run("steps", str(path)).output
    assert "10 x    20 =     200" in out and "5 x    10 =      50" in out
    assert "reg samples per epoch:   250 (available 300" in out and "unused images 50" in out
    assert "64x64" in out and "125" in out
    assert "ceil(125 batches / 1 process(es) / 2 accumulation) = 63" in out
    assert "10 epochs x 63 = 630" in out and "Total: 630 steps in 10 epoch(s)." in out
    assert "kohya_ss GUI would show 625" in out


def test_num_processes(project):
    path, _ = project
    data = json.loads(run("steps", str(path), "--json", "--num-processes", "2").output)
    assert (data["batches_per_process"], data["steps_per_epoch"], data["total_steps"]) == (63, 32, 320)
    out = run("steps", str(path), "--num-processes", "2").output
    assert "2 process(es)" in out and "= 63 batches per epoch" in out


def test_target_steps_json_and_human(project, tmp_path):
    path, cfg = project
    cfg.training.max_train_epochs = None  # --target-steps works without either key
    save_config(cfg, path)
    data = json.loads(run("steps", str(path), "--json", "--target-steps", "600").output)
    assert data["target"] == {"target_steps": 600, "steps_per_epoch": 63, "epochs": 10, "total_steps": 630,
                              "difference": 30}
    assert (data["epochs"], data["total_steps"]) == (10, 630)
    out = run("steps", str(path), "--target-steps", "590").output
    assert "target 590 steps -> 9 epoch(s) x 63 = 567 steps (-23)" in out
    out = run("steps", str(path), "--target-steps", "9000000").output  # 142,858 epochs: above the limit
    assert "target 9000000 steps -> 100000 epoch(s)" in out and "set max_train_steps = 9000000 instead" in out


def test_steps_only_config(project):
    path, cfg = project
    cfg.training.max_train_epochs = None
    cfg.training.max_train_steps = 100
    save_config(cfg, path)
    data = json.loads(run("steps", str(path), "--json").output)
    assert (data["mode"], data["epochs"], data["total_steps"], data["last_epoch_steps"]) == ("steps", 2, 100, 37)
    assert "the last runs 37 steps" in run("steps", str(path)).output


def test_mixed_buckets_from_real_files(tmp_path):
    images(tmp_path / "img" / "2_x", [(512, 512), (1024, 768), (768, 1024)])
    cfg = TrainingConfig()
    cfg.dataset.train_data_dir = str(tmp_path / "img")
    cfg.training.max_train_epochs = 1
    save_config(cfg, tmp_path / "c.toml")
    data = json.loads(run("steps", str(tmp_path / "c.toml"), "--json").output)
    assert data["buckets"] == {"448x576": 2, "512x512": 2, "576x448": 2} and data["total_steps"] == 6


def test_neither_epochs_nor_steps_exits_2(project, capsys):
    path, cfg = project
    cfg.training.max_train_epochs = None
    save_config(cfg, path)
    with pytest.raises(SystemExit) as exc:
        main(["steps", str(path)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith("error: ") and "max_train_epochs" in err
    assert "max_train_steps" in err and "Traceback" not in err


def test_bad_inputs_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["steps", str(tmp_path / "missing.toml")])
    assert exc.value.code == 2 and "no such config file" in capsys.readouterr().err
    cfg = TrainingConfig()
    cfg.dataset.train_data_dir = "nowhere"
    cfg.training.max_train_epochs = 1
    save_config(cfg, tmp_path / "c.toml")
    with pytest.raises(SystemExit) as exc:
        main(["steps", str(tmp_path / "c.toml")])
    assert exc.value.code == 2 and "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["steps", str(tmp_path / "c.toml"), "--num-processes", "0"])
    assert exc.value.code == 2


def test_mixed_case_extensions_are_noted(project):
    path, _ = project
    src = path.parent / "img" / "10_a" / "000.png"
    (path.parent / "img" / "10_a" / "extra.PnG").write_bytes(src.read_bytes())
    out = run("steps", str(path)).output
    assert "1 image(s) have a mixed-case extension (e.g. extra.PnG)" in out


def test_a_dataset_error_names_the_config(tmp_path, capsys):
    cfg = TrainingConfig()  # train_data_dir is empty: the error names the field and, now, the file
    path = tmp_path / "empty.toml"
    save_config(cfg, path)
    with pytest.raises(SystemExit) as exc:
        main(["steps", str(path)])
    assert exc.value.code == 2
    assert capsys.readouterr().err.startswith(f"error: {path}: ")
