"""Captions written a batch at a time as one undoable change: a caption run (WD14, BLIP).

A caption run cannot plan all its writes first as `tags` does (the model finds the captions as it
goes), so its journal entry grows: ``ChangeWriter.write_many`` appends one record per file to the
entry (each file's old bytes, as ``apply_plan`` records them), fsyncs it, and only then replaces the
files. The entry is a JSON header line followed by one record per line (``journal.parse_entry``),
so the cost per batch is one small append, whatever the run's length, and a kill at any moment
leaves every caption undoable. The whole run is one `loratui tags undo DIR` away.

Every file is checked as `tags` checks it: a caption that changed since the caller read it
(``expected``) is a ConflictError for that file, a read-only one a LoratuiError (unless ``force``),
an unchanged one is not rewritten. Errors are per file: the caller reports that image and goes on.

The writer holds the journal lock (``journal.journal_lock``) from its first write to ``close``, not
batch by batch: undo walks the entries by number, so a `tags` edit that landed between two batches
(entry N+1, while the run's entry N still grows) on captions the run wrote later could be undone
neither first nor second without overwriting the other's text (hunt h1 F1). Meanwhile a `tags` edit,
undo, redo, balance or a second caption run is refused in one line naming the run (``journal.busy_line``:
its pid, wait or cancel it). A caption run takes the lock before its model loads (``hold_for_run``,
commands/caption_cmd.py) and hands the writer ``locked=True``; the first write of one that did not waits
for another write running (a `tags` edit of 100,000 files) up to BATCH_WAIT, but not for a caption run.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import ExitStack
from pathlib import Path

from loratui.core.captions.files import check_rewritable
from loratui.core.captions.journal import (
    CAPTION_RUN, VERSION, _entries, _reserve_entry, _size, clear_redo, file_record, journal_lock, open_marker,
    prune_entries,
)
from loratui.core.errors import ConflictError, Hint, LoratuiError, PartialWriteError
from loratui.core.fsutil import atomic_write_bytes, atomic_write_text

OVERWRITE = object()  # ``expected`` for an overwrite: whatever the file holds is replaced (and journalled)
BATCH_WAIT = 120.0  # seconds a first write waits for another write to these captions (a bulk edit of 100,000 files)


def hold_for_run(stack: ExitStack, dataset, nothing: str = "nothing was written", *, note: str = CAPTION_RUN,
                 wait: float | None = None) -> None:
    """Take the journal lock of ``dataset`` into ``stack`` for a whole run (released when the stack
    closes). Another write running is waited for up to ``wait`` (BATCH_WAIT) seconds; a caption run
    holding it (it may run for hours) is JournalBusyError at once, naming it (``journal.journal_lock``)."""
    stack.enter_context(journal_lock(dataset, nothing, wait=BATCH_WAIT if wait is None else wait, note=note))


def _current(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def write_checked(path: Path, data: bytes, expected=OVERWRITE, *, force: bool = False) -> bytes | None | bool:
    """Check one caption write (conflict, read-only, unchanged) and return the file's present bytes
    (None: no file), or False when ``data`` is what it holds already. Writes nothing."""
    try:
        current = _current(path)
    except OSError as exc:
        raise LoratuiError(f"{path}: cannot read it ({exc.strerror or exc}); not written") from None
    if expected is not OVERWRITE and current != expected:
        raise ConflictError(f"{path}: changed on disk since it was read, left as it is")
    if current == data:
        return False
    if not force:
        try:
            check_rewritable(path)
        except LoratuiError as exc:
            exc.read_only = True  # callers tell this failure by the flag, never by its words
            raise
    return current


class ChangeWriter:
    """Write caption files into ``dataset`` as one journal entry (created at the first write), holding
    the journal lock from the first write to ``close``. ``locked``: the caller holds it for the writer's
    whole life (``hold_for_run``). ``note``: what the lock file names while it holds it (CAPTION_RUN)."""

    def __init__(self, dataset: str | os.PathLike, description: str, *, force: bool = False, note: str = "",
                 locked: bool = False):
        self.dataset = Path(dataset)
        self.description = description
        self.force = force
        self.note = note
        self.locked = locked
        self.entry: Path | None = None
        self.written = 0
        self._existing: list[Path] = []
        self._hold: ExitStack | None = None  # the lock this writer took (None: not yet, or the caller's)

    def write(self, path: Path, data: bytes, expected=OVERWRITE) -> bool:
        """One file; True when written, False when unchanged. Raises for this file's problem."""
        outcome = self.write_many([(path, data, expected)])[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def write_many(self, items: list[tuple[Path, bytes, object]]) -> list[bool | LoratuiError]:
        """Journal, then write, each (path, new bytes, expected old bytes or OVERWRITE). One outcome per
        item: True written, False unchanged, or the LoratuiError (ConflictError) that kept it.
        JournalBusyError (nothing written) when another write holds the journal past BATCH_WAIT.
        A batch with nothing to write (every caption unchanged, or refused) takes no lock: a folder
        with no journal gets no ``.loratui`` for it. The first that writes takes it, until ``close``."""
        outcomes, todo = self._check(items)
        if not todo:
            return outcomes
        if not self.locked and self._hold is None:
            hold = ExitStack()
            hold_for_run(hold, self.dataset, f"stopped before writing more captions ({self.written} written)",
                         note=self.note, wait=BATCH_WAIT)
            self._hold = hold
        return self._write_many_locked(items)

    def _check(self, items: list[tuple[Path, bytes, object]]) -> tuple[list[bool | LoratuiError], list]:
        """Each item's outcome if nothing is written, and those to write: (index, path, data, current)."""
        outcomes: list[bool | LoratuiError] = [False] * len(items)
        todo = []
        for index, (path, data, expected) in enumerate(items):
            try:
                current = write_checked(Path(path), data, expected, force=self.force)
            except LoratuiError as exc:
                outcomes[index] = exc
                continue
            if current is not False:
                todo.append((index, Path(path), data, current))
        return outcomes, todo

    def _write_many_locked(self, items: list[tuple[Path, bytes, object]]) -> list[bool | LoratuiError]:
        outcomes, todo = self._check(items)  # again under the lock: another write may have just ended
        if not todo:
            return outcomes
        self._journal([(path, current, data) for _, path, data, current in todo])
        for index, path, data, _ in todo:
            try:
                atomic_write_bytes(path, data)
            except OSError as exc:  # its record stays: undo finds the file as it was and skips it
                outcomes[index] = LoratuiError(f"{path}: cannot write ({exc.strerror or exc})")
                continue
            outcomes[index] = True
            self.written += 1
        return outcomes

    def _journal(self, files: list[tuple[Path, bytes | None, bytes]]) -> None:
        lines = [json.dumps(file_record(self.dataset, path, old, new)) for path, old, new in files]
        first = self.entry is None
        if first:
            self._existing = _entries(self.dataset, reserved=True)
            self.entry = _reserve_entry(self.dataset)
            try:  # under the journal lock, as every prune is: no `tags` edit prunes the entry while it grows
                atomic_write_text(open_marker(self.entry), str(os.getpid()))
            except OSError:
                pass  # only a full journal's pruning could then take the entry (the next batch says so)
            now = time.time()
            header = {"version": VERSION, "created": now, "moved": now, "description": self.description, "ops": []}
            lines.insert(0, json.dumps(header))
        try:
            fd = os.open(self.entry, os.O_WRONLY | os.O_APPEND)
            try:
                data = ("\n".join(lines) + "\n").encode("utf-8")
                while data:
                    data = data[os.write(fd, data):]
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise self._journal_error(exc) from None
        if first:
            clear_redo(self.dataset)  # a new change: what was undone before can no longer be redone

    def _journal_error(self, exc: OSError) -> LoratuiError:
        """Why the writes stop: the journal could not grow. With nothing written the entry is dropped
        (``close``) and the newest change is the one before, which `tags undo` would undo: it is not
        offered (exit 2, nothing changed). After some captions it puts them back (exit 1)."""
        from loratui.core.diskspace import out_of_room_advice

        fix = out_of_room_advice(exc, self.entry)
        fix = f": {fix}" if fix else ""
        reason = f"{self.entry}: cannot write the undo journal ({exc.strerror or exc}); "
        if self.written == 0:
            return LoratuiError(f"{reason}nothing was written{fix}")
        return PartialWriteError(reason, f"stopped before writing more captions ({self.written} written, ",
                                 Hint("`loratui tags undo`", "{undo}"), f" puts them back){fix}")

    def close(self) -> Path | None:
        """Finish the entry: drop it when nothing was written, prune old entries, let the journal lock
        go. Returns it, or None when nothing was written or the entry is gone (another loratui on a file
        system without locks)."""
        try:
            if self.entry is None:
                return None
            open_marker(self.entry).unlink(missing_ok=True)  # closed: pruning may take it from now on
            if self.written == 0 or not self.entry.exists():
                if self.written == 0:
                    self.entry.unlink(missing_ok=True)
                self.entry = None
                return None
            prune_entries(self._existing, 1, added_bytes=_size(self.entry))  # still under the lock
            return self.entry
        finally:
            hold, self._hold = self._hold, None
            if hold is not None:
                hold.close()

    def __enter__(self) -> ChangeWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["OVERWRITE", "ChangeWriter", "hold_for_run", "write_checked"]
