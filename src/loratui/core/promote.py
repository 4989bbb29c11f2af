"""Promoting a checkpoint: copying it to OUTPUT_DIR/NAME.safetensors (or the next free
NAME-promoted*.safetensors) without moving the source or overwriting anything, and finding a copy
promoted already. The TUI's run service and its checkpoint list use it; no torch, no textual.

NAME.safetensors is the final LoRA's name: a run that can still go on (a state of NAME is in the
folder: resume or extend writes its final there) never gets a promoted copy under it, only
NAME-promoted*.safetensors. A promoted copy that holds NAME.safetensors all the same (promoted when no
state was there, or by an older loratui) is moved to the next free NAME-promoted* name by the run that
would write over it (``move_promoted_final_aside``: engine/outputs.py, a fresh run; engine/run_resume.py,
a resume); a copy is known by its bytes, equal to one of the run's saves, other than the copies of the
final LoRA a resume keeps under a save's name (the same bytes, yet no promotion): those are on record in
OUTPUT_DIR/.NAME.copies.json (``record_kept_copy``) by size and sha256, which a move, `cp -a`, rsync
or a backup restore all keep (an inode does not survive a copy of the folder).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from loratui.core.errors import LoratuiError


class AlreadyPromoted(FileExistsError):
    """The checkpoint has a promoted copy already (the same bytes): ``target`` names it."""

    def __init__(self, source: Path, target: Path):
        super().__init__(f"{source.name} is promoted already, as {target.name} (the same bytes): nothing copied")
        self.source, self.target = source, target


class CheckpointGone(LoratuiError, FileNotFoundError):
    """The checkpoint to promote is no longer on disk (deleted by hand, or moved by a later run)."""


def promoted_names(name: str) -> list[str]:
    """The names a promoted copy takes, in order: NAME.safetensors, NAME-promoted.safetensors,
    NAME-promoted-2.safetensors, ..."""
    return [f"{name}.safetensors" if index == 1 else
            f"{name}-promoted{'' if index == 2 else f'-{index - 1}'}.safetensors" for index in range(1, 1000)]


def has_state(folder: str | os.PathLike, name: str) -> bool:
    """Whether a state of NAME is in the folder (NAME-state, NAME-000004-state, NAME-step00000500-state,
    a half-saved .tmp of one): the run can be resumed or extended, and would write NAME.safetensors."""
    pattern = re.compile(rf"{re.escape(name)}(?:-\d{{6}}|-step\d+)?-state(?:\.tmp|\.old)?")
    try:
        return any(pattern.fullmatch(entry.name) and entry.is_dir() for entry in os.scandir(folder))
    except OSError:
        return False


def promotion_names(folder: str | os.PathLike, name: str) -> list[str]:
    """``promoted_names`` for this folder: without NAME.safetensors while a state of NAME is there."""
    names = promoted_names(name)
    return names[1:] if has_state(folder, name) else names


def same_bytes(a: Path, b: Path) -> bool:
    """Two distinct files (not one file by two names) holding the same bytes: sizes first, then the bytes."""
    import filecmp

    try:
        return a.stat().st_size == b.stat().st_size and not os.path.samefile(a, b) and \
            filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def promoted_copy(source: str | os.PathLike, name: str, output_dir: str | os.PathLike | None = None) -> Path | None:
    """The promoted copy (NAME.safetensors, NAME-promoted*.safetensors) holding the same bytes as
    ``source``, or None: sizes first, then the bytes of those of the same size."""
    source = Path(source)
    folder = Path(output_dir) if output_dir is not None else source.parent
    order = {candidate: index for index, candidate in enumerate(promoted_names(name))}
    try:
        found = sorted((path for path in folder.iterdir() if path.name in order), key=lambda path: order[path.name])
    except FileNotFoundError:
        return None
    return next((path for path in found if same_bytes(source, path)), None)


def promote_checkpoint(source: str | os.PathLike, name: str, output_dir: str | os.PathLike | None = None) -> Path:
    """Copy a checkpoint to OUTPUT_DIR/NAME.safetensors (only while no state of NAME is there: see the
    module docstring), or NAME-promoted.safetensors, NAME-promoted-2.safetensors, ... Never moves the
    source, never overwrites: the copy is written beside its target and linked into place (which fails
    if the name exists). A checkpoint promoted already (one of those names holds its bytes) raises
    AlreadyPromoted; one no longer on disk, CheckpointGone (a one-line message)."""
    source = Path(source)
    folder = Path(output_dir) if output_dir is not None else source.parent
    if not source.is_file():  # checked on disk now: the list may show a file deleted since
        raise CheckpointGone(f"{source.name} is gone (deleted, or moved by a later run): nothing to promote")
    same = promoted_copy(source, name, folder)
    if same is not None:
        raise AlreadyPromoted(source, same)
    tmp = folder / f".{name}.promote-{os.getpid()}.tmp"
    shutil.copyfile(source, tmp)
    try:
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        for target in (folder / candidate for candidate in promotion_names(folder, name)):
            try:
                os.link(tmp, target)
            except FileExistsError:
                continue
            return target
    finally:
        tmp.unlink(missing_ok=True)
    raise FileExistsError(f"{folder}: too many promoted copies of {name}")


COPIES = ".{name}.copies.json"  # hidden: no loader or file picker lists it
KEPT_REMEMBERED = 200  # kept copies on record (the oldest are forgotten)


def _content(path: Path) -> dict | None:
    """{"size", "sha256"} of the file: what any copy of it holds too, wherever the folder is copied."""
    import hashlib

    try:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return {"size": size, "sha256": digest.hexdigest()}


def _inode_identity(path: Path) -> list[int] | None:
    """[inode, size, mtime in ns]: how records of older loratuis name a kept copy (still honoured)."""
    try:
        info = path.stat()
    except OSError:
        return None
    return [info.st_ino, info.st_size, info.st_mtime_ns]


def kept_copies(folder: str | os.PathLike, name: str) -> list[dict | list[int]]:
    """The final's copies on record (``record_kept_copy``): {"size", "sha256"} each, or [inode, size,
    mtime_ns] as older loratuis wrote them; [] when there is no readable record (a damaged one only
    costs the record)."""
    try:
        data = json.loads((Path(folder) / COPIES.format(name=name)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    kept = data.get("kept") if isinstance(data, dict) else None
    return [k for k in kept if isinstance(k, (list, dict))] if isinstance(kept, list) else []


def record_kept_copy(folder: str | os.PathLike, name: str, copy: Path) -> None:
    """``copy`` (NAME-000002.safetensors, NAME-stepN..., NAME-kept-stepN...) holds the final LoRA's bytes,
    kept by a run about to write the final anew: on record (its size and sha256, hashed once here), so
    that it is never taken for a save the final is a promoted copy of. Written whole (temp file in the
    folder, fsync, rename); a failure to write it only costs the record."""
    folder = Path(folder)
    content = _content(copy)
    if content is None:
        return
    kept = [k for k in kept_copies(folder, name) if k != content][-(KEPT_REMEMBERED - 1):] + [content]
    target = folder / COPIES.format(name=name)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"kept": kept}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError:
        tmp.unlink(missing_ok=True)


def _on_record(final: Path, same: list[Path], kept: list) -> set[Path]:
    """Those of ``same`` (saves holding the final's bytes) that are kept copies on record. The final is
    hashed only when a record has its size (then once: every one of ``same`` holds its bytes)."""
    size = _size(final)
    hashes = {k.get("sha256") for k in kept if isinstance(k, dict) and k.get("size") == size}
    if hashes and (_content(final) or {}).get("sha256") in hashes:
        return set(same)
    return {save for save in same if _inode_identity(save) in kept}


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _saves_of(folder: Path, name: str) -> list[Path]:
    """The LoRA files NAME.safetensors may be a promoted copy of: the epoch, step and kept saves in the
    folder (NAME-000002, NAME-step00000010, NAME-kept-...) and those in NAME-kept-<time>/ folders."""
    pattern = re.compile(rf"{re.escape(name)}-(?:\d{{6}}|step\d+|kept-.+)\.safetensors")
    found = []
    try:
        for entry in os.scandir(folder):
            if pattern.fullmatch(entry.name) and entry.is_file():
                found.append(Path(entry.path))
            elif entry.name.startswith(f"{name}-kept-") and entry.is_dir():
                found += [Path(inner.path) for inner in os.scandir(entry.path)
                          if pattern.fullmatch(inner.name) and inner.is_file()]
    except OSError:
        pass
    return found


def promoted_final_source(folder: str | os.PathLike, name: str) -> Path | None:
    """The save NAME.safetensors is a promoted copy of (the same bytes), or None (it is a final LoRA,
    or not there). Sizes first: a run's final LoRA differs from every save in its metadata; a copy of
    the final a resume kept under a save's name (on record: ``record_kept_copy``) is no such save."""
    final = Path(folder) / f"{name}.safetensors"
    if not final.is_file():
        return None
    same = [save for save in _saves_of(Path(folder), name) if same_bytes(final, save)]
    on_record = _on_record(final, same, kept_copies(folder, name)) if same else set()
    return next((save for save in same if save not in on_record), None)


def move_promoted_final_aside(folder: str | os.PathLike, name: str) -> tuple[Path, Path] | None:
    """NAME.safetensors when it holds a promoted copy (``promoted_final_source``): moved to the next free
    NAME-promoted*.safetensors (linked there, never over a file, then unlinked), before a run writes its
    final LoRA over it. Returns (the save it is a copy of, where it is now), or None."""
    folder = Path(folder)
    source = promoted_final_source(folder, name)
    if source is None:
        return None
    final = folder / f"{name}.safetensors"
    for target in (folder / candidate for candidate in promoted_names(name)[1:]):
        try:
            os.link(final, target)
        except FileExistsError:
            continue
        final.unlink()
        return source, target
    return None
