"""The text side of ImageTable: its column description, its glyphs and fitting text to a cell.

``Column`` says what a column shows (getter, width or flexible, sort key, alignment, a style per
cell); ``Glyphs`` are the marks for the cursor, the selection, the sort direction and a cut text,
in a Unicode set and an ASCII set for the Linux console; ``fit_text`` pads or cuts a text to a
cell width. Pure data and text, no widget: used by widgets.image_table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from rich.cells import cell_len, set_cell_size


@dataclass(frozen=True)
class Column:
    """One column. `getter(row)` gives the cell text; `width=None` makes the column flexible."""

    key: str
    label: str
    width: int | None
    getter: Callable[[Any], str]
    sort_key: Callable[[Any], Any] | None = None  # None: sort by the getter's text
    align: Literal["left", "right"] = "left"
    # A component class name (e.g. "image-table--problem") to style this cell, or None.
    style_getter: Callable[[Any], str | None] | None = None
    # How a text too long is cut: "end" (keeps the start), or "name" for file names, whose end tells
    # them apart (IMG_20230101_123456.jpg): the extension is kept and the stem cut in its middle.
    # "middle" keeps both ends (tags that differ only at the end: `long hair…_03`).
    cut: Literal["end", "name", "middle"] = "end"
    # A fixed-width column may take up to this many more cells when the table has room to spare.
    grow: int = 0
    # ... and this many more when no flexible column shows (narrow: the room would go unused otherwise).
    spare_grow: int = 0
    # Left out when the table is narrower than this (None: always shown), so the others keep room.
    drop_below: int | None = None


@dataclass(frozen=True)
class Glyphs:
    cursor: str = "▶"
    selected: str = "●"
    ascending: str = "▲"
    descending: str = "▼"
    ellipsis: str = "…"
    # the marks before a state word in a cell ("✗ empty", "✓ saved", "· no caption"); "" drops the mark
    problem: str = "✗"
    done: str = "✓"
    note: str = "·"

    def marked(self, mark: str, word: str) -> str:
        """``word`` after one of the marks above (just the word when the glyph set has no such mark)."""
        return f"{mark} {word}" if mark else word


UNICODE_GLYPHS = Glyphs()
# The Linux console font lacks ▶, ●, ✗ and ✓; these read the same on any terminal.
ASCII_GLYPHS = Glyphs(cursor=">", selected="*", ascending="^", descending="v", ellipsis="~",
                      problem="x", done="", note="-")


def fit_text(text: str, width: int, align: str = "left", ellipsis: str = "…", cut: str = "end") -> str:
    """`text` padded or cut to exactly `width` cells; a cut ends with the ellipsis, or with
    ``cut="name"`` keeps a file extension and cuts the middle of the stem (see Column.cut)."""
    if width <= 0:
        return ""
    if not text.isprintable():  # a newline or tab in a file name would break the line
        text = "".join(ch if ch.isprintable() else "?" for ch in text)
    length = cell_len(text)
    if length > width and cut == "name":
        return _cut_name(text, width, ellipsis)
    if length > width and cut == "middle":
        return _cut_middle(text, width, ellipsis)
    if length > width:
        return set_cell_size(text, width - 1) + ellipsis
    if length == width:
        return text
    pad = " " * (width - length)
    return pad + text if align == "right" else text + pad


def _cut_name(name: str, width: int, ellipsis: str) -> str:
    """A file name cut in its stem, keeping the extension and the stem's end: numbered files
    (img_0007.webp, img_0008.webp) stay told apart and the kind shows (``im…0008.webp``)."""
    stem, dot, extension = name.rpartition(".")
    room = width - cell_len(dot + extension)
    if not (dot and stem and len(extension) <= 5) or room < 4:
        return _cut_middle(name, width, ellipsis)
    head = max(1, (room - 1) // 3)
    tail = room - 1 - head
    end = stem[-tail:]
    while cell_len(end) > tail:  # wide characters: fewer of them fill the tail
        end = end[1:]
    return set_cell_size(stem, head) + ellipsis + set_cell_size(end, tail) + dot + extension


def _cut_middle(name: str, width: int, ellipsis: str) -> str:
    if width < 5:
        return set_cell_size(name, width - 1) + ellipsis
    tail = (width - 1) // 2
    head = width - 1 - tail
    end = name[-tail:]
    while cell_len(end) > tail:  # wide characters: fewer of them fill the tail
        end = end[1:]
    return set_cell_size(name, head) + ellipsis + set_cell_size(end, tail)
