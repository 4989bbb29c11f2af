"""The scan of a config's folders as they are on disk now, for the Settings panels (no textual here).

``scan_now(cfg)`` gives the scan `loratui steps` would make now (``SCAN_CACHE``, services/scan_cache.py,
keyed by ``folder_key``), scanning once per folder state even when two panels ask together (the second
waits for the first). ``recheck(cfg, key)`` is the panels' two-second look at the disk: ``folder_key``
again (a stat of each root and concept folder: ~0.02 ms on a 3,000-image dataset), and, only when just
the concept folders' mtimes moved, a listing of their entries (``listing_digest``) to tell a change of
images from a change of captions. A caption run or a tag edit renames caption files into the concept
folders all the time; the images, and so the counts and buckets, stay: the scan is kept under the new
key instead of scanning every image again every two seconds. A caption emptied (0 bytes, a scan
error `loratui steps` names) still counts as a change. An image rewritten in place under the same
name, size and mtime is not seen (as before: re-open the config).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

from loratui.core.config import TrainingConfig
from loratui.core.dataset import DatasetScan
from loratui.core.errors import LoratuiError
from loratui.tui.services.scan_cache import SCAN_CACHE, folder_key, scan_or_error

# files beside the images that change no count: sd-scripts' latent cache (written by a training run)
_NOT_COUNTED_SUFFIXES = (".npz",)
WAIT_FOR_OTHER_SCAN_S = 600.0

_lock = threading.Lock()
_scanning: dict[tuple, threading.Event] = {}  # folder key -> set when the scan of it is in SCAN_CACHE
_digests: OrderedDict[tuple, int] = OrderedDict()  # folder key -> listing digest taken before its scan
_DIGESTS_KEPT = 16


def listing_digest(cfg: TrainingConfig, key: tuple | None = None) -> int:
    """A digest of what a scan of the concept folders depends on, besides caption contents: every
    entry (name, kind, size, mtime) but caption files, hidden names and latent caches; of the caption
    files only the empty ones (a scan error). ``key``: the folder key (its roots and concept folders)."""
    key = key if key is not None else folder_key(cfg)
    ext = key[0]
    parts = []
    for state in key[1:]:
        if state is None or state[1] == "missing":
            continue
        root, _mtime, subs = state
        for name, _sub_mtime in subs:
            parts.append((name, _folder_entries(os.path.join(root, name), ext)))
    return hash(tuple(parts))


def _folder_entries(folder: str, caption_ext: str) -> tuple:
    out = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                name = entry.name
                if name.startswith(".") or name.endswith(_NOT_COUNTED_SUFFIXES):
                    continue
                try:
                    st = entry.stat(follow_symlinks=True)
                except OSError:
                    out.append((name, "unreadable"))
                    continue
                if name.endswith(caption_ext) and not entry.is_dir(follow_symlinks=True):
                    if st.st_size == 0:
                        out.append((name, "empty caption"))
                    continue
                out.append((name, entry.is_dir(follow_symlinks=True), st.st_size, st.st_mtime_ns))
    except OSError as exc:
        return ("unreadable", exc.errno)
    return tuple(sorted(out))


def _same_layout(old: tuple, new: tuple) -> bool:
    """The two keys differ at most in the concept folders' mtimes: the same caption extension, roots
    (with their mtimes: nothing added, removed or renamed in them) and concept folder names."""
    if old[0] != new[0] or len(old) != len(new):
        return False
    for a, b in zip(old[1:], new[1:]):
        if a is None or b is None or a[1] == "missing" or b[1] == "missing":
            if a != b:
                return False
            continue
        if a[0] != b[0] or a[1] != b[1] or [n for n, _ in a[2]] != [n for n, _ in b[2]]:
            return False
    return True


def _remember(key: tuple, digest: int) -> None:
    with _lock:
        _digests.pop(key, None)
        _digests[key] = digest
        while len(_digests) > _DIGESTS_KEPT:
            _digests.popitem(last=False)


def scan_now(cfg: TrainingConfig) -> tuple[tuple, DatasetScan | LoratuiError]:
    """(folder key, the scan of ``cfg``'s folders at it, or the LoratuiError it gave). Blocking: run in
    a thread. One scan per key: a second caller of the same key waits for the first one's result."""
    key = folder_key(cfg)
    for _attempt in range(3):
        cached = SCAN_CACHE.get(key)
        if cached is not None:
            return key, cached
        with _lock:
            other = _scanning.get(key)
            if other is None:
                mine = _scanning[key] = threading.Event()
                break
        other.wait(WAIT_FOR_OTHER_SCAN_S)  # then the cache has it, or that scan failed: look again
    else:
        mine = threading.Event()  # the others keep failing or hang (a stuck network folder): scan here
    try:
        digest = listing_digest(cfg, key)  # before the scan: a change during it is seen by the next recheck
        result = scan_or_error(cfg)
        _remember(key, digest)
        SCAN_CACHE.put(key, result)
        return key, result
    finally:
        with _lock:
            if _scanning.get(key) is mine:
                del _scanning[key]
        mine.set()


def recheck(cfg: TrainingConfig, shown: tuple | None) -> tuple[str, tuple]:
    """Look at ``cfg``'s folders again, ``shown`` being the folder key of the scan shown: ("same", key),
    ("kept", new key) when only captions changed (the scan is cached under the new key too), or
    ("changed", new key): scan again (``scan_now``). Blocking, cheap: see the module docstring."""
    key = folder_key(cfg)
    if key == shown:
        return "same", key
    if shown is not None and _same_layout(shown, key):
        with _lock:
            before = _digests.get(shown)
        scan = SCAN_CACHE.get(shown)
        if before is not None and scan is not None and listing_digest(cfg, key) == before:
            _remember(key, before)
            SCAN_CACHE.put(key, scan)
            return "kept", key
    return "changed", key


def forget() -> None:
    """Drop the remembered listings (tests; SCAN_CACHE.clear() drops the scans)."""
    with _lock:
        _digests.clear()
