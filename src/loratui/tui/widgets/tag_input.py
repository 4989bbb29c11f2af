"""TagInput: an Input for one tag, with a dropdown of completions from a core ``TagVocab``.

The matching is core's (``TagVocab.complete``, substring mode: exact, prefix, word start, then
inside; a few milliseconds with 20,000 tags), so it runs synchronously on every keystroke, with no
debounce. The dropdown is a non-focusable OptionList mounted on the screen as an overlay and
placed by hand below the input, or above it when there is more room there (the add box sits at the
bottom of the tag editor). Focus never leaves the input: Up/Down move in the list, Tab (or Right
at the end of the text) takes the highlighted tag, Enter submits, Escape closes the list (a second
Escape goes on to the container: cancel a rename, leave the editor).

The typed text is only stripped; underscores and spaces stay as typed unless a completion is taken.
A paste of several lines (a tag per line, from a list) goes in as one list, the lines joined with
``separator`` (the owner's caption separator), so the owner adds each; Textual's Input would keep
the first line only and drop the rest without a word.

    tag_input = TagInput(placeholder="add a tag")
    tag_input.vocab = vocab                 # a loratui.core.captions.TagVocab
    tag_input.exclude = caption_tags        # not offered: the image has them already
    def on_tag_input_submitted(self, message: TagInput.Submitted) -> None: ... message.value
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.strip import Strip
from textual.style import Style as VisualStyle
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from loratui.core.captions import Completion, TagVocab

DROPDOWN_ROWS = 8
_NOT_DIM = Style(dim=False)
MAX_DROPDOWN_WIDTH = 60


def completion_label(completion: Completion) -> Text:
    """``long hair · general · 412 imgs``: the tag, its category if known, how many captions use it
    in the dataset ("unused": only the tagger knows it)."""
    text = Text(completion.tag, no_wrap=True, overflow="ellipsis")
    details = [completion.category_name] if completion.category_name else []
    details.append(f"{completion.in_dataset} imgs" if completion.in_dataset else "unused")
    text.append(" · " + " · ".join(details), style="dim")
    return text


class TagDropdown(OptionList, can_focus=False):
    """The completion list of one TagInput. It never takes focus; the input drives it."""

    DEFAULT_CSS = """
    TagDropdown {
        overlay: screen;
        position: absolute;
        display: none;
        width: 30;
        height: auto;
        max-height: 8;
        border: none;
        padding: 0;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        & > .option-list--option {
            padding: 0 1;
        }
        & > .option-list--option-highlighted {
            color: $block-cursor-foreground;
            background: $block-cursor-background;
            text-style: $block-cursor-text-style;
        }
        /* Before the user moves into the list, Tab takes the first row but Enter the typed text: the row
           looks like a cursor without focus, with that cursor's text style (high contrast's reverse makes
           it differ from the other rows, which share its background there). */
        &.-untouched > .option-list--option-highlighted {
            color: $foreground;
            background: $block-cursor-blurred-background;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    def __init__(self, owner: TagInput) -> None:
        super().__init__(classes="-untouched")
        self.owner = owner

    def get_visual_style(self, *component_classes: str, partial: bool = False) -> VisualStyle:
        """The rows' style, with a text-style's ``reverse`` kept: Textual 8.2's get_visual_style drops it, and
        the high-contrast theme's cursor without focus is "bold reverse" (its rows' background is the same)."""
        style = super().get_visual_style(*component_classes, partial=partial)
        if any(self.get_component_styles(name).text_style.reverse for name in component_classes):
            style += VisualStyle(reverse=True)
        return style

    def render_line(self, y: int) -> Strip:
        """The highlighted row at full strength: its faint " · N imgs", dimmed toward the cursor's colour,
        fades into it (high contrast in 16 colours: black dimmed toward yellow is yellow on yellow)."""
        line = super().render_line(y)
        if int(self.scroll_offset.y) + y != self.highlighted:
            return line
        return Strip([Segment(text, style + _NOT_DIM, control) if style is not None and style.dim
                      else Segment(text, style, control) for text, style, control in line], line.cell_length)

    def on_option_list_option_selected(self, message: OptionList.OptionSelected) -> None:
        """A mouse click on a row: take it (the keyboard path goes through the input)."""
        message.stop()
        self.owner.take_completion(message.option_index)


class TagInput(Input):
    """One tag, typed with completions; posts ``TagInput.Submitted`` on Enter."""

    BINDINGS: list[BindingType] = [
        Binding("down", "completion_move(1)", "Next completion", show=False, id="tag_input.next"),
        Binding("up", "completion_move(-1)", "Previous completion", show=False, id="tag_input.previous"),
        Binding("tab", "accept_completion", "Complete", id="tag_input.accept",
                tooltip="Put the highlighted completion into the box (Right at the end does too)"),
        Binding("escape", "close_completions", "Close list", show=False, id="tag_input.close"),
        # a text box's ctrl+z undoes the typing; only in an empty box does it go on (the screen's undo)
        Binding("ctrl+z", "undo_typing", "Undo typing", show=False, id="tag_input.undo_typing",
                tooltip="Undo what was typed in this box (a word at a time)"),
    ]

    class Submitted(Input.Submitted):
        """Enter in a TagInput. ``value``: the highlighted completion when the user moved into the
        list, else the typed text; stripped either way (may be empty). ``input``/``control``: the
        TagInput. Handle with ``on_tag_input_submitted``."""

    def __init__(self, value: str | None = None, *, vocab: TagVocab | None = None,
                 exclude: Collection[str] = (), rows: int = DROPDOWN_ROWS, **kwargs) -> None:
        """``kwargs`` go to Input (placeholder, id, classes, compact, ...)."""
        # Set before Input.__init__, which assigns the value (and so runs watch_value).
        self.vocab: TagVocab | None = vocab
        """Where completions come from; None: no completions."""
        self.exclude: Collection[str] = exclude
        """Tags not to offer (those the image has already)."""
        self.rows = rows
        self._completions: list[Completion] = []
        self._dropdown: TagDropdown | None = None
        self._moved = False            # the user moved into the list: Enter takes the highlighted row
        self._quiet_value: str | None = None  # don't reopen the list for this value (taken / dismissed)
        self._typed: list[str] = []    # earlier values, newest last: what ctrl+z goes back to
        self._restoring = False
        self.separator = ", "
        """What joins the lines of a multi-line paste: the caption separator the owner splits tags at."""
        self.submit_to: Callable[[TagInput.Submitted], None] | None = None
        """Called with the Submitted message on Enter instead of posting it: the owner acts before
        the next key reaches the box (a posted message is handled after keys already on the way)."""
        super().__init__(value, **kwargs)

    # ---- public ------------------------------------------------------------------------------

    @property
    def completions(self) -> list[Completion]:
        """What the dropdown shows now ([] when it is closed)."""
        return list(self._completions) if self.completions_open else []

    @property
    def completions_open(self) -> bool:
        return self._dropdown is not None and self._dropdown.display and bool(self._completions)

    @property
    def highlighted_completion(self) -> Completion | None:
        if not self.completions_open or self._dropdown.highlighted is None:
            return None
        return self._completions[self._dropdown.highlighted]

    def refresh_completions(self) -> None:
        """Match the current text again (after ``vocab`` or ``exclude`` changed)."""
        self._quiet_value = None
        self._update_completions()

    def close_completions(self) -> None:
        self._completions = []
        if self._dropdown is not None and self._dropdown.display:
            self._dropdown.display = False
        self._moved = False
        if self.is_mounted:
            self.refresh_bindings()

    def take_completion(self, index: int | None = None) -> None:
        """Put completion ``index`` (default: the highlighted one) into the box and close the list."""
        if not self.completions_open:
            return
        if index is None:
            index = self._dropdown.highlighted or 0
        tag = self._completions[index].tag
        self._quiet_value = tag
        self.value = tag
        self.cursor_position = len(tag)
        self.close_completions()

    # ---- matching and the dropdown -----------------------------------------------------------

    def watch_value(self, old: str, value: str) -> None:
        if not self._restoring:
            self._remember(old, value)
        self._update_completions()

    def _remember(self, old: str, value: str) -> None:
        """Keep ``old`` for ctrl+z, a word at a time: letters typed onto the end of a word do not
        each make a step."""
        if old == value:
            return
        continuing = (len(value) == len(old) + 1 and value.startswith(old) and old
                      and not old[-1].isspace() and old[-1] != "," and not value[-1].isspace()
                      and value[-1] != "," and bool(self._typed))
        if not continuing:
            self._typed.append(old)
            del self._typed[:-100]

    def clear_typing_history(self) -> None:
        """Forget what ctrl+z could go back to (the owner entered or dropped the text)."""
        self._typed.clear()

    @property
    def can_undo_typing(self) -> bool:
        return bool(self.value) or bool(self._typed)

    def action_undo_typing(self) -> None:
        self._restoring = True
        try:
            self.value = self._typed.pop() if self._typed else ""
        finally:
            self._restoring = False
        self.cursor_position = len(self.value)

    def _update_completions(self) -> None:
        text = self.value
        if (not self.is_mounted or not self.has_focus or self.vocab is None or not text.strip()
                or text == self._quiet_value):
            self.close_completions()
            return
        self._quiet_value = None
        found = self.vocab.complete(text, limit=self.rows, exclude=self.exclude)
        if not found or (len(found) == 1 and found[0].tag == text.strip()):
            self.close_completions()  # nothing to offer beyond what is typed
            return
        self._completions = found
        self._show()

    def _show(self) -> None:
        dropdown = self._dropdown
        if dropdown is None:
            dropdown = self._dropdown = TagDropdown(self)
            self.screen.mount(dropdown)
        labels = [completion_label(c) for c in self._completions]
        dropdown.set_options(Option(label) for label in labels)
        dropdown.highlighted = 0
        self._moved = False
        dropdown.add_class("-untouched")
        self._place(dropdown, max(cell_len(label.plain) for label in labels) + 2)
        dropdown.display = True
        self.refresh_bindings()

    def _place(self, dropdown: TagDropdown, wanted_width: int) -> None:
        """Below the input, or above it when there is more room above; never off the screen."""
        region = self.region
        screen = self.screen.size
        width = min(max(region.width, min(wanted_width, MAX_DROPDOWN_WIDTH)), screen.width)
        x = max(0, min(region.x, screen.width - width))
        rows = len(self._completions)
        below, above = screen.height - region.bottom, region.y
        if rows <= below or below >= above:
            rows = max(1, min(rows, below))
            y = region.bottom
        else:
            rows = min(rows, above)
            y = region.y - rows
        origin = self.screen.content_region  # absolute offsets start inside the screen's padding
        dropdown.styles.width = width
        dropdown.styles.height = rows
        dropdown.styles.offset = (x - origin.x, y - origin.y)

    def on_blur(self, event: events.Blur) -> None:
        self.close_completions()

    def on_unmount(self) -> None:
        if self._dropdown is not None and self._dropdown.is_attached:
            self._dropdown.remove()
        self._dropdown = None

    # ---- paste ---------------------------------------------------------------------------------

    def _on_paste(self, event: events.Paste) -> None:
        """Several lines: one list, in order, blank lines left out; one line: Input's own paste."""
        lines = [line.strip() for line in event.text.splitlines()]
        lines = [line for line in lines if line]
        if len(lines) < 2:
            if lines and ("\n" in event.text or "\r" in event.text):
                event.text = lines[0]  # "\n\nalpha": the line with text, not Input's (empty) first one
            return  # Input._on_paste inserts it
        token = self.separator.strip() or ","
        # a line ending in the separator ("red,") must not make an empty tag between it and the next
        joined = self.separator.join(line.removesuffix(token).rstrip() for line in lines)
        event.prevent_default()  # Input._on_paste would insert the first line only
        event.stop()
        if self.selection.is_empty:
            self.insert_text_at_cursor(joined)
        else:
            self.replace(joined, *self.selection)
        self.notify(f"pasted {len(lines)} lines as one list: Enter adds each", timeout=3)

    # ---- keys ----------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("completion_move", "accept_completion", "close_completions"):
            return self.completions_open  # else the key goes on (Tab: next field, Escape: the owner)
        if action == "undo_typing":
            return self.can_undo_typing  # an empty box with nothing typed: ctrl+z goes on to the screen
        return super().check_action(action, parameters)

    def action_completion_move(self, step: int) -> None:
        dropdown = self._dropdown
        current = dropdown.highlighted or 0
        if step < 0 and current == 0:
            self._moved = False  # Up from the first row: back to the typed text
        else:
            self._moved = True
            dropdown.highlighted = max(0, min(len(self._completions) - 1, current + step))
        dropdown.set_class(not self._moved, "-untouched")

    def action_accept_completion(self) -> None:
        self.take_completion()

    def action_close_completions(self) -> None:
        self._quiet_value = self.value  # stays closed until the text changes
        self.close_completions()

    def action_cursor_right(self, select: bool = False) -> None:
        if not select and self.completions_open and self.cursor_at_end and self.selection.is_empty:
            self.take_completion()
            return
        super().action_cursor_right(select)

    async def action_submit(self) -> None:
        if self.completions_open and self._moved:
            self.take_completion()
        self.close_completions()
        validation = self.validate(self.value) if "submitted" in self.validate_on else None
        submitted = self.Submitted(self, self.value.strip(), validation)
        if self.submit_to is not None:
            self.submit_to(submitted)  # now, before the next key: it may clear the box or move focus
        else:
            self.post_message(submitted)
