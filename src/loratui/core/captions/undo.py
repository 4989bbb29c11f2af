"""Undo and redo: walking the journal entries that ``apply_plan`` writes, in both directions.

The undo stack is ``DATASET/.loratui/undo/NNNNNN.json`` (newest = highest number); the redo stack is
``DATASET/.loratui/undo/redo/NNNNNN.json`` (next to redo = lowest number). Undoing an entry first
writes its inverse (what each file holds now, to be put back by a redo) under the same name in the
redo folder, then restores the files, then removes the entry; redoing does the same the other way.
Both stacks live on disk, so they survive a restart; a new apply empties the redo folder.

A kill in the middle leaves both names on disk; walking either again is safe: files already where
the walk takes them are skipped, and the inverse entry keeps the records of the files the first,
interrupted walk wrote (merged by path).

Neither direction overwrites a caption edited since: by default nothing is written and
ConflictError says which file; ``skip_changed`` writes the others, ``force`` writes them all.
Neither ever makes a caption file again whose image is gone too (deleted after the change, or its
folder; the scan's caption <-> image pairing, core.captions.image_gone): sd-scripts would never read it,
and a scan would call it a stray caption. Such a file is no conflict (nothing the user wrote is
overwritten: it stays deleted, as they left it): it is left out, under any flag, and listed
(``UndoPlan.image_gone``, ``UndoResult.image_gone``, ``image_gone_line`` words it). Its text is never
dropped: the inverse entry keeps its record, marked ``"left_out": true`` (not walked by that entry's
walk: it is the other direction's), and walking that entry hands it back unmarked to the entry it
writes in turn. So once the image is back, a redo and an undo (or an undo and a redo) write it.
A read-only caption file stops the walk before anything is written, unless ``force``.

A walk holds the journal lock (``journal.journal_lock``) from its plan to its last write: an entry
whose apply is still writing is never walked (its unwritten files would look "already undone" and
the entry would be deleted under the apply), nor is one walked twice at once.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from loratui.core.captions.files import check_rewritable, read_only
from loratui.core.captions.image_gone import image_gone
from loratui.core.captions import journal as journal_caps  # its caps read when used (tests change them)
from loratui.core.captions.journal import (
    VERSION, JournalBusyError, Progress, counter, entries, entry_item, file_record, is_open, journal_dir, journal_lock,
    landed, load_entry, read_dropped_count, redo_dir, sha1, writing_marker,
)
from loratui.core.errors import ConflictError, Hint, LoratuiError
from loratui.core.fsutil import atomic_write_bytes, atomic_write_text, write_many


@dataclass
class UndoPlan:
    """What undoing (or redoing) the next entry would do (read-only; ``undo_last`` / ``redo_last``
    carry it out)."""

    entry: Path
    description: str
    created: float
    restore: list[tuple[Path, bytes | None]] = field(default_factory=list)  # (file, old bytes or None: delete)
    already: list[Path] = field(default_factory=list)   # already as the walk would leave them
    conflicts: list[str] = field(default_factory=list)  # edited (or deleted) since
    conflict_restore: list[tuple[Path, bytes | None]] = field(default_factory=list)
    current: dict[Path, bytes | None] = field(default_factory=dict)  # what each file to write holds now
    record: dict = field(default_factory=dict, repr=False)
    # absent captions the walk would make again, but whose image is gone: never written, under any flag;
    # the bytes it would write (kept in the inverse entry, never dropped)
    image_gone: list[Path] = field(default_factory=list)
    gone_bytes: dict[Path, bytes] = field(default_factory=dict, repr=False)
    # records an earlier walk left out (marked "left_out"): not walked here, handed on to the inverse
    carried: list[dict] = field(default_factory=list, repr=False)


@dataclass
class UndoResult:
    description: str
    restored: list[Path] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    remaining: int = 0  # entries left to undo (or to redo, for a redo)
    already: list[Path] = field(default_factory=list)
    entry: Path | None = None  # the journal entry walked (its name stays the same on the other stack)
    image_gone: list[Path] = field(default_factory=list)  # left out: their image is gone (UndoPlan.image_gone)
    # files the inverse entry (on the other list) walks back: 0 when a redo (an undo) would re-apply nothing
    walk_back_files: int = 0


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


LEFT_OUT = "left_out"  # a file record's mark: kept for the other direction, not walked by its entry's walk


def _left_out(item) -> bool:
    return isinstance(item, dict) and item.get(LEFT_OUT) is True


def _plan(dataset, entry: Path, since: str, verb: str) -> UndoPlan:
    record = load_entry(entry)
    plan = UndoPlan(entry, str(record.get("description", "")), record.get("created", 0.0), record=record)
    folders: dict = {}
    for number, item in enumerate(record["files"], 1):
        path, old, expected = entry_item(entry, number, item, Path(dataset))  # a damaged record: refused
        if _left_out(item):
            plan.carried.append(item)
            continue
        try:
            current = path.read_bytes()
        except FileNotFoundError:
            current = None
        except OSError as exc:
            raise LoratuiError(f"{path}: cannot read it to {verb} ({exc.strerror or exc}); nothing {verb}ne") from None
        if current == old:
            plan.already.append(path)  # never written (a kill before it) or put back by hand
            continue
        plan.current[path] = current
        if current is None and old is not None and image_gone(path, folders):
            plan.image_gone.append(path)  # not a conflict: left deleted, as the user left it
            plan.gone_bytes[path] = old
        elif (current is None and expected is None) or (current is not None and sha1(current) == expected):
            plan.restore.append((path, old))
        else:
            what = "deleted" if current is None else "edited"
            plan.conflicts.append(f"{path}: {what} after the {since}")
            plan.conflict_restore.append((path, old))
    return plan


def plan_undo(dataset: str | os.PathLike) -> UndoPlan:
    """Look at the newest journal entry and the files as they are now. Raises when there is none, and
    (JournalBusyError) while another loratui writes these captions: the files are not yet as it left them."""
    with journal_lock(dataset, "nothing was undone", create=False):
        return _plan_undo(dataset)


def _plan_undo(dataset) -> UndoPlan:
    found = entries(journal_dir(dataset))
    if not found:
        if journal_dir(dataset).is_dir():
            redo = Hint(" (`tags redo` re-applies the last undone one)", " ({redo} redoes the last undone one)") \
                if can_redo(dataset) else ""
            dropped = dropped_note(dataset)  # the changes before those were dropped, not undone: say so
            raise LoratuiError(f"{dataset}: nothing left to undo: every recorded change has been undone", redo,
                               f"; {dropped}" if dropped else "")
        raise LoratuiError(f"{dataset}: nothing to undo (no edit journal in {journal_dir(dataset)})")
    return _plan(dataset, found[-1], "change", "undo")


def plan_redo(dataset: str | os.PathLike) -> UndoPlan:
    """Look at the last undone entry and the files as they are now. Raises when there is none (or, as
    ``plan_undo``, while another loratui writes)."""
    with journal_lock(dataset, "nothing was redone", create=False):
        return _plan_redo(dataset)


def _plan_redo(dataset) -> UndoPlan:
    found = entries(redo_dir(dataset))
    if not found:
        raise LoratuiError(f"{dataset}: nothing to redo ", Hint("(redo re-applies what `tags undo` undid,",
                                                                "({redo} re-applies what {undo} undid,"),
                           " until the next change)")
    return _plan(dataset, found[0], "undo", "redo")


def can_undo(dataset: str | os.PathLike) -> bool:
    return bool(entries(journal_dir(dataset)))


def can_redo(dataset: str | os.PathLike) -> bool:
    return bool(entries(redo_dir(dataset)))


def undo_last(dataset: str | os.PathLike, *, force: bool = False, skip_changed: bool = False,
              progress: Progress | None = None) -> UndoResult:
    """Restore the files of the newest journal entry and move the entry to the redo stack.

    A caption edited after the change is never overwritten silently: by default nothing is undone
    and ConflictError says which; ``skip_changed`` restores the others (leaving those as they are),
    ``force`` restores them too. Raises LoratuiError when there is nothing to undo. ``progress(done,
    total)`` after each file restored (from the writer threads, as ``apply_plan``'s).
    """
    with journal_lock(dataset, "nothing was undone", create=False):
        try:  # every caption of the entry is read: seconds for 20,000
            plan = _plan_undo(dataset)
        except KeyboardInterrupt:
            raise KeyboardInterrupt("interrupted while reading captions: nothing was undone") from None
        if is_open(plan.entry):  # its next batch would append to an entry no longer in the journal
            raise LoratuiError(f"{dataset}: a caption run is still writing the newest change: stop it or let it "
                               "finish, then undo (nothing was undone)")
        return _walk(dataset, plan, redo_dir(dataset), "undo", force=force, skip_changed=skip_changed,
                     progress=progress)


def redo_last(dataset: str | os.PathLike, *, force: bool = False, skip_changed: bool = False,
              progress: Progress | None = None) -> UndoResult:
    """Re-apply the last undone entry (byte for byte what the undo replaced) and move it back to
    the undo stack. Conflicts as in ``undo_last``: a caption edited after the undo is kept unless
    ``force``. Raises LoratuiError when there is nothing to redo."""
    with journal_lock(dataset, "nothing was redone", create=False):
        try:  # every caption of the entry is read: seconds for 20,000
            plan = _plan_redo(dataset)
        except KeyboardInterrupt:
            raise KeyboardInterrupt("interrupted while reading captions: nothing was redone") from None
        return _walk(dataset, plan, journal_dir(dataset), "redo", force=force, skip_changed=skip_changed,
                     progress=progress)


def _walk(dataset, plan: UndoPlan, inverse_folder: Path, verb: str, *, force: bool, skip_changed: bool,
          progress: Progress | None = None) -> UndoResult:
    if plan.conflicts and not (force or skip_changed):
        more = f" (and {len(plan.conflicts) - 1} more)" if len(plan.conflicts) > 1 else ""
        does = "restores" if verb == "undo" else "re-applies"
        # --skip-changed with no other file to walk would do nothing (hunt h1: "restores the other 0 files")
        skip = f"--skip-changed {does} the other {_plural(len(plan.restore), 'file')}, " if plan.restore else ""
        # the app asks which instead (screens.dataset_edits): no flags there
        raise ConflictError(f"{plan.conflicts[0]}{more}: nothing {verb}ne", Hint(
            f"; {skip}--force overwrites the edited ones{' too' if skip else ''}", ""))
    todo = plan.restore + (plan.conflict_restore if force else [])
    locked = [] if force else [path for path, _ in todo if read_only(path)]
    if locked:
        check_rewritable(locked[0], more=len(locked) - 1)
    result = UndoResult(plan.description, already=list(plan.already),
                        remaining=len(entries(plan.entry.parent)) - 1, entry=plan.entry)
    if not force:
        result.conflicts = [f"{c}, left as it is" for c in plan.conflicts]
    result.image_gone = list(plan.image_gone)
    try:  # before any caption changes
        result.walk_back_files = _write_inverse(dataset, inverse_folder / plan.entry.name, plan, todo, verb)
    except KeyboardInterrupt:  # its merge with an interrupted walk's inverse is written atomically, or not
        raise KeyboardInterrupt(f"interrupted before any caption was {verb}ne: nothing was {verb}ne") from None
    count = counter(len(todo), progress)

    def write(item):
        path, old = item
        if old is None:
            path.unlink(missing_ok=True)
        else:
            atomic_write_bytes(path, old, sync_dir=False)
        count()
        return path.parent

    try:
        done, failure = write_many(todo, write)
    except KeyboardInterrupt:  # the running writes finished; the entry stays, walked again it skips what is done
        walked = sum(not landed(path, old) for path, old in todo)  # holds what the walk puts there
        raise KeyboardInterrupt(f"interrupted: {walked:,} of {len(todo):,} caption(s) were {verb}ne before it "
                                f"stopped; run the {verb} again to finish it") from None
    result.restored += [path for (path, _), _ in done]
    if failure is not None:  # the entry stays: walk it again once the file is writable (done ones are skipped)
        (path, _), exc = failure
        if not isinstance(exc, OSError):
            raise exc
        from loratui.core.diskspace import out_of_room_advice

        fix = out_of_room_advice(exc, path, again=f"run the {verb} again") or \
            f"fix the problem and run the {verb} again"
        raise LoratuiError(f"{path}: cannot {'restore' if verb == 'undo' else 'rewrite'} it "
                           f"({exc.strerror or exc}); {len(result.restored)} file(s) were {verb}ne before it: "
                           f"{fix}") from None
    plan.entry.unlink(missing_ok=True)  # another instance walking the same entry at once: the same bytes
    writing_marker(plan.entry).unlink(missing_ok=True)  # a killed apply's: its entry is walked now
    return result


def _write_inverse(dataset, target: Path, plan: UndoPlan, todo: list[tuple[Path, bytes | None]],
                   verb: str = "undo") -> int:
    """The entry that walks back what this walk writes: each file's present bytes, to be put back
    where it holds what we write. Records an earlier, interrupted walk left there are kept for the
    files this walk does not write (it already wrote them). The captions left out (image gone) go in
    marked ``left_out``: what this walk would have written, where the file is absent (as it is now);
    the marked records this entry carried go in unmarked: walked by the inverse's walk. Returns the
    files the inverse walks (its unmarked records)."""
    by_path: dict[str, dict] = {}
    for item in ([file_record(dataset, path, plan.current[path], new) for path, new in todo]
                 + [{**file_record(dataset, path, plan.gone_bytes[path], None), LEFT_OUT: True}
                    for path in plan.image_gone]
                 + [{key: value for key, value in item.items() if key != LEFT_OUT} for item in plan.carried]):
        by_path.setdefault(item["path"], item)  # one record a file: this walk's first
    try:
        earlier = load_entry(target)["files"] if target.exists() else []
    except LoratuiError:
        earlier = []
    for item in earlier:
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            by_path.setdefault(item["path"], item)
    files = list(by_path.values())
    if not files:
        target.unlink(missing_ok=True)
        return 0
    record = {key: value for key, value in plan.record.items() if key != "files"}
    record.update(version=VERSION, moved=time.time(), files=files)  # "created" kept: when the change was made
    text = json.dumps(record)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, text)
    except OSError as exc:
        from loratui.core.diskspace import out_of_room_advice

        # a full disk is not a folder to make writable: the space the inverse needs (the whole entry's) is said
        fix = out_of_room_advice(exc, target, len(text.encode("utf-8")), f"the {verb}", f"{verb} again")
        raise LoratuiError(f"{target}: cannot write the journal ({exc.strerror or exc}); nothing changed: "
                           f"{fix or 'make the folder writable'}") from None
    return sum(not _left_out(item) for item in files)


def _landed(dataset, entry: Path, record: dict) -> int:
    """How many files of a killed apply's entry were written: those no longer holding their old bytes
    (what an undo would restore; the others it skips as never written)."""
    count = 0
    for number, item in enumerate(record["files"], 1):
        if not _left_out(item):  # kept for the other direction: never written by this entry's walk
            path, old, _expected = entry_item(entry, number, item, Path(dataset))
            count += landed(path, old)
    return count


def _busy(dataset) -> bool:
    """True while another loratui holds the journal (an apply still writing)."""
    try:
        with journal_lock(dataset, create=False, wait=0):
            return False
    except JournalBusyError:
        return True


def _rows(dataset, found: list[Path]) -> list[tuple[Path, str, int]]:
    rows = []
    for entry in found:
        try:
            record = load_entry(entry)
            description = record.get("description", "")
            files = sum(not _left_out(item) for item in record.get("files", []))  # those its walk writes
            if writing_marker(entry).exists():  # its apply was killed (or still runs): some files are not written
                written = _landed(dataset, entry, record)
                if written != files:
                    state = "still writing" if _busy(dataset) else "interrupted"
                    description = f"{description} ({state}: {written} of {files} written)"
                    files = written
        except LoratuiError:
            rows.append((entry, "(unreadable)", 0))
            continue
        rows.append((entry, description, files))
    return rows


def history(dataset) -> list[tuple[Path, str, int]]:
    """(journal file, description, files written) newest first: what `tags undo` would undo, in order.
    An apply killed while writing says so in its description ("interrupted: 154 of 1000 written")."""
    return _rows(dataset, list(reversed(entries(journal_dir(dataset)))))


def redo_history(dataset) -> list[tuple[Path, str, int]]:
    """(journal file, description, files) in the order `tags redo` would re-apply them."""
    return _rows(dataset, entries(redo_dir(dataset)))


def dropped_changes(dataset: str | os.PathLike) -> int:
    """How many of the oldest changes the undo history has dropped (its caps, ``prune_entries``): they
    can no longer be undone. ``dropped_note`` words it; an undo with nothing left says it."""
    return read_dropped_count(journal_dir(dataset))


def dropped_note(dataset: str | os.PathLike) -> str:
    """``3 older change(s) were dropped from the undo history (...): they cannot be undone``, or "" (none)."""
    count = dropped_changes(dataset)
    if not count:
        return ""
    megabytes = journal_caps.KEEP_BYTES // (1024 * 1024)
    return (f"{count:,} older change(s) were dropped from the undo history (it keeps the last "
            f"{journal_caps.KEEP_ENTRIES:,} changes, at most {megabytes:,} MB): they cannot be undone")
