"""Which files are images, and walking folders for them (shared by dataset scan and captioners)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp"})


def is_image(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def iter_images(root: str | os.PathLike, recursive: bool = True) -> Iterator[Path]:
    """Image files under root in a stable (sorted) order; hidden files and folders are skipped."""
    root = Path(root)
    entries = sorted(os.scandir(root), key=lambda e: e.name)
    subdirs = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=True):
            subdirs.append(entry)
        elif is_image(entry.name):
            yield Path(entry.path)
    if recursive:
        for sub in subdirs:
            yield from iter_images(sub.path, recursive=True)
