"""Every command that takes a dataset reads a project, train, concept or flat folder the same way
(core.dataset.locate_dataset): issue 12's `caption wd14 .` in a project captioning nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from loratui.cli import cli


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


def project(tmp_path: Path) -> Path:
    concept = tmp_path / "proj" / "img" / "10_alice"
    concept.mkdir(parents=True)
    other = tmp_path / "proj" / "img" / "5_bob"
    other.mkdir()
    for folder, rows in ((concept, ["alice, solo", "alice, smile"]), (other, ["bob"])):
        for i, row in enumerate(rows):
            (folder / f"{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 8)
            (folder / f"{i}.txt").write_text(row + "\n")
    for name in ("reg", "model"):
        (tmp_path / "proj" / name).mkdir()
    return tmp_path / "proj"


@pytest.mark.parametrize("form", [".", "img"])
def test_project_and_train_folder_read_alike(tmp_path, monkeypatch, form):
    root = project(tmp_path)
    monkeypatch.chdir(root)
    freq = json.loads(run("tags", "freq", form, "--json").output)
    assert freq["captions"] == 3 and freq["tags"]["alice"] == 2
    scan = run("dataset", "scan", form, "--json")
    assert [s["name"] for s in json.loads(scan.output)["subsets"]] == ["10_alice", "5_bob"]


def test_concept_folder_is_that_concept_with_the_journal_in_the_train_folder(tmp_path, monkeypatch):
    root = project(tmp_path)
    monkeypatch.chdir(root)
    freq = json.loads(run("tags", "freq", "img/10_alice", "--json").output)
    assert freq == {"captions": 2, "distinct": 3, "truncated": False, "tags": {"alice": 2, "solo": 1, "smile": 1}}
    out = run("tags", "add", "img/10_alice", "trig", "--front", "--yes").output
    assert "Wrote 2" in out
    assert (root / "img" / "10_alice" / "0.txt").read_text() == "trig, alice, solo\n"
    assert (root / "img" / "5_bob" / "0.txt").read_text() == "bob\n"
    assert (root / "img" / ".loratui" / "undo").is_dir()  # one journal, wherever the command was pointed
    assert not (root / "img" / "10_alice" / ".loratui").exists()
    # the project form finds that change to undo, as the app does
    assert "Restored 2" in run("tags", "undo", ".", "--yes").output
    assert (root / "img" / "10_alice" / "0.txt").read_text() == "alice, solo\n"


def test_scan_of_a_concept_folder_shows_that_concept(tmp_path, monkeypatch):
    root = project(tmp_path)
    monkeypatch.chdir(root)
    result = run("dataset", "scan", "img/10_alice")
    assert "concept: 10_alice only" in result.output and "5_bob" not in result.output
    data = json.loads(run("dataset", "scan", "img/10_alice", "--json").output)
    assert [s["name"] for s in data["subsets"]] == ["10_alice"]
