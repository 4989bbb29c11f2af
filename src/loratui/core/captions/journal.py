"""Applying an edit plan to caption files, with an undo journal on disk.

Before any caption is touched, the journal entry (every file's old bytes and the new bytes'
hash) is written atomically to ``DATASET/.loratui/undo/NNNNNN.json``; then each file is replaced
atomically. A kill at any moment therefore leaves every caption either as it was or as planned,
and the journal already knows how to put back whatever was written. Undo and redo (undo.py) walk
these entries: an undone entry moves to ``.loratui/undo/redo/`` (holding what the undo replaced),
and a new apply empties that folder, as in every editor.

While an apply writes its captions, ``NNNNNN.json.writing`` sits beside its entry; a kill leaves it
there, so the history (undo.py) knows that entry lists more files than were written, and counts them.
A caption run's entry grows while it runs (writer.py): ``NNNNNN.json.open`` (its pid) keeps pruning off it.

Conflicts are never resolved silently: ``apply_plan`` checks every file against what was read
before writing any (ConflictError, nothing written, unless ``skip_conflicts``).

One write at a time per journal: an apply, an undo or a redo holds ``journal_lock`` (an flock on
``.loratui/undo/write.lock``) from its first check to its last write, so a second loratui (the app
and a shell, two shells) is refused with one line instead of walking an entry whose captions are
still being written (the undo would count them as never written and drop the entry). A caption run
holds it from before its model loads to its last caption (writer.py): a change made between its batches
would be numbered after the run's entry but land under captions the run writes later, so undo (which
walks entries by number) could no longer restore either exactly (hunt h1 F1). The record format is
journal_records.py.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from loratui.core.captions.files import check_rewritable, read_only
from loratui.core.captions.journal_records import (  # noqa: F401 - the record format, re-exported here
    entry_item, file_record, landed, load_entry, parse_entry, read_header, sha1,
)
from loratui.core.captions.plan import EditPlan, FileEdit
from loratui.core.errors import ConflictError, Hint, LoratuiError, PartialWriteError
from loratui.core.fsutil import atomic_write_bytes, atomic_write_text, folder_lock, lock_note, write_many
from loratui.core.fsutil import fcntl  # None where there is no flock (a test turns the lock off here)
from loratui.core.termline import shell_arg

JOURNAL_DIR = Path(".loratui") / "undo"
REDO_DIR = "redo"
# The size cap (KEEP_BYTES) is what bounds the journal; the count only bounds how many files the folder
# holds. Every inline edit of one image is an entry of about 1 KB, so at 50 entries cleaning images one
# by one pushed a bulk change of 133 captions out of undo after 32 key presses (hunt s14). Two thousand
# such entries are 2 MB, so single-image edits no longer push bulk changes out; those go when the bytes
# are full (they are what fills them), and ``dropped_changes`` says how many went.
KEEP_ENTRIES = 2000
# and at most this many bytes of entries: one change of 20,000 captions is 16-18 MB, so 50 of them were
# 0.85 GB; the oldest go first, the newest entry always stays (however big)
KEEP_BYTES = 500 * 1024 * 1024
# how many of the oldest entries the caps have dropped so far (a number, as text), beside the undo folder:
# that folder holds only entries and their markers
DROPPED_NAME = "undo-dropped"
VERSION = 2
LOCK_NAME = "write.lock"
BEFORE_WRITING = "interrupted before any caption was written: nothing was written"  # Ctrl-C's message then
LOCK_WAIT = 1.0  # seconds a write waits for another to end before refusing: a caption run's batch, one save


def journal_dir(dataset: str | os.PathLike) -> Path:
    return Path(dataset) / JOURNAL_DIR


def redo_dir(dataset: str | os.PathLike) -> Path:
    return journal_dir(dataset) / REDO_DIR


def entries(folder: Path, *, reserved: bool = False) -> list[Path]:
    """Journal entries in ``folder``, oldest first. An empty file is a name reserved by an apply that
    was killed before its journal was written (so it changed nothing): skipped unless ``reserved``."""
    if not folder.is_dir():
        return []
    found = sorted(p for p in folder.glob("*.json") if p.stem.isdigit())
    return found if reserved else [p for p in found if _size(p) > 0]


def _entries(dataset, *, reserved: bool = False) -> list[Path]:
    return entries(journal_dir(dataset), reserved=reserved)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


WRITING_SUFFIX = ".writing"


def writing_marker(entry: Path) -> Path:
    """The file that says the apply of ``entry`` is writing (or was killed while writing)."""
    return entry.with_name(entry.name + WRITING_SUFFIX)


def _reserve_entry(dataset) -> Path:
    """A new, unused journal file name (O_EXCL: two applies at once never share one), numbered
    past every entry of both stacks so a redone entry never meets a newer one of the same name."""
    folder = journal_dir(dataset)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        existing = _entries(dataset, reserved=True) + entries(redo_dir(dataset), reserved=True)
        number = max((int(p.stem) for p in existing), default=0) + 1
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


class JournalBusyError(LoratuiError):
    """Another loratui is writing these captions (an apply, undo or redo holds the journal lock)."""


CAPTION_RUN = "caption run"  # the lock file's note while a caption run holds the journal (writer.ChangeWriter)


@contextmanager
def journal_lock(dataset, nothing: str = "nothing was written", *, create: bool = True,
                 wait: float | None = None, note: str = "") -> Iterator[None]:
    """Hold the journal of ``dataset`` for one write (apply, undo, redo) or, with ``note`` CAPTION_RUN,
    for a whole caption run; JournalBusyError when another holds it for longer than ``wait`` seconds,
    or at once when a caption run holds it (``busy_line`` names the run, and what to do). ``create``: make the journal folder
    when missing (an undo with no journal has nothing to lock). Where no lock can be taken (no flock, a
    read-only or lock-less file system) the write goes on unlocked: its own errors say what is wrong. The
    lock is core.fsutil's ``folder_lock``: `dataset balance` takes the same file, so they exclude each other."""
    if fcntl is None:
        _follow_renames(dataset)
        yield
        return

    def busy(holder: int | None) -> JournalBusyError:
        return JournalBusyError(busy_line(dataset, holder, nothing))

    wait = LOCK_WAIT if wait is None else wait
    with ExitStack() as held:
        try:  # a caption run holds it for minutes or hours: refused at once, not after ``wait`` (a UI's save)
            held.enter_context(folder_lock(journal_dir(dataset), busy, wait=0, name=LOCK_NAME, create=create,
                                           note=note))
        except JournalBusyError:
            if wait <= 0 or lock_note(journal_dir(dataset), LOCK_NAME) == CAPTION_RUN:
                raise
            held.enter_context(folder_lock(journal_dir(dataset), busy, wait=wait, name=LOCK_NAME, create=create,
                                           note=note))
        _follow_renames(dataset)
        yield


def _follow_renames(dataset) -> None:
    """Before anything else under the lock: follow folder renames a balance stopped part-way left written
    down (journal_renames.py; one stat when there are none)."""
    from loratui.core.captions.journal_renames import finish_pending

    finish_pending(dataset)


def busy_line(dataset, holder: int | None, nothing: str) -> str:
    """Why a write to the captions of ``dataset`` is refused while ``holder`` (a pid, or None) holds the
    journal: a caption run holds it from before its model loads to its last caption (so no other change
    lands between its batches, and undo walks the changes in the order they were written)."""
    pid = f" (pid {holder})" if holder else ""
    if lock_note(journal_dir(dataset), LOCK_NAME) == CAPTION_RUN:
        stop = f"`kill -INT {holder}`" if holder else "Ctrl-C where it runs"
        return (f"{dataset}: a caption run{pid} is writing these captions; {nothing}: wait for it to finish, "
                f"or cancel it ({stop}, or the Caption screen's cancel key in the app that started it), then "
                "try again")
    return f"{dataset}: another loratui write to these captions is running{pid}; {nothing}: try again when it has finished"


def clear_redo(dataset) -> None:
    """A new change was made: what was undone before it can no longer be redone."""
    for entry in entries(redo_dir(dataset), reserved=True):
        try:
            entry.unlink()
        except OSError:  # a stale redo entry is harmless: redo checks every file before writing it
            pass


@dataclass
class ApplyResult:
    written: list[Path] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    journal: Path | None = None
    dropped: int = 0  # the oldest entries this apply pushed out of the undo history (its caps)


def find_conflicts(plan: EditPlan) -> list[FileEdit]:
    """The planned edits whose files changed on disk since they were read."""
    return [e for e in plan.edits if not e.caption.fingerprint.matches(e.path)]


Progress = Callable[[int, int], None]  # (files written so far, files to write); called from writer threads


def apply_plan(plan: EditPlan, dataset: str | os.PathLike, *, description: str = "",
               skip_conflicts: bool = False, force: bool = False, progress: Progress | None = None) -> ApplyResult:
    """Write every planned caption, journal first. ``progress(done, total)`` after each caption written
    (from the writer threads: it must be quick and thread-safe; callers throttle what they show).

    A file changed on disk since it was read is a conflict: by default nothing is written and
    ConflictError names it; with ``skip_conflicts`` the others are written and it is reported.
    A read-only caption file stops the apply before anything is written, unless ``force``.
    Another loratui writing the same journal meanwhile: JournalBusyError, nothing written.
    """
    if not plan.edits:
        return ApplyResult()
    read_only_files = [] if force else [e.path for e in plan.edits if read_only(e.path)]
    if read_only_files:  # refused before the journal folder (and its lock) is made
        check_rewritable(read_only_files[0], more=len(read_only_files) - 1)
    with journal_lock(dataset):
        return _apply_locked(plan, dataset, description, skip_conflicts, progress)


def _apply_locked(plan: EditPlan, dataset, description: str, skip_conflicts: bool,
                  progress: Progress | None = None) -> ApplyResult:
    try:  # every file read again, each new caption formatted: seconds for 20,000
        conflicts = find_conflicts(plan)
        conflicted = {id(e) for e in conflicts}
        todo = [(edit, edit.caption.format(edit.new)) for edit in plan.edits if id(edit) not in conflicted]
    except KeyboardInterrupt:
        raise KeyboardInterrupt(BEFORE_WRITING) from None
    result = ApplyResult()
    if conflicts and not skip_conflicts:
        more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
        raise ConflictError(f"{conflicts[0].path}{more}: changed on disk since it was read; nothing was written: "
                            "run the operation again to re-read the captions")
    result.conflicts = [f"{e.path}: changed on disk since it was read, left as it is" for e in conflicts]
    if not todo:
        return result

    def record(items) -> dict:
        now = time.time()
        return {
            "version": VERSION,
            "created": now,
            "moved": now,  # set again by each undo and redo (journal_moves): "created" stays the change's
            "description": description or plan.describe(),
            "ops": [op.to_dict() for op in plan.ops],
            "files": [file_record(dataset, edit.path, edit.caption.raw, new_bytes) for edit, new_bytes in items],
        }

    existing = _entries(dataset, reserved=True)
    path = _reserve_entry(dataset)
    marker = writing_marker(path)
    try:
        marker.touch()  # before the entry: a kill from here on leaves it (the history then counts what landed)
    except OSError:
        pass  # only the history's file count would be off after a kill
    try:
        atomic_write_text(path, json.dumps(record(todo)))  # the journal exists before any caption changes
    except OSError as exc:
        path.unlink(missing_ok=True)
        marker.unlink(missing_ok=True)
        raise LoratuiError(f"{path}: cannot write the undo journal ({exc.strerror or exc}); nothing was written") from None
    except KeyboardInterrupt:  # Ctrl-C while the journal of 20,000 captions was written (a second or so)
        path.unlink(missing_ok=True)
        marker.unlink(missing_ok=True)
        raise KeyboardInterrupt(BEFORE_WRITING) from None
    result.journal = path
    clear_redo(dataset)
    try:
        return _write_planned(plan, dataset, path, existing, todo, record, result, progress)
    finally:  # ended (a stop or an error trims the entry to what was written): the entry is whole
        marker.unlink(missing_ok=True)


def _write_planned(plan: EditPlan, dataset, path: Path, existing: list[Path], todo, record, result,
                   progress: Progress | None = None) -> ApplyResult:
    """Write the journalled captions of ``todo``; the entry at ``path`` is trimmed to what landed."""
    count = counter(len(todo), progress)

    def write(item):
        edit, new_bytes = item
        if not edit.caption.fingerprint.matches(edit.path):  # changed in the last instant
            count()
            return None
        folder = atomic_write_bytes(edit.path, new_bytes, sync_dir=False)  # the folder to fsync (a link's target's)
        count()
        return folder

    try:
        done, failure = write_many(todo, write)
    except KeyboardInterrupt:
        # Ctrl-C: the writes already running finished; say how many landed, and keep the journal to those
        landed = [item for item in todo if _holds(item[0].path, item[1])]
        if _trim_journal_or_keep(path, record(landed)):
            prune_entries(existing, 1, added_bytes=_size(path), folder=path.parent)
        said = (f"{len(landed):,} of {len(todo):,} caption(s) were written before it stopped; `loratui tags undo "
                f"{shell_arg(dataset)}` puts them back" if landed else "no caption was written")
        raise KeyboardInterrupt(f"interrupted: {said}") from None
    written = [item for item, folder in done if folder is not None]
    result.conflicts += [f"{item[0].path}: changed on disk since it was read, left as it is"
                         for item, folder in done if folder is None]
    result.written += [edit.path for edit, _ in written]
    if failure is not None:
        (edit, _), exc = failure
        if not isinstance(exc, OSError):
            raise exc
        _trim_journal_or_keep(path, record(written))
        if not written:
            raise LoratuiError(f"{edit.path}: cannot write ({exc.strerror or exc}); nothing was written") from None
        # the app says how to undo them with its own key (screens.dataset_edits)
        partial = PartialWriteError(f"{edit.path}: cannot write ({exc.strerror or exc}); {len(written):,} of "
                                    f"{len(todo):,} file(s) were written before it", Hint(
                                        f" (`loratui tags undo {shell_arg(dataset)}` puts them back)", ""))
        partial.written = list(result.written)  # the app reads these back: they changed on disk
        raise partial from None
    if len(written) != len(todo):  # the journal keeps only what was written, so undo touches nothing else
        result.journal = path if _trim_journal_or_keep(path, record(written)) else None
    result.dropped = prune_entries(existing, 1, added_bytes=_size(path), folder=path.parent)
    return result


def counter(total: int, progress: Progress | None) -> Callable[[], int]:
    """A thread-safe count of files done that tells ``progress(done, total)`` at each; returns the count."""
    ticks = itertools.count(1)  # next() on it is atomic: the writer threads share it

    def count() -> int:
        done = next(ticks)
        if progress is not None:
            progress(done, total)
        return done

    return count


def _holds(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() == data
    except OSError:
        return False


def open_marker(entry: Path) -> Path:
    """The file (holding its pid) that says a caption run (writer.ChangeWriter) still appends to ``entry``."""
    return entry.with_name(entry.name + ".open")


def is_open(entry: Path) -> bool:
    """Whether a live process still writes ``entry``: a marker left by a killed run (its pid dead) is not."""
    try:
        pid = int(open_marker(entry).read_text(encoding="ascii"))
        if pid > 0:
            os.kill(pid, 0)
    except PermissionError:  # alive, another user's
        return True
    except (OSError, ValueError):  # no marker (or an unreadable one), or its pid is dead
        return False
    return pid > 0


def prune_entries(existing: list[Path], adding: int, *, added_bytes: int = 0, folder: Path | None = None) -> int:
    """Drop the oldest of ``existing`` entries (and their markers) so that with ``adding`` new ones
    (``added_bytes`` on disk) at most KEEP_ENTRIES stay, holding at most KEEP_BYTES. The new ones are
    never dropped, even when one alone holds more, nor one a caption run still writes (``is_open``).
    Returns how many were dropped, and adds them to the journal ``folder``'s count (``dropped_changes``)."""
    sizes = [_size(p) for p in existing]
    total, count = sum(sizes) + added_bytes, len(existing) + adding
    dropped = 0
    for old, size in zip(existing, sizes):
        if count <= KEEP_ENTRIES and total <= KEEP_BYTES:
            break
        if is_open(old):
            continue
        total, count = total - size, count - 1
        if size > 0:  # an empty file is a reserved name, never a change (``entries``)
            dropped += 1
        old.unlink(missing_ok=True)
        writing_marker(old).unlink(missing_ok=True)
        open_marker(old).unlink(missing_ok=True)
    folder = folder if folder is not None else (existing[0].parent if existing else None)
    if dropped and folder is not None:
        _count_dropped(folder, dropped)
    return dropped


def _count_dropped(folder: Path, more: int) -> None:
    try:
        atomic_write_text(folder.parent / DROPPED_NAME, str(read_dropped_count(folder) + more))
    except OSError:  # only a note for the history: the change itself is written
        pass


def read_dropped_count(folder: Path) -> int:
    """The number in the DROPPED_NAME file beside the journal ``folder`` (0: none, or unreadable)."""
    try:
        return max(0, int((folder.parent / DROPPED_NAME).read_text(encoding="ascii").strip() or 0))
    except (OSError, ValueError):
        return 0


def _trim_journal_or_keep(path: Path, record: dict) -> bool:
    """``_trim_journal``, or the whole entry kept when the trim cannot be written (the disk that
    stopped the captions is full: its error must not hide theirs). Undo checks each file's hash, so a
    record of a caption that was not written is skipped, never written back."""
    try:
        return _trim_journal(path, record)
    except OSError:
        return path.exists()


def _trim_journal(path: Path, record: dict) -> bool:
    if record["files"]:
        atomic_write_text(path, json.dumps(record))
        return True
    path.unlink(missing_ok=True)
    return False
