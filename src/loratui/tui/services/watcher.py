"""Watch the dataset folder (watchfiles) and tell the UI which caption files changed on disk.

Runs as a thread worker owned by the App (it outlives screens). The UI decides what a change means:
reload the caption, or show a conflict when an edit is pending there.
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
        if paths:
            deliver(paths)


def as_under(root: Path, reported: str) -> Path:
    """``reported`` (absolute) as a path under ``root``, spelled the way ``root`` is."""
    path = Path(reported)
    for base in (root.absolute(), root.resolve()):
        try:
            return root / path.relative_to(base)
        except ValueError:
            continue
    return path
