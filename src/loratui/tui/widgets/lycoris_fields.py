"""The LyCORIS arguments of ``[network] network_args`` as form fields of their own (what kohya_ss' GUI shows).

With ``network_module = "lycoris.kohya"`` the form shows, under the raw network_args list, one field per
argument the chosen algo reads (core's ``LYCORIS_ARGS``: algo and preset as choices, the numbers typed and
checked against their range, true/false flipped with space); the others are hidden, not lost: their items
stay in the list. The list stays the one source of truth: a field edit writes its key into the list in
place (other items, unknown keys and their order kept; the file's own item back when the value is the
file's, so nothing changed means the TOML is as it was), and a change to the list (typed, a preset, a
load) shows in the fields. A field whose text is not valid stays shown, even for another algo, until it
is fixed or reverted (the config is invalid meanwhile, as with any field).
"""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text
from textual.widgets import Static

from loratui.core.config import LYCORIS, LYCORIS_ARGS, FieldSpec, explain_arg
from loratui.tui.widgets.config_field import INVALID, NO_FILE, ConfigField

ARGS_KEY = ("network", "network_args")
MODULE_KEY = ("network", "network_module")
# [network]'s own conv_dim / conv_alpha: read by networks.lora only (lycoris.kohya takes them in the list)
LORA_ONLY_KEYS = (("network", "conv_dim"), ("network", "conv_alpha"))
# the order kohya_ss' GUI shows them in (algo and preset first), then the rest of core's table
ORDER = ("algo", "preset", "conv_dim", "conv_alpha", "factor", "dropout", "rank_dropout", "module_dropout",
         "rank_dropout_scale", "use_tucker", "use_scalar", "dora_wd", "wd_on_output", "decompose_both",
         "full_matrix", "unbalanced_factorization", "train_norm", "bypass_mode", "rs_lora")
NAMES = tuple(n for n in ORDER if n in LYCORIS_ARGS) + tuple(n for n in LYCORIS_ARGS if n not in ORDER)
_KINDS = {"bool": "bool", "int": "int", "float": "float", "algo": "str", "preset": "str"}
# a problem core words about one argument of the list ("network_args: conv_dim=x must be ...")
_NAME_PATTERN = re.compile(r"\b(" + "|".join(sorted(NAMES, key=len, reverse=True)) + r")\b")
HIDDEN_NOTE = ("Hidden for an algo that does not read it: its value then stays in network_args until you remove "
               "it there.")


def named_arg(problem: str) -> str | None:
    """The LyCORIS argument a "network_args: ..." problem is about (the first one it names), or None."""
    if not problem.startswith("network_args: "):
        return None
    match = _NAME_PATTERN.search(problem, len("network_args: "))
    return match.group(1) if match else None


class LycorisField(ConfigField):
    """One LyCORIS argument of network_args; its value is the string written after ``key=`` (None: left out)."""

    DEFAULT_CSS = """
    LycorisField { padding-left: 2; }
    """

    def __init__(self, name: str, items: list[str], file_items: Any = NO_FILE) -> None:
        self.arg = arg = LYCORIS_ARGS[name]
        spec = FieldSpec("network", name, _KINDS[arg.kind], True, None, arg.help, arg.choices, arg.min, arg.max)
        file_value = NO_FILE if file_items is NO_FILE else arg.shown_in(file_items)
        super().__init__(spec, arg.shown_in(items), file_value, widget_id=f"cf-network_args-{name}")
        self.slot: int | None = arg.position_in(items)  # the index of its item in the list, kept while absent
        self.BINDING_GROUP_TITLE = f"Field {name} (network_args)"

    @property
    def key(self) -> tuple[str, str]:
        return "network_args", self.spec.name

    def check(self, text: str) -> tuple[Any, str | None]:
        stripped = text.strip()
        if not stripped:
            return None, None  # left out: LyCORIS's default
        problem = self.arg.problem(stripped)
        return (INVALID, f"network_args: {problem}") if problem else (stripped, None)

    def text_of(self, value: Any) -> str:
        return "" if value is None else str(value)

    def is_on(self) -> bool:
        return self.value == "true"

    def bool_value(self, on: bool) -> Any:
        return "true" if on else "false"

    def describe(self) -> tuple[str, str]:
        head, _, _ = (explain_arg(self.spec.name) or "").partition("\n")
        blank = "" if self.spec.kind == "bool" or self.spec.choices else " Empty: left out."
        return head.strip(), f"{self.arg.help}{blank} {HIDDEN_NOTE}"

    def _value_text(self, room: int) -> Text:
        if self.typed and not self.text and not self.has_focus:  # what LyCORIS uses when the key is left out
            return Text(f" unset ({self.arg.default})".ljust(max(room, 4))[: max(room, 4)],
                        style=self.style_of("config-field--value") + self.style_of("config-field--note"))
        return super()._value_text(room)


class LycorisFields:
    """The LyCORIS fields of a ConfigForm (``form.fields`` holds the [network] ones they sync with)."""

    def __init__(self, form) -> None:
        self.form = form
        self.fields: dict[str, LycorisField] = {}
        self.heading = Static("", id="lycoris-heading", classes="lycoris-heading", markup=False)
        # the end of the heading's line about hidden keys set in the list (the screen names its key)
        self.drop_words = lambda: "remove them from network_args"

    def compose(self, items: list[str], file_items: Any):
        yield self.heading
        for name in NAMES:
            self.fields[name] = LycorisField(name, items, file_items)
            yield self.fields[name]

    # ---- the list and the fields ---------------------------------------------------------------------

    def file_items(self) -> list[str]:
        """The list a value is compared with: the file's (or, with no file yet, the one the form started from)."""
        args = self.form.fields[ARGS_KEY]
        return list(self.form.base.network.network_args if args.file_value is NO_FILE else args.file_value)

    def write(self, field: LycorisField) -> None:
        """A field's valid value into the network_args list (shown at once; the screen checks the config)."""
        args = self.form.fields[ARGS_KEY]
        if field.value is INVALID:
            return
        if args.value is INVALID:  # the list's own text is broken: nothing to write into
            field.value = INVALID
            field.problem = f"{field.spec.name}: network_args above is not a valid list yet: fix it first"
            field._refresh_marks()
            return
        at = field.arg.position_in(args.value)
        if at is not None:  # remembered: a value cleared to be retyped goes back where it was
            field.slot = at
        items = field.arg.written_into(list(args.value), field.value, self.file_items(), field.slot)
        if items != args.value:
            args.show_value(items)

    def sync(self, *, keep_typed: bool = False) -> None:
        """Show the list's values (and the file's) in the fields, after the list changed; ``keep_typed``: a
        field holding text not valid yet keeps it (a preset or a save set other fields)."""
        args = self.form.fields[ARGS_KEY]
        if args.value is INVALID:
            return
        has_file = args.file_value is not NO_FILE
        for field in self.fields.values():
            if has_file:
                field.file_value = field.arg.shown_in(args.file_value)
            elif field.file_value is not NO_FILE:
                field.file_value = NO_FILE
            value = field.arg.shown_in(args.value)
            at = field.arg.position_in(args.value)
            if at is not None:
                field.slot = at
            if field.value is INVALID and keep_typed:
                field.set_file_value(field.file_value)
            elif field.value is INVALID or field.value != value:
                field.show_value(value)
            else:
                field.set_file_value(field.file_value)  # redraws the "changed" mark
        self.show()

    def show(self) -> None:
        """Display the fields the chosen algo reads (and any holding invalid text), under a heading."""
        module = self.form.fields[MODULE_KEY].value
        algo_field = self.fields["algo"]
        algo = algo_field.value if isinstance(algo_field.value, str) else "locon"
        active = module == LYCORIS
        focused = self.form.screen.focused if self.form.is_attached else None
        hidden = 0
        for field in self.fields.values():
            # algo and preset always (an algo loratui does not train, e.g. ia3 from a kohya_ss file, is fixed here)
            shown = (active and (field.arg.kind in ("algo", "preset") or field.arg.used_by(algo))) \
                or field.value is INVALID
            hidden += active and not shown
            field.display = shown or field is focused
        for key in LORA_ONLY_KEYS:  # networks.lora's own keys: in the way with lycoris.kohya unless set
            own = self.form.fields[key]
            own.display = not active or own.value != own.spec.default or own is focused or bool(own.cross)
        self.heading.display = active or any(f.display for f in self.fields.values())
        line = f"LyCORIS args, algo={algo}" + (f": {hidden} hidden" if hidden else "")
        unread = self.unread_args()
        if unread:  # hidden, yet in the list: say which, and that training refuses them (kohya_ss drops them)
            blocking = self.blocking_args()
            said = ("they block training" if blocking == unread else
                    f"{', '.join(blocking)} block training" if blocking else "training ignores them")
            line += f"\nhidden but set in network_args: {', '.join(unread)}; {said}: {self.drop_words()}"
        self.heading.update(line)

    # ---- keys the chosen algo does not read ----------------------------------------------------------

    def unread_args(self) -> list[str]:
        """The LyCORIS arguments set in network_args that the chosen algo does not read (their fields hidden)."""
        args, algo = self.form.fields[ARGS_KEY], self.fields["algo"]
        if self.form.fields[MODULE_KEY].value != LYCORIS or args.value is INVALID or algo.value not in algo.arg.choices:
            return []
        return [name for name, f in self.fields.items() if f.arg.kind not in ("algo", "preset")
                and not f.arg.used_by(algo.value) and f.value is not INVALID and f.arg.position_in(args.value) is not None]

    def blocking_args(self) -> list[str]:
        """Of ``unread_args``, those core's check refuses ("conv_dim does nothing with algo=full ...")."""
        named = {named_arg(problem) for problem in self.form.problems}
        return [name for name in self.unread_args() if name in named]

    def drop_unread(self) -> list[str]:
        """Remove ``unread_args`` from network_args, as an edit of the list (Revert field on it puts them back,
        as kohya_ss sends only the chosen algo's arguments); returns the names removed."""
        names = self.unread_args()
        if names:
            args = self.form.fields[ARGS_KEY]
            items = list(args.value)
            for name in names:
                items = self.fields[name].arg.written_into(items, None, self.file_items())
            args.user_sets(items)  # posts Edited: the fields follow, the screen checks the config
        return names

    # ---- what the form counts and keeps --------------------------------------------------------------

    def invalid(self) -> list[LycorisField]:
        return [f for f in self.fields.values() if f.value is INVALID]

    def draft_fields(self) -> dict:
        """Text typed that is not valid yet (a valid value is in the list, whose draft keeps it)."""
        from loratui.core.drafts import FieldDraft

        return {f"network_args.{name}": FieldDraft(f.text, None if f.file_value is NO_FILE else f.text_of(f.file_value))
                for name, f in self.fields.items() if f.value is INVALID}

    def file_texts(self) -> dict[str, str | None]:
        return {f"network_args.{name}": None if f.file_value is NO_FILE else f.text_of(f.file_value)
                for name, f in self.fields.items()}

    def restore(self, texts: dict[str, str]) -> list[str]:
        """Draft texts ("network_args.NAME") back into their fields, each written into the list when valid."""
        unknown = []
        for name, text in texts.items():
            field = self.fields.get(name.split(".", 1)[1])
            if field is None:
                unknown.append(name)
                continue
            field.restore_text(text)
            self.write(field)
        self.show()
        return unknown
