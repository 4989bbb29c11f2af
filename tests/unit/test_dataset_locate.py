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


def test_dot_and_dotdot_name_the_folder_they_are(tmp_path, monkeypatch):
    """`loratui` with no path (or `.`) inside a concept folder opens the whole dataset on that concept,
    and inside a train folder gives the folder by its name, so paths match the caption reader's."""
    _image(tmp_path / "img" / "10_alice" / "a.png")
    monkeypatch.chdir(tmp_path / "img" / "10_alice")
    loc = locate_dataset(".")
    assert (loc.kind, loc.train_dir, loc.concept) == ("concept", tmp_path / "img", "10_alice")
    monkeypatch.chdir(tmp_path / "img")
    loc = locate_dataset(".")
    assert (loc.kind, loc.train_dir) == ("dataset", tmp_path / "img")
    loc = locate_dataset("10_alice/..")
    assert (loc.kind, loc.train_dir) == ("dataset", tmp_path / "img")
    monkeypatch.chdir(tmp_path / "img" / "10_alice")
    assert locate_dataset("..").train_dir == tmp_path / "img"


def test_a_relative_concept_folder_has_an_absolute_train_folder(tmp_path, monkeypatch):
    _image(tmp_path / "img" / "10_alice" / "a.png")
    monkeypatch.chdir(tmp_path / "img")
    loc = locate_dataset("10_alice")
    assert (loc.kind, loc.train_dir, loc.concept, loc.project_dir) == ("concept", tmp_path / "img", "10_alice", tmp_path)
