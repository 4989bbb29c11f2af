"""A caption run's batch takes the journal lock only when it has something to write (review r3 #3)."""

from __future__ import annotations

from pathlib import Path

from loratui.core.captions import ChangeWriter, journal_dir, journal_lock
from loratui.core.captions import JournalBusyError


def _dataset(tmp_path: Path) -> Path:
    root = tmp_path / "img"
    (root / "5_a").mkdir(parents=True)
    for name in ("x", "y"):
        (root / "5_a" / f"{name}.png").write_bytes(b"png")
        (root / "5_a" / f"{name}.txt").write_text("one, two")
    return root


def test_an_all_unchanged_batch_leaves_no_lock_or_journal_folder(tmp_path):
    root = _dataset(tmp_path)
    items = [(root / "5_a" / f"{n}.txt", b"one, two", b"one, two") for n in ("x", "y")]
    with ChangeWriter(root, "caption run") as writer:
        assert writer.write_many(items) == [False, False]
    assert not (root / ".loratui").exists()


def test_an_unchanged_batch_is_not_held_up_by_a_busy_journal(tmp_path):
    root = _dataset(tmp_path)
    journal_dir(root).mkdir(parents=True)
    with journal_lock(root):  # another write holds it: nothing to write here, so no wait
        with ChangeWriter(root, "caption run") as writer:
            assert writer.write_many([(root / "5_a" / "x.txt", b"one, two", b"one, two")]) == [False]


def test_a_batch_with_a_change_still_locks_and_journals(tmp_path, monkeypatch):
    import loratui.core.captions.writer as writer_module

    root = _dataset(tmp_path)
    journal_dir(root).mkdir(parents=True)
    monkeypatch.setattr(writer_module, "BATCH_WAIT", 0.2)
    items = [(root / "5_a" / "x.txt", b"one, two", b"one, two"), (root / "5_a" / "y.txt", b"three", b"one, two")]
    with journal_lock(root):
        with ChangeWriter(root, "caption run") as writer:
            try:
                writer.write_many(items)
            except JournalBusyError:
                pass
            else:
                raise AssertionError("a batch with a change must wait for the journal lock")
    assert (root / "5_a" / "y.txt").read_text() == "one, two"
    with ChangeWriter(root, "caption run") as writer:
        assert writer.write_many(items) == [False, True]
    assert writer.entry is not None and writer.entry.exists()
    assert (journal_dir(root) / "write.lock").exists()
