"""TagList: the tag editor's list of tags, one row each, with a cursor mark in its gutter.

An OptionList that never wraps (a row's screen line is its index minus the scroll, which the tag
editor's rename box relies on) and marks the highlighted row with ``▶`` (``>`` on the Linux
console, see ``cursor_glyph``) as well as its colour. Used by widgets.tag_editor.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from textual.binding import Binding, BindingType
from textual.strip import Strip
from textual.widgets import OptionList

from loratui.tui.services.terminal_graphics import ascii_only


def cursor_glyph() -> str:
    """The Linux console font lacks ▶ (the image table makes the same choice)."""
    return ">" if ascii_only() else "▶"


class TagList(OptionList, inherit_bindings=False):
    """The tags, one row each (no wrapping: a row's screen line is its index minus the scroll).

    The highlighted row has a ``▶`` in a two-cell gutter as well as its colour (no colour-only cues).
    """

    GUTTER = 2

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False, id="tags.cursor_up"),
        Binding("down", "cursor_down", "Down", show=False, id="tags.cursor_down"),
        Binding("home", "first", "First tag", show=False, id="tags.cursor_first"),
        Binding("end", "last", "Last tag", show=False, id="tags.cursor_last"),
    ]

    DEFAULT_CSS = """
    TagList {
        height: 1fr;
        max-height: 100%;
        border: none;
        padding: 0;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        &:focus { border: none; }
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._glyph = cursor_glyph()

    def _get_left_gutter_width(self) -> int:
        return self.GUTTER

    def render_line(self, y: int) -> Strip:
        line = super().render_line(y)
        index = int(self.scroll_offset.y) + y
        mark = self._glyph if index == self.highlighted and index < self.option_count else " "
        style = self.get_visual_style("option-list--option").rich_style
        return Strip.join([Strip([Segment(mark.ljust(self.GUTTER), style)], self.GUTTER), line])
