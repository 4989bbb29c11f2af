"""Are a model folder's weight files whole? Cheap looks, stdlib only (the TUI's model check uses them).

A half-finished copy or download passes "the file is there" and fails only when transformers loads
it, with a message that names no file ("Error while deserializing header: incomplete metadata, file
not fully covered"). These checks read a few bytes of each file, never its tensors:

- safetensors: 8 bytes (the header's length), the JSON header, and the file's size, which must be
  exactly the header's end plus the largest ``data_offsets`` end (what safetensors itself insists on);
- pytorch_model.bin (torch's zip format): the zip's central directory, which sits at the end of the
  file, must be there (a cut-short zip has none). The old pickle format has no cheap check: it passes;
- a Git LFS pointer (a clone made without git-lfs) in place of any of them is named as such;
- a sharded model's index.json: each shard it names is there, and whole.

Each problem is one line naming the file and what to do; the Hugging Face repo id to fetch it again
is named when the file is in the Hugging Face cache (or, for a WD14 tagger, loratui's model store).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

SAFETENSORS_FILES = ("model.safetensors", "model.safetensors.index.json")
BIN_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json")
# the order transformers picks them in (safetensors first); kept in blip_load.WEIGHT_FILES' order
WEIGHT_FILES = (SAFETENSORS_FILES[0], SAFETENSORS_FILES[1], BIN_FILES[0], BIN_FILES[1])
_MAX_HEADER = 100_000_000  # safetensors refuses larger headers
_LFS_POINTER = b"version https://git-lfs"
_PICKLE_PROTOCOL_2 = b"\x80\x02"  # torch.save's legacy (pre-zip) format starts with a pickled magic number
COPY_AGAIN = "copy or download it again"


def hub_file(path: Path) -> tuple[str, str] | None:
    """(repo id, file name in the repo) for a file in a Hugging Face cache snapshot
    (``.../models--OWNER--NAME/snapshots/REV/FILE``), else None."""
    parts = Path(path).parts
    for i in range(len(parts) - 3, 0, -1):
        if parts[i] == "snapshots" and parts[i - 1].startswith("models--") and "--" in parts[i - 1][8:]:
            return parts[i - 1][len("models--"):].replace("--", "/", 1), "/".join(parts[i + 2:])
    return None


def store_repo(path: Path, kind: str = "wd14") -> str | None:
    """The repo id of a file in loratui's model store (``<store>/KIND/OWNER__NAME/FILE``), else None."""
    from loratui.captioners.store import store_root

    try:
        rel = Path(path).relative_to(store_root())
    except ValueError:
        return None
    if len(rel.parts) == 3 and rel.parts[0] == kind and "__" in rel.parts[1]:
        return rel.parts[1].replace("__", "/", 1)
    return None


def fetch_again(path: Path) -> str:
    """What to do about a damaged file: the `hf download` that replaces it when the repo is known."""
    found = hub_file(path)
    if found is not None:
        return f"download it again: hf download {found[0]} {found[1]} --force-download"
    return COPY_AGAIN


def _lfs_pointer(head: bytes) -> bool:
    return head.startswith(_LFS_POINTER)


LFS_ADVICE = "a Git LFS pointer, not the file itself (cloned without git-lfs): run `git lfs pull` in the clone, or"


def safetensors_problem(path: str | os.PathLike) -> str | None:
    """None when ``path`` is a whole safetensors file (by its header and size), else what is wrong."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
            if _lfs_pointer(head + fh.read(len(_LFS_POINTER) - 8)):
                return f"{path}: {LFS_ADVICE} download it again"
            if size == 0:
                return f"{path}: empty (0 bytes); {fetch_again(path)}"
            if size < 8:
                return f"{path}: cut short at {size} bytes (an unfinished copy or download); {fetch_again(path)}"
            length = int.from_bytes(head, "little")
            if length > _MAX_HEADER:
                return f"{path}: not a safetensors file (its first bytes are no header length); {fetch_again(path)}"
            if 8 + length > size:
                return (f"{path}: cut short at {size:,} bytes, inside its header (an unfinished copy or download); "
                        f"{fetch_again(path)}")
            fh.seek(8)
            raw = fh.read(length)
    except OSError as exc:
        return f"{path}: cannot read it ({exc.strerror or exc}); check its permissions"
    end = _data_end(raw)
    if end is None:
        return f"{path}: not a safetensors file (its header is not safetensors JSON); {fetch_again(path)}"
    expected = 8 + length + end
    if size < expected:
        return (f"{path}: cut short at {size:,} of {expected:,} bytes (an unfinished copy or download); "
                f"{fetch_again(path)}")
    if size > expected:
        return f"{path}: {size - expected:,} bytes longer than its header says (damaged); {fetch_again(path)}"
    return None


def _data_end(raw: bytes) -> int | None:
    """The largest ``data_offsets`` end in a safetensors header; None when it is not one."""
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(header, dict):
        return None
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int and o >= 0 for o in offsets)
                and offsets[0] <= offsets[1]):
            return None
        end = max(end, offsets[1])
    return end


def torch_bin_problem(path: str | os.PathLike) -> str | None:
    """None when ``path`` looks like a whole torch.save file, else what is wrong (see the module doc)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(len(_LFS_POINTER))
        if _lfs_pointer(head):
            return f"{path}: {LFS_ADVICE} download it again"
        if size == 0:
            return f"{path}: empty (0 bytes); {fetch_again(path)}"
        if head.startswith(_PICKLE_PROTOCOL_2):
            return None  # torch's legacy format: nothing cheap to check
        if not head.startswith(b"PK\x03\x04"):
            return f"{path}: not a PyTorch checkpoint (neither a zip nor a pickle); {fetch_again(path)}"
        with zipfile.ZipFile(path) as archive:  # reads the central directory only
            ends = [info.header_offset + info.compress_size for info in archive.infolist()]
    except zipfile.BadZipFile:
        return (f"{path}: cut short at {size:,} bytes, its zip directory is missing (an unfinished copy or "
                f"download); {fetch_again(path)}")
    except OSError as exc:
        return f"{path}: cannot read it ({exc.strerror or exc}); check its permissions"
    if ends and max(ends) > size:
        return f"{path}: cut short at {size:,} bytes (an unfinished copy or download); {fetch_again(path)}"
    return None


def file_problem(path: Path) -> str | None:
    """The check that fits the file's kind (safetensors or torch .bin); None for any other file."""
    if path.name.endswith(".safetensors"):
        return safetensors_problem(path)
    if path.name.endswith(".bin"):
        return torch_bin_problem(path)
    return None


def weights_file(folder: Path) -> Path | None:
    """The weight file (or index) transformers will load from ``folder``: the first there in its order."""
    return next((folder / name for name in WEIGHT_FILES if (folder / name).is_file()), None)


def weights_problem(folder: Path) -> tuple[str, bool] | None:
    """None when the weights in ``folder`` look whole, else (one line, damaged): damaged is False when a
    file is missing (no weights, or a shard the index names), True when one is there but broken."""
    chosen = weights_file(folder)
    if chosen is None:
        return (f"model folder {folder}: no weights ({' or '.join(WEIGHT_FILES[::2])}); "
                f"the download is incomplete"), False
    if not chosen.name.endswith(".index.json"):
        problem = file_problem(chosen)
        return None if problem is None else (problem, True)
    try:
        weight_map = json.loads(chosen.read_text(encoding="utf-8"))["weight_map"]
        shards = sorted(set(weight_map.values()))
        if not all(isinstance(s, str) and s for s in shards):
            raise TypeError("a shard name is not a string")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        return f"{chosen}: unreadable weight index ({reason}); download it again", True
    absent = [s for s in shards if not (folder / s).is_file()]
    if absent:
        return (f"model folder {folder}: weight shard {absent[0]} is missing ({len(absent)} of {len(shards)} "
                f"shards); the download is incomplete"), False
    for number, shard in enumerate(shards, start=1):
        problem = file_problem(folder / shard)
        if problem is not None:
            prefix = f"{folder / shard}: "
            if problem.startswith(prefix):
                problem = f"{prefix}shard {number} of {len(shards)}: {problem[len(prefix):]}"
            return problem, True
    return None
