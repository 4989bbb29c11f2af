"""The two panes of the plan preview (screens/plan_preview.py): ``TagChangesView``, the tags gained and lost
with the number of files each, and ``DiffView``, one file a line or two (its changed tags, or its old and new
caption line with the changes marked). Both draw only the lines on screen (Textual's Line API), so a
10,000-file plan opens fast; a file's diff is taken only when its line scrolls into view. No colour-only
signals: ``+``, ``-`` and ``~`` start every change, colours only repeat them.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from loratui.core.captions import FileEdit
from loratui.tui.widgets.table_text import cell_text

TOP_TAGS = 200            # gained / lost tags listed (most files first)
ORDER_PREVIEW = 8         # tags shown for a reorder-only file


def _printable(text: str) -> str:
    """``text`` for a line of a pane: control characters, bidi overrides and undecodable bytes as ``?`` (the
    table's rule, widgets.table_text.cell_text); CJK, emoji and joined emoji (👩\u200d👩\u200d👧) as they are."""
    return cell_text(text)


def _fit(text: str, width: int) -> str:
    """``text`` cut or padded to ``width`` cells (a cut ends with …)."""
    if width <= 0:
        return ""
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…"
    return text + " " * (width - length)


# a caption split into tags (or the words of a sentence), each with the separators after it
# ("long hair, "): a diff of these marks whole tags, not the letters or words two tags happen to share
_TAGS = re.compile(r"[^,]+,?\s*|,\s*")
_WORDS = re.compile(r"[^,\s]+[,\s]*|[,\s]+")


def caption_words(text: str) -> list[str]:
    return (_TAGS if "," in text else _WORDS).findall(text)


def _word_key(word: str) -> str:
    return word.rstrip(", \t")


def changed_words(old: list[str], new: list[str]) -> tuple[int, int, int]:
    """(first, old_end, new_end): ``old[first:old_end]`` became ``new[first:new_end]``, between the
    words both start with and those both end with (separators after a word do not count)."""
    limit = min(len(old), len(new))
    first = 0
    while first < limit and _word_key(old[first]) == _word_key(new[first]):
        first += 1
    tail = 0
    while tail < limit - first and _word_key(old[-1 - tail]) == _word_key(new[-1 - tail]):
        tail += 1
    return first, len(old) - tail, len(new) - tail


def window_start(old: list[str], new: list[str], first: int, room: int) -> int:
    """The word both lines of a text diff start at so that the change shows in ``room`` cells: 0 when
    both lines fit, else a third of the room before the first changed word."""
    if first == 0 or max(cell_len("".join(old)), cell_len("".join(new))) <= room:
        return 0
    at, used = first, 0
    while at > 0 and used + cell_len(old[at - 1]) <= room // 3:
        used += cell_len(old[at - 1])
        at -= 1
    return at


def order_changed(edit: FileEdit) -> bool:
    """True when the tags a caption keeps come in another order (a dedupe only drops copies)."""
    if edit.reordered_only:
        return True
    old, new = set(edit.old), set(edit.new)
    return [t for t in dict.fromkeys(edit.old) if t in new] != [t for t in dict.fromkeys(edit.new) if t in old]


def unchanged_tags_note(repeats: int, reordered: int) -> str:
    """What a plan that gains and loses no tag does, from what really changed: ``repeats`` extra
    copies removed, ``reordered`` captions whose order changes."""
    if not repeats:
        return "no tag gained or lost (only the order changes)" if reordered else "no tag gained or lost"
    note = f"no tag gained or lost: {repeats:,} repeated tag(s) removed"
    return note + (f", {reordered:,} caption(s) reordered" if reordered else " (order unchanged)")


def relative_path(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


class TagChangesView(ScrollView, can_focus=True):
    """Two columns, ``+tag  files`` gained and ``-tag  files`` lost, drawn line by line."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"tag-changes--added", "tag-changes--removed",
                                             "tag-changes--muted"}
    DEFAULT_CSS = """
    TagChangesView {
        height: 1fr;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
    }
    TagChangesView > .tag-changes--added { color: $text-success; }
    TagChangesView > .tag-changes--removed { color: $text-error; }
    TagChangesView > .tag-changes--muted { color: $text-muted; }
    """

    def __init__(self, *, top: int = TOP_TAGS, id: str | None = None) -> None:
        super().__init__(id=id)
        self.top = top
        self.gained: list[tuple[str, int]] | None = None  # None: still counting
        self.lost: list[tuple[str, int]] = []
        self.more_gained = self.more_lost = 0
        self.unchanged_note = ""  # shown when no tag is gained or lost: what changes instead

    def set_counts(self, gained: Counter, lost: Counter, unchanged_note: str = "") -> None:
        self.unchanged_note = unchanged_note or unchanged_tags_note(0, 1)
        self.gained = gained.most_common(self.top)
        self.lost = lost.most_common(self.top)
        self.more_gained = max(0, len(gained) - self.top)
        self.more_lost = max(0, len(lost) - self.top)
        rows = max(len(self.gained) + bool(self.more_gained), len(self.lost) + bool(self.more_lost), 1)
        self.virtual_size = Size(0, rows)
        self.refresh()

    def _cell(self, rows: list[tuple[str, int]], more: int, index: int, sign: str, width: int,
              style: Style) -> list[Segment]:
        if index < len(rows):
            tag, count = rows[index]
            number = f" {count:,}"
            return [Segment(_fit(f"{sign} {_printable(tag)}", width - len(number)) + number, style)]
        if index == len(rows) and more:
            return [Segment(_fit(f"  … {more:,} more", width), self.get_component_rich_style("tag-changes--muted"))]
        if index == 0 and not rows:
            return [Segment(_fit("  (none)", width), self.get_component_rich_style("tag-changes--muted"))]
        return [Segment(" " * width, self.rich_style)]  # a styled blank: NO_COLOR's monochrome filter needs a style

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = self.scroll_offset.y + y
        base = self.rich_style
        if self.gained is None:
            text = "counting tag changes…" if y == 0 else ""
            return Strip([Segment(_fit(text, width), self.get_component_rich_style("tag-changes--muted"))])
        if not self.gained and not self.lost:
            text = self.unchanged_note if y == 0 else ""
            return Strip([Segment(_fit(text, width), self.get_component_rich_style("tag-changes--muted"))])
        left = (width - 1) // 2
        right = width - 1 - left
        segments = self._cell(self.gained, self.more_gained, index, "+", left,
                              self.get_component_rich_style("tag-changes--added"))
        segments.append(Segment("│", base))
        segments += self._cell(self.lost, self.more_lost, index, "-", right,
                               self.get_component_rich_style("tag-changes--removed"))
        return Strip(segments).adjust_cell_length(width, base)


class DiffView(ScrollView, can_focus=True):
    """The changed files, each a path line then its change: ``+tag -tag`` (tags) or ``- old`` / ``+ new``
    (text). Lines are made only when they scroll into view; the width grows with the longest line seen."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"diff-view--path", "diff-view--added", "diff-view--removed",
                                             "diff-view--muted", "diff-view--added-part", "diff-view--removed-part"}
    DEFAULT_CSS = """
    DiffView {
        height: 1fr;
    }
    DiffView > .diff-view--path { text-style: bold; }
    DiffView > .diff-view--added { color: $text-success; }
    DiffView > .diff-view--removed { color: $text-error; }
    DiffView > .diff-view--muted { color: $text-muted; }
    /* text view: what changed inside the line (reverse also shows without colour) */
    DiffView > .diff-view--added-part { color: $text-success; text-style: reverse bold; }
    DiffView > .diff-view--removed-part { color: $text-error; text-style: reverse bold; }
    """

    def __init__(self, edits: list[FileEdit], root: Path, *, mode: str = "tags", id: str | None = None) -> None:
        super().__init__(id=id)
        self.edits = edits
        self.root = root
        self.mode = mode
        self._widest = 0

    @property
    def lines_per_file(self) -> int:
        return 2 if self.mode == "tags" else 3

    def on_mount(self) -> None:
        self._resize()

    def _resize(self) -> None:
        self.virtual_size = Size(self._widest, len(self.edits) * self.lines_per_file)

    def set_mode(self, mode: str) -> None:
        """"tags" (changed tags) or "text" (the old and new caption line); keeps the file on top."""
        top_file = self.scroll_offset.y // self.lines_per_file
        self.mode = mode
        self._widest = 0
        self._resize()
        self.scroll_to(0, top_file * self.lines_per_file, animate=False)
        self.refresh()

    def line_parts(self, index: int) -> list[tuple[str, str]]:
        """Line ``index`` of the diff as (text, component class) parts (also what tests read)."""
        file_index, part = divmod(index, self.lines_per_file)
        if file_index >= len(self.edits):
            return []
        edit = self.edits[file_index]
        if part == 0:
            marker = "  (new caption file)" if edit.new_file else ""
            return [(_printable(relative_path(edit.path, self.root)), "diff-view--path"),
                    (marker, "diff-view--muted")]
        if self.mode == "text":
            return self._text_parts(edit, part == 1)
        if edit.reordered_only:
            shown = ", ".join(edit.new[:ORDER_PREVIEW]) + (", …" if len(edit.new) > ORDER_PREVIEW else "")
            return [("  ~ new order: " + _printable(shown), "diff-view--muted")]
        parts: list[tuple[str, str]] = [("  ", "")]
        for tag in edit.added:
            parts.append((f"+{_printable(tag)}  ", "diff-view--added"))
        kept = set(edit.new)
        for tag in edit.removed:  # a removed extra copy: the caption keeps the tag
            parts.append((f"-{_printable(tag)}{' (repeat)' if tag in kept else ''}  ", "diff-view--removed"))
        if order_changed(edit):
            parts.append(("~ order", "diff-view--muted"))
        return parts

    def _text_parts(self, edit: FileEdit, old_line: bool) -> list[tuple[str, str]]:
        """``  - old`` or ``  + new``, the changed words marked; when a line is wider than the view both
        start (after ``…``) a little before the change, so a tag removed far along the caption shows
        (cut at the same column, the two lines looked the same)."""
        old = caption_words(_printable(edit.old_text) if edit.caption.exists else "")
        new = caption_words(_printable(edit.new_text))
        first, old_end, new_end = changed_words(old, new)
        room = self.scrollable_content_region.width - 4 if self.is_mounted else 0
        at = window_start(old, new, first, room) if room > 0 else 0
        words, end = (old, old_end) if old_line else (new, new_end)
        kind = "diff-view--removed" if old_line else "diff-view--added"
        changed = "".join(words[first:end])
        marked = changed.rstrip(", \t")  # the separator after the last changed word is not marked
        parts = [("  - " if old_line else "  + ", kind), ("…" if at else "", "diff-view--muted"),
                 ("".join(words[at:first]), kind), (marked, kind + "-part"),
                 (changed[len(marked):] + "".join(words[end:]), kind)]
        if old_line and not edit.caption.exists:
            parts.append(("(no caption file)", "diff-view--muted"))
        return parts

    def line_text(self, index: int) -> str:
        return "".join(text for text, _ in self.line_parts(index)).rstrip()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        segments = [Segment(text, self.get_component_rich_style(cls) if cls else base)
                    for text, cls in self.line_parts(scroll_y + y) if text]
        strip = Strip(segments)
        if strip.cell_length > self._widest:
            self._widest = strip.cell_length
            self.call_later(self._grow)
        if strip.cell_length > scroll_x + width > 0:  # cut on the right: say so with …
            return Strip.join([strip.crop(scroll_x, scroll_x + width - 1),
                               Strip([Segment("…", self.get_component_rich_style("diff-view--muted"))])])
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _grow(self) -> None:
        if self._widest > self.virtual_size.width:
            self._resize()
