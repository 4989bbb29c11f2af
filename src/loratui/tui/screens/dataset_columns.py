"""The Dataset screen's image table columns: the State column's words and marks (never colour alone)
and the sizes, for screens/dataset.py; also the words around the table: the filter term for a tag
chosen in the tag list, and the status line cut to its room."""

from __future__ import annotations

import os
import re

from loratui.tui.services.dataset_store import ImageRow
from loratui.tui.widgets.image_table import Column, default_glyphs


def _size_text(n: int) -> str:
    for unit in ("B", "K", "M", "G"):
        if n < 1024 or unit == "G":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}" if n < 10 else f"{n:.0f}{unit}"
        n /= 1024
    return str(n)


# the scan's problem kinds (core.dataset.scan) as a word or two for the narrow State column;
# the whole message shows in the status line when the image is the current one
PROBLEM_WORDS = {
    "missing_caption": "no caption", "empty_caption": "empty", "unreadable_image": "broken",
    "unreadable_caption": "bad caption", "caption_not_utf8": "not utf8", "multiline_caption": "2+ lines",
    "caption_bom": "BOM", "caption_control_chars": "NUL/ctrl",
    "duplicate_stem": "same name", "extension_case": "EXT case",
    "long_caption": "too long", "duplicate_tags": "dup tags", "weighted_tags": "weights",
    "comma_in_tag": "comma tag", "decomposed_tags": "NFD tag", "wide_comma_in_tag": "CJK comma",
    # image notes (core.dataset.imagesize): at most 8 letters, so "! word" fits the 10 cells of 80x24
    "large_image": "huge img", "extreme_aspect": "aspect", "transparent_pixels": "alpha",
    "transparency_unchecked": "alpha ?", "exif_orientation": "rotated", "high_bit_image": "16-bit",
}


def _problem_word(row: ImageRow) -> str:
    kind = row.problem_kind or row.severity or ""
    return PROBLEM_WORDS.get(kind, kind.replace("_", " "))


_unmatched: set[int] = set()  # id() of the row kept in view after its edit made it stop matching the filter


def mark_unmatched(row: ImageRow | None) -> None:
    """The row the Dataset screen keeps in view though it no longer matches the filter (None: none)."""
    _unmatched.clear()
    if row is not None:
        _unmatched.add(id(row))


def _mark(row: ImageRow) -> str:
    """The problem/state column: words and marks, never colour alone (ASCII marks on TERM=linux,
    like the table's cursor)."""
    glyphs = default_glyphs()
    if row.state == "conflict":
        return glyphs.marked(glyphs.problem, "conflict")
    if row.state.startswith("error"):
        return glyphs.marked(glyphs.problem, "error")
    if row.severity == "error":
        return glyphs.marked(glyphs.problem, _problem_word(row))
    if id(row) in _unmatched:
        return glyphs.marked(glyphs.note, "no match")
    if row.state == "saved":
        return glyphs.marked(glyphs.done, "saved")
    if row.severity == "warning":
        return "! " + _problem_word(row)
    if row.caption is not None and not row.caption.exists:
        return glyphs.marked(glyphs.note, "no caption")
    return ""


def _mark_style(row: ImageRow) -> str | None:
    if row.state in ("conflict",) or row.state.startswith("error") or row.severity == "error":
        return "image-table--problem"
    if row.state == "saved" or id(row) in _unmatched or not _mark(row):
        return "image-table--muted"
    return None


def _name(row: ImageRow) -> str:
    return row.name


def _folder(row: ImageRow) -> str:
    """The concept folder; a reg image's reads "reg/1_person" (the mark survives a cut: it comes first)."""
    if row.reg:
        return "reg/" + row.folder
    return row.folder or "."


CONCEPT_WIDTH, CONCEPT_GROW = 9, 6
FILE_WIDTH, FILE_GROW = 11, 20
STATE_WIDTH, STATE_SPARE = 10, 4  # "! no caption" whole when the table has room and no Caption column


def _columns(concept: tuple[int, int] = (CONCEPT_WIDTH, CONCEPT_GROW),
             file: tuple[int, int] = (FILE_WIDTH, FILE_GROW)) -> list[Column]:
    # At 80x24 the table is 46 wide: no Caption column (the editor beside shows the tags), so the
    # concept and file names keep their room; from 60 on the caption shows too, and takes what the
    # names leave (columns_for). A cut file name keeps its extension and its stem's end (`im…0008.webp`).
    return [
        Column("folder", "Concept", concept[0], _folder, sort_key=lambda r: (r.reg, r.folder), grow=concept[1]),
        Column("file", "File", file[0], _name, sort_key=lambda r: r.name, cut="name", grow=file[1]),
        Column("size", "Size", 4, lambda r: _size_text(r.size), sort_key=lambda r: r.size, align="right"),
        Column("tags", "Tags", 4, lambda r: "" if r.tag_count is None else str(r.tag_count),
               sort_key=lambda r: -1 if r.tag_count is None else r.tag_count, align="right"),
        # dropped when the tag list takes the room (the status line still says the current row's problem)
        Column("mark", "State", STATE_WIDTH, _mark, sort_key=lambda r: (r.severity or "z", r.state),
               style_getter=_mark_style, drop_below=42, spare_grow=STATE_SPARE),
        Column("caption", "Caption", None, lambda r: r.caption_text, sort_key=lambda r: r.caption_text,
               drop_below=60),
    ]


COLUMNS = _columns()
_BY_WIDTHS: dict[tuple, list[Column]] = {}  # the same Column objects for the same widths


def _fitted(longest: int, label: str, width: int, grow: int) -> tuple[int, int]:
    """(width, grow) of a name column for its longest name: no wider than that name (nor narrower than
    its label), so the Caption column gets the cells a short name leaves; a long one grows as before."""
    base = max(len(label), min(longest, width))
    return base, min(max(longest - base, 0), grow)


def columns_for(rows: list[ImageRow]) -> list[Column]:
    """The columns for these rows: the Concept and File columns are as wide as the longest concept and
    file name needs (up to their growth), so the Caption column gets the rest (at 120x40 it was 16 wide
    while the File column stood 6 cells wider than any name in it, and 4 for `a01.png`)."""
    from rich.cells import cell_len

    # by characters, then in cells (wide characters): measuring each of 20,000 names in cells cost a
    # tenth of the listing the first frame waits for; a reg row's folder reads "reg/NAME"
    longest_folder = cell_len(max((("reg/" + row.folder) if row.reg else row.folder for row in rows),
                                  key=len, default="") or ".")
    longest_name = cell_len(max((os.path.basename(row.image_str) for row in rows), key=len, default=""))
    widths = (_fitted(longest_folder, "Concept", CONCEPT_WIDTH, CONCEPT_GROW),
              _fitted(longest_name, "File", FILE_WIDTH, FILE_GROW))
    if widths not in _BY_WIDTHS:
        _BY_WIDTHS[widths] = _columns(*widths)
    return _BY_WIDTHS[widths]


def fit_lines(text: str, width: int, lines: int, console) -> str:
    """``text`` cut with … to fit ``lines`` lines of ``width`` cells as Rich wraps it (the status line)."""
    from rich.text import Text

    def fits(candidate: str) -> bool:
        return len(Text(candidate).wrap(console, width)) <= lines

    if width <= 0 or len(text) <= width or fits(text):
        return text
    low, high = 0, len(text)
    while low < high:  # the longest start that fits with its ellipsis
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(text[:middle].rstrip() + "…") else (low, middle - 1)
    return text[:low].rstrip() + "…"


def problem_line(row: ImageRow, message: str) -> str:
    """The current image's problem for the status line, the reason first (the line is narrow at 80 columns
    and the row already names the file): `✗ empty (0 bytes): sd-scripts stops… · a.txt`."""
    caption_name = os.path.basename(row.caption_str)
    named = caption_name
    for prefix in (f"{row.folder}/{row.name}", f"{row.folder}/{caption_name}", row.name, caption_name):
        if message.startswith(prefix):
            message = message[len(prefix):]
            named = prefix.rsplit("/", 1)[-1]
            break
    message = re.sub(r"^(:\s*|\s+)", "", message)
    message = re.sub(r"^(is|has) ", "", message)
    mark = default_glyphs().problem if row.severity == "error" else "!"
    return f"{mark} {message} · {named}" if message else f"{mark} {named}"
