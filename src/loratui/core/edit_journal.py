"""Applying an edit plan to caption files, with an undo journal on disk.

Before any caption is touched, the journal entry (every file's old bytes and the new bytes'
hash) is written atomically to ``DATASET/.loratui/undo/NNNNNN.json``; then each file is replaced
atomically. A kill at any moment therefore leaves every caption either as it was or as planned,
and the journal already knows how to put back whatever was written. ``undo_last`` restores the
newest entry's files (refusing, per file, to clobber one changed since) and removes the entry, so
an undo survives a restart and several undos walk back through the history.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from loratui.core.captions import Fingerprint
from loratui.core.edits import EditPlan
from loratui.core.errors import ConflictError, LoratuiError
from loratui.core.fsutil import atomic_write_bytes, atomic_write_text

JOURNAL_DIR = Path(".loratui") / "undo"
KEEP_ENTRIES = 50


def _sha(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def journal_dir(dataset: str | os.PathLike) -> Path:
    return Path(dataset) / JOURNAL_DIR


def _entries(dataset) -> list[Path]:
    folder = journal_dir(dataset)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.json") if p.stem.isdigit())


@dataclass
class ApplyResult:
    written: list[Path] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    journal: Path | None = None


def apply_plan(plan: EditPlan, dataset: str | os.PathLike, *, description: str = "") -> ApplyResult:
    """Write every planned caption (journal first). Conflicting files are skipped and reported."""
    result = ApplyResult()
    if not plan.edits:
        return result
    entries = []
    for edit in plan.edits:
        new_bytes = edit.caption.format(edit.new)
        entries.append((edit, new_bytes))
    record = {
        "version": 1,
        "created": time.time(),
        "description": description or "; ".join(op.describe() for op in plan.ops),
        "files": [
            {"path": os.path.relpath(edit.path, dataset),
             "old": None if edit.caption.raw is None else base64.b64encode(edit.caption.raw).decode("ascii"),
             "new_sha1": _sha(new_bytes)}
            for edit, new_bytes in entries
        ],
    }
    folder = journal_dir(dataset)
    folder.mkdir(parents=True, exist_ok=True)
    existing = _entries(dataset)
    number = int(existing[-1].stem) + 1 if existing else 1
    path = folder / f"{number:06d}.json"
    atomic_write_text(path, json.dumps(record))
    result.journal = path
    for edit, new_bytes in entries:
        if not edit.caption.fingerprint.matches(edit.path):
            result.conflicts.append(f"{edit.path}: changed on disk since it was read, left as it is")
            continue
        atomic_write_bytes(edit.path, new_bytes)
        result.written.append(edit.path)
    if result.conflicts:  # the journal keeps only what was written, so undo touches nothing else
        written = {os.path.relpath(p, dataset) for p in result.written}
        record["files"] = [f for f in record["files"] if f["path"] in written]
        if record["files"]:
            atomic_write_text(path, json.dumps(record))
        else:
            path.unlink()
            result.journal = None
    for old in existing[:-KEEP_ENTRIES + 1] if len(existing) >= KEEP_ENTRIES else []:
        old.unlink(missing_ok=True)
    return result


@dataclass
class UndoResult:
    description: str
    restored: list[Path] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    remaining: int = 0


def last_entry(dataset) -> dict | None:
    entries = _entries(dataset)
    if not entries:
        return None
    try:
        return json.loads(entries[-1].read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LoratuiError(f"{entries[-1]}: unreadable undo journal ({exc}): delete it to undo older edits") from None


def undo_last(dataset: str | os.PathLike, *, force: bool = False) -> UndoResult:
    """Restore the files of the newest journal entry and drop it.

    A file whose content is no longer what the edit wrote (edited since) is left alone and reported,
    unless ``force``. Raises LoratuiError when there is nothing to undo.
    """
    entries = _entries(dataset)
    if not entries:
        raise LoratuiError(f"{dataset}: nothing to undo (no edit journal in {journal_dir(dataset)})")
    record = last_entry(dataset)
    result = UndoResult(record.get("description", ""))
    for item in record["files"]:
        path = Path(dataset) / item["path"]
        try:
            current = path.read_bytes()
        except FileNotFoundError:
            current = None
        if current is not None and _sha(current) != item["new_sha1"] and not force:
            result.conflicts.append(f"{path}: edited after the change, left as it is (--force restores it)")
            continue
        if current is None and item["old"] is not None and not force:
            result.conflicts.append(f"{path}: deleted after the change, left deleted (--force restores it)")
            continue
        if item["old"] is None:
            if current is not None:
                path.unlink()
        else:
            atomic_write_bytes(path, base64.b64decode(item["old"]))
        result.restored.append(path)
    entries[-1].unlink()
    result.remaining = len(entries) - 1
    return result


def history(dataset) -> list[tuple[Path, str, int]]:
    """(journal file, description, files) newest first: what `tags undo` would undo, in order."""
    rows = []
    for entry in reversed(_entries(dataset)):
        try:
            record = json.loads(entry.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            rows.append((entry, "(unreadable)", 0))
            continue
        rows.append((entry, record.get("description", ""), len(record.get("files", []))))
    return rows


__all__ = ["ApplyResult", "UndoResult", "apply_plan", "undo_last", "history", "journal_dir", "ConflictError",
           "Fingerprint"]
