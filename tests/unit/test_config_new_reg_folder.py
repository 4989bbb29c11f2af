"""`config new --train-data-dir` reads the folder as the app does: a reg folder (or a concept in one) is the
reg images of the training folder beside it, a concept or project folder stands for its dataset. It wrote
train_data_dir = reg_data_dir = "reg", which `config check` then refused."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli


def _project(root: Path) -> Path:
    for folder, count in (("img/5_cat", 3), ("reg/1_cat", 4)):
        (root / folder).mkdir(parents=True)
        for i in range(count):
            Image.new("RGB", (16, 16)).save(root / folder / f"{i}.png")
    return root


@pytest.mark.parametrize("given", ["reg", "reg/1_cat", ".", "img/5_cat", "img"])
def test_the_training_and_reg_folders_are_told_apart(tmp_path, given, monkeypatch):
    root = _project(tmp_path / "proj")
    monkeypatch.chdir(root)  # relative paths, written relative to the config's folder
    target = root / "c.toml"
    result = CliRunner().invoke(cli, ["config", "new", "c.toml", "--train-data-dir", given])
    assert result.exit_code == 0, result.output
    dataset = tomllib.loads(target.read_text())["dataset"]
    assert (dataset["train_data_dir"], dataset["reg_data_dir"]) == ("img", "reg")
    assert "reg_data_dir = reg: its 4 regularization image(s)" in result.output
