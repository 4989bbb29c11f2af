"""Which files are images, and walking folders for them (shared by dataset scan and captioners)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from loratui.core.errors import LoratuiError
from loratui.core.termline import shell_arg

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp"})


def is_image(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def list_folder(folder: str | os.PathLike) -> list[os.DirEntry]:
    """The entries of ``folder`` sorted by name; a folder that cannot be read (permissions, gone, a
    file) is a one-line LoratuiError naming it and what to do."""
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except PermissionError:
        raise LoratuiError(f"{folder}: cannot read this folder (permission denied): make it readable "
                           f"(chmod u+rx {shell_arg(folder)}) or move it out of the dataset") from None
    except NotADirectoryError:
        raise LoratuiError(f"{folder}: not a folder") from None
    except FileNotFoundError:
        raise LoratuiError(f"{folder}: no such folder") from None
    except OSError as exc:
        raise LoratuiError(f"{folder}: cannot read this folder ({exc.strerror or exc})") from None


def entry_is_dir(entry: os.DirEntry) -> bool:
    """``entry.is_dir()`` (links followed), False where it raises: a link loop (ELOOP) is no folder, as
    sd-scripts' ``Path.is_dir()`` sees it; whoever lists the folder's problems names it."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def entry_is_file(entry: os.DirEntry) -> bool:
    """``entry.is_file()`` (links followed), False where it raises (a link loop)."""
    try:
        return entry.is_file()
    except OSError:
        return False


def iter_images(root: str | os.PathLike, recursive: bool = True) -> Iterator[Path]:
    """Image files under root in a stable (sorted) order; hidden files and folders are skipped, and so is
    a name of an image that is no file to open (a link loop, a dangling link, a pipe): sd-scripts fails
    on it; the dataset scan names it."""
    root = Path(root)
    entries = list_folder(root)
    subdirs = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            folder = entry.is_dir(follow_symlinks=True)
        except OSError:  # a link loop (ELOOP): not a folder to walk; whoever reads it names it
            folder = False
        if folder:
            subdirs.append(entry)
        elif is_image(entry.name) and entry_is_file(entry):
            yield Path(entry.path)
    if recursive:
        for sub in subdirs:
            yield from iter_images(sub.path, recursive=True)
