"""What a training state records of the dataset it trained on, so that a ``--resume`` can say what changed
since: per image, a digest of the caption the run trained with (as engine/data.py read it) and the image's
identity (its name, size and mtime: no image is read, so a state save stays fast on 20,000 images). Pure
Python (no torch).

The records live beside state.json in the state folder (``dataset.json``: one fixed-width hex record an
image, a few hundred KB for 20,000 images), so state.json, which the app and the preflight read often,
stays small; state.json's "data" "dataset" says how many there are, so a record file that went missing
is told apart from an older state that kept none (which resumes as before, without a word).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

FILE = "dataset.json"
VERSION = 1
_KEY, _CAPTION, _IDENTITY = 12, 8, 8  # hex digits of each part of a record
_RECORD = _KEY + _CAPTION + _IDENTITY


def _digest(text: str, digits: int) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()[:digits]


def image_key(is_reg: bool, folder: str, name: str) -> str:
    """An image's name in the dataset: its concept folder without the repeat count (a balance that
    renames 2_x to 12_x keeps its images) and its file name; reg images apart."""
    concept = folder.partition("_")[2] if folder.partition("_")[0].isdigit() else folder
    return f"{'reg' if is_reg else 'train'}/{concept}/{name}"


def image_identity(path: str) -> str:
    """name + size + mtime: a file swapped for another (or written again) has another identity."""
    try:
        st = os.stat(path)
    except OSError:
        return "gone"
    return f"{os.path.basename(path)}\0{st.st_size}\0{st.st_mtime_ns}"


def records_for(images) -> dict[str, tuple[str, str]]:
    """{key digest: (caption digest, identity digest)} for ``images``: (is_reg, folder name, image path,
    caption text) tuples, each image once."""
    out = {}
    for is_reg, folder, path, caption in images:
        key = _digest(image_key(is_reg, folder, os.path.basename(path)), _KEY)
        out[key] = (_digest(caption, _CAPTION), _digest(image_identity(str(path)), _IDENTITY))
    return out


def training_images(data):
    """(is_reg, folder name, image path, caption) of every image a TrainingData trains, each once."""
    seen = set()
    for samples in data.groups.values():
        for sample in samples:
            path = str(sample.image.path)
            if path in seen:
                continue
            seen.add(path)
            yield bool(sample.is_reg), os.path.basename(str(sample.subset.path)), path, data.captions.get(path, "")


def encode(records: dict[str, tuple[str, str]]) -> bytes:
    packed = "".join(f"{key}{caption}{identity}" for key, (caption, identity) in sorted(records.items()))
    return json.dumps({"version": VERSION, "images": len(records), "records": packed}).encode("utf-8")


def summary(records: dict) -> dict:
    """state.json's "data" "dataset": how many records the state folder's dataset.json holds."""
    return {"file": FILE, "images": len(records)}


def read_records(folder: str | os.PathLike) -> dict[str, tuple[str, str]] | None:
    """The records a state folder keeps, or None (none kept, or the file is unreadable)."""
    try:
        data = json.loads((Path(folder) / FILE).read_text(encoding="utf-8"))
        packed = data["records"]
        if data.get("version") != VERSION or not isinstance(packed, str) or len(packed) % _RECORD:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    out = {}
    for start in range(0, len(packed), _RECORD):
        record = packed[start:start + _RECORD]
        out[record[:_KEY]] = (record[_KEY:_KEY + _CAPTION], record[_KEY + _CAPTION:])
    return out


def changes_line(saved: dict | None, current: dict, *, kept: bool) -> str | None:
    """One line saying what changed in the dataset since the state was saved (captions edited, images
    replaced, added or gone), or None when nothing did. ``saved`` None: the state kept no records; said
    only when it should have (``kept``: state.json names them), else nothing (an older state)."""
    if saved is None:
        return ("resume: cannot tell whether captions or images changed since the state was saved (its "
                f"{FILE} is missing or damaged): the rest of the run trains on the dataset as it is now") if kept \
            else None
    common = saved.keys() & current.keys()
    captions = sum(1 for key in common if saved[key][0] != current[key][0])
    swapped = sum(1 for key in common if saved[key][1] != current[key][1])
    added, gone = len(current.keys() - saved.keys()), len(saved.keys() - current.keys())
    if not (captions or swapped or added or gone):
        return None
    if not (swapped or added or gone):
        return (f"resume: {captions} of {len(current)} captions changed since the state was saved (the rest of "
                "the run trains on the new ones)")
    parts = [f"{captions} of {len(current)} captions changed"] if captions else []
    if swapped:
        parts.append(f"{swapped} image file(s) replaced or rewritten (another size or time)")
    if added:
        parts.append(f"{added} image(s) added")
    if gone:
        parts.append(f"{gone} image(s) gone")
    return (f"resume: since the state was saved, {', '.join(parts)} (the rest of the run trains on the dataset as "
            "it is now)")
