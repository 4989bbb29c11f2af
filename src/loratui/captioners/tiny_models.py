"""Tiny WD14-shaped taggers (the tests' and the demo's), written as ONNX bytes by hand.

``input_1:0`` NHWC [batch, size, size, 3] float32 (BGR 0..255) -> ``predictions_sigmoid`` [batch, K].
The graph takes the per-channel mean (B, G, R in 0..1) and applies sigmoid(mean @ W + b), so which
tags fire follows the image's average colour. v2 style: fixed batch 1; v3: dynamic.

Why by hand: the ``onnx`` package is a test dependency only, and the demo builds its tagger offline
from what a user has installed. The few protobuf messages the graph needs are encoded below (field
numbers from onnx.proto); a test loads the bytes with onnx.checker and runs them in onnxruntime.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from loratui.captioners.model_search import DEMO_MARKER
from loratui.core.fsutil import atomic_write_bytes

# (name, category, count, weights on (B, G, R), bias): the tests' tagger
TAGS = [
    ("general", 9, 0, (0, 0, 0), 2.0),
    ("sensitive", 9, 0, (0, 0, 0), 0.0),
    ("questionable", 9, 0, (0, 0, 0), -1.0),
    ("explicit", 9, 0, (0, 0, 0), -2.0),
    ("1girl", 0, 5000, (0, 0, 0), 3.0),           # p 0.95 always
    ("solo", 0, 4000, (0, 0, 0), 0.0),            # p 0.50 always
    ("low_prob", 0, 10, (0, 0, 0), -1.0),         # p 0.27: under 0.35
    ("red_theme", 0, 300, (0, -8, 8), -2.0),      # red images
    ("blue_theme", 0, 300, (8, -8, 0), -2.0),     # blue images
    ("^_^", 0, 50, (0, 0, 0), 1.0),               # p 0.73, short: underscores kept
    ("white_background", 0, 900, (0, 8, 0), -4.0),  # white/green-ish images
    ("hatsune_miku_(vocaloid)", 4, 800, (8, 0, -8), -2.0),  # blue images
    ("other_char", 4, 20, (0, 0, 0), 1.0),        # p 0.73: under 0.85
]

# The demo's tagger: tags for its shapes on white or black, from the average colour (B, G, R in 0..1)
# of the padded square. Tuned on the demo's eight images; a toy, not a tagger.
DEMO_TAGS = [
    ("general", 9, 0, (0, 0, 0), 3.0),
    ("sensitive", 9, 0, (0, 0, 0), 0.0),
    ("questionable", 9, 0, (0, 0, 0), -2.0),
    ("explicit", 9, 0, (0, 0, 0), -3.0),
    ("no_humans", 0, 9000, (0, 0, 0), 3.0),
    ("simple_background", 0, 8000, (0, 0, 0), 2.0),
    ("white_background", 0, 7000, (8, 8, 8), -17.0),   # bright: mostly white
    ("black_background", 0, 3000, (-8, -8, -8), 9.0),  # dark (a wide image is padded with white)
    ("red_theme", 0, 400, (-20, -20, 40), -2.0),       # red over blue and green (orange too)
    ("blue_theme", 0, 300, (60, 0, -60), -2.0),        # blue over red
    ("green_theme", 0, 200, (-60, 120, -60), -3.0),    # green over blue and red
]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def expected_probs(bgr_mean01, tags=TAGS) -> np.ndarray:
    w = np.array([t[3] for t in tags], dtype=np.float64).T
    b = np.array([t[4] for t in tags], dtype=np.float64)
    return sigmoid(np.asarray(bgr_mean01, dtype=np.float64) @ w + b)


def write_tags_csv(path: Path, tags=TAGS) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["tag_id", "name", "category", "count"])
        for i, t in enumerate(tags):
            writer.writerow([1000 + i, t[0], t[1], t[2]])


# ---- protobuf wire format: just what an ONNX ModelProto of this graph needs -------------------------

def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64s are ten-byte two's complement, as protobuf writes them
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _bytes(field: int, data: bytes | str) -> bytes:
    data = data.encode("utf-8") if isinstance(data, str) else data
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _tensor(name: str, array: np.ndarray) -> bytes:
    """TensorProto: dims (1), data_type FLOAT (2 = 1), name (8), raw_data little-endian (9)."""
    array = np.ascontiguousarray(array, dtype="<f4")
    return (b"".join(_int(1, d) for d in array.shape) + _int(2, 1) + _bytes(8, name)
            + _bytes(9, array.tobytes()))


def _value_info(name: str, dims: list[int | str]) -> bytes:
    """ValueInfoProto name (1), type (2) -> TypeProto.tensor_type (1) -> elem_type (1), shape (2)."""
    shape = b"".join(_bytes(1, _int(1, d) if isinstance(d, int) else _bytes(2, d)) for d in dims)
    tensor_type = _int(1, 1) + _bytes(2, shape)
    return _bytes(1, name) + _bytes(2, _bytes(1, tensor_type))


def _node(op_type: str, inputs: list[str], outputs: list[str], ints: dict[str, list[int]] | None = None,
          int_attrs: dict[str, int] | None = None) -> bytes:
    """NodeProto input (1), output (2), op_type (4), attribute (5): AttributeProto name (1), i (3),
    ints (8), type (20: INT 2, INTS 7)."""
    out = b"".join(_bytes(1, i) for i in inputs) + b"".join(_bytes(2, o) for o in outputs) + _bytes(4, op_type)
    for name, values in (ints or {}).items():
        out += _bytes(5, _bytes(1, name) + b"".join(_int(8, v) for v in values) + _int(20, 7))
    for name, value in (int_attrs or {}).items():
        out += _bytes(5, _bytes(1, name) + _int(3, value) + _int(20, 2))
    return out


def wd14_onnx_bytes(tags=TAGS, *, dynamic_batch: bool = True, size: int = 448) -> bytes:
    """The serialized ModelProto (ir_version 8, opset 13) of the mean-colour tagger for ``tags``."""
    batch: int | str = "batch_size" if dynamic_batch else 1
    w = np.array([t[3] for t in tags], dtype=np.float32).T.copy()  # [3, K]
    b = np.array([t[4] for t in tags], dtype=np.float32)
    nodes = [
        _node("ReduceMean", ["input_1:0"], ["mean"], ints={"axes": [1, 2]}, int_attrs={"keepdims": 0}),
        _node("Mul", ["mean", "scale"], ["mean01"]),
        _node("MatMul", ["mean01", "W"], ["logits0"]),
        _node("Add", ["logits0", "b"], ["logits"]),
        _node("Sigmoid", ["logits"], ["predictions_sigmoid"]),
    ]
    initializers = [_tensor("scale", np.array([1 / 255.0], dtype=np.float32)), _tensor("W", w), _tensor("b", b)]
    # GraphProto: node (1), name (2), initializer (5), input (11), output (12)
    graph = (b"".join(_bytes(1, n) for n in nodes) + _bytes(2, "wd14_tiny")
             + b"".join(_bytes(5, t) for t in initializers)
             + _bytes(11, _value_info("input_1:0", [batch, size, size, 3]))
             + _bytes(12, _value_info("predictions_sigmoid", [batch, len(tags)])))
    # ModelProto: ir_version (1), producer_name (2), graph (7), opset_import (8: domain 1, version 2)
    return _int(1, 8) + _bytes(2, "loratui") + _bytes(7, graph) + _bytes(8, _bytes(1, "") + _int(2, 13))


def make_wd14_model(folder: str | Path, *, dynamic_batch: bool = True, size: int = 448, tags=TAGS) -> Path:
    """A folder with model.onnx + selected_tags.csv of the mean-colour tagger."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(folder / "model.onnx", wd14_onnx_bytes(tags, dynamic_batch=dynamic_batch, size=size))
    write_tags_csv(folder / "selected_tags.csv", tags)
    return folder


def make_demo_tagger(folder: str | Path) -> Path:
    """The demo project's tagger: DEMO_TAGS, and the marker that names it a toy (the Caption screen
    says so, and never remembers it as the user's tagger)."""
    folder = make_wd14_model(folder, tags=DEMO_TAGS)
    (folder / DEMO_MARKER).write_text(
        "loratui demo tagger: a toy model that guesses tags from the image's average colour; not a real "
        "WD14 tagger. Put a real one (model.onnx + selected_tags.csv) in its own folder.\n", encoding="utf-8")
    return folder

