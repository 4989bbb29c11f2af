"""The settings screen's dialogs: a path to write to, the kohya import report, and a filtered list to pick
from (a field to go to, a choice). The question with lettered answers (ChoiceDialog, OfferDialog) and the
parts every dialog draws with are in choice_dialogs.py, re-exported here; the file picker is config_picker.py.

Each is a ModalScreen that dismisses with the answer (None on escape) and checks nothing itself
beyond what its caller hands it: ``PathDialog`` shows the one-line problem its ``check`` callback
returns for the typed path (core's words) and will not accept the path while there is one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.events import Click, Key
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from loratui.core.config import FIELDS
from loratui.tui.screens.choice_dialogs import (  # noqa: F401 - every dialog name stays importable from here
    ANSWER, CANCEL, ChoiceDialog, OfferDialog, answer_part, clicked_answer, dialog_css, key_line,
)
from loratui.tui.services.keymap import bound_key, class_bound_key


def expand_path(text: str, base: Path) -> Path:
    """A typed path: ~ expanded, relative to ``base``, not resolved (symlinks kept)."""
    path = Path(os.path.expanduser(text.strip()))
    return path if path.is_absolute() else base / path


class PathDialog(ModalScreen[Path | None]):
    """Ask for a path (relative to ``base``); ``check(path)`` returns a problem or None. ``select``: the
    proposed text starts selected (typing replaces it, ctrl+u clears it); ``suffix``: added to a typed
    name that does not end in it, in any case ("hand" -> "hand.toml", "lora_v1.5" -> "lora_v1.5.toml"),
    unless it ends in one of ``other_suffixes`` (another file type, for ``check`` to refuse by name)."""

    DEFAULT_CSS = dialog_css("PathDialog")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="settings.dialog_cancel", tooltip="Close; nothing is written"),
    ]

    def __init__(self, title: str, prompt: str, initial: str, base: Path,
                 check: Callable[[Path], str | None] | None = None, *, select: bool = False,
                 suffix: str = "", other_suffixes: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.select = select
        self.suffix = suffix
        self.other_suffixes = other_suffixes
        self.dialog_title = title
        self.prompt = prompt
        self.initial = initial
        self.base = base
        self.check = check
        self.path: Path | None = None
        self.problem: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.dialog_title
            yield Static(Text(self.prompt), classes="dialog-muted")
            yield Input(self.initial, id="path-input", select_on_focus=False, compact=True)
            yield Static("", id="path-message", classes="dialog-message")
        yield Footer()

    def on_mount(self) -> None:
        self._check()
        box = self.query_one(Input)
        box.focus()
        if self.select:
            from textual.widgets.input import Selection

            box.selection = Selection(0, len(box.value))

    def _check(self) -> None:
        text = self.query_one(Input).value
        message = self.query_one("#path-message", Static)
        if not text.strip():
            self.path, self.problem = None, "type a path"
        else:
            self.path = expand_path(text, self.base)
            name = self.path.name.lower()  # a dot inside a name ("v1.5") is not a file type
            if self.suffix and not name.endswith((self.suffix.lower(), *self.other_suffixes)) \
                    and not text.rstrip().endswith(("/", os.sep)):
                self.path = self.path.with_name(self.path.name + self.suffix)
            self.problem = self.check(self.path) if self.check else None
        if self.problem:
            message.update(Text(f"error: {self.problem}"))
        else:
            cancel = bound_key(self, "settings.dialog_cancel")
            message.update(Text(f"-> {self.path}   (enter: ok" + (f", {cancel}: cancel)" if cancel else ")")))
        message.set_class(bool(self.problem), "-error")

    @on(Input.Changed)
    def _changed(self) -> None:
        self._check()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._check()
        if self.problem or self.path is None:
            self.app.bell()
            return
        self.dismiss(self.path)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ImportReportDialog(ModalScreen[bool]):
    """What a kohya_ss import mapped and dropped (and why) before it replaces the form's values."""

    DEFAULT_CSS = dialog_css("ImportReportDialog") + """
    ImportReportDialog > Vertical { height: 1fr; max-height: 40; }
    ImportReportDialog #import-lines { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,a", "apply", "Apply to the form", id="settings.import_apply",
                tooltip="Put the imported values in the form (nothing is saved until you save)"),
        Binding("escape", "cancel", "Cancel", id="settings.dialog_cancel", tooltip="Close; the form is unchanged"),
    ]

    def __init__(self, source: Path, lines: Sequence[str], summary: str) -> None:
        super().__init__()
        self.source = source
        self.lines = list(lines)
        self.summary = summary

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"Import {self.source.name}"
            yield Static(Text(self.summary, style="bold"), id="import-summary")
            yield VerticalScroll(Static(Text("\n".join(self.lines)), id="import-report"), id="import-lines")
            yield Static(self.keys_text(), id="import-keys", classes="dialog-muted")
        yield Footer()

    def keys_text(self) -> Text:
        """"enter  apply to the form (then ctrl+s saves)   esc  cancel" with the keymap's keys, each part clickable."""
        from loratui.tui.screens.settings import SettingsScreen

        apply = bound_key(self, "settings.import_apply").replace("⏎", "enter")  # as the line always read
        save = class_bound_key(self.app, SettingsScreen, "settings.save") or "'config: save' (ctrl+p)"
        cancel = bound_key(self, "settings.dialog_cancel")
        line = answer_part(f"{apply}  apply to the form (then {save} saves)" if apply else
                           f"apply to the form (then {save} saves)", "apply")
        return line.append("   ").append_text(answer_part(f"{cancel}  cancel" if cancel else "cancel", CANCEL))

    def on_click(self, event: Click) -> None:
        answer = clicked_answer(event)
        if answer is not None:
            event.stop()
            if answer == "apply":
                self.action_apply()
            else:
                self.action_cancel()

    def on_mount(self) -> None:
        self.query_one("#import-lines").focus()

    def action_apply(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


class ListPickKeys:
    """The keys of a filter-box-over-a-list dialog: up/down move in the list, Enter or a click
    chooses the highlighted entry (``choose(option_id)``), escape cancels. Shared by PickFromList and
    config_picker.FilePicker (a mixin: handlers are found by name, not by ``@on``)."""

    def on_key(self, event: Key) -> None:
        """A key that reached the dialog itself, not its box, was routed before the box had the focus (a
        burst typed right after the key that opened this, on a busy machine): it goes into the box. The box
        stops every printable key it takes, so one seen here never reached it."""
        box = self.query_one(Input)
        if event.is_printable and event.character:
            box.insert_text_at_cursor(event.character)
        elif event.key == "backspace" and self.focused is None:  # a focused box or list has its own
            box.action_delete_left()
        elif event.key == "enter" and self.focused is None:
            self._fill(box.value)  # the Changed of the keys just inserted has not come yet
            self.enter_typed(box.value)
        else:
            return
        event.stop()
        event.prevent_default()

    def enter_typed(self, text: str) -> None:
        """Enter read before the box had the focus, with ``text`` typed: the highlighted entry (FilePicker
        takes a typed path that exists first)."""
        self.pick_highlighted()

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            options.highlighted = ((options.highlighted or 0) + step) % options.option_count

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.pick_highlighted()

    def pick_highlighted(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            self.app.bell()
            return
        self.choose(options.get_option_at_index(options.highlighted).id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.choose(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PickFromList(ListPickKeys, ModalScreen[str | None]):
    """Type part of an entry, pick it with enter: dismisses with its id (a key, a choice).

    ``items`` is [(id, label)]; labels holding the typed text are listed, the label equal to it first,
    then those starting with it. Spaces are read as ``_`` ("batch size" finds train_batch_size), and the
    words may come in any order. ``aliases`` ({id: [names]}: other names of an entry) and ``about``
    ({id: text}: its help) are searched after the labels; such a hit says what it matched.
    """

    DEFAULT_CSS = dialog_css("PickFromList") + """
    PickFromList > Vertical { max-width: 60; }
    PickFromList OptionList { height: auto; max-height: 14; border: none; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "move(1)", "Next", show=False, id="settings.list_next"),
        Binding("up", "move(-1)", "Previous", show=False, id="settings.list_previous"),
        Binding("escape", "cancel", "Cancel", id="settings.dialog_cancel"),
    ]

    def __init__(self, title: str, items: Sequence[tuple[str, str]], *, placeholder: str = "type to filter",
                 current: str | None = None, aliases: dict[str, list[str]] | None = None,
                 about: dict[str, str] | None = None, notes: dict[str, str] | None = None) -> None:
        super().__init__()
        self.notes = notes or {}  # {id: words shown after its label, not matched} ("conv_dim" twice: which)
        self.dialog_title = title
        self.items = list(items)
        self.aliases = {key: [a.lower() for a in names] for key, names in (aliases or {}).items()}
        self.about = {key: text.lower() for key, text in (about or {}).items()}
        self.placeholder = placeholder
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.dialog_title
            yield Input(placeholder=self.placeholder, id="list-filter", compact=True)
            yield OptionList(id="list-options")
        yield Footer()

    def on_mount(self) -> None:
        self._fill("")
        ids = [item_id for item_id, _ in self.matches("")]
        if self.current in ids:
            self.query_one(OptionList).highlighted = ids.index(self.current)
        self.query_one(Input).focus()

    def matches(self, text: str) -> list[tuple[str, str]]:
        low = text.strip().lower()
        if not low:
            return [(item_id, label + self.notes.get(item_id, "")) for item_id, label in self.items]
        words = low.replace("-", " ").replace("_", " ").split()
        joined = "_".join(words)
        ranked = []
        for order, (item_id, label) in enumerate(self.items):
            name = label.lower()
            shown = label
            named = next((a for a in self.aliases.get(item_id, []) if a.replace(" ", "_") == joined), None)
            if name in (low, joined):
                rank = 0
            elif named is not None:  # "epochs" is max_train_epochs before the other *_epochs keys
                rank, shown = 1, f"{label}  ({named})"
            elif name.startswith((low, joined)):
                rank = 2
            elif low in name or joined in name:
                rank = 3
            elif all(word in name for word in words):
                rank = 4
            else:
                rank = 5
                alias = next((a for a in self.aliases.get(item_id, [])
                              if joined in a.replace(" ", "_") or all(w in a for w in words)), None)
                if alias is None and all(re.search(r"\b" + re.escape(w), self.about.get(item_id, "")) for w in words):
                    rank, alias = 6, "in its help"
                if alias is None:
                    continue
                shown = f"{label}  ({alias})"
            ranked.append((rank, order, item_id, shown + self.notes.get(item_id, "")))
        return [(item_id, shown) for _, _, item_id, shown in sorted(ranked)]

    def _fill(self, text: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(label, id=item_id) for item_id, label in self.matches(text)])
        if options.option_count:
            options.highlighted = 0

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def choose(self, option_id: str) -> None:
        self.dismiss(option_id)


# other names users look for a field by: kohya_ss GUI names, the words guides use (ctrl+g finds these too)
FIELD_ALIASES = {
    "network_dim": ["rank", "lora rank", "dim"], "network_alpha": ["alpha"], "learning_rate": ["lr", "rate"],
    "max_train_epochs": ["epoch", "epochs"], "max_train_steps": ["steps", "max steps"],
    "train_batch_size": ["batch", "batch size", "bs"], "resolution": ["max_resolution", "size"],
    "pretrained_model_name_or_path": ["model", "base model", "checkpoint", "ckpt"],
    "network_module": ["lora_type", "lora type", "lycoris"], "network_weights": ["lora_network_weights"],
    "text_encoder_lr": ["te lr"], "lr_warmup_steps": ["warmup", "lr_warmup"], "mixed_precision": ["precision",
    "fp16", "bf16"], "optimizer_type": ["optimizer"], "metadata_description": ["training_comment", "comment"],
    "gradient_accumulation_steps": ["accumulation"], "output_name": ["name", "file name"],
}


def goto_field_dialog(*, lycoris_first: bool = False) -> PickFromList:
    """Pick a config key by part of its name, another name of it or a word of its help; dismisses with
    "section.key", or "network_args.NAME" for a LyCORIS argument of network_args (labelled by its name, so
    "conv_dim" finds it; ``lycoris_first`` with network_module = lycoris.kohya: before [network]'s own
    conv_dim and conv_alpha, which only networks.lora reads)."""
    from loratui.core.config import LYCORIS_ARGS, describe_field, explain_arg

    ids = {key: f"{section}.{key}" for (section, key) in FIELDS}
    items = [(f"{section}.{key}", key) for (section, key) in FIELDS]
    lycoris = [(f"network_args.{name}", name) for name in LYCORIS_ARGS]
    at = items.index(("network.conv_dim", "conv_dim") if lycoris_first else ("network.network_args", "network_args"))
    items[at + (0 if lycoris_first else 1):at + (0 if lycoris_first else 1)] = lycoris
    about = {f"{s}.{k}": " ".join(describe_field(spec)) for (s, k), spec in FIELDS.items()}
    about.update({item_id: explain_arg(name) or "" for item_id, name in lycoris})
    return PickFromList("Go to field", items, placeholder="part of a key or a word: dim, lr, batch size, rank",
                        aliases={ids[key]: names for key, names in FIELD_ALIASES.items() if key in ids},
                        about=about, notes={item_id: "  (network_args, LyCORIS)" for item_id, _ in lycoris})
