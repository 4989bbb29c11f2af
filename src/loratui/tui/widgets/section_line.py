"""The Settings screen's section line: ``[Model]  Dataset   Network ...``, the shown section bracketed.

A name is never split: when the names do not fit one row (below 71 columns) they go on as many rows as
they need, whole, and a click on any row picks the name under it (posts ``SectionLine.Picked``). The
rows are laid out here, for the width the line has, so a click maps to the name drawn under it; a Static
wrapped by Rich showed one row of a two-row line (``height: 1``) and knew only the first row's columns.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget


def lay_out(titles: Sequence[tuple[str, str]], current: str, width: int) -> tuple[Text, list[tuple[int, int, int, str]]]:
    """The line's text for ``width`` columns and its spans (row, first column, end column, section);
    ``titles`` is [(section, title)] in order."""
    width = max(width, 1)
    text, spans, row, column = Text(no_wrap=True, overflow="crop"), [], 0, 0
    for section, title in titles:
        label = f"[{title}]" if section == current else f" {title} "
        if column and column + len(label) > width:  # the whole name on the next row
            text.rstrip()
            text.append("\n")
            row, column = row + 1, 0
        text.append(label, style="bold reverse" if section == current else "")
        spans.append((row, column, column + len(label), section))
        text.append(" ")  # after each name, the last one too (as the line always drew it)
        column += len(label) + 1
    return text, spans


class SectionLine(Widget):
    """The section names in one row, or in as many as the width needs; a click on a name picks it."""

    DEFAULT_CSS = """
    SectionLine { height: auto; }
    """

    class Picked(Message):
        """A click on a section's name."""

        def __init__(self, section: str) -> None:
            super().__init__()
            self.section = section

    def __init__(self, titles: Sequence[tuple[str, str]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.titles = list(titles)
        self.current = self.titles[0][0] if self.titles else ""
        self.spans: list[tuple[int, int, int, str]] = []  # as last drawn: what a click picks

    def show(self, current: str) -> None:
        if current != self.current:
            self.current = current
            self.refresh(layout=True)

    def render(self) -> Text:
        text, self.spans = lay_out(self.titles, self.current, self.size.width)
        return text

    def get_content_height(self, container, viewport, width: int) -> int:
        return lay_out(self.titles, self.current, width)[1][-1][0] + 1 if self.titles else 1

    def section_at(self, x: int, y: int) -> str | None:
        """The section whose name is drawn at content cell (x, y)."""
        return next((s for row, start, end, s in self.spans if row == y and start <= x < end), None)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        section = None if offset is None else self.section_at(offset.x, offset.y)
        if section is not None:
            event.stop()
            self.post_message(self.Picked(section))
