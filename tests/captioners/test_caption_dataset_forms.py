"""`loratui caption` reads a dataset path as every command does (issue 12: `caption wd14 .` in a
project made by `dataset init` captioned nothing and exited 0)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli


def project(tmp_path):
    concept = tmp_path / "proj" / "img" / "10_alice"
    concept.mkdir(parents=True)
    (tmp_path / "proj" / "img" / "3_bob").mkdir()
    (tmp_path / "proj" / "reg").mkdir()
    Image.new("RGB", (64, 64), (0, 0, 255)).save(concept / "a.png")
    Image.new("RGB", (64, 64), (255, 0, 0)).save(tmp_path / "proj" / "img" / "3_bob" / "b.png")
    return tmp_path / "proj"


def caption(*args):
    return CliRunner().invoke(cli, ["caption", "wd14", *map(str, args), "--json-events"])


@pytest.mark.parametrize("form, expected", [(".", 2), ("img", 2), ("img/10_alice", 1)])
def test_every_form_captions_its_images(tmp_path, monkeypatch, wd14_v3, form, expected):
    root = project(tmp_path)
    monkeypatch.chdir(root)
    res = caption(form, "--model", wd14_v3)
    assert res.exit_code == 0, res.output
    finished = json.loads(res.output.splitlines()[-1])
    assert finished["event"] == "finished" and finished["captioned"] == expected
    assert (root / "img" / "10_alice" / "a.txt").is_file()
    assert finished["journal"] and "img/.loratui/undo" in finished["journal"]  # where `tags undo` looks


def test_no_images_is_an_error_not_an_empty_run(tmp_path, wd14_v3):
    (tmp_path / "empty" / "stuff").mkdir(parents=True)
    res = caption(tmp_path / "empty", "--model", wd14_v3)
    assert type(res.exception).__name__ == "LoratuiError"  # `loratui` (main) makes it exit 2
    error = json.loads(res.output.splitlines()[-1])
    assert error["event"] == "error" and "no images found" in error["message"] and "--recursive" in error["message"]
