"""One caption write at a time per journal (core/captions/journal.py ``journal_lock``).

Scale hunt: ctrl+z pressed while a bulk add of 5,000 captions was still writing "undid" the 1,584
written so far, deleted the journal entry, and the write went on: 3,416 captions kept the tag with
no undo history. Now an apply, undo or redo holds the journal lock from its first check to its last
write; a second writer (another thread, another loratui process) is refused with one line.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from loratui.core.captions import AddTags, ChangeWriter, apply_plan, load_captions, plan_edits, redo_last, undo_last
from loratui.core.captions import journal as edit_journal
from loratui.core.captions import plan_undo
from loratui.core.captions import JournalBusyError, journal_dir, journal_lock
from tests.unit.test_undo import make_dataset, snapshot


@pytest.fixture(autouse=True)
def quick_refusal(monkeypatch):
    monkeypatch.setattr(edit_journal, "LOCK_WAIT", 0.05)  # a refusal need not wait the real second


def add_plan(root: Path, tag: str = "bulktag"):
    return plan_edits(load_captions(root), [AddTags([tag])])


def test_a_second_writer_is_refused_with_one_line_naming_the_folder_and_pid(tmp_path):
    root = make_dataset(tmp_path)
    apply_plan(add_plan(root, "first"), root)
    before = snapshot(root)
    with journal_lock(root):  # another loratui writing (a separate open: flock refuses it, same process or not)
        with pytest.raises(JournalBusyError) as caught:
            apply_plan(add_plan(root), root)
        message = str(caught.value)
        assert message.startswith(f"{root}: another loratui write") and f"pid {os.getpid()}" in message
        assert "nothing was written" in message and "\n" not in message
        with pytest.raises(JournalBusyError, match="nothing was undone"):
            undo_last(root)
        with pytest.raises(JournalBusyError, match="nothing was undone"):
            plan_undo(root)  # `tags undo` shows no plan of half-written files either
    assert snapshot(root) == before
    undo_last(root)  # free again
    with journal_lock(root), pytest.raises(JournalBusyError, match="nothing was redone"):
        redo_last(root)


def test_undo_while_an_apply_is_writing_is_refused_and_the_entry_survives(tmp_path, monkeypatch):
    root = make_dataset(tmp_path, n=40)
    before = snapshot(root)
    real = edit_journal.atomic_write_bytes
    started, release = threading.Event(), threading.Event()

    def slow_write(path, data, **kw):
        started.set()
        release.wait(10)  # the write is still running when the undo comes
        return real(path, data, **kw)

    monkeypatch.setattr(edit_journal, "atomic_write_bytes", slow_write)
    outcome = {}
    writer = threading.Thread(target=lambda: outcome.setdefault("result", apply_plan(add_plan(root), root)))
    writer.start()
    assert started.wait(10)
    entry = next(journal_dir(root).glob("*.json"))
    with pytest.raises(JournalBusyError, match="another loratui write"):
        undo_last(root)
    assert entry.exists()  # the walk never deletes an entry whose write is not finished
    release.set()
    writer.join(10)
    assert len(outcome["result"].written) == 41
    assert all(b"bulktag" in data for data in snapshot(root).values())
    monkeypatch.undo()
    undo = undo_last(root)
    assert len(undo.restored) == 41 and snapshot(root) == before


def test_tags_undo_in_another_process_is_refused_while_a_write_holds_the_journal(tmp_path):
    root = make_dataset(tmp_path)
    apply_plan(add_plan(root), root)
    with journal_lock(root):
        done = subprocess.run([sys.executable, "-m", "loratui", "tags", "undo", str(root), "--yes"],
                              capture_output=True, text=True, timeout=60, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "another loratui write" in lines[0] and f"pid {os.getpid()}" in lines[0], done.stderr
    assert all(b"bulktag" in data for data in snapshot(root).values())  # nothing undone


def test_a_caption_run_batch_waits_for_a_write_to_end(tmp_path):
    root = make_dataset(tmp_path)
    held, freed = threading.Event(), []

    def hold():
        with journal_lock(root):
            held.set()
            time.sleep(0.4)
            freed.append(time.monotonic())

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(5)
    with ChangeWriter(root, "caption run") as writer:
        assert writer.write(root / "10_alice" / "0.txt", b"from the tagger\n") is True
        written_at = time.monotonic()
    holder.join(5)
    assert freed and written_at >= freed[0]
    undo_last(root)
    assert (root / "10_alice" / "0.txt").read_text() == "alice, tag_0, white_background\n"


def test_without_flock_writes_go_on_unlocked(tmp_path, monkeypatch):
    root = make_dataset(tmp_path)
    monkeypatch.setattr(edit_journal, "fcntl", None)
    with journal_lock(root):
        assert len(apply_plan(add_plan(root), root).written) == 7
    assert len(undo_last(root).restored) == 7
