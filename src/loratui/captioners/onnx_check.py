"""Is a file plausibly an ONNX model? A cheap look, stdlib only (the TUI checks model folders with it
without importing onnxruntime).

An ONNX file is one serialized ``ModelProto``: a protobuf message whose top-level fields are
ir_version (1, varint), producer_name/version, domain (2-4), model_version (5), doc_string (6), the
graph (7, length-delimited), opset_import (8), metadata_props (14), training_info (20), functions
(25). Real files start with ``08 xx`` (ir_version). The walk reads each top-level field's tag and
length and seeks over its payload: a few reads, whatever the model's size. It catches an empty
file, a truncated download (a field runs past the end), and a file that is not protobuf at all
(HTML error pages, text, random bytes, a Git LFS pointer), and a file cut exactly after its graph (no
opset_import, which onnxruntime requires); it does not check the graph inside. The line says what to
do, with the repo id to fetch the file again when the file is in loratui's model store or the Hugging
Face cache (weight_check).
"""

from __future__ import annotations

import os
from pathlib import Path

from loratui.captioners.weight_check import LFS_ADVICE, hub_file, store_repo

_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5
# ModelProto's own fields and their wire types (onnx.proto); later ONNX versions may add fields,
# which pass when their wire type is a valid one
_MODEL_FIELDS = {1: _VARINT, 2: _LENGTH, 3: _LENGTH, 4: _LENGTH, 5: _VARINT, 6: _LENGTH, 7: _LENGTH, 8: _LENGTH,
                 14: _LENGTH, 20: _LENGTH, 25: _LENGTH}
_GRAPH, _OPSET_IMPORT = 7, 8
_MAX_FIELDS = 100_000  # a real model has a handful of top-level fields (metadata_props can be many)
REDOWNLOAD = "download the tagger's model.onnx again"
_LFS_POINTER = b"version https://git-lfs"


class _Broken(Exception):
    pass


def _varint(fh) -> int:
    value = shift = 0
    for _ in range(10):
        byte = fh.read(1)
        if not byte:
            raise EOFError
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return value
        shift += 7
    raise _Broken("a malformed number")


def onnx_problem(path: str | os.PathLike) -> str | None:
    """None when ``path`` looks like an ONNX model, else one line naming the file and what to do."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size == 0:
            return f"{path}: empty (0 bytes), not an ONNX model: {redownload(path)}"
        with open(path, "rb") as fh:
            if fh.read(len(_LFS_POINTER)) == _LFS_POINTER:
                return f"{path}: {LFS_ADVICE} {redownload(path)}"
            fh.seek(0)
            problem = _walk(fh, size)
    except OSError as exc:
        return f"{path}: cannot read it ({exc.strerror or exc}): check its permissions"
    return None if problem is None else f"{path}: {problem}: {redownload(path)}"


def redownload(path: Path) -> str:
    """What to do about a damaged model.onnx, naming the repo id when the folder says it."""
    found = hub_file(path)
    if found is not None:
        return f"{REDOWNLOAD}: hf download {found[0]} {found[1]} --force-download"
    repo = store_repo(path)
    if repo is not None:  # --download fetches only the files that are not there
        return f"{REDOWNLOAD} (delete it, then download {repo})"
    return REDOWNLOAD


def _walk(fh, size: int) -> str | None:
    has_graph = has_opset = False
    fields = 0
    try:
        while fh.tell() < size:
            at = fh.tell()
            tag = _varint(fh)
            number, wire = tag >> 3, tag & 7
            expected = _MODEL_FIELDS.get(number)
            if number == 0 or wire not in (_VARINT, _FIXED64, _LENGTH, _FIXED32) or \
                    (expected is not None and wire != expected):
                return f"not an ONNX model (no ONNX field at byte {at})"
            if wire == _VARINT:
                _varint(fh)
            elif wire == _LENGTH:
                length = _varint(fh)
                end = fh.tell() + length
                if end > size:
                    return f"truncated (an interrupted download?): {size:,} bytes of at least {end:,}"
                fh.seek(end)
            else:
                end = fh.tell() + (8 if wire == _FIXED64 else 4)
                if end > size:
                    return f"truncated (an interrupted download?): {size:,} bytes"
                fh.seek(end)
            has_graph |= number == _GRAPH
            has_opset |= number == _OPSET_IMPORT
            fields += 1
            if fields > _MAX_FIELDS:
                return "not an ONNX model (too many top-level fields)"
    except EOFError:
        return f"truncated (an interrupted download?): {size:,} bytes"
    except _Broken as exc:
        return f"not an ONNX model ({exc})"
    if not has_graph:
        return "not an ONNX model (it holds no graph)"
    return None if has_opset else f"cut short after its graph at {size:,} bytes (no opset_import)"
