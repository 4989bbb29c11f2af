"""Watch the dataset folder (watchfiles) and tell the UI which caption files changed on disk.

Runs as a thread worker owned by the App (it outlives screens). The UI decides what a change means:
reload the caption, or show a conflict when an edit is pending there. A change to the folders or
images themselves (a concept folder renamed, images added or removed) is delivered as ``root``
itself: the list of images must be read again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path


def watch_captions(root: Path, extension: str | Callable[[], str], stop: threading.Event,
                   deliver: Callable[[list[Path]], None]) -> None:
    """Block until ``stop`` is set, calling ``deliver(paths)`` for each batch of changed captions.
    ``extension``: the caption extension, or a function giving the current one (Settings may change
    the config's caption_extension while the app runs).

    The paths are spelled from ``root`` as given (watchfiles reports absolute, resolved ones: the
    store of `loratui .` holds "img/x.txt" under ".", and an absolute path never matched it)."""
    from watchfiles import watch

    folders = folders_in(root)  # kept current from the changes: a folder gone can no longer be asked
    for changes in watch(root, stop_event=stop, recursive=True, debounce=200, step=50,
                         raise_interrupt=False, ignore_permission_denied=True):
        ext = extension() if callable(extension) else extension
        paths = sorted({as_under(root, p) for _, p in changes if p.endswith(ext) and "/.loratui/" not in p})
        # every change is looked at (no any(): each one keeps the folder names current)
        if [p for _, p in changes if _lists_images(root, p, folders)]:
            paths.append(root)
        if paths:
            deliver(paths)


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
