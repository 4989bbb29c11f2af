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

from loratui.core.termline import needs_escape


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


ZWJ = "\u200d"
_EMOJI_MODIFIERS = "\ufe0f\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff"  # VS16 and the skin tones


def _pictographic(ch: str) -> bool:
    """Roughly Unicode's Extended_Pictographic (what a joiner ties into one emoji): the supplementary
    symbol planes and the BMP's symbol blocks (arrows to miscellaneous symbols)."""
    code = ord(ch)
    return code >= 0x1F000 or 0x2190 <= code <= 0x2BFF or code in (0xA9, 0xAE, 0x203C, 0x2049, 0x3030, 0x303D)


def _loose_joiners_dropped(text: str) -> str:
    """``text`` without the zero-width joiners that join no emoji (``zw<ZWJ>join``): a terminal draws
    both letters around one, but Rich's cell_len counts the pair as one cell, which would shift the next
    column. Invisible either way, so nothing shows differently. A joiner between two emoji (a skin tone
    or variation selector may come between) stays: 👩‍👩‍👧 is one glyph."""
    kept = []
    for index, ch in enumerate(text):
        if ch == ZWJ:
            before = text[:index].rstrip(_EMOJI_MODIFIERS)
            after = text[index + 1:index + 2]
            if not (before and after and _pictographic(before[-1]) and _pictographic(after)):
                continue
        kept.append(ch)
    return "".join(kept)


def cell_text(text: str) -> str:
    """``text`` as a cell shows it: each character core.termline.needs_escape names (a newline, a tab, an
    escape, a bidi override, an undecodable byte) as ``?``, so the line stays one line of the right width;
    a joiner that joins no emoji dropped (``_loose_joiners_dropped``). CJK, emoji and joined emoji stay."""
    if text.isprintable():  # the common case, and a fast one
        return text
    text = "".join("?" if needs_escape(ch) else ch for ch in text)
    return _loose_joiners_dropped(text) if ZWJ in text else text


def fit_text(text: str, width: int, align: str = "left", ellipsis: str = "…", cut: str = "end") -> str:
    """`text` padded or cut to exactly `width` cells; a cut ends with the ellipsis, or with
    ``cut="name"`` keeps a file extension and cuts the middle of the stem (see Column.cut)."""
    if width <= 0:
        return ""
    text = cell_text(text)  # a newline or tab in a file name would break the line
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
    return set_cell_size(stem, head) + ellipsis + set_cell_size(_tail(stem, tail), tail) + dot + extension


def _cut_middle(name: str, width: int, ellipsis: str) -> str:
    if width < 5:
        return set_cell_size(name, width - 1) + ellipsis
    tail = (width - 1) // 2
    head = width - 1 - tail
    return set_cell_size(name, head) + ellipsis + set_cell_size(_tail(name, tail), tail)


def _tail(text: str, width: int) -> str:
    """The end of ``text`` that fits in ``width`` cells, starting on a whole character: not on a mark
    or a joiner, nor on an emoji a joiner ties to the one before it (cut off, it would show alone)."""
    start = len(text)
    while start > 0 and cell_len(text[start - 1:]) <= width:  # a joined emoji is many code points, two cells
        start -= 1
    end = text[start:]
    while end and (cell_len(end) > width or cell_len(end[0]) == 0 or text[-len(end) - 1:-len(end)] == ZWJ):
        end = end[1:]
    return end
