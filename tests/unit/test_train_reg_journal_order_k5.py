"""ctrl+z / ctrl+y across the train folder's and the reg folder's undo journals (tui.services.dataset_journals):
they are ordered by when an entry last moved (core's "moved": set by the apply and by each undo and redo;
"created" stays the change's), and a change in either journal ends redo in both ("until the next change")."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from loratui.core.captions import (
    apply_plan, entry_moved_at, journal_dir, last_moved_at, plan_set_tags, read_caption, redo_dir, redo_last,
    undo_last,
)
from loratui.core.errors import LoratuiError
from loratui.tui.services.dataset_journals import drop_stale_redo, entry_time, redo_root, undo_root


def project(tmp_path: Path):
    """img/1_a/t.txt and reg/1_person/r.txt; a store-like object the journal functions read."""
    root, reg = tmp_path / "img", tmp_path / "reg"
    for caption in (root / "1_a" / "t.txt", reg / "1_person" / "r.txt"):
        caption.parent.mkdir(parents=True)
        caption.with_suffix(".png").write_bytes(b"png")
        caption.write_text("start\n", encoding="utf-8")
    return SimpleNamespace(root=root, reg_root=reg), root / "1_a" / "t.txt", reg / "1_person" / "r.txt"


def edit(caption: Path, folder: Path, tag: str) -> None:
    apply_plan(plan_set_tags([(read_caption(caption), [tag])]), folder, description=tag)


def test_a_new_train_change_ends_redo_of_an_undone_reg_change(tmp_path):
    # the review's repro (r1 item 1): reg edit A, undo it, train edit C; ctrl+y must not bring A back
    store, train, reg = project(tmp_path)
    edit(reg, store.reg_root, "A_reg")
    assert undo_root(store) == store.reg_root
    undo_last(undo_root(store))
    edit(train, store.root, "C_train")
    root = redo_root(store)
    with pytest.raises(LoratuiError, match="nothing to redo"):
        redo_last(root)
    assert reg.read_text() == "start\n" and not list(redo_dir(store.reg_root).glob("*.json"))
    assert undo_root(store) == store.root  # ctrl+z takes back C, the newest change
    assert undo_last(undo_root(store)).description == "C_train"


def test_a_new_reg_change_ends_redo_of_an_undone_train_change(tmp_path):
    store, train, reg = project(tmp_path)
    edit(train, store.root, "T")
    undo_last(store.root)
    edit(reg, store.reg_root, "R")
    assert drop_stale_redo(store) == 1
    with pytest.raises(LoratuiError, match="nothing to redo"):
        redo_last(redo_root(store))
    assert train.read_text() == "start\n"


def test_ctrl_z_walks_the_entry_redone_last_not_the_one_made_last(tmp_path):
    # a reg change made before a train one, undone and redone after it (`tags undo reg/` in a shell):
    # its "created" is the older, but it is the newest entry to land on an undo stack
    store, train, reg = project(tmp_path)
    edit(reg, store.reg_root, "A")
    edit(train, store.root, "T")
    undo_last(store.reg_root)
    assert redo_root(store) == store.reg_root  # not dropped: T was made before A was undone
    redo_last(redo_root(store))
    assert undo_root(store) == store.reg_root
    assert undo_last(undo_root(store)).description == "A"
    assert undo_root(store) == store.root


def test_ctrl_y_walks_the_change_undone_last(tmp_path):
    store, train, reg = project(tmp_path)
    edit(train, store.root, "T")
    edit(reg, store.reg_root, "A")
    undo_last(undo_root(store))  # A
    undo_last(undo_root(store))  # T
    assert redo_last(redo_root(store)).description == "T"
    assert redo_last(redo_root(store)).description == "A"  # not dropped: both were made before either undo
    assert "A" in reg.read_text() and "T" in train.read_text()


def test_an_entry_redone_after_a_balance_counts_as_after_it(tmp_path):
    # the screen's _reg_change_after_balance compares entry_time of the reg journal with the balance
    # record's mtime: a reg change made before the balance and redone after it comes after it
    store, _train, reg = project(tmp_path)
    edit(reg, store.reg_root, "A")
    undo_last(store.reg_root)
    balanced = time.time()  # the balance record's mtime: after A was made and undone
    redo_last(store.reg_root)
    newest = entry_time(journal_dir(store.reg_root), last=True)
    assert newest is not None and newest > balanced
    entry = sorted(journal_dir(store.reg_root).glob("*.json"))[-1]
    record = json.loads(entry.read_text())
    assert record["created"] < balanced < record["moved"]


def test_an_entry_without_moved_is_ordered_by_its_file_time(tmp_path):
    # journals written before "moved" existed: the entry file's mtime (written when it last moved)
    store, train, _reg = project(tmp_path)
    edit(train, store.root, "T")
    entry = sorted(journal_dir(store.root).glob("*.json"))[-1]
    record = json.loads(entry.read_text())
    del record["moved"]
    entry.write_text(json.dumps(record))
    os.utime(entry, (1000.0, 1000.0))
    assert entry_moved_at(entry) == 1000.0 and last_moved_at(journal_dir(store.root)) == 1000.0


def test_entry_time_is_cores_listing(tmp_path, monkeypatch):
    # r1 item 4: which files are entries (digits, .json, reserved empty names skipped) is core's rule only
    from loratui.core.captions import journal_moves

    store, train, _reg = project(tmp_path)
    edit(train, store.root, "T")
    folder = journal_dir(store.root)
    (folder / "000099.json").write_bytes(b"")  # a name a killed apply reserved: not an entry
    (folder / "notes.json").write_text("{}")
    assert entry_time(folder, last=True) == entry_moved_at(folder / "000001.json")
    monkeypatch.setattr(journal_moves, "entries", lambda found, **kw: [])
    assert entry_time(folder, last=True) is None
