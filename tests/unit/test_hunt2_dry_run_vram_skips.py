"""hunt2 findings 8, 10 and 12: `presets apply --dry-run` refuses what the real apply refuses; `vram`
says a missing model path is a guess from its name; `dataset init` and `dataset scan` name the hidden
files and folders and the broken links they skip."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli, main
from loratui.core.config import TrainingConfig, save_config
from loratui.core.dataset import init_project


@pytest.fixture(autouse=True)
def isolated_user_presets(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


# ---- 8: the dry run exits 2 where the real apply refuses --------------------------------------------

def test_dry_run_refuses_with_the_same_line_as_the_apply(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('[model]\nmodel_family = "sd1"\n[dataset]\nresolution = 128\nmin_bucket_reso = 64\n'
                      "max_bucket_reso = 256\n", encoding="utf-8")
    before = config.read_bytes()
    errors = {}
    for flag in ("--dry-run", "--yes"):
        with pytest.raises(SystemExit) as exc:
            main(["presets", "apply", str(config), "sd15-6gb", flag])
        assert exc.value.code == 2 and config.read_bytes() == before
        errors[flag] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert errors["--dry-run"] == errors["--yes"] and "nothing written" in errors["--yes"][0]
    result = CliRunner().invoke(cli, ["presets", "apply", str(config), "sd15-6gb", "--dry-run", "--force"])
    assert result.exit_code == 0 and "dry run: nothing written" in result.output and config.read_bytes() == before


def test_apply_help_says_the_dry_run_exit_code():
    out = CliRunner().invoke(cli, ["presets", "apply", "--help"]).output
    assert "--dry-run refuses" in " ".join(out.split())


# ---- 10: vram on a model path that does not exist (yet) ---------------------------------------------

def _config(tmp_path: Path, model: str) -> Path:
    cfg = TrainingConfig()
    cfg.model.pretrained_model_name_or_path = model
    path = tmp_path / "c.toml"
    save_config(cfg, path)
    return path


def test_vram_says_the_model_is_missing_and_the_family_a_guess(tmp_path):
    config = _config(tmp_path, "nope.safetensors")
    result = CliRunner().invoke(cli, ["vram", str(config)])
    assert result.exit_code == 0
    [line] = result.stderr.splitlines()
    assert line == (f"warning: pretrained_model_name_or_path: {tmp_path / 'nope.safetensors'} does not exist (yet): "
                    "model family guessed from its name (sd1); set model.model_family to be sure")
    data = json.loads(CliRunner().invoke(cli, ["vram", str(config), "--json"]).stdout)
    assert data["warnings"] == [line.removeprefix("warning: ")]
    help_text = " ".join(CliRunner().invoke(cli, ["vram", "--help"]).output.split())
    assert "does not exist (yet), the family is guessed from its name" in help_text


@pytest.mark.parametrize("model, family", [("stabilityai/stable-diffusion-xl-base-1.0", None), ("nope.safetensors", "sd1")])
def test_vram_says_nothing_for_a_repo_id_or_a_set_family(tmp_path, model, family):
    config = _config(tmp_path, model)
    args = ["vram", str(config)] + (["--family", family] if family else [])
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0 and result.stderr == ""


# ---- 12: hidden files, broken links and hidden concept folders are named ----------------------------

def _source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    Image.new("RGB", (16, 8)).save(src / "a.png")
    Image.new("RGB", (16, 8)).save(src / ".hidden.png")
    (src / ".hidden.txt").write_text("x")
    (src / ".DS_Store").write_bytes(b"\0")  # no one's data: not named
    os.symlink(tmp_path / "nowhere.png", src / "dangling.png")
    return src


def test_init_names_hidden_files_and_broken_links(tmp_path):
    src = _source(tmp_path)
    result = init_project(tmp_path / "p", "x", 5, src)
    assert [p.name for p in result.skipped_hidden] == [".hidden.png", ".hidden.txt"]
    assert [p.name for p in result.skipped_broken_links] == ["dangling.png"]
    out = CliRunner().invoke(cli, ["dataset", "init", str(tmp_path / "q"), "--concept", "x", "--repeats", "5",
                                   "--images", str(src)]).output
    assert f"skipped 2 hidden file(s) of {src}/: .hidden.png, .hidden.txt" in out and ".DS_Store" not in out
    assert f"skipped 1 broken link(s) in {src}/: dangling.png -> {tmp_path / 'nowhere.png'}" in out


def test_init_from_only_hidden_images_says_so(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    Image.new("RGB", (16, 8)).save(src / ".only.png")
    with pytest.raises(Exception, match=r"1 hidden image\(s\) \(\.only\.png\.\.\.\) are never trained"):
        init_project(tmp_path / "p", "x", 5, src)


def test_scan_names_a_hidden_concept_folder(tmp_path):
    (tmp_path / "img" / "5_x").mkdir(parents=True)
    Image.new("RGB", (16, 16)).save(tmp_path / "img" / "5_x" / "a.png")
    (tmp_path / "img" / ".5_hidden").mkdir()
    (tmp_path / "img" / ".loratui").mkdir()
    out = CliRunner().invoke(cli, ["dataset", "scan", str(tmp_path / "img")]).output
    assert "info hidden_folders (1)" in out and "1 hidden folder(s) skipped: .5_hidden" in out
    assert ".loratui" not in out
