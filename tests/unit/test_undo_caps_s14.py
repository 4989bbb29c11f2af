"""Hunt s14: single-image edits (one journal entry each) pushed a 133-file bulk change out of undo after
32 key presses. The count cap is now far above what image-by-image cleaning makes (the byte cap bounds
the journal), and when the caps do drop entries, the history says how many."""

from __future__ import annotations

from pathlib import Path

import pytest

from loratui.core.captions import journal as edit_journal  # patched below
from loratui.core.captions import (
    RemoveTags, apply_plan, dropped_changes, dropped_note, history, load_captions, plan_edits, plan_set_tags,
    undo_last,
)
from loratui.core.errors import LoratuiError


def _dataset(root: Path, n: int) -> Path:
    folder = root / "10_x"
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"{i:03d}.png").write_bytes(b"x")
        (folder / f"{i:03d}.txt").write_text("mikuchan, 1boy, solo\n", encoding="utf-8")
    return root


def _one_image_edits(root: Path, count: int) -> list:
    results = []
    for i in range(count):
        caption = load_captions(root)[i % 3]
        results.append(apply_plan(plan_set_tags([(caption, ["solo", "mikuchan", f"v{i}"])]), root))
    return results


def test_a_bulk_change_outlives_many_single_image_edits(tmp_path):
    root = _dataset(tmp_path, 40)
    apply_plan(plan_edits(load_captions(root), [RemoveTags(["1boy"])]), root, description="remove 1boy")
    assert edit_journal.KEEP_ENTRIES >= 1000  # 50 was what the hunt ran into
    results = _one_image_edits(root, 60)
    rows = history(root)
    assert len(rows) == 61 and rows[-1][1:] == ("remove 1boy", 40)
    assert not any(result.dropped for result in results) and dropped_changes(root) == 0 and dropped_note(root) == ""


def test_dropped_entries_are_counted_and_named_when_undo_runs_out(tmp_path, monkeypatch):
    monkeypatch.setattr(edit_journal, "KEEP_ENTRIES", 3)
    root = _dataset(tmp_path, 3)
    results = _one_image_edits(root, 5)
    assert [result.dropped for result in results] == [0, 0, 0, 1, 1]
    assert dropped_changes(root) == 2 and len(history(root)) == 3
    assert dropped_note(root).startswith("2 older change(s) were dropped from the undo history (it keeps the last 3 ")
    for _ in range(3):
        undo_last(root)
    with pytest.raises(LoratuiError) as caught:
        undo_last(root)
    message = str(caught.value)
    assert "nothing left to undo: every recorded change has been undone" in message
    assert "2 older change(s) were dropped from the undo history" in message and "cannot be undone" in message
