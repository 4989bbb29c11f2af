"""The undo journals' side of a balance's renames, written down before any folder moves, so that a
Ctrl-C, a SIGTERM or a kill -9 at any moment leaves the journals able to follow the folders.

Journals hold caption paths relative to the folder they sit in (the train folder's, and any further
up: `tags --recursive` on a project). Renaming concept folders therefore means rewriting those paths
(core.captions.journal_renames). Before the renames, ``apply_renames(journal_follows=True)`` (what a
balance and its undo do) writes one small record per such journal, ``.loratui/undo-renames/*.json``
beside its ``undo`` folder: the renames (paths relative to that folder) with each folder's inode, in
state "planned". Once every folder has moved it says "renamed". The journal side (core.captions)
rewrites the entries and then deletes the record; it does so at the next use of that journal (every
write takes ``journal_lock``, which finishes such records first), so an interrupted rewrite is
finished before anything else reads or writes the journal.

A "planned" record whose process is gone (killed mid-renames) is settled from the folders themselves:
each rename whose destination now holds the recorded inode happened; only those are followed.

This module knows no journal format (core.dataset imports no other core subpackage): it writes, settles
and reads these records; core.captions applies them.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

JOURNAL_FOLDER = Path(".loratui") / "undo"  # core.captions.journal's JOURNAL_DIR (this package may not import it)
PENDING_FOLDER = Path(".loratui") / "undo-renames"
PLANNED, RENAMED = "planned", "renamed"
# A "planned" record of a live process younger than this is a balance renaming right now (milliseconds
# for thousands of folders); older, its pid is taken to be another process's (reused), and it is settled.
LIVE_FOR = 60.0

_lock = threading.Lock()
_serial = itertools.count()  # tells apart the records one process writes in the same nanosecond
_written: dict[frozenset, list[Path]] = {}  # renames -> the records this process wrote for them (``claim_written``)


def journal_holders(parent: Path) -> list[Path]:
    """The folders whose undo journal may hold captions under ``parent``'s concept folders: ``parent``
    and every folder above it that has a journal."""
    found = []
    for holder in [parent, *parent.resolve().parents]:
        if (holder / JOURNAL_FOLDER).is_dir():
            found.append(holder)
    return found


def relative_prefix(parent: Path, holder: Path) -> str:
    """``parent`` relative to ``holder`` with a trailing "/" ("" for the same folder), in "/" form."""
    prefix = os.path.relpath(parent.resolve(), holder.resolve()).replace(os.sep, "/")
    return "" if prefix == "." else prefix + "/"


def inode(path: Path) -> list[int] | None:
    try:
        found = os.lstat(path)
    except OSError:
        return None
    return [found.st_dev, found.st_ino]


def write_pending(renames: Iterable[tuple[Path, Path]], state: str = PLANNED) -> list[Path]:
    """One record per journal that follows ``renames`` (source, dest: folders of one parent or several),
    written atomically before the renames (``state`` PLANNED) or after them (RENAMED); returns their
    paths. Each folder's inode is read now, from the source (PLANNED) or the destination (RENAMED).
    Earlier records a killed balance left are settled first, while the folders are as it left them.
    OSError when one cannot be written (nothing should be renamed then)."""
    pairs = [(Path(s), Path(d)) for s, d in renames]
    by_parent: dict[Path, list[tuple[Path, Path]]] = {}
    for source, dest in pairs:
        by_parent.setdefault(source.parent, []).append((source, dest))
    written: list[Path] = []
    try:
        for parent, moves in by_parent.items():
            for holder in journal_holders(parent):
                head = relative_prefix(parent, holder)
                rows = [[head + s.name, head + d.name, inode(s if state == PLANNED else d)] for s, d in moves]
                written.append(write_pending_rows(holder, rows, state))
    except BaseException:
        for path in written:
            discard_pending(path)
        raise
    with _lock:
        _written[_key(pairs)] = written
    return written


def write_pending_rows(holder: Path, rows: list[list], state: str = RENAMED) -> Path:
    """One record in ``holder`` of ``rows`` ([old, new, inode or None], paths relative to ``holder`` in "/"
    form), written atomically after settling the ones a killed balance left; returns its path."""
    from loratui.core.fsutil import atomic_write_text

    settle_pending(holder)
    folder = Path(holder) / PENDING_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    path = folder / f"{time.time_ns():020d}-{pid}-{next(_serial)}.json"
    atomic_write_text(path, json.dumps({"version": 1, "pid": pid, "created": time.time(), "state": state,
                                        "renames": rows}))
    return path


def _key(pairs: Iterable[tuple[Path, Path]]) -> frozenset:
    return frozenset((os.path.abspath(s), os.path.abspath(d)) for s, d in pairs)


def claim_written(renames: Iterable[tuple[Path, Path]]) -> list[Path] | None:
    """The records this process wrote (``write_pending``) for exactly these renames, forgotten here as
    they are claimed; None when it wrote none (the caller renamed the folders some other way)."""
    with _lock:
        return _written.pop(_key((Path(s), Path(d)) for s, d in renames), None)


def mark_renamed(records: list[Path]) -> None:
    """Every rename of ``records`` happened: say so (a record finished meanwhile stays finished)."""
    from loratui.core.fsutil import atomic_write_text

    for path in records:
        data = read_pending(path)
        if data is None or data.get("state") != PLANNED:
            continue
        data["state"] = RENAMED
        try:
            atomic_write_text(path, json.dumps(data))
        except OSError:
            pass  # left "planned": settled from the folders' inodes when it is followed, the same renames


def settle_records(records: list[Path]) -> None:
    """The renames of ``records`` stopped part-way (an error, rolled back or not): keep the ones that
    happened, read from the folders themselves whatever the record says; a record with none left is dropped."""
    for path in records:
        data = read_pending(path)
        if data is not None:
            data["state"] = PLANNED
        _settle(path, data)


def settle_pending(holder: Path) -> None:
    """Settle every "planned" record under ``holder`` whose balance is no longer running."""
    for path, data in pending_records(holder):
        if data.get("state") == PLANNED and not _running(data):
            _settle(path, data)


def _settle(path: Path, data: dict | None) -> None:
    from loratui.core.fsutil import atomic_write_text

    if data is None or data.get("state") != PLANNED:
        return
    holder = path.parent.parent.parent
    done = [row for row in data["renames"] if _moved(holder, row)]
    if not done:
        discard_pending(path)
        return
    data.update(state=RENAMED, renames=done)
    try:
        atomic_write_text(path, json.dumps(data))
    except OSError:
        pass  # settled again next time, from the same folders


def _moved(holder: Path, row) -> bool:
    source, dest, known = row
    if known is not None:
        return (holder / dest).is_dir() and inode(holder / dest) == list(known)
    return (holder / dest).is_dir() and not os.path.lexists(holder / source)


def _running(data: dict) -> bool:
    pid, created = data.get("pid"), data.get("created")
    if not isinstance(pid, int) or not isinstance(created, (int, float)) or time.time() - created > LIVE_FOR:
        return False
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def read_pending(path: Path) -> dict | None:
    """A record, checked; None when it is gone or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = data["renames"]
        if data.get("state") not in (PLANNED, RENAMED) or not isinstance(rows, list):
            return None
        for row in rows:
            source, dest, known = row
            if not isinstance(source, str) or not isinstance(dest, str) or \
                    not (known is None or (isinstance(known, list) and len(known) == 2)):
                return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return data


def pending_records(holder: Path) -> list[tuple[Path, dict]]:
    """The records under ``holder`` oldest first (an unreadable one is dropped: it cannot be followed)."""
    folder = holder / PENDING_FOLDER
    try:
        names = sorted(name for name in os.listdir(folder) if name.endswith(".json"))
    except OSError:
        return []
    found = []
    for name in names:
        data = read_pending(folder / name)
        if data is None:
            discard_pending(folder / name)
            continue
        found.append((folder / name, data))
    return found


def has_pending(holder: str | os.PathLike) -> bool:
    """Whether renames wait to be followed by ``holder``'s journal (one stat when none do)."""
    return (Path(holder) / PENDING_FOLDER).is_dir()


def discard_pending(path: Path) -> None:
    """Drop a record (followed, or nothing to follow), and its folder when it was the last."""
    try:
        path.unlink(missing_ok=True)
        path.parent.rmdir()
    except OSError:
        pass  # other records are still there
