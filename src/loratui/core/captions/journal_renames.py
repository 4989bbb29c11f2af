"""Undo journals follow renamed concept folders (`loratui dataset balance`, its undo, the app's Balance
dialog): every entry's caption paths are rewritten under the journal lock, so undo and redo still find them.

Crash- and interrupt-safe: what is about to move is written down first, per journal, before any folder
moves (core.dataset balance_pending.py: ``apply_renames(journal_follows=True)``). Following it rewrites
each entry atomically with the record's id inside (``FOLLOWED``), so a rewrite stopped part-way is
finished later without rewriting an entry twice (a chain ``2_a -> 4_a -> 8_a`` must move each path
once), and then drops the record. ``finish_pending`` does that at the next use of the journal
(``journal_lock`` calls it first), so an interrupted follow is finished before anything else. While it
runs (well under a second for thousands of folders) Ctrl-C, SIGTERM and SIGHUP wait: one line says so,
and the signal acts once the journal matches the folders.

Each path is looked up by its folder prefix in a dict (one lookup per path), not compared against
every rename: thousands of folders times thousands of captions took most of a minute (hunt h2 F1).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

from loratui.core.captions.journal import _entries, entries, journal_dir, journal_lock, parse_entry, redo_dir
from loratui.core.dataset import (
    RENAMED_STATE, claim_written, discard_pending, has_pending, pending_records, settle_pending, write_pending,
    write_pending_rows,
)
from loratui.core.errors import LoratuiError
from loratui.core.fsutil import atomic_write_text

FOLLOWED = "followed_renames"  # an entry's key: the id of the last rename record rewritten into it
_state = threading.local()  # ``finishing``: finish_pending is running on this thread (no re-entry)


def follow_folder_renames(renames: Iterable[tuple[Path, Path]]) -> None:
    """Concept folders were renamed (source, dest), e.g. by `loratui dataset balance`: journals hold
    caption paths relative to the folder they sit in, so rename them in the train folder's journal and in
    any journal further up (`tags --recursive` on a project folder). Renames made by ``apply_renames(...,
    journal_follows=True)`` were written down before they happened: those records are followed (another
    loratui may have done it already, at its first use of the journal); others are written down now."""
    pairs = [(Path(source), Path(dest)) for source, dest in renames]
    if not pairs:
        return
    records = claim_written(pairs)
    if records is None:  # renamed some other way (``apply_renames`` alone): followed now, written down first
        records = write_pending(pairs, state=RENAMED_STATE)
    for holder in dict.fromkeys(record.parent.parent.parent for record in records):
        with journal_lock(holder, "the undo journal was not updated", create=False, wait=10.0):
            finish_pending(holder)  # journal_lock did it; again where no lock could be taken (no flock)


def remap_folders(dataset: str | os.PathLike, mapping: dict[str, str]) -> int:
    """Follow renamed folders of ``dataset`` in every journal entry, so undo and redo still find the
    captions. ``mapping`` holds paths relative to ``dataset`` (``{"5_b": "20_b"}``, or
    ``{"img/5_b": "img/20_b"}`` for a journal further up). Returns the entries rewritten; an unreadable
    entry is left as it is (undo reports it). Waits (a while: the folders are renamed already) for a
    write running on these captions to end."""
    rows = [[old.replace(os.sep, "/").strip("/"), new.replace(os.sep, "/").strip("/"), None]
            for old, new in mapping.items()]
    if not journal_dir(dataset).is_dir():
        return 0
    with journal_lock(dataset, "the undo journal was not updated", create=False, wait=10.0):
        return finish_pending(dataset, only=write_pending_rows(Path(dataset), rows))


def finish_pending(holder: str | os.PathLike, *, only: Path | None = None) -> int:
    """Follow, in ``holder``'s journal, every rename written down and not followed yet (``only``: that
    record alone), oldest first, then drop each record: under the journal lock (``journal_lock`` calls it
    once it holds the lock). Returns how many entries were rewritten. LoratuiError when an entry cannot be
    written (the record stays: the next use of the journal tries again)."""
    holder = Path(holder)
    if getattr(_state, "finishing", False) or not has_pending(holder):
        return 0
    _state.finishing = True
    try:
        settle_pending(holder)  # a balance killed mid-way: only the renames that happened are followed
        records = [(path, data) for path, data in pending_records(holder)
                   if data["state"] == RENAMED_STATE and (only is None or path == only)]
        if not records:
            return 0
        folders = sum(len(data["renames"]) for _path, data in records)
        changed = 0
        with _signals_held(folders):
            for path, data in records:
                changed += _remap_locked(holder, {old: new for old, new, _inode in data["renames"]}, path.stem)
                discard_pending(path)
        return changed
    finally:
        _state.finishing = False


def _remap_locked(dataset, mapping: dict[str, str], record_id: str) -> int:
    """Rewrite the entries whose paths lie under a folder of ``mapping`` (each atomically, marked with
    ``record_id``); an entry marked already was rewritten by an earlier, interrupted run of this record."""
    by_depth: dict[int, dict[str, str]] = {}
    for old, new in mapping.items():
        old, new = old.strip("/"), new.strip("/")
        by_depth.setdefault(old.count("/") + 1, {})[old] = new
    depths = sorted(by_depth.items())
    changed = 0
    for entry in _entries(dataset) + entries(redo_dir(dataset)):
        try:
            record = parse_entry(entry.read_text(encoding="utf-8"))
            files = record["files"]
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            continue
        if not isinstance(record, dict) or record.get(FOLLOWED) == record_id:
            continue
        touched = False
        for item in files if isinstance(files, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("path"), str):
                continue
            path = item["path"].replace(os.sep, "/")
            for depth, names in depths:
                parts = path.split("/", depth)
                if len(parts) <= depth:
                    continue
                new = names.get("/".join(parts[:depth]))
                if new is not None:
                    item["path"] = f"{new}/{parts[depth]}"
                    touched = True
                    break
        if touched:
            record[FOLLOWED] = record_id
            try:
                atomic_write_text(entry, json.dumps(record))
            except OSError as exc:
                raise LoratuiError(f"{entry}: cannot update the undo journal after renaming folders "
                                   f"({exc.strerror or exc}); the renames are kept in "
                                   f"{Path(dataset) / '.loratui' / 'undo-renames'} and the next tags command or "
                                   "undo there tries again") from None
            changed += 1
    return changed


@contextmanager
def _signals_held(folders: int):
    """Ctrl-C, SIGTERM and SIGHUP wait while the journal follows the renamed folders: the first one
    says so on stderr, in one line, and acts once every entry is rewritten (a Ctrl-C then ends the
    command as interrupted, with the folders and the journal agreeing). Only on the main thread, and
    only over a handler Python can set back (a default, or a Python function)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(number, frame) -> None:
        if not caught:
            try:
                sys.stderr.write(f"finishing the rename ({folders:,} folder(s)) in the undo journal ...\n")
                sys.stderr.flush()
            except (OSError, ValueError, RuntimeError, AttributeError):
                pass
        caught.append(number)

    held: dict[int, object] = {}
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        current = signal.getsignal(sig) if sig is not None else None
        if current is None or current == signal.SIG_IGN:
            continue
        held[sig] = signal.signal(sig, hold)
    try:
        yield
    finally:
        for sig, handler in held.items():
            signal.signal(sig, handler)
        if caught:
            _deliver(caught[0], held[caught[0]], folders)


def _deliver(sig: int, handler, folders: int) -> None:
    """Act on a signal held by ``_signals_held`` as ``handler`` (now set back) would have."""
    if handler == signal.SIG_DFL:
        signal.raise_signal(sig)
        return
    try:
        handler(sig, None)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"interrupted once the undo journal followed the {folders:,} renamed folder(s) "
                                "(they keep their new names)") from None
