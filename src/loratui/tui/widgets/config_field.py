"""One field of the settings form: its value, editing by keys, its mark when it differs from the file, its messages.

Everything a field knows comes from core's field table (``loratui.core.config.FIELDS``): the kind
decides how it is edited (bool: space or a click on the value flips ``[x] true``; choices: left/right
step through them, enter or a click on the value lists them, a letter jumps; anything else is typed), the text typed is checked by core's
``coerce_value`` and its message is shown under the field as core words it
(``network_dim: must be an integer from 1 to 1024, got 'sixteen'``). A field whose value differs
from the file shows ``*`` before its name and ``changed: the file has ...`` under it (a word, not
colour only). Help comes from core.config.describe_field, the text `loratui config explain KEY` prints.

Why one widget per field that draws itself and edits its own line (not Input / Select / Switch):
the form holds 80 fields, and 80 Inputs plus their rows cost Textual 0.7-1.6 s to mount here; this
widget costs about 1 ms. It posts ``ConfigField.Edited`` when the user changes it; values set from
code (``show_value``) post nothing, so a load or a preset is one update, not eighty.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget

from loratui.core.config import PATH_KEYS, FieldSpec
from loratui.tui.widgets.config_field_text import (  # re-exported: importers name them from here
    INVALID, NO_FILE, check_text, parse_text, value_text,
)
from loratui.tui.widgets.keys_in_order import run_own_binding

TYPE_AHEAD_S = 1.0   # letters typed on a choice field within this of each other spell one prefix
# the kinds whose value is a number or a size: the first key typed after entering one replaces its value
NUMERIC = ("int", "float", "warmup", "resolution")

# The parts of a field's line are styled by component classes of its parent (the form), not of each field:
# Textual works a widget's component styles out again at every restyle of it (one node per class), three per
# field made ~300 for the form, a third of the work of Settings' first visit; the form's are four. What the
# field's own style gave them is in theirs: the focused field's value box (ConfigField:focus) is
# ``--value-focus``, and the cursor, drawn in the focused field only, is bold as that field's text is.
PART_CLASSES = frozenset({"config-field--value", "config-field--value-focus", "config-field--cursor",
                          "config-field--note"})


def parts_css(owner: str) -> str:
    """The DEFAULT_CSS of PART_CLASSES for ``owner``, the widget type the fields are children of."""
    return f"""
    {owner} > .config-field--value {{ background: $boost; color: $text; text-style: not bold; }}
    {owner} > .config-field--value-focus {{ background: $primary 30%; color: $text; text-style: not bold; }}
    {owner} > .config-field--cursor {{ background: $foreground; color: $background; text-style: bold; }}
    {owner} > .config-field--note {{ color: $text-muted; text-style: not bold; }}
    """


class ConfigField(Widget, can_focus=True):
    """A form row ``* key   value`` and, below it, its problems and whether it differs from the file."""

    DEFAULT_CSS = """
    ConfigField { height: auto; padding: 0 1 0 0; }
    ConfigField.-invalid, ConfigField.-crossed { color: $text-error; }
    ConfigField:focus { text-style: bold; }
    """
    # the styles of the parts of the line (value box, cursor, note) are the form's (PART_CLASSES), not the field's
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "activate", "Flip / list", show=False, id="settings.field_activate",
                tooltip="true/false fields flip; fields with choices list them"),
        Binding("enter", "submit", "Next field", show=False, id="settings.field_next",
                tooltip="Lists the choices of a choice field, else moves on (space flips a true/false field)"),
        # handled in _edit_key (readline's ctrl+u); bound to show in the footer on a typed field
        Binding("ctrl+u", "clear_start", "Clear", id="settings.field_clear",
                tooltip="Delete the text before the cursor (all of it with the cursor at the end)"),
        Binding("down", "move(1)", "Next field", show=False, id="settings.field_down",
                tooltip="The field below (the form scrolls to it)"),
        Binding("up", "move(-1)", "Previous field", show=False, id="settings.field_up",
                tooltip="The field above (the form scrolls to it)"),
    ]
    LABEL_MAX = 33

    class Edited(Message):
        """The user changed this field (its value is valid or not: see ``field.value``)."""

        def __init__(self, field: ConfigField) -> None:
            super().__init__()
            self.field = field

    def __init__(self, spec: FieldSpec, value: Any, file_value: Any = NO_FILE, *, widget_id: str | None = None) -> None:
        super().__init__(id=widget_id or f"cf-{spec.section}-{spec.name}", classes="config-field")
        self.spec = spec
        self.value: Any = value
        self.file_value: Any = file_value
        self.text = self.text_of(value)
        self.cursor = len(self.text)
        self.problem: str | None = None
        self.cross: list[str] = []
        self.info = ""
        self.replace_next = False  # a number field just entered: the first character typed replaces it
        self._typed_prefix, self._typed_at = "", 0.0  # a choice field's type-ahead
        self._note_count = 0
        self._entered = True  # the next focus comes from elsewhere
        self.BINDING_GROUP_TITLE = f"Field {spec.name}"  # F1's heading (the widget id would read "Cf network ...")

    # ---- what the value means (a LyCORIS network_args field, lycoris_fields.py, overrides these) ----

    def check(self, text: str) -> tuple[Any, str | None]:
        return check_text(self.spec, text)

    def text_of(self, value: Any) -> str:
        return value_text(self.spec, value)

    def is_on(self) -> bool:
        """A true/false field's state."""
        return bool(self.value)

    def bool_value(self, on: bool) -> Any:
        """The value a true/false field holds for on/off."""
        return on

    def describe(self) -> tuple[str, str]:
        """(head line, help) shown while the field is focused: `loratui config explain KEY`'s text."""
        from loratui.core.config import describe_field

        return describe_field(self.spec)

    def style_of(self, component: str):
        """A part's Rich style (PART_CLASSES: the parent's component classes, which Textual caches per style
        change); the value box's is ``--value-focus`` while this field has the focus."""
        if component == "config-field--value" and self.has_focus:
            component = "config-field--value-focus"
        return self.parent.get_component_rich_style(component)

    @property
    def key(self) -> tuple[str, str]:
        return self.spec.section, self.spec.name

    @property
    def changed(self) -> bool:
        return self.file_value is not NO_FILE and self.value is not INVALID and self.value != self.file_value

    @property
    def revertable(self) -> bool:
        """Whether the file has another value to put back: a changed value, or text core refuses
        (which is never the file's value, though ``changed`` leaves it to the "invalid" count)."""
        return self.file_value is not NO_FILE and (self.value is INVALID or self.value != self.file_value)

    @property
    def typed(self) -> bool:
        """Whether the value is typed (not a true/false or a choice)."""
        return self.spec.kind != "bool" and not self.spec.choices

    # ---- keys -------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "activate":
            return not self.typed
        if action == "clear_start":
            return self.typed
        return True

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Printable keys go into a typed field (and pick a choice by its letter): the footer then leaves
        out the app's 1-4 and ? (it shows f1 Help and esc, as over the Caption screen's inputs)."""
        if self.spec.kind == "bool":
            return False
        return character is not None and character.isprintable()

    def action_activate(self) -> None:
        if self.spec.kind == "bool":
            self.user_sets(self.bool_value(not self.is_on()))
        elif self.spec.choices:
            self.show_choices()

    def show_choices(self) -> None:
        """List the choices in a picker, pushed while the key that asked is handled: the keys typed right
        after it ("enter lion") go to the picker. A message asking the screen pushed it later, and those
        letters went to this field's type-ahead first (the value became Lion, the picker got "on")."""
        from loratui.tui.screens.config_dialogs import PickFromList

        choices = {str(c): c for c in self.spec.choices}

        def chosen(picked: str | None) -> None:
            if picked is not None and choices[picked] != self.value:
                self.user_sets(choices[picked])
            self.focus()

        self.app.push_screen(PickFromList(self.spec.name, [(k, k) for k in choices], current=str(self.value)), chosen)

    def action_move(self, step: int) -> None:
        """Up/Down go from field to field, as rows do in the Dataset table (they scrolled the form
        and left the focus on a choice field, where the letters typed next changed its value)."""
        if step > 0:
            self.screen.focus_next(ConfigField)
        else:
            self.screen.focus_previous(ConfigField)

    def action_submit(self) -> None:
        """Enter moves on, as from a typed field; a choice field lists its choices (space flips a
        true/false one: Enter flipped it, so Enter pressed to move on changed a value)."""
        if self.spec.choices:
            self.action_activate()
        else:
            self.screen.focus_next()

    def action_clear_start(self) -> None:
        if self.typed:
            self.cursor, text = 0, self.text[self.cursor:]
            self.replace_next = False
            self.user_types(text)

    def on_focus(self, event: events.Focus) -> None:
        # entered from another widget (tab, enter, up/down, ctrl+g): as in a form's number box, what is
        # typed first replaces the value (0.0001 then 5e-5 read 0.00015e-5); arrows or backspace keep it
        # for editing. Back from a dialog or the terminal regaining focus, the edit goes on as it was.
        if self._entered and not event.from_app_focus:
            self.replace_next = self.spec.kind in NUMERIC and bool(self.text)
            self.cursor = len(self.text)
        self._entered = False

    def on_blur(self) -> None:
        if self.screen.focused is not self:  # focus went to another widget (not a dialog over the screen)
            self._entered = True
            self.replace_next = False

    async def on_key(self, event: events.Key) -> None:
        # this field's own bindings (enter, space, up/down) run as it reads the key, as keys_in_order has an
        # Input do: on the App's pass, behind a busy screen, they came after the letters typed next
        handled = (not event.is_printable or event.character == " ") and await run_own_binding(self, event)
        handled = handled or (self._choice_key(event) if self.spec.choices else
                              self._edit_key(event) if self.typed else False)
        if handled:
            event.stop()
            event.prevent_default()

    def _choice_key(self, event: events.Key) -> bool:
        choices = list(self.spec.choices)
        index = choices.index(self.value) if self.value in choices else 0
        if event.key in ("left", "right"):
            self._typed_prefix = ""
            self.user_sets(choices[(index + (1 if event.key == "right" else -1)) % len(choices)])
            return True
        if event.is_printable and event.character and event.character != " ":
            hit = self._type_ahead(choices, index, event.character.lower())
            if hit is not None and hit != self.value:
                self.user_sets(hit)
            return True
        return False

    def _type_ahead(self, choices: list, index: int, letter: str) -> Any:
        """The choice the letters typed so far spell (within TYPE_AHEAD_S of each other): "constant" is
        constant, not the last letter's choice. One letter (or the same one again) steps through the
        choices starting with it, as before."""
        now = time.monotonic()
        prefix = self._typed_prefix + letter if now - self._typed_at <= TYPE_AHEAD_S else letter
        self._typed_at = now
        if len(prefix) > 1 and prefix != letter * len(prefix):
            hits = [c for c in choices if str(c).lower().startswith(prefix)]
            if hits:
                self._typed_prefix = prefix
                return next((c for c in hits if str(c).lower() == prefix), hits[0])
            prefix = letter  # nothing starts so: the letter starts a new prefix
        self._typed_prefix = prefix
        order = choices[index + 1:] + choices[: index + 1]
        return next((c for c in order if str(c).lower().startswith(letter)), None)

    def _edit_key(self, event: events.Key) -> bool:
        text, at, key = self.text, self.cursor, event.key
        replace, self.replace_next = self.replace_next, False
        if event.is_printable and event.character and replace:
            text, at = event.character, 1
        elif event.is_printable and event.character:
            text, at = text[:at] + event.character + text[at:], at + 1
        elif key == "backspace" and at:
            text, at = text[: at - 1] + text[at:], at - 1
        elif key in ("delete", "ctrl+d"):
            text = text[:at] + text[at + 1:]
        elif key == "left":
            at = max(0, at - 1)
        elif key == "right":
            at = min(len(text), at + 1)
        elif key in ("home", "ctrl+a"):
            at = 0
        elif key in ("end", "ctrl+e"):
            at = len(text)
        elif key == "ctrl+u":
            text, at = text[at:], 0
        elif key == "ctrl+k":
            text = text[:at]
        elif key == "ctrl+w":
            start = len(text[:at].rstrip().rsplit(" ", 1)[0]) if " " in text[:at].rstrip() else 0
            text, at = text[:start] + text[at:], start
        elif key != "backspace":
            return False
        self.cursor = at
        if text != self.text:
            self.user_types(text)
        else:
            self.refresh()
        return True

    def on_paste(self, event: events.Paste) -> None:
        if not (self.typed and event.text):
            return
        event.stop()
        lines = [line.strip() for line in event.text.splitlines() if line.strip()]
        if len(lines) > 1 and self.spec.kind != "str_list":
            self.app.bell()
            self.notify(f"{self.spec.name}: a paste of {len(lines)} lines does not fit this one-line field: nothing "
                        "pasted (copy one line)", severity="warning")
            return
        # a list field takes every line, each as its own element(s): the field separates them by spaces
        piece = " ".join(lines) if len(lines) > 1 else (event.text.splitlines() or [""])[0]
        if self.replace_next:
            self.text, self.cursor, self.replace_next = "", 0, False
        at = self.cursor
        self.cursor = at + len(piece)
        self.user_types(self.text[:at] + piece + self.text[at:])

    def on_click(self, event: events.Click) -> None:
        """Focus; one click on a true/false value also flips it, as space does (as Caption's switches flip),
        and one on a choice field's value lists its choices, as enter does; a click on the label only focuses."""
        self.focus()
        offset, width = event.get_content_offset(self), max(self.size.width, 20)  # width: as _build draws it
        start = self.label_width(width)
        if not self.typed and offset is not None and offset.y == 0 \
                and start <= offset.x < start + len(self._value_text(width - start).plain):
            event.stop()
            self.action_activate()

    # ---- changes --------------------------------------------------------------------------------

    def user_types(self, text: str) -> None:
        self.text = text
        self.cursor = min(self.cursor, len(text))
        self.value, self.problem = self.check(text)
        self._edited()

    def user_sets(self, value: Any) -> None:
        self.value, self.problem = value, None
        self.text = self.text_of(value)
        self.cursor = len(self.text)
        self._edited()

    def _edited(self) -> None:
        self._refresh_marks()
        self.post_message(self.Edited(self))

    def show_value(self, value: Any) -> None:
        """Show ``value`` (already valid) without posting Edited."""
        self.value, self.problem = value, None
        self.text = self.text_of(value)
        self.cursor = len(self.text)
        self._refresh_marks()

    def restore_text(self, text: str) -> None:
        """Text from a draft, checked as if typed (a true/false field takes "true"/"false"); posts nothing."""
        if self.spec.kind == "bool" and text.strip() in ("true", "false"):
            self.show_value(self.bool_value(text.strip() == "true"))
            return
        self.text, self.cursor = text, len(text)
        self.value, self.problem = self.check(text)
        self._refresh_marks()

    def set_file_value(self, file_value: Any) -> None:
        self.file_value = file_value
        self._refresh_marks()

    def set_cross(self, problems: list[str]) -> None:
        if problems != self.cross:
            self.cross = problems
            self._refresh_marks()

    def set_info(self, info: str) -> None:
        if info != self.info:
            self.info = info
            self._refresh_marks()

    def focus_editor(self) -> None:
        self.focus()

    # ---- drawing ----------------------------------------------------------------------------------

    def note_lines(self) -> list[str]:
        lines = []
        if self.problem:
            lines.append(self.problem)
        lines.extend(self.cross)
        if self.changed:
            lines.append(f"changed: the file has {self.text_of(self.file_value) or '(unset)'}")
        if self.info:
            lines.append(self.info)
        return lines

    def _refresh_marks(self) -> None:
        self.set_class(self.problem is not None, "-invalid")
        self.set_class(bool(self.cross), "-crossed")
        self.set_class(self.changed, "-changed")
        self.refresh(layout=True)
        count = len(self.note_lines())
        if count != self._note_count:  # rows above the focused field may have come or gone: keep it shown
            self._note_count = count
            keep = getattr(self.parent, "keep_focused_in_view", None)
            if keep is not None:
                keep()

    def label_width(self, width: int) -> int:
        return max(14, min(self.LABEL_MAX, width - 20))

    def render(self) -> Text:
        return self._build(self.size.width)

    def get_content_height(self, container, viewport, width: int) -> int:
        """The height for ``width``: the text is built for that width (after a resize Textual asks
        before the widget has its new size, and a value line padded to the old, wider size wrapped:
        Settings showed blank rows between fields until the next key)."""
        text = self._build(width)
        return len(text.wrap(self.app.console, max(width, 1)))

    def _build(self, width: int) -> Text:
        width = max(width, 20)
        label_w = self.label_width(width)
        name = self.spec.name
        if len(name) > label_w - 3:
            name = name[: label_w - 4] + "…"
        line = Text(("* " if self.changed else "  ") + name.ljust(label_w - 2), no_wrap=True)
        line.append(self._value_text(width - label_w))
        out = Text(no_wrap=False)
        out.append_text(line)
        note_style = self.style_of("config-field--note")
        for note in self.note_lines():
            out.append("\n")
            out.append("  " + note, style=None if (self.problem or self.cross) else note_style)
        return out

    def _value_text(self, room: int) -> Text:
        room = max(room, 4)
        box = self.style_of("config-field--value")
        if self.spec.kind == "bool":
            return Text(" [x] true " if self.is_on() else " [ ] false", style=box)
        if self.spec.choices:
            shown = f" {self.text} " + ("◂▸" if self.has_focus else "")
            return Text(shown.ljust(min(room, len(shown) + 1))[:room], style=box)
        text = self.text
        if self.has_focus and self.replace_next:  # shown selected: the first key typed replaces it
            out = Text(" ", style=box)
            out.append(text[: room - 3], style=self.style_of("config-field--cursor"))
            return out.append(" " * max(0, room - 1 - min(len(text), room - 3)), style=box)
        if not self.has_focus:
            if len(text) <= room - 2:
                shown = text
            elif (self.spec.section, self.spec.name) in PATH_KEYS:  # a path: its end names the file
                shown = "…" + text[-(room - 3):]
            else:
                shown = text[: room - 3] + "…"
            if not text and self.spec.optional:
                return Text(" unset".ljust(room), style=box + self.style_of("config-field--note"))
            return Text(f" {shown}".ljust(room), style=box)
        start = max(0, self.cursor - (room - 3))  # keep the cursor in view
        window = text[start: start + room - 2]
        at = self.cursor - start
        out = Text(" ", style=box)
        out.append(window[:at], style=box)
        out.append(window[at: at + 1] or " ", style=self.style_of("config-field--cursor"))
        out.append(window[at + 1:].ljust(room - 3 - at)[: max(0, room - 3 - at)], style=box)
        return out
