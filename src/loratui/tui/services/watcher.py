"""Watch the dataset folder (watchfiles) and tell the UI which caption files changed on disk.

Runs as a thread worker owned by the App (it outlives screens). The UI decides what a change means:
reload the caption, or show a conflict when an edit is pending there. A change to the folders or
images themselves (a concept folder renamed, images added or removed) is delivered as ``root``
itself: the list of images must be read again. The reg folder the table lists too is watched the
same way.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path


def watch_captions(root: Path, extension: str | Callable[[], str], stop: threading.Event,
                   deliver: Callable[[list[Path]], None],
                   reg_folder: Callable[[], Path | None] | None = None) -> None:
    """Block until ``stop`` is set, calling ``deliver(paths)`` for each batch of changed captions.
    ``extension``: the caption extension, or a function giving the current one (Settings may change
    the config's caption_extension while the app runs). ``reg_folder``: a function giving the reg
    folder whose images the table lists too (None: none); its captions are delivered like the train
    folder's, and a change to its images or class folders as ``root`` (list the images again). The
    watch starts over on the new folder when that changes (a rescan after Settings named another) or
    when the reg folder is made or removed (delivered as ``root`` too).

    The paths are spelled from ``root`` (or the reg folder) as given (watchfiles reports absolute,
    resolved ones: the store of `loratui .` holds "img/x.txt" under ".", and an absolute path never
    matched it)."""
    before = None
    while not stop.is_set():
        reg = reg_folder() if reg_folder is not None else None
        present = reg is not None and _is_dir(reg)
        if before is not None and before == (reg, not present):
            deliver([root])  # the reg folder was made or removed: its images come or go from the list
        before = (reg, present)

        def changed(reg=reg, present=present) -> bool:  # asked every step: no realpath here
            now = reg_folder() if reg_folder is not None else None
            return now != reg or (now is not None and _is_dir(now) != present)

        try:  # ends when the app stops, or to start over on another reg folder
            _watch(root, _watched_reg(root, reg), extension, _StopOrChange(stop, changed), deliver)
        except FileNotFoundError:
            if not present or _is_dir(reg):
                raise  # the train folder itself is gone: as before, the worker ends with the error
            continue  # the reg folder went between the look and the watch: watch again without it
        if not changed():
            return  # watchfiles ended on its own (as before: no watch again)


def _watched_reg(root: Path, reg: Path | None) -> Path | None:
    """The reg folder to watch beside ``root``: none when it is missing (watchfiles cannot watch it)
    or is the train folder itself (listed once, as train: list_with_reg)."""
    if reg is None or not _is_dir(reg) or os.path.realpath(reg) == os.path.realpath(root):
        return None
    return Path(reg)


class _StopOrChange:
    """watchfiles' stop event (it asks ``is_set`` every step): the app's ``stop``, or ``changed()``."""

    def __init__(self, stop: threading.Event, changed: Callable[[], bool]) -> None:
        self._stop, self._changed = stop, changed

    def is_set(self) -> bool:
        return self._stop.is_set() or self._changed()


def _watch(root: Path, reg: Path | None, extension: str | Callable[[], str], stop: _StopOrChange,
           deliver: Callable[[list[Path]], None]) -> None:
    from watchfiles import watch

    # the folder names right in each watched folder, kept current from the changes: a folder gone can
    # no longer be asked
    folders = {root: folders_in(root), **({reg: folders_in(reg)} if reg is not None else {})}
    # the reg folder's spellings, worked out once: a caption run reports thousands of changes
    reg_prefixes = _spellings(reg) if reg is not None else ()
    for changes in watch(*folders, stop_event=stop, recursive=True, debounce=200, step=50,
                         raise_interrupt=False, ignore_permission_denied=True):
        ext = extension() if callable(extension) else extension
        paths, relist = set(), False
        for _, reported in changes:
            base = reg if _is_under(reg_prefixes, reported) else root
            if reported.endswith(ext) and "/.loratui/" not in reported:
                paths.add(as_under(base, reported))
            # every change is looked at (no any(): each one keeps the folder names current)
            relist |= _lists_images(base, reported, folders[base])
        if relist:  # the train folder stands for "list the images again", reg ones too
            paths.add(root)
        if paths:
            deliver(sorted(paths))


def _spellings(base: Path) -> set[str]:
    """``base`` as given (made absolute) and resolved: watchfiles may report either."""
    return {str(base.absolute()), os.path.realpath(base)}


def _is_under(prefixes: set[str] | tuple[()], reported: str) -> bool:
    """``reported`` (absolute, as watchfiles gives it) is one of ``prefixes`` or in it."""
    return any(reported == p or reported.startswith(p.rstrip(os.sep) + os.sep) for p in prefixes)


def folders_in(root: Path) -> set[str]:
    """The names of the folders right in ``root`` now."""
    try:
        with os.scandir(root) as entries:
            return {e.name for e in entries if _is_dir(e.path)}
    except OSError:
        return set()


def _is_dir(path: str | os.PathLike) -> bool:
    try:
        return os.path.isdir(path)
    except OSError:
        return False


def _lists_images(root: Path, reported: str, folders: set[str] | None = None) -> bool:
    """A change the image list shows: an image, or a folder right in the train folder (a concept
    renamed, added or removed). Hidden names (our temporary files, .loratui) are not.

    A folder is told from a file by what is on disk when it is there; a name gone (deleted, or the
    old name of a rename) by ``folders``, the folder names seen before (kept current here), as it can
    no longer be asked. A suffix proves nothing: ``10_my.style`` is a concept folder."""
    from loratui.core.dataset import IMAGE_EXTENSIONS

    path = as_under(root, reported)
    if path.name.startswith(".") or "/.loratui/" in reported:
        return False
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return True
    if path.parent != root:
        return False
    known = folders if folders is not None else set()
    if _is_dir(reported):
        known.add(path.name)
        return True
    if path.name in known:  # a folder that was here: removed, renamed away, or replaced by a file
        known.discard(path.name)
        return True
    # gone before it was ever seen (made and removed within one batch), with no memory to ask:
    # a name without a suffix was most likely a folder; reading the list again costs little
    return not os.path.lexists(reported) and not path.suffix


def as_under(root: Path, reported: str) -> Path:
    """``reported`` (absolute) as a path under ``root``, spelled the way ``root`` is."""
    path = Path(reported)
    for base in (root.absolute(), root.resolve()):
        try:
            return root / path.relative_to(base)
        except ValueError:
            continue
    return path
