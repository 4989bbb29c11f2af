"""When journal entries moved, for callers that walk two journals as one history (the app's train folder and
reg folder: tui.services.dataset_journals).

An entry's "created" is when its change was made, and an undo or redo keeps it; its "moved" (set by the
apply, and again by each undo and redo that walks it: undo.py) is when it last landed on its stack. The
newest "moved" of two undo folders says which change ctrl+z takes back; the newest of two redo folders'
next entries, which undo ctrl+y re-applies; and a change made ("created") in one journal after an entry of
the other was undone ends that entry's redo, as one editor would.
"""

from __future__ import annotations

from pathlib import Path

from loratui.core.captions.journal import JournalBusyError, entries, journal_dir, journal_lock, read_header, redo_dir


def clear_redo_before(dataset, when: float) -> int:
    """Drop the redo entries of ``dataset`` undone before ``when`` (a change made since in another journal
    the app walks with this one, e.g. the reg folder's beside the train folder's: "redo until the next
    change"). Returns how many went; 0 while another loratui holds the journal (its own write clears them)."""
    def stale() -> list[Path]:
        # the last to redo (highest number) was undone first: read from there, up to one undone since
        found = []
        for entry in reversed(entries(redo_dir(dataset))):
            moved = entry_moved_at(entry)
            if moved is not None and moved >= when:
                break
            if moved is not None:  # an unreadable entry is kept: its walk names it, and how to drop it
                found.append(entry)
        return found

    if not stale():
        return 0
    try:
        with journal_lock(dataset, "", create=False, wait=0):
            dropped = stale()  # again under the lock: an undo may have just moved one there
            for entry in dropped:
                entry.unlink(missing_ok=True)
    except (JournalBusyError, OSError):
        return 0
    return len(dropped)


def entry_moved_at(entry: Path) -> float | None:
    """When ``entry`` last landed on its stack (a ``time.time()``): its record's "moved", which the apply
    sets and each undo or redo that walks it sets again ("created" stays the apply's), else (an entry
    written before "moved" was) the file's mtime. None: unreadable. Orders two journals' changes."""
    header = read_header(entry)
    moved = header[0].get("moved") if header else None
    if isinstance(moved, (int, float)) and not isinstance(moved, bool):
        return float(moved)
    try:
        return entry.stat().st_mtime if header else None
    except OSError:
        return None


def last_moved_at(folder: Path, *, newest: bool = True) -> float | None:
    """``entry_moved_at`` of a journal folder's newest entry (what undo walks next, in the undo folder),
    or its oldest (``newest=False``: what redo walks next, in the redo folder). None: no entry;
    0.0: that entry is unreadable (its walk says so)."""
    found = entries(folder)
    if not found:
        return None
    moved = entry_moved_at(found[-1] if newest else found[0])
    return 0.0 if moved is None else moved


def newest_change_at(dataset) -> float | None:
    """When the newest change journaled in ``dataset`` was made (its "created": an undo or redo keeps
    it), on either stack: entries are numbered past both, so it is the highest-numbered one. None: none."""
    found = entries(journal_dir(dataset)) + entries(redo_dir(dataset))
    if not found:
        return None
    header = read_header(max(found, key=lambda p: int(p.stem)))
    created = header[0].get("created") if header else None
    return float(created) if isinstance(created, (int, float)) and not isinstance(created, bool) else None
