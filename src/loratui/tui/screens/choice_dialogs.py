"""The dialogs that ask a question answered by one key (``ChoiceDialog``, and ``OfferDialog`` for one the
app opens unasked), and the parts every dialog of the screens draws with: the framed box (``dialog_css``)
and the key line whose parts answer a click as their key does. (Moved from config_dialogs.py, which
re-exports every name.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.events import Click, Key
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Footer, Static

from loratui.tui.services.keymap import bound_key
from loratui.tui.widgets.textual_compat import DropsTypeAhead


def dialog_css(cls: str) -> str:
    return f"""
    {cls} {{ align: center middle; }}
    {cls} > Vertical {{
        width: 100%; max-width: 100; height: auto; max-height: 100%;
        border: round $primary; border-title-style: bold; background: $surface; padding: 0 1;
    }}
    {cls} Input {{ margin: 1 0 0 0; }}
    {cls} .dialog-muted {{ color: $text-muted; }}
    {cls} .dialog-message {{ height: auto; min-height: 1; color: $text-muted; }}
    {cls} .dialog-message.-error {{ color: $text-error; text-style: bold; }}
    {cls} .dialog-warning {{ height: auto; margin-top: 1; color: $text-warning; }}
    """


def fit_scroll_body(screen: ModalScreen, box: Widget, body: Widget, most: int | None = None) -> None:
    """Give ``body`` (the part of a dialog's ``box`` that scrolls) the rows the terminal leaves once the
    box's border, its other parts (the key line) and the screen's footer are drawn, at most ``most``.

    A box of ``height: auto; max-height: 100%`` is cut at the screen's edge, but a child of its own
    height is not shrunk: the key line under it was cut off at 60x20, and the end of the body could not
    be scrolled to. Call it on a resize and when the parts change (it sets the body's max-height)."""
    if not screen.is_attached:
        return
    footer = sum(child.outer_size.height for child in screen.query_children(Footer) if child.display)
    others = sum(child.outer_size.height + child.styles.margin.top + child.styles.margin.bottom
                 for child in box.children if child is not body and child.display)
    room = (screen.size.height - footer - box.styles.gutter.height - others
            - body.styles.margin.top - body.styles.margin.bottom)
    room = max(min(room, most) if most is not None else room, 2)
    current = body.styles.max_height
    if current is None or current.value != room:
        body.styles.max_height = room


ANSWER = "dialog_answer"  # the style meta of a clickable answer in a dialog's key line: the key it stands for
CANCEL = "\x1b"           # ... the answer of its cancel part (no choice key is an escape character)


def answer_part(text: str, answer: str) -> Text:
    """``text`` drawn as it was, answering ``answer`` when clicked (its meta, read back by ``clicked_answer``)."""
    return Text(text, style=Style(meta={ANSWER: answer}))


def clicked_answer(event: Click) -> str | None:
    """The answer a click on a key line picked, None for a click anywhere else."""
    return event.style.meta.get(ANSWER) if event.style else None


def key_line(choices: Sequence[tuple[str, str]], cancel: str) -> Text:
    """"s  save   d  discard   esc  cancel" in bold, each part clickable; ``cancel``: the dialog's cancel
    key ("" when the keymap left it none: the part still reads and clicks as "cancel")."""
    line = Text(style="bold")
    for key, label in choices:
        line.append_text(answer_part(f"{key}  {label}", key))
        line.append("   ")
    return line.append_text(answer_part(f"{cancel}  cancel" if cancel else "cancel", CANCEL))


class ChoiceDialog(ModalScreen[str | None]):
    """A question answered by one key: ``choices`` is [(key, what it does)]; escape answers None. A click
    on a choice in the key line answers as its key does (they look like buttons: the h5 hunt clicked them)."""

    DEFAULT_CSS = dialog_css("ChoiceDialog") + """
    ChoiceDialog .choice-body { height: auto; max-height: 12; margin-bottom: 1; }
    ChoiceDialog .choice-keys { height: auto; dock: bottom; }  /* the keys stay; the body scrolls (fit_body) */
    """
    BODY_ROWS = 12  # the body's height at most; less where the terminal is short
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="settings.dialog_cancel", tooltip="Close; nothing is done"),
    ]

    def __init__(self, title: str, body: str, choices: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.dialog_title = title
        self.body = body
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.dialog_title
            yield VerticalScroll(Static(Text(self.body)), classes="choice-body", can_focus=False)
            yield Static(self.keys_text(), classes="choice-keys")
        yield Footer()

    def keys_text(self) -> Text:
        return key_line(self.choices, self.cancel_key())

    def on_mount(self) -> None:
        self.call_after_refresh(self.fit_body)

    def on_resize(self) -> None:
        self.call_after_refresh(self.fit_body)

    def fit_body(self) -> None:
        box = self.query_one(Vertical)
        fit_scroll_body(self, box, box.query_one(".choice-body"), self.BODY_ROWS)

    def cancel_key(self) -> str:
        """"esc", or the key keymap.toml gives settings.dialog_cancel."""
        return bound_key(self, "settings.dialog_cancel")

    def on_key(self, event: Key) -> None:
        for key, _ in self.choices:
            if event.key == key or event.character == key:
                event.stop()
                self.dismiss(key)
                return

    def on_click(self, event: Click) -> None:
        answer = clicked_answer(event)
        if answer is not None:
            event.stop()
            self.answer_click(answer)

    def answer_click(self, answer: str) -> None:
        """A click on a part of the key line: what its key does."""
        if answer == CANCEL:
            self.action_cancel()
        else:
            self.dismiss(answer)

    def action_cancel(self) -> None:
        self.dismiss(None)


class OfferDialog(DropsTypeAhead, ChoiceDialog):
    """A ChoiceDialog the app opens unasked (a draft found at start-up): keys read before it was shown
    are dropped, since they were typed for the screen under it (the hunt's `3 ctrl+g dim` deleted a draft
    with its `d`), and a key in ``confirm`` ({key: what it does}) is only answered after a `y` (a delete
    cannot be undone). Other keys answer at once, as in ChoiceDialog."""

    def __init__(self, title: str, body: str, choices: Sequence[tuple[str, str]], *,
                 confirm: dict[str, str] | None = None) -> None:
        super().__init__(title, body, choices)
        self.confirm = dict(confirm or {})
        self.asking: str | None = None  # a confirm key pressed: y answers it, any other key goes back
        # keys read before the dialog was opened were typed for the screen under it (a d read between
        # opening and mounting was typed a few milliseconds before it showed, and still asks y)
        self.start_dropping_typed_ahead()

    def typed_ahead_dropped(self) -> None:
        self._show_keys()

    def on_key(self, event: Key) -> None:
        if self.drop_typed_ahead(event):
            return
        if self.asking is not None:
            event.stop()
            event.prevent_default()
            key, self.asking = self.asking, None
            if event.character == "y":
                self.dismiss(key)
            else:
                self._show_keys()
            return
        for key, _ in self.choices:
            if key in self.confirm and (event.key == key or event.character == key):
                event.stop()
                event.prevent_default()
                self.asking = key
                self._show_keys()
                return
        # anything else: ChoiceDialog.on_key answers (Textual calls each class's handler, base last)

    def answer_click(self, answer: str) -> None:
        """A click answers as its key does: a confirm key asks y first, then "yes" answers and "back" goes back."""
        if self.asking is not None:
            key, self.asking = self.asking, None
            if answer == "y":
                self.dismiss(key)
            else:
                self._show_keys()
        elif answer in self.confirm:
            self.asking = answer
            self._show_keys()
        else:
            super().answer_click(answer)

    def keys_text(self) -> Text:
        if self.asking is not None:
            text = Text(style="bold")
            text.append_text(answer_part(f"y  yes, {self.confirm[self.asking]} (cannot be undone)", "y"))
            return text.append("   ").append_text(answer_part("any other key  back", CANCEL))
        text = super().keys_text()
        if self.dropped:
            text.append(f"\n({self.dropped} key(s) typed before this appeared were ignored)")
        return text

    def _show_keys(self) -> None:
        self.query_one(".choice-keys", Static).update(self.keys_text())
