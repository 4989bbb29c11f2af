"""Small form controls for the bulk operation forms, and the helpers that split what is typed there.

``BulkChoice`` (one line of ``(x)`` options) and ``BulkToggle`` (a ``[x]`` check box) are one line
high and leave Enter alone, so it can apply the form; ``LastItemSuggester`` completes the last item
of a comma list from the dataset's tags; ``split_items`` splits a comma list of tags or patterns
(brackets and /regex/ kept whole) and ``split_tag_list`` splits tags as a caption line is split.
Used by screens.bulk_op.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.suggester import Suggester
from textual.widget import Widget

from loratui.core.captions import split_tags


def split_items(text: str) -> list[str]:
    """Comma-separated items, stripped, empties dropped; a comma inside brackets or a /regex/ stays.

    ``a, /x{1,3}/, (b, c:1.2)`` gives three items. An unbalanced bracket (an emoticon such as
    ``:(``) makes the whole text split at every comma instead.
    """
    closers = {"(": ")", "[": "]", "{": "}"}
    items: list[str] = []
    stack: list[str] = []
    in_regex = False
    start = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if in_regex:
            if ch == "/" and (text[i + 1:].lstrip()[:1] in ("", ",")):
                in_regex = False
        elif ch == "/" and not stack and not text[start:i].strip():
            in_regex = True
        elif ch in closers:
            stack.append(closers[ch])
        elif stack and ch == stack[-1]:
            stack.pop()
        elif ch == "," and not stack:
            items.append(text[start:i])
            start = i + 1
        i += 1
    items.append(text[start:])
    if stack or in_regex:
        items = text.split(",")
    return [item.strip() for item in items if item.strip()]


def split_tag_list(text: str) -> list[str]:
    """Tags typed as a comma list, split as a caption line is (``(a, b:1.2)`` stays one tag)."""
    return split_tags(text, ",")


class LastItemSuggester(Suggester):
    """Completes the last item of a comma list from ``known_tags(prefix)`` (the dataset's tags)."""

    def __init__(self, known_tags: Callable[[str], list[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.known_tags = known_tags

    async def get_suggestion(self, value: str) -> str | None:
        stem = value.rpartition(",")[2].lstrip()
        if not stem:
            return None
        try:
            candidates = self.known_tags(stem)
        except Exception:  # noqa: BLE001 - a completion source must never break typing
            return None
        for tag in candidates[:50]:
            if tag != stem and tag.startswith(stem):
                return value[: len(value) - len(stem)] + tag
        return None


def option_lines(items: Sequence[str], width: int, gap: int = 2) -> list[list[int]]:
    """The items' indexes, packed into lines of at most ``width`` columns (``gap`` between two on a line);
    an item wider than a line has one of its own."""
    lines: list[list[int]] = [[]]
    used = 0
    for index, item in enumerate(items):
        size = len(item)
        if lines[-1] and used + gap + size > width:
            lines.append([])
            used = 0
        used += (gap if lines[-1] else 0) + size
        lines[-1].append(index)
    return lines


class BulkChoice(Widget, can_focus=True):
    """A line of options, ``(x) one  ( ) two``: left/right (or space) change it; Enter is left alone.
    Where the line is narrower than the options (a 60-column terminal) they go on as many lines as they
    need, each whole: the last ones' labels were cut off, leaving a blank ``( )`` (hunt h4)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "step(-1)", "Previous option", show=False, id="bulk.choice_previous"),
        Binding("right,space", "step(1)", "Next option", show=False, id="bulk.choice_next"),
    ]
    DEFAULT_CSS = """
    BulkChoice {
        height: auto;
        width: 1fr;
        padding: 0 1;
        background: $boost;
    }
    BulkChoice:focus {
        background: $primary 30%;
    }
    """

    value: reactive[str] = reactive("", init=False)

    class Changed(Message):
        def __init__(self, choice: BulkChoice, value: str) -> None:
            super().__init__()
            self.choice = choice
            self.value = value

        @property
        def control(self) -> BulkChoice:
            return self.choice

    def __init__(self, options: Sequence[tuple[str, str]], value: str | None = None, *, id: str | None = None,
                 disabled: bool = False) -> None:
        super().__init__(id=id, disabled=disabled)
        self.options = list(options)
        self.set_reactive(BulkChoice.value, value if value is not None else self.options[0][0])

    def _items(self) -> list[str]:
        return [f"({'x' if value == self.value else ' '}) {label}" for value, label in self.options]

    def get_content_height(self, container, viewport, width: int) -> int:
        return len(option_lines(self._items(), width))

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        items = self._items()
        for number, line in enumerate(option_lines(items, self.content_size.width or sum(map(len, items)))):
            if number:
                text.append("\n")
            for index in line:
                if index != line[0]:
                    text.append("  ")
                chosen = self.options[index][0] == self.value
                style = ("bold reverse" if self.has_focus else "bold") if chosen else ""
                text.append(items[index], style=style)
        return text

    def action_step(self, delta: int) -> None:
        values = [value for value, _ in self.options]
        index = values.index(self.value) if self.value in values else 0
        self.value = values[(index + delta) % len(values)]

    def watch_value(self, value: str) -> None:
        self.post_message(self.Changed(self, value))


class BulkToggle(Widget, can_focus=True):
    """``[x] label``: space toggles; Enter is left alone (it applies the form)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle", "Toggle", show=False, id="bulk.toggle"),
    ]
    DEFAULT_CSS = """
    BulkToggle {
        height: 1;
        width: auto;
        min-width: 12;
        padding: 0 1;
        background: $boost;
    }
    BulkToggle:focus {
        background: $primary 30%;
    }
    """

    value: reactive[bool] = reactive(False, init=False)

    class Changed(Message):
        def __init__(self, toggle: BulkToggle, value: bool) -> None:
            super().__init__()
            self.toggle = toggle
            self.value = value

        @property
        def control(self) -> BulkToggle:
            return self.toggle

    def __init__(self, label: str, value: bool = False, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.label = label
        self.touched = False  # the user changed it (a default that follows another field stops following)
        self.set_reactive(BulkToggle.value, value)

    def render(self) -> Text:
        style = " ".join(part for part, on in (("bold", self.value), ("reverse", self.has_focus)) if on)
        return Text(f"[{'x' if self.value else ' '}] {self.label}", style=style, no_wrap=True)

    def action_toggle(self) -> None:
        self.touched = True
        self.value = not self.value

    def watch_value(self, value: bool) -> None:
        self.post_message(self.Changed(self, value))
