"""core/dataset/locate.py: the forms of a dataset path (project, train folder, concept folder, flat)."""

from __future__ import annotations

import pytest

from loratui.core.dataset import locate_dataset
from loratui.core.errors import LoratuiError


def _image(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n")


def test_project_folder_uses_img_and_reg(tmp_path):
    _image(tmp_path / "img" / "10_alice" / "a.png")
    _image(tmp_path / "reg" / "1_woman" / "r.png")
    (tmp_path / "model").mkdir()
    loc = locate_dataset(tmp_path)
    assert (loc.kind, loc.train_dir, loc.reg_dir, loc.project_dir) == ("project", tmp_path / "img", tmp_path / "reg", tmp_path)


def test_project_without_reg_images(tmp_path):
    _image(tmp_path / "img" / "10_alice" / "a.png")
    (tmp_path / "reg").mkdir()
    assert locate_dataset(tmp_path).reg_dir is None


def test_train_folder(tmp_path):
    _image(tmp_path / "10_alice" / "a.png")
    loc = locate_dataset(tmp_path)
    assert (loc.kind, loc.train_dir, loc.concept) == ("dataset", tmp_path, None)


def test_concept_folder_opens_its_parent_with_the_concept(tmp_path):
    _image(tmp_path / "img" / "10_alice" / "a.png")
    loc = locate_dataset(tmp_path / "img" / "10_alice")
    assert (loc.kind, loc.train_dir, loc.concept, loc.project_dir) == ("concept", tmp_path / "img", "10_alice", tmp_path)


def test_flat_folder(tmp_path):
    _image(tmp_path / "a.png")
    assert locate_dataset(tmp_path).kind == "flat"


def test_missing_and_file_are_one_line(tmp_path):
    with pytest.raises(LoratuiError, match="no such file or folder"):
        locate_dataset(tmp_path / "nope")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(LoratuiError, match="not a folder"):
        locate_dataset(tmp_path / "f.txt")
