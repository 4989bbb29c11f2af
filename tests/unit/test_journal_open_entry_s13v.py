"""Pruning the undo journal by bytes never deletes the entry a caption run (ChangeWriter) still
appends to: a ``.open`` marker (its pid) pins it until close(); a marker whose pid is dead (a killed
run) pins nothing; close() of an entry gone meanwhile returns None, never a deleted path."""

from __future__ import annotations

import subprocess
import sys

from loratui.core.captions import AddTags, apply_plan, journal_dir, load_captions, plan_edits
from loratui.core.captions import journal
from loratui.core.captions.writer import ChangeWriter


def _dataset(tmp_path):
    root = tmp_path / "img"
    folder = root / "10_alice"
    folder.mkdir(parents=True)
    for i in range(4):
        (folder / f"{i}.png").write_bytes(b"x")
        (folder / f"{i}.txt").write_text("alice, solo\n")
    return root, folder


def _names(root):
    return sorted(p.name for p in journal_dir(root).glob("*.json"))


def _add_x(root):
    apply_plan(plan_edits(load_captions(root), [AddTags(["x"])], description="add x"), root)


def test_a_full_journal_keeps_the_entry_a_caption_run_still_writes(tmp_path, monkeypatch):
    # a file system without flock: the run's lock (held from its first write) cannot keep the `tags add` out
    monkeypatch.setattr(journal, "fcntl", None)
    root, folder = _dataset(tmp_path)
    writer = ChangeWriter(root, "caption run")
    writer.write(folder / "0.txt", b"wd14, tags\n")
    assert journal.open_marker(writer.entry).is_file()
    monkeypatch.setattr(journal, "KEEP_BYTES", journal._size(writer.entry) + 10)  # the journal is full
    _add_x(root)  # a `tags add` while the run goes on
    assert _names(root) == ["000001.json", "000002.json"]
    writer.write(folder / "1.txt", b"wd14, more\n")  # the run's next batch still journals
    assert writer.close() == journal_dir(root) / "000001.json"
    assert not journal.open_marker(writer.entry).exists()
    _add_x(root)  # closed now: pruning may take it
    assert "000001.json" not in _names(root)


def test_a_marker_left_by_a_killed_run_pins_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(journal, "fcntl", None)  # the killed run's lock is gone with it (the kernel drops it)
    root, folder = _dataset(tmp_path)
    writer = ChangeWriter(root, "caption run")
    writer.write(folder / "0.txt", b"wd14, tags\n")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    journal.open_marker(writer.entry).write_text(dead)  # as a killed run leaves it
    assert not journal.is_open(writer.entry)
    monkeypatch.setattr(journal, "KEEP_BYTES", journal._size(writer.entry) + 10)
    _add_x(root)
    assert _names(root) == ["000002.json"]
    assert not journal.open_marker(journal_dir(root) / "000001.json").exists()  # its marker goes with it


def test_close_of_a_vanished_entry_names_no_deleted_path(tmp_path):
    root, folder = _dataset(tmp_path)
    writer = ChangeWriter(root, "caption run")
    writer.write(folder / "0.txt", b"wd14, tags\n")
    entry = writer.entry
    entry.unlink()  # gone meanwhile (another loratui)
    assert writer.close() is None
    assert not journal.open_marker(entry).exists()


def test_an_unreadable_or_absent_marker_is_closed(tmp_path):
    entry = tmp_path / "000001.json"
    entry.write_text("{}")
    assert not journal.is_open(entry)
    journal.open_marker(entry).write_text("not a pid")
    assert not journal.is_open(entry)
    journal.open_marker(entry).write_text("0")  # never "every process in my group"
    assert not journal.is_open(entry)


def test_undo_refuses_the_entry_a_caption_run_still_writes(tmp_path):
    import os

    import pytest

    from loratui.core.captions import undo_last
    from loratui.core.errors import LoratuiError

    root, folder = _dataset(tmp_path)
    _add_x(root)
    entry = journal_dir(root) / _names(root)[-1]
    journal.open_marker(entry).write_text(str(os.getpid()))  # a live writer: this process
    with pytest.raises(LoratuiError, match="a caption run is still writing the newest change"):
        undo_last(root)
    assert (folder / "0.txt").read_text() == "alice, solo, x\n"  # nothing undone
    journal.open_marker(entry).unlink()
    undo_last(root)
    assert (folder / "0.txt").read_text() == "alice, solo\n"
