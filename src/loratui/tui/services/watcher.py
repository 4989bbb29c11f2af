"""Watch the dataset folder (watchfiles) and tell the UI which caption files changed on disk.

Runs as a thread worker owned by the App (it outlives screens). The UI decides what a change means:
reload the caption, or show a conflict when an edit is pending there. A change to the folders or
images themselves (a concept folder renamed, images added or removed) is delivered as ``root``
itself: the list of images must be read again.
"""

from __future__ import annotations

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

    for changes in watch(root, stop_event=stop, recursive=True, debounce=200, step=50,
                         raise_interrupt=False, ignore_permission_denied=True):
        ext = extension() if callable(extension) else extension
        paths = sorted({as_under(root, p) for _, p in changes if p.endswith(ext) and "/.loratui/" not in p})
        if any(_lists_images(root, p) for _, p in changes):
            paths.append(root)
        if paths:
            deliver(paths)


def _lists_images(root: Path, reported: str) -> bool:
    """A change the image list shows: an image, or a folder right in the train folder (a concept
    renamed, added or removed). Hidden names (our temporary files, .loratui) are not."""
    from loratui.core.dataset import IMAGE_EXTENSIONS

    path = as_under(root, reported)
    if path.name.startswith(".") or "/.loratui/" in reported:
        return False
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return True
    return path.parent == root and not path.suffix


def as_under(root: Path, reported: str) -> Path:
    """``reported`` (absolute) as a path under ``root``, spelled the way ``root`` is."""
    path = Path(reported)
    for base in (root.absolute(), root.resolve()):
        try:
            return root / path.relative_to(base)
        except ValueError:
            continue
    return path
