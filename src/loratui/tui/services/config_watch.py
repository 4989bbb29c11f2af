"""Notice outside changes to the config file the Settings screen shows, by cheap polling.

A config is one small file, and Settings only needs to know while it is shown: a stat a second
(``ConfigWatch.poll``) is cheaper and simpler than a watchfiles thread, and works on file systems
where inotify does not (NFS, some containers). Only when the stat moved are the bytes read and
hashed (``file_state``): an editor that rewrites the same bytes (or a `touch`) is no change.
Each new state is reported once; the screen decides (reload, or say so when the form holds edits).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

POLL_SECONDS = 1.0


def file_state(path: Path) -> tuple:
    """What tells a file's later change: its stat and its bytes' SHA-256 (a config is small; mtimes can
    tie). The SHA-256 (``[3]``) is what a Settings draft records of the file it was taken against.
    ``()`` when it cannot be read (gone, no permission)."""
    try:
        st = path.stat()
        data = path.read_bytes()
    except OSError:
        return ()
    return st.st_mtime_ns, st.st_size, st.st_ino, hashlib.sha256(data).hexdigest()


def _stat_of(path: Path) -> tuple:
    try:
        st = path.stat()
    except OSError:
        return ()
    return st.st_mtime_ns, st.st_size, st.st_ino


class ConfigWatch:
    """Which state of the file was last loaded and last reported; ``poll`` says when it moved on."""

    def __init__(self) -> None:
        self.reported: tuple | None = None  # the last state handed out (not again until it changes)
        self.checked: tuple = ()   # the last stat hashed (unchanged stat: no read)

    def poll(self, path: Path, loaded: tuple) -> tuple | None:
        """The file's new state when its bytes differ from ``loaded`` (the state the form shows) and this
        state was not reported yet; None otherwise. A file that went away reports ``()`` once."""
        stat = _stat_of(path)
        if loaded and stat == loaded[:3]:
            return None
        if stat and stat == self.checked:
            return None
        self.checked = stat
        state = file_state(path) if stat else ()
        if state and loaded and state[3:] == loaded[3:]:
            return None  # rewritten with the same bytes
        if state == self.reported or (not state and not loaded):
            return None
        self.reported = state
        return state

    def forget(self) -> None:
        """The form was loaded or saved: the next change is news again."""
        self.reported, self.checked = None, ()
