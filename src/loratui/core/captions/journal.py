"""Applying an edit plan to caption files, with an undo journal on disk.

Before any caption is touched, the journal entry (every file's old bytes and the new bytes'
hash) is written atomically to ``DATASET/.loratui/undo/NNNNNN.json``; then each file is replaced
atomically. A kill at any moment therefore leaves every caption either as it was or as planned,
and the journal already knows how to put back whatever was written. ``undo_last`` restores the
newest entry's files and removes the entry, so an undo survives a restart and several undos walk
back through the history.

Conflicts are never resolved silently: ``apply_plan`` checks every file against what was read
before writing any (ConflictError, nothing written, unless ``skip_conflicts``), and ``undo_last``
refuses to overwrite a caption edited after the change (unless ``force`` / ``skip_changed``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from loratui.core.captions.plan import EditPlan, FileEdit
from loratui.core.errors import ConflictError, LoratuiError
from loratui.core.fsutil import atomic_write_bytes, atomic_write_text

JOURNAL_DIR = Path(".loratui") / "undo"
KEEP_ENTRIES = 50
VERSION = 2


def _sha(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def journal_dir(dataset: str | os.PathLike) -> Path:
    return Path(dataset) / JOURNAL_DIR


def _entries(dataset, *, reserved: bool = False) -> list[Path]:
    """Journal entries, oldest first. An empty file is a name reserved by an apply that was killed
    before its journal was written (so it changed nothing): skipped unless ``reserved``."""
    folder = journal_dir(dataset)
    if not folder.is_dir():
        return []
    entries = sorted(p for p in folder.glob("*.json") if p.stem.isdigit())
    return entries if reserved else [p for p in entries if _size(p) > 0]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _reserve_entry(dataset) -> Path:
    """A new, unused journal file name (O_EXCL: two applies at once never share one)."""
    folder = journal_dir(dataset)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        existing = _entries(dataset, reserved=True)
        number = int(existing[-1].stem) + 1 if existing else 1
        while True:
            path = folder / f"{number:06d}.json"
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
                return path
            except FileExistsError:
                number += 1
    except OSError as exc:
        raise LoratuiError(f"{folder}: cannot create the undo journal ({exc.strerror or exc}); nothing was written: "
                           "make it a writable folder") from None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass
class ApplyResult:
    written: list[Path] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    journal: Path | None = None


def find_conflicts(plan: EditPlan) -> list[FileEdit]:
    """The planned edits whose files changed on disk since they were read."""
    return [e for e in plan.edits if not e.caption.fingerprint.matches(e.path)]


def apply_plan(plan: EditPlan, dataset: str | os.PathLike, *, description: str = "",
               skip_conflicts: bool = False) -> ApplyResult:
    """Write every planned caption, journal first.

    A file changed on disk since it was read is a conflict: by default nothing is written and
    ConflictError names it; with ``skip_conflicts`` the others are written and it is reported.
    """
    result = ApplyResult()
    if not plan.edits:
        return result
    conflicts = find_conflicts(plan)
    if conflicts and not skip_conflicts:
        more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
        raise ConflictError(f"{conflicts[0].path}{more}: changed on disk since it was read; nothing was written: "
                            "run the operation again to re-read the captions")
    conflicted = {id(e) for e in conflicts}
    todo = [(edit, edit.caption.format(edit.new)) for edit in plan.edits if id(edit) not in conflicted]
    result.conflicts = [f"{e.path}: changed on disk since it was read, left as it is" for e in conflicts]
    if not todo:
        return result

    def record(items) -> dict:
        return {
            "version": VERSION,
            "created": time.time(),
            "description": description or plan.describe(),
            "ops": [op.to_dict() for op in plan.ops],
            "files": [
                {"path": os.path.relpath(edit.path, dataset),
                 "old": None if edit.caption.raw is None else base64.b64encode(edit.caption.raw).decode("ascii"),
                 "old_sha1": None if edit.caption.raw is None else _sha(edit.caption.raw),
                 "new_sha1": _sha(new_bytes)}
                for edit, new_bytes in items
            ],
        }

    existing = _entries(dataset, reserved=True)
    path = _reserve_entry(dataset)
    try:
        atomic_write_text(path, json.dumps(record(todo)))  # the journal exists before any caption changes
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise LoratuiError(f"{path}: cannot write the undo journal ({exc.strerror or exc}); nothing was written") from None
    result.journal = path
    written = []
    for edit, new_bytes in todo:
        if not edit.caption.fingerprint.matches(edit.path):  # changed in the last instant
            result.conflicts.append(f"{edit.path}: changed on disk since it was read, left as it is")
            continue
        try:
            atomic_write_bytes(edit.path, new_bytes)
        except OSError as exc:
            _trim_journal(path, record(written))
            raise LoratuiError(f"{edit.path}: cannot write ({exc.strerror or exc}); {len(written)} file(s) were "
                               "written before it (`loratui tags undo` puts them back)") from None
        written.append((edit, new_bytes))
        result.written.append(edit.path)
    if len(written) != len(todo):  # the journal keeps only what was written, so undo touches nothing else
        result.journal = path if _trim_journal(path, record(written)) else None
    for old in existing[: max(0, len(existing) + 1 - KEEP_ENTRIES)]:
        old.unlink(missing_ok=True)
    return result


def _trim_journal(path: Path, record: dict) -> bool:
    if record["files"]:
        atomic_write_text(path, json.dumps(record))
        return True
    path.unlink(missing_ok=True)
    return False


# ---- undo -------------------------------------------------------------------------------------

@dataclass
class UndoPlan:
    """What undoing the newest change would do (read-only; ``undo_last`` carries it out)."""

    entry: Path
    description: str
    created: float
    restore: list[tuple[Path, bytes | None]] = field(default_factory=list)  # (file, old bytes or None: delete)
    already: list[Path] = field(default_factory=list)   # already as they were before the change
    conflicts: list[str] = field(default_factory=list)  # edited (or deleted) after the change
    conflict_restore: list[tuple[Path, bytes | None]] = field(default_factory=list)


@dataclass
class UndoResult:
    description: str
    restored: list[Path] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    remaining: int = 0
    already: list[Path] = field(default_factory=list)


def _load(entry: Path) -> dict:
    try:
        record = json.loads(entry.read_text(encoding="utf-8"))
        if not isinstance(record.get("files"), list):
            raise ValueError("no file list")
        return record
    except (OSError, ValueError, AttributeError) as exc:
        raise LoratuiError(f"{entry}: unreadable undo journal ({exc}): delete it to undo older edits") from None


def plan_undo(dataset: str | os.PathLike) -> UndoPlan:
    """Look at the newest journal entry and the files as they are now. Raises when there is none."""
    entries = _entries(dataset)
    if not entries:
        if journal_dir(dataset).is_dir():
            raise LoratuiError(f"{dataset}: nothing left to undo: every recorded change has been undone")
        raise LoratuiError(f"{dataset}: nothing to undo (no edit journal in {journal_dir(dataset)})")
    entry = entries[-1]
    record = _load(entry)
    plan = UndoPlan(entry, str(record.get("description", "")), record.get("created", 0.0))
    for number, item in enumerate(record["files"], 1):
        path, old, new_sha1 = _journal_item(entry, number, item, Path(dataset))
        try:
            current = path.read_bytes()
        except FileNotFoundError:
            current = None
        except OSError as exc:
            raise LoratuiError(f"{path}: cannot read it to undo ({exc.strerror or exc}); nothing undone") from None
        if current == old:
            plan.already.append(path)  # never written (a kill before it) or put back by hand
        elif current is not None and _sha(current) == new_sha1:
            plan.restore.append((path, old))
        else:
            what = "deleted" if current is None else "edited"
            plan.conflicts.append(f"{path}: {what} after the change")
            plan.conflict_restore.append((path, old))
    return plan


def _journal_item(entry: Path, number: int, item, dataset: Path) -> tuple[Path, bytes | None, str]:
    """(caption path, old bytes or None, sha1 of what was written) of one journal record, checked."""
    bad = f"{entry}: unreadable undo journal (file record {number} is damaged): delete it to undo older edits"
    if not isinstance(item, dict) or not isinstance(item.get("path"), str) or not isinstance(item.get("new_sha1"), str):
        raise LoratuiError(bad)
    raw = item.get("old")
    try:
        old = None if raw is None else base64.b64decode(raw, validate=True)
    except (ValueError, TypeError):
        raise LoratuiError(bad) from None
    if old is not None and isinstance(item.get("old_sha1"), str) and _sha(old) != item["old_sha1"]:
        raise LoratuiError(bad)
    path = dataset / item["path"]
    if ".." in Path(item["path"]).parts or Path(item["path"]).is_absolute():
        raise LoratuiError(f"{entry}: file record {number} points outside the dataset ({item['path']}); "
                           "delete the entry to undo older edits")
    return path, old, item["new_sha1"]


def undo_last(dataset: str | os.PathLike, *, force: bool = False, skip_changed: bool = False) -> UndoResult:
    """Restore the files of the newest journal entry and drop the entry.

    A caption edited after the change is never overwritten silently: by default nothing is undone
    and ConflictError says which; ``skip_changed`` restores the others (leaving those as they are),
    ``force`` restores them too. Raises LoratuiError when there is nothing to undo.
    """
    plan = plan_undo(dataset)
    if plan.conflicts and not (force or skip_changed):
        more = f" (and {len(plan.conflicts) - 1} more)" if len(plan.conflicts) > 1 else ""
        raise ConflictError(f"{plan.conflicts[0]}{more}: nothing undone; --skip-changed restores the other "
                            f"{_plural(len(plan.restore), 'file')}, --force overwrites the edited ones too")
    result = UndoResult(plan.description, already=list(plan.already), remaining=len(_entries(dataset)) - 1)
    todo = plan.restore + (plan.conflict_restore if force else [])
    if not force:
        result.conflicts = [f"{c}, left as it is" for c in plan.conflicts]
    for path, old in todo:
        try:
            if old is None:
                path.unlink(missing_ok=True)
            else:
                atomic_write_bytes(path, old)
        except OSError as exc:  # the entry stays: undo again once the file is writable (done ones are skipped)
            raise LoratuiError(f"{path}: cannot restore it ({exc.strerror or exc}); {len(result.restored)} file(s) "
                               "were restored before it: fix the problem and run the undo again") from None
        result.restored.append(path)
    plan.entry.unlink()
    return result


def remap_folders(dataset: str | os.PathLike, mapping: dict[str, str]) -> int:
    """Follow renamed folders of ``dataset`` in every journal entry, so undo still finds the
    captions. ``mapping`` holds paths relative to ``dataset`` (``{"5_b": "20_b"}``, or
    ``{"img/5_b": "img/20_b"}`` for a journal further up), e.g. from `dataset balance`. Returns the
    entries rewritten; an unreadable entry is left as it is (undo reports it)."""
    changed = 0
    for entry in _entries(dataset):
        try:
            record = json.loads(entry.read_text(encoding="utf-8"))
            files = record["files"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        touched = False
        for item in files if isinstance(files, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("path"), str):
                continue
            path = item["path"].replace(os.sep, "/")
            for old, new in mapping.items():
                if path.startswith(old + "/"):
                    item["path"] = new + path[len(old):]
                    touched = True
                    break
        if touched:
            try:
                atomic_write_text(entry, json.dumps(record))
            except OSError as exc:
                raise LoratuiError(f"{entry}: cannot update the undo journal after renaming folders "
                                   f"({exc.strerror or exc}); undo of earlier tag edits may not find their files") from None
            changed += 1
    return changed


def history(dataset) -> list[tuple[Path, str, int]]:
    """(journal file, description, files) newest first: what `tags undo` would undo, in order."""
    rows = []
    for entry in reversed(_entries(dataset)):
        try:
            record = _load(entry)
        except LoratuiError:
            rows.append((entry, "(unreadable)", 0))
            continue
        rows.append((entry, record.get("description", ""), len(record.get("files", []))))
    return rows


__all__ = ["ApplyResult", "UndoPlan", "UndoResult", "apply_plan", "find_conflicts", "history", "journal_dir",
           "plan_undo", "remap_folders", "undo_last"]


def follow_folder_renames(renames: Iterable[tuple[Path, Path]]) -> None:
    """Concept folders were renamed (source, dest), e.g. by `loratui dataset balance`: journals hold
    caption paths relative to the folder they sit in, so rename them in the train folder's journal
    and in any journal further up (`tags --recursive` on a project folder)."""
    by_parent: dict[Path, dict[str, str]] = {}
    for source, dest in renames:
        by_parent.setdefault(source.parent, {})[source.name] = dest.name
    for parent, names in by_parent.items():
        for holder in [parent, *parent.resolve().parents]:
            if not journal_dir(holder).is_dir():
                continue
            prefix = os.path.relpath(parent.resolve(), holder.resolve()).replace(os.sep, "/")
            head = "" if prefix == "." else prefix + "/"
            remap_folders(holder, {head + old: head + new for old, new in names.items()})
