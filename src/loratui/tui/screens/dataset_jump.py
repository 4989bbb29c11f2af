"""Go to an image by name without filtering (g on the Dataset screen), and what the status line says of
the selection.

g opens a one-line box above the table; as the user types, the cursor goes to the first row shown whose
name (concept/file, as the table lists it) holds the text, any case. down / up go to the next / previous
match, Enter stays there, Esc puts the cursor back where it was. Only the rows shown are searched: a name
the filter hides is not jumped to, and the box says how many there are ("0 shown; the filter hides 2").
The selection is left as it is. A mixin of DatasetScreen (screens/dataset.py); it expects ``self.table``
and ``self.store``.
"""

from __future__ import annotations

import unicodedata
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Input, Static

from loratui.tui.services.dataset_store import ImageRow

JUMP_BINDING = Binding(
    "g", "jump", "Go to an image", id="dataset.jump", show=False, priority=True,
    tooltip="Go to an image by name, without filtering: type part of its file name; down / up: next / previous "
            "match, enter stays there, esc goes back. Only the rows shown are searched; the selection stays")


def fold(text: str) -> str:
    """A name as the box matches it: any case, and é typed or from a macOS file name (NFD) alike."""
    return unicodedata.normalize("NFC", text).casefold()


def row_name(row: ImageRow) -> str:
    """The name a row is found by: "reg/5_style/img001.png" as the table and the editor's title say it."""
    name = f"{row.folder}/{row.name}" if row.folder else row.name
    return f"reg/{name}" if row.reg else name


class JumpBox(Input):
    """The box's text goes to the screen as it is typed; its keys step between matches, stay or go back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "step(1)", "Next match", id="dataset.jump_next", show=False,
                tooltip="The next row whose name holds the text (from the last, the first)"),
        Binding("up", "step(-1)", "Previous match", id="dataset.jump_previous", show=False,
                tooltip="The previous row whose name holds the text"),
        Binding("escape", "cancel", "Back where it was", id="dataset.jump_cancel", show=False,
                tooltip="Close the box; the cursor goes back to the row it was on"),
    ]

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.screen.jump_typed(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.screen.jump_close(keep=True)

    def action_step(self, step: int) -> None:
        self.screen.jump_step(step)

    def action_cancel(self) -> None:
        self.screen.jump_close(keep=False)

    def _on_blur(self, event) -> None:  # a click or tab elsewhere: the cursor stays where the box put it
        super()._on_blur(event)
        self.screen.jump_close(keep=True)


class JumpBar(Horizontal):
    """The box and, at its right, what it found ("2 of 5", "no name holds it")."""

    DEFAULT_CSS = """
    JumpBar { height: 1; display: none; background: $boost; }
    JumpBar > JumpBox { width: 1fr; height: 1; border: none; padding: 0 1; background: $boost; }
    JumpBar > JumpBox:focus { border: none; }
    JumpBar > #jump-info { width: auto; max-width: 70%; height: 1; padding: 0 1; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield JumpBox(placeholder="go to: part of a file name", id="jump", select_on_focus=False)
        yield Static("", id="jump-info", markup=False)


class DatasetJump:
    """Mixin: g (go to an image by name) and the selection's words in the status line."""

    JUMP_BINDINGS: ClassVar[list[BindingType]] = [JUMP_BINDING]

    _jump_origin: int | None = None  # the key (id) of the row the cursor was on when g opened the box
    _jump_open = False
    _jump_return = None  # the widget focused when g opened the box
    _jump_names: dict[int, str]

    # ---- the selection in the status line -------------------------------------------------------

    def selection_words(self) -> str:
        """"3 selected", and "(1 hidden by the filter)" when the filter hides some: they stay selected (shown
        again with the filter cleared), and what acts on the selection acts on the ones shown."""
        selected, hidden = self.table.selected_count, self.table.hidden_selected_count
        return f"{selected:,} selected" + (f" ({hidden:,} hidden by the filter)" if hidden else "")

    # ---- go to an image -------------------------------------------------------------------------

    def action_jump(self) -> None:
        row = self.table.cursor_row
        self._jump_origin = id(row) if row is not None else None
        self._jump_return = self.focused  # the table, the tag editor (opened from it, back to it on close)
        self._jump_names = {}
        self._jump_open = True
        self.query_one(JumpBar).display = True
        box = self.query_one("#jump", JumpBox)
        with box.prevent(Input.Changed):
            box.value = ""
        self._jump_info("enter stays, esc goes back")
        self.set_focus(box)  # at once: the name typed next lands in the box

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "jump":  # g typed in a text box (the filter, the tag editor's) is a letter there
            from loratui.tui.widgets.keys_in_order import key_kept_below

            return not key_kept_below(self, action)
        return super().check_action(action, parameters)

    def jump_matches(self, text: str) -> list[int]:
        """Indexes of the rows shown whose name holds ``text`` (any case), in table order."""
        needle = fold(text.strip())
        if not needle:
            return []
        names = self._jump_names
        found = []
        for index, row in enumerate(self.table.rows):
            name = names.get(id(row))
            if name is None:
                name = names[id(row)] = fold(row_name(row))
            if needle in name:
                found.append(index)
        return found

    def jump_hidden(self, text: str) -> int:
        """How many images the filter hides whose name holds ``text``."""
        needle = fold(text.strip())
        shown = {id(row) for row in self.table.rows}
        return sum(1 for row in self.store.all_rows if id(row) not in shown and needle in fold(row_name(row)))

    def jump_typed(self, text: str) -> None:
        if not self._jump_open:
            return
        if not text.strip():
            self._jump_back()
            self._jump_info("enter stays, esc goes back")
            return
        matches = self.jump_matches(text)
        if matches:
            self.table.move_cursor(matches[0])
            self._jump_found(matches)
            return
        self._jump_back()  # as a search as you type does: no match, the cursor where it started
        hidden = self.jump_hidden(text)
        self._jump_info(f"0 shown; the filter hides {hidden:,}" if hidden else "no name holds it")

    def jump_step(self, step: int) -> None:
        """down / up in the box: the next / previous match after the cursor, round from the end."""
        matches = self.jump_matches(self.query_one("#jump", JumpBox).value)
        if not matches:
            return
        cursor = self.table.cursor_index
        if step > 0:
            index = next((i for i in matches if i > cursor), matches[0])
        else:
            index = next((i for i in reversed(matches) if i < cursor), matches[-1])
        self.table.move_cursor(index)
        self._jump_found(self.jump_matches(self.query_one("#jump", JumpBox).value))

    def jump_close(self, keep: bool) -> None:
        """Enter (``keep``: the cursor stays on the match) or esc (back to the row it was on)."""
        if not self._jump_open:
            return
        self._jump_open = False
        box = self.query_one("#jump", JumpBox)
        text = box.value.strip()
        if not keep:
            self._jump_back()
        elif text and not self.jump_matches(text):
            hidden = self.jump_hidden(text)
            self.app.notify(f"no image shown has {text!r} in its name" + (
                f"; the filter hides {hidden:,} that do{'es' if hidden == 1 else ''} (esc on the table clears it)"
                if hidden else ""), severity="warning")
        if self.focused is box:  # not after a click elsewhere: the focus stays where it went
            back = self._jump_return
            self.set_focus(back if back is not None and back in self.focus_chain else self.table)
        self._jump_return = None
        self.query_one(JumpBar).display = False
        self._jump_names = {}

    def _jump_back(self) -> None:
        if self._jump_origin is not None:
            self.table.move_cursor_to_key(self._jump_origin)

    def _jump_found(self, matches: list[int]) -> None:
        cursor = self.table.cursor_index
        place = matches.index(cursor) + 1 if cursor in matches else 1
        self._jump_info(f"{place:,} of {len(matches):,}" + ("; down/up: next" if len(matches) > 1 else ""))

    def _jump_info(self, text: str) -> None:
        self.query_one("#jump-info", Static).update(text)
