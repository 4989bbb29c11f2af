"""`loratui dataset scan|init|balance` end to end through the click group."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli
from loratui.core.errors import LoratuiError


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["dataset", *args], input=input, catch_exceptions=False)


def concept(root: Path, name: str, count: int, captions: bool = True) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for i in range(count):
        Image.new("RGB", (16, 8)).save(folder / f"{i}.png")
        if captions:
            (folder / f"{i}.txt").write_text(f"tag{i}")
    return folder


def test_scan_summary_and_exit_codes(tmp_path):
    concept(tmp_path, "10_a", 2)
    concept(tmp_path, "3_b", 3, captions=False)
    (tmp_path / "photos").mkdir()
    result = run("scan", str(tmp_path))
    assert result.exit_code == 0, result.output  # warnings only
    assert "10_a" in result.output and "3_b" in result.output
    line = next(l for l in result.output.splitlines() if l.startswith("train  10_a"))
    assert line.split()[-4:] == ["10", "2", "2", "20"]
    assert "no_repeat_prefix" in result.output and "missing_caption (3)" in result.output
    assert "5 training image(s), 29 samples per epoch" in result.output

    (tmp_path / "10_a" / "bad.png").write_bytes(b"")
    result = run("scan", str(tmp_path))
    assert result.exit_code == 1
    assert "error unreadable_image (1)" in result.output


def test_scan_limits_each_kind_unless_all(tmp_path):
    concept(tmp_path, "1_a", 8, captions=False)
    result = run("scan", str(tmp_path))
    assert "... and 3 more (--all to list them)" in result.output
    result = run("scan", str(tmp_path), "--all")
    assert "more" not in result.output and result.output.count("has no caption") == 8


def test_scan_json(tmp_path):
    concept(tmp_path / "img", "2_a", 2)
    concept(tmp_path / "reg", "1_dog", 1, captions=False)
    result = run("scan", str(tmp_path / "img"), "--reg", str(tmp_path / "reg"), "--json")
    data = json.loads(result.output)
    assert [s["name"] for s in data["subsets"]] == ["2_a", "1_dog"]
    assert data["subsets"][1]["is_reg"] is True
    assert data["train_samples_per_epoch"] == 4
    assert {p["kind"] for p in data["problems"]} == {"missing_caption"}


def test_scan_project_folder_uses_img_and_reg(tmp_path):
    run("init", str(tmp_path / "proj"), "--concept", "sks", "--repeats", "4")
    Image.new("RGB", (8, 8)).save(tmp_path / "proj" / "img" / "4_sks" / "x.png")
    concept(tmp_path / "proj" / "reg", "1_person", 1)
    data = json.loads(run("scan", str(tmp_path / "proj"), "--json").output)
    assert data["train_data_dir"].endswith("img") and data["reg_data_dir"].endswith("reg")
    assert [s["name"] for s in data["subsets"]] == ["4_sks", "1_person"]


def test_scan_caption_extension_without_dot(tmp_path):
    folder = concept(tmp_path, "1_a", 1, captions=False)
    (folder / "0.caption").write_text("hi")
    data = json.loads(run("scan", str(tmp_path), "--caption-extension", "caption", "--json").output)
    assert data["subsets"][0]["captioned"] == 1


def test_scan_missing_dir_is_a_clean_error(tmp_path):
    with pytest.raises(LoratuiError, match="no such file or folder"):
        run("scan", str(tmp_path / "nope"))


def test_main_prints_error_line(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "loratui", "dataset", "scan", str(tmp_path / "nope")],
        capture_output=True, text=True,
    )
    assert out.returncode == 2 and out.stderr.startswith("error: ") and "Traceback" not in out.stderr


def test_init_prints_what_it_created(tmp_path):
    src = concept(tmp_path, "src", 2)
    result = run("init", str(tmp_path / "p"), "--concept", "sks", "--repeats", "10",
                 "--class-tokens", "dog", "--images", str(src))
    assert result.exit_code == 0, result.output
    assert f"created {tmp_path / 'p' / 'img' / '10_sks dog'}/" in result.output
    assert "copied 2 image(s) and 2 caption(s)" in result.output
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["img", "model", "reg"]  # no log/: nothing uses one


def test_init_link_and_refusals(tmp_path):
    src = concept(tmp_path, "src", 1)
    result = run("init", str(tmp_path / "p"), "--concept", "x", "--repeats", "1", "--images", str(src), "--link")
    assert "linked 1 image(s)" in result.output
    assert (tmp_path / "p" / "img" / "1_x" / "0.png").is_symlink()
    with pytest.raises(LoratuiError, match="already exists"):
        run("init", str(tmp_path / "p"), "--concept", "x", "--repeats", "1", "--images", str(src))
    with pytest.raises(LoratuiError, match="choose one"):
        run("init", str(tmp_path / "q"), "--concept", "x", "--repeats", "1", "--images", str(src), "--link", "--hardlink")
    with pytest.raises(LoratuiError, match="need --images"):
        run("init", str(tmp_path / "q"), "--concept", "x", "--repeats", "1", "--link")


def test_balance_dry_run_confirm_and_yes(tmp_path, monkeypatch):
    from loratui.commands import dataset_cmd

    monkeypatch.setattr(dataset_cmd, "_interactive", lambda: True)  # answers come from input=
    concept(tmp_path, "10_a", 2, captions=False)  # 20
    concept(tmp_path, "1_b", 5, captions=False)  # 5
    result = run("balance", str(tmp_path), "--dry-run")
    assert "1_b -> 4_b" in result.output and "dry run" in result.output
    assert "unchanged: 10 x 2 = 20" in result.output
    assert (tmp_path / "1_b").is_dir()

    result = run("balance", str(tmp_path), input="n\n")
    assert "nothing renamed" in result.output and (tmp_path / "1_b").is_dir()

    result = run("balance", str(tmp_path), input="y\n")
    assert "renamed 1 folder(s)" in result.output
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["10_a", "4_b"]

    result = run("balance", str(tmp_path), "--target", "10", "--yes")
    assert "10_a -> 5_a" in result.output and "4_b -> 2_b" in result.output
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["2_b", "5_a"]
    assert "already balanced" in run("balance", str(tmp_path), "--target", "10").output


def test_balance_conflict_renames_nothing(tmp_path):
    concept(tmp_path, "2_a", 3)
    concept(tmp_path, "4_a", 3)
    with pytest.raises(LoratuiError, match="both"):
        run("balance", str(tmp_path), "--target", "9", "--yes")
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["2_a", "4_a"]


def test_balance_nothing_to_balance(tmp_path):
    (tmp_path / "1_a").mkdir()
    with pytest.raises(LoratuiError, match="no concept folders with images"):
        run("balance", str(tmp_path))


def test_help_mentions_exit_codes():
    result = CliRunner().invoke(cli, ["dataset", "scan", "--help"])
    assert "Exit codes" in result.output and "--json" in result.output


def test_scan_refuses_reg_equal_to_the_train_folder(tmp_path):
    from click.testing import CliRunner

    from loratui.commands.dataset_cmd import dataset

    (tmp_path / "img" / "10_a").mkdir(parents=True)
    result = CliRunner().invoke(dataset, ["scan", str(tmp_path / "img"), "--reg", str(tmp_path / "img")])
    assert result.exit_code != 0 and "is the training images folder too" in str(result.exception or result.output)
