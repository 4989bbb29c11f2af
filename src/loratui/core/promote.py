"""Promoting a checkpoint: copying it to OUTPUT_DIR/NAME.safetensors (or the next free
NAME-promoted*.safetensors) without moving the source or overwriting anything, and finding a copy
promoted already. The TUI's run service and its checkpoint list use it; no torch, no textual.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


class AlreadyPromoted(FileExistsError):
    """The checkpoint has a promoted copy already (the same bytes): ``target`` names it."""

    def __init__(self, source: Path, target: Path):
        super().__init__(f"{source.name} is promoted already, as {target.name} (the same bytes): nothing copied")
        self.source, self.target = source, target


def promoted_names(name: str) -> list[str]:
    """The names a promoted copy takes, in order: NAME.safetensors, NAME-promoted.safetensors,
    NAME-promoted-2.safetensors, ..."""
    return [f"{name}.safetensors" if index == 1 else
            f"{name}-promoted{'' if index == 2 else f'-{index - 1}'}.safetensors" for index in range(1, 1000)]


def promoted_copy(source: str | os.PathLike, name: str, output_dir: str | os.PathLike | None = None) -> Path | None:
    """The promoted copy (NAME.safetensors, NAME-promoted*.safetensors) holding the same bytes as
    ``source``, or None: sizes first, then the bytes of those of the same size."""
    import filecmp

    source = Path(source)
    folder = Path(output_dir) if output_dir is not None else source.parent
    size = source.stat().st_size
    order = {candidate: index for index, candidate in enumerate(promoted_names(name))}
    try:
        found = sorted((path for path in folder.iterdir() if path.name in order), key=lambda path: order[path.name])
    except FileNotFoundError:
        return None
    for path in found:
        try:
            if path.stat().st_size == size and not os.path.samefile(path, source) and \
                    filecmp.cmp(source, path, shallow=False):
                return path
        except OSError:
            continue
    return None


def promote_checkpoint(source: str | os.PathLike, name: str, output_dir: str | os.PathLike | None = None) -> Path:
    """Copy a checkpoint to OUTPUT_DIR/NAME.safetensors, or NAME-promoted.safetensors,
    NAME-promoted-2.safetensors, ... when that is taken. Never moves the source, never overwrites:
    the copy is written beside its target and linked into place (which fails if the name exists).
    A checkpoint promoted already (one of those names holds its bytes) raises AlreadyPromoted."""
    source = Path(source)
    folder = Path(output_dir) if output_dir is not None else source.parent
    same = promoted_copy(source, name, folder)
    if same is not None:
        raise AlreadyPromoted(source, same)
    tmp = folder / f".{name}.promote-{os.getpid()}.tmp"
    shutil.copyfile(source, tmp)
    try:
        for target in (folder / candidate for candidate in promoted_names(name)):
            try:
                os.link(tmp, target)
            except FileExistsError:
                continue
            return target
    finally:
        tmp.unlink(missing_ok=True)
    raise FileExistsError(f"{folder}: too many promoted copies of {name}")
