"""A project's reg folder opened on its own is reg, not training data; balance says what reg adds.

The project summary sends users there ("(reg) images are not in the table: ... `loratui reg`"), but
`loratui reg`, `dataset scan reg` and `dataset balance proj/reg` read it as a train folder: "Train
samples per epoch: 12", "KIND train", 7 warnings for uncaptioned reg images (info at project level), and
a balance plan for it (reg is padded or cut to the train samples' count: its repeats change nothing).
And `dataset balance proj` said "samples per epoch: 43 -> 90" when reg images double both numbers.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli
from loratui.core.dataset import (
    balance_plan, locate_dataset, reg_fills, regularised_train_dir, samples_change_line, scan_dataset,
)
from loratui.core.errors import LoratuiError


def images(folder: Path, count: int, captions: int = 0) -> None:
    folder.mkdir(parents=True)
    for i in range(count):
        Image.new("RGB", (16, 16)).save(folder / f"{i}.png")
        if i < captions:
            (folder / f"{i}.txt").write_text("tag\n")


def project(root: Path, reg_name: str = "reg") -> Path:
    images(root / "img" / "10_alice woman", 3, 3)
    images(root / "img" / "1_style", 3, 3)
    images(root / reg_name / "1_woman", 6)
    images(root / reg_name / "2_man", 3, 2)
    return root


def run(*args: str):
    return CliRunner().invoke(cli, ["dataset", *args])


def test_a_reg_folder_beside_img_locates_as_reg(tmp_path):
    project(tmp_path)
    location = locate_dataset(tmp_path / "reg")
    assert location.kind == "reg" and location.is_reg and location.reg_of == tmp_path / "img"
    assert location.train_dir == location.reg_dir == tmp_path / "reg" and location.project_dir == tmp_path
    concept = locate_dataset(tmp_path / "reg" / "1_woman")
    assert concept.kind == "concept" and concept.is_reg and concept.concept == "1_woman"
    assert not locate_dataset(tmp_path / "img").is_reg and not locate_dataset(tmp_path).is_reg


def test_a_reg_folder_named_otherwise_is_known_from_the_projects_config(tmp_path):
    project(tmp_path, "regularisation")
    assert not locate_dataset(tmp_path / "regularisation").is_reg  # no config says so: training data
    (tmp_path / "lora.toml").write_text('[dataset]\ntrain_data_dir = "img"\nreg_data_dir = "regularisation"\n')
    location = locate_dataset(tmp_path / "regularisation")
    assert location.is_reg and location.reg_of == tmp_path / "img"
    # a folder named reg with no img beside it, or a config naming one folder as both: not reg
    images(tmp_path / "other" / "reg" / "1_x", 1)
    assert regularised_train_dir(tmp_path / "other" / "reg") is None


def test_a_reg_folder_scans_as_reg_with_missing_captions_as_info(tmp_path, monkeypatch):
    project(tmp_path)
    monkeypatch.chdir(tmp_path)
    location = locate_dataset(Path("reg"))  # typed in the project, as `loratui reg`
    scan = scan_dataset(location.train_dir, location.reg_dir)
    assert scan.reg_only and all(subset.is_reg for subset in scan.subsets)
    assert scan.train_samples_per_epoch == 0 and scan.num_reg_images == 9
    missing = [p for p in scan.problems if p.kind == "missing_caption"]
    assert len(missing) == 7 and {p.severity for p in missing} == {"info"}
    assert not scan.has_errors
    with pytest.raises(LoratuiError, match="reg folders are padded or cut"):
        balance_plan(scan)


def test_one_folder_as_train_and_reg_that_is_no_reg_folder_scans_as_before(tmp_path):
    """A config naming img as both (config check refuses it): `steps` still sees the training images."""
    project(tmp_path)
    scan = scan_dataset(tmp_path / "img", tmp_path / "img")
    assert not scan.reg_only and scan.train_samples_per_epoch == 33


def test_dataset_scan_of_a_reg_folder_labels_it_reg(tmp_path, monkeypatch):
    project(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = run("scan", "reg")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("reg:   reg (regularisation images, scanned on their own)")
    rows = [line for line in result.output.splitlines() if line.startswith(("reg ", "train "))]
    assert len(rows) == 2 and all(row.startswith("reg ") for row in rows)
    assert "9 regularisation image(s)" in result.output and "training image(s)" not in result.output
    assert "0 error(s), 7 info" in result.output and "warning" not in result.output


@pytest.mark.parametrize("where", ["reg", "reg/1_woman"])
def test_balance_refuses_a_reg_folder_in_one_line(tmp_path, capsys, where):
    from loratui.cli import main

    project(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["dataset", "balance", str(tmp_path / where), "--dry-run"])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith(
        "reg: reg folders are padded or cut to the train images' count: balancing them changes nothing; "
        f"balance the training folder {tmp_path / 'img'} instead")
    assert (tmp_path / "reg" / "1_woman").is_dir()  # nothing renamed


def test_balance_names_the_reg_samples_that_come_along(tmp_path):
    project(tmp_path)
    result = run("balance", str(tmp_path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "samples per epoch: 33 -> 60 (+ as many reg samples: 66 -> 120 in all)" in result.output
    scan = scan_dataset(tmp_path / "img", tmp_path / "reg")
    assert reg_fills(scan)
    assert samples_change_line(scan_dataset(tmp_path / "img"), 33, 60) == "samples per epoch: 33 -> 60"
