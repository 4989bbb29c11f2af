"""Changes on disk found by looking (stat every few seconds), for folders watchfiles cannot watch.

watchfiles turns every event into a str path and stops with "Unable to decode path" on a name that is
not valid UTF-8 (h2: one ``bad\\xff.txt`` ended the watch for the whole dataset at every start, since
reading the captions is an event too). Those folders are looked at instead: each file's mtime, size
and inode, compared with the look before. A folder's own mtime is not enough: ``echo x > a.txt``
rewrites a caption in place and leaves its folder's mtime alone.

The changes come as watchfiles gives them (a set of (change, absolute path)), so the watcher reads
both the same way.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

from loratui.core.dataset import is_utf8_name

ADDED, MODIFIED, DELETED = 1, 2, 3  # watchfiles.Change's values
MIN_POLL_S = 1.0   # the shortest wait between two looks
POLL_COST = 40     # the wait is at least this many times one look's cost: a big dataset costs ~2.5 % of a core
STEP_S = 0.05      # how often the stop event is asked while waiting (watchfiles' step)

Entry = tuple[bool, int, int, int]  # (is a folder, mtime_ns, size, inode)


def is_undecodable(name: str) -> bool:
    """A name that is not valid UTF-8 on disk (Python keeps its bytes as lone surrogates)."""
    return not is_utf8_name(name)


def first_undecodable(folders: list[Path]) -> str | None:
    """The first path under ``folders`` whose name watchfiles cannot decode, or None. Names only (the
    folder entries say which are folders): as cheap as listing the images."""
    for folder in folders:
        if is_undecodable(os.fspath(folder)):
            return os.fspath(folder)
        for path, is_dir in _walk(os.fspath(folder)):
            if is_undecodable(os.path.basename(path)):
                return path
    return None


def _walk(top: str, seen: set | None = None) -> Iterator[tuple[str, bool]]:
    """(path, is a folder) of every entry under ``top``, hidden folders (.loratui, .git) not entered;
    a symlinked folder is entered once (a link to its parent would loop)."""
    seen = set() if seen is None else seen
    try:
        stat = os.stat(top)
        if (stat.st_dev, stat.st_ino) in seen:
            return
        seen.add((stat.st_dev, stat.st_ino))
        with os.scandir(top) as it:
            entries = list(it)
    except OSError:
        return
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        yield entry.path, is_dir
        if is_dir and not entry.name.startswith("."):
            yield from _walk(entry.path, seen)


def snapshot(folders: list[Path]) -> tuple[dict[str, Entry], bool]:
    """Every entry under ``folders`` (absolute paths) with what a change alters, and whether any name
    there is undecodable. Hidden names are left out (our temporary files; a rename onto the caption
    changes its inode)."""
    entries: dict[str, Entry] = {}
    odd = False
    for folder in folders:
        top = os.path.abspath(folder)
        odd |= is_undecodable(top)
        for path, is_dir in _walk(top):
            name = os.path.basename(path)
            odd |= is_undecodable(name)
            if name.startswith("."):
                continue
            try:
                st = os.stat(path)
            except OSError:  # a broken link, or gone since the listing
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
            entries[path] = (is_dir, st.st_mtime_ns, st.st_size, st.st_ino)
    return entries, odd


def differences(before: dict[str, Entry], now: dict[str, Entry]) -> set[tuple[int, str]]:
    """What changed between two snapshots, as watchfiles reports it. A folder whose mtime alone changed
    (a file made in it) is no change of its own: the file is."""
    changes = {(DELETED, path) for path in before.keys() - now.keys()}
    changes |= {(ADDED, path) for path in now.keys() - before.keys()}
    for path in now.keys() & before.keys():
        old, new = before[path], now[path]
        if old != new and not (old[0] and new[0] and old[3] == new[3]):
            changes.add((MODIFIED, path))
    return changes


def poll_changes(folders: list[Path], stop, until_decodable: bool = False) -> Iterator[set[tuple[int, str]]]:
    """Yield the changes under ``folders`` found at each look, until ``stop.is_set()`` (asked every
    STEP_S, like watchfiles' stop event). The first yield is an empty set, once the first look is
    taken (what changes from then on is found). ``until_decodable``: also end once no undecodable
    name is left (watchfiles can watch them again)."""
    began = time.monotonic()
    before, odd = snapshot(folders)
    cost = time.monotonic() - began
    yield set()
    while True:
        deadline = time.monotonic() + max(MIN_POLL_S, POLL_COST * cost)
        while time.monotonic() < deadline:
            if stop.is_set():
                return
            time.sleep(STEP_S)
        began = time.monotonic()
        now, odd = snapshot(folders)
        cost = time.monotonic() - began
        changes = differences(before, now)
        before = now
        if changes:
            yield changes
        if until_decodable and not odd:
            return
