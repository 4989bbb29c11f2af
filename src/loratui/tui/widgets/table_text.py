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


@dataclass(frozen=True)
class Glyphs:
    cursor: str = "▶"
    selected: str = "●"
    ascending: str = "▲"
    descending: str = "▼"
    ellipsis: str = "…"


UNICODE_GLYPHS = Glyphs()
# The Linux console font lacks ▶ and ●; these read the same on any terminal.
ASCII_GLYPHS = Glyphs(cursor=">", selected="*", ascending="^", descending="v", ellipsis="~")


def fit_text(text: str, width: int, align: str = "left", ellipsis: str = "…") -> str:
    """`text` padded or cut to exactly `width` cells; a cut ends with the ellipsis."""
    if width <= 0:
        return ""
    if not text.isprintable():  # a newline or tab in a file name would break the line
        text = "".join(ch if ch.isprintable() else "?" for ch in text)
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + ellipsis
    if length == width:
        return text
    pad = " " * (width - length)
    return pad + text if align == "right" else text + pad
