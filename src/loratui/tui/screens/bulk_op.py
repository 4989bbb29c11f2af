"""Modal forms that build one tag operation for the bulk caption editor.

``BulkOpScreen(kind, scope_label, ...)`` shows a compact form for one of ``KINDS`` and dismisses
with the core ``Op`` it builds (the same op ``loratui tags <kind>`` builds from its options), or
None on escape. Every change rebuilds the op and runs core's ``check_ops``, so the message line
shows core's own one-line error as you type, and Enter does nothing while there is one. Nothing
here knows how an operation works: building, checking and describing it is core's job. Enter first
takes a tag suggestion shown, and in Replace goes from Old to New; New left empty removes Old only when
its toggle is ticked (screens.bulk_form_keys: a user-tester lost a tag to an Enter in Old).

The form controls (widgets.form_controls) are one line high at 80x24 (a choice's options wrap where the
dialog is narrower) so every form fits 80x24; ``BulkChoice``
and ``BulkToggle`` leave Enter alone (it applies the form) and mark their state with ``(x)`` / ``[x]``,
not only colour.

Each form remembers what it held when it closed, for the app's session (``FormMemory``: a regex is not
typed twice), and opens with it; ctrl+l clears the form back to its defaults (ctrl+r is the app's "run
this screen's job" key elsewhere). ``form_that_built`` tells the plan preview that a plan came from a
form, so its escape goes back to that form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar
from weakref import WeakKeyDictionary

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Footer, Input, Label, Static

from loratui.core.captions import (
    CATEGORY_NAMES, CATEGORY_ORDER, DEFAULT_SEPARATOR, AddTags, Dedupe, MoveToFront, Op, RemoveCategory,
    RemoveTags, ReplaceTag, SortTags, StripUnderscores, check_ops, describe_replace, parse_old_tags, replace_ops,
)
from loratui.core.errors import LoratuiError
from loratui.tui.screens.bulk_form_css import BULK_FORM_CSS
from loratui.tui.screens.bulk_form_keys import REMOVE_TOGGLE_ID, TagSuggesterBox, enter_step
from loratui.tui.widgets.form_controls import BulkChoice, BulkToggle, split_items, split_tag_list

KINDS = ("add", "remove", "replace", "dedupe", "sort", "move_front", "strip_underscores", "remove_category")
TITLES = {
    "add": "Add tags",
    "remove": "Remove tags",
    "replace": "Replace tags",
    "dedupe": "Remove duplicate tags",
    "sort": "Sort tags",
    "move_front": "Move tags to the front",
    "strip_underscores": "Strip underscores",
    "remove_category": "Remove tag categories",
}
# Match modes in the order offered (core's MATCH_MODES holds the same four).
MODE_CHOICES = (("auto", "auto"), ("exact", "exact"), ("glob", "glob"), ("regex", "regex"))
SORT_CHOICES = (("alpha", "alpha"), ("frequency", "frequency"), ("category", "category"))
POSITION_CHOICES = (("front", "front"), ("end", "end"), ("index", "at index"))
NEEDS_CSV = "needs the tagger's selected_tags.csv (tag categories); none is loaded for this dataset"
PATTERN_HELP = "Comma list: exact tag, glob *bg*, or /regex/ (whole tag)."
SAME_AS_OLD = "Type the new tag: New is still the same as Old ({new})."


class Incomplete(LoratuiError):
    """The form is not filled in yet: shown as a hint, not as an error."""


@dataclass
class FormMemory:
    """What the bulk forms held when they last closed, for one app (a session): ``values[kind]`` is
    {field id: value} plus the ids of toggles the user set (``touched``); ``built`` is the last op a
    form applied, with its kind and scope (the preview's escape goes back to that form)."""

    values: dict[str, dict[str, str | bool]] = field(default_factory=dict)
    touched: dict[str, set[str]] = field(default_factory=dict)
    built: tuple[Op | list[Op], str, str] | None = None


_MEMORY: WeakKeyDictionary[App, FormMemory] = WeakKeyDictionary()  # weak: a closed app's memory goes with it


def form_memory(app: App) -> FormMemory:
    memory = _MEMORY.get(app)
    if memory is None:
        memory = _MEMORY[app] = FormMemory()
    return memory


def form_that_built(app: App, ops: list[Op]) -> tuple[str, str] | None:
    """(kind, scope label) of the form that just applied these very ``ops`` (a plan's), or None (a paste, a
    recipe)."""
    built = form_memory(app).built
    if built is None:
        return None
    made = built[0] if isinstance(built[0], list) else [built[0]]
    same = len(made) == len(ops) and all(a is b for a, b in zip(made, ops))
    return (built[1], built[2]) if same else None


def describe_op(op: Op | list[Op]) -> str:
    """The form's "ready:" line: an op's own words; a Replace of several old tags in one line."""
    if not isinstance(op, list):
        return op.describe()
    if all(isinstance(item, ReplaceTag) for item in op) and len({(i.new, i.ignore_case) for i in op}) == 1:
        return describe_replace([item.old for item in op], op[0].new, op[0].ignore_case) + " (one undo)"
    return "; ".join(item.describe() for item in op)


def _whole_number(text: str, what: str, *, minimum: int | None = 0) -> int:
    text = text.strip()
    try:
        value = int(text)
    except ValueError:
        raise LoratuiError(f"{what}: give a whole number" + (f" ({minimum} or more)" if minimum is not None else ""))
    if minimum is not None and value < minimum:
        raise LoratuiError(f"{what}: give a whole number ({minimum} or more), not {value}")
    return value


class BulkOpScreen(ModalScreen[Op | list[Op] | None]):
    """A form for one tag operation; dismisses with the core Op (Enter) or None (escape). Replace with several
    old tags dismisses with its list of ReplaceTag ops (core's ``replace_ops``): one plan, one undo."""

    DEFAULT_CSS = BULK_FORM_CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        # priority: an Input's own (hidden) enter would otherwise hide this one from the footer
        Binding("enter", "apply", "Apply", id="bulk.apply", priority=True,
                tooltip="Build the operation and preview what it changes"),
        Binding("escape", "cancel", "Cancel", id="bulk.cancel",
                tooltip="Close the form; nothing changes (what you typed is there next time)"),
        Binding("ctrl+l", "clear", "Clear", id="bulk.clear",  # ctrl+l: a terminal's "clear screen"
                tooltip="Clear the form back to its defaults (it opens with what it last held)"),
        # a one-line box has no use for them (h5: Down "did nothing" and the letters after it went on into
        # the box); a control with its own up / down (a completion list) takes them first
        Binding("down", "app.focus_next", "Next field", id="bulk.next_field", show=False,
                tooltip="The next field, as tab"),
        Binding("up", "app.focus_previous", "Previous field", id="bulk.previous_field", show=False,
                tooltip="The previous field, as shift+tab"),
    ]

    def __init__(self, kind: str, scope_label: str, *, known_tags: Callable[[str], list[str]] | None = None,
                 categories_available: bool = False, separator: str = DEFAULT_SEPARATOR,
                 rename: str | None = None, keep_tokens: int = 0) -> None:
        """``rename``: a replace form for this tag (Old and New filled in, New focused with its text
        selected, so the new name typed next replaces it). ``keep_tokens``: the open config's, the
        default of "Keep first" / "After first" so a trigger word stays where training keeps it."""
        if kind not in KINDS:
            raise ValueError(f"unknown bulk operation {kind!r}: use one of {', '.join(KINDS)}")
        super().__init__()
        self.kind = kind
        self.scope_label = scope_label
        self.known_tags = known_tags
        self.categories_available = categories_available
        self.separator = separator
        self.problem: str | None = None  # the current message (None: the op is ready)
        self._op: Op | list[Op] | None = None
        self.rename = rename if kind == "replace" else None
        self.keep_tokens = max(0, int(keep_tokens or 0))
        self._prefill: dict[str, str | bool] = {}  # what this form held when it last closed (compose uses it)
        self._defaults: dict[str, str | bool] = {}

    def _keep_note(self, otherwise: str) -> str:
        if self.keep_tokens:
            return f" tags stay (the config's keep_tokens = {self.keep_tokens})"
        return otherwise

    # ---- layout ---------------------------------------------------------------------------

    def _input(self, id: str, placeholder: str = "", value: str = "", *, tags: bool = True,
               classes: str = "", integer: bool = False, disabled: bool = False) -> Input:
        self._defaults[id] = value
        value = str(self._prefill.get(id, value))
        if tags:  # Tab and Enter take the suggested tag (bulk_form_keys)
            return TagSuggesterBox(value, placeholder=placeholder, id=id, known_tags=self.known_tags,
                                   classes=classes, select_on_focus=False, disabled=disabled)
        # a number box shows its value selected when entered: the first key typed replaces it, as in Settings
        return Input(value, placeholder=placeholder, id=id, classes=classes, type="integer" if integer else "text",
                     select_on_focus=integer, disabled=disabled)

    def _choice_widget(self, choices: tuple[tuple[str, str], ...], value: str, id: str) -> BulkChoice:
        self._defaults[id] = value
        remembered = self._prefill.get(id)
        return BulkChoice(choices, remembered if remembered in dict(choices) else value, id=id)

    def _toggle(self, label: str, id: str, default: bool = False) -> BulkToggle:
        self._defaults[id] = default
        return BulkToggle(label, bool(self._prefill.get(id, default)), id=id)

    def compose(self) -> ComposeResult:
        if self.rename is None:  # a rename from the tag list is a fresh form for that tag
            self._prefill = dict(form_memory(self.app).values.get(self.kind, {}))
        with Vertical(id="bulk-dialog") as dialog:
            dialog.border_title = TITLES[self.kind]
            yield Static(Text(f"Applies to {self.scope_label}"), id="bulk-scope")
            yield from getattr(self, f"_compose_{self.kind}")()
            yield Static("", id="bulk-message")
        yield Footer()

    def _row(self, label: str, *widgets: Widget) -> Horizontal:
        return Horizontal(Label(label, classes="bulk-label"), *widgets, classes="bulk-row")

    def _compose_add(self) -> ComposeResult:
        yield self._row("Tags", self._input("bulk-tags", "trigger_word, another tag"))
        yield self._row("Position", self._choice_widget(POSITION_CHOICES, "end", "bulk-position"),
                        self._input("bulk-index", "index", tags=False, classes="-short", integer=True,
                                    disabled=True))
        yield self._row("After first", self._input("bulk-keep", "0", str(self.keep_tokens), tags=False,
                                                   classes="-short", integer=True, disabled=True),
                        Label(self._keep_note(" tags stay in place (front only: trigger word)")))
        yield self._row("", self._toggle("move tags a caption already has", "bulk-move"))
        yield Static("Index: 0 = front, -1 = end, -2 = before the last. Tags already there are not "
                     "added twice.", classes="bulk-help")

    def _compose_remove(self) -> ComposeResult:
        yield self._row("Patterns", self._input("bulk-patterns", "*background, /.*_bg/, watermark"))
        yield self._match_row("auto")
        yield Static(PATTERN_HELP + " auto: * ? make a glob, /.../ a regex.", classes="bulk-help")

    def _compose_replace(self) -> ComposeResult:
        yield self._row("Old", self._input("bulk-old", "tag(s) to rename: girl, female", self.rename or ""))
        yield self._row("New", self._input("bulk-new", "new name", self.rename or ""))
        yield self._match_row("exact")
        yield self._row("", self._toggle("remove Old instead (New left empty)", REMOVE_TOGGLE_ID))
        yield Static("Old: one tag or several (girl, female -> 1girl: one undo). Duplicates this creates are "
                     "merged. In regex mode New may use \\1.", classes="bulk-help")

    def _compose_dedupe(self) -> ComposeResult:
        yield self._row("", self._toggle("exact repeats only (long_hair, LONG HAIR stay)", "bulk-case-sensitive"))
        yield Static("Remove repeated tags inside each caption; the first occurrence and its spelling stay. "
                     "Spellings of one tag are repeats: LONG HAIR, long_hair, miku \\(x\\) = miku (x).",
                     classes="bulk-help")

    def _compose_sort(self) -> ComposeResult:
        yield self._row("Sort by", self._choice_widget(SORT_CHOICES, "alpha", "bulk-by"))
        yield self._row("Keep first", self._input("bulk-keep", "0", str(self.keep_tokens), tags=False,
                                                  classes="-short", integer=True),
                        Label(self._keep_note(" tags in place (trigger word)")))
        yield Static("frequency: most used in the dataset first. category: rating, character, copyright, "
                     "artist, general, meta. Sentence captions are left alone.", classes="bulk-help")

    def _compose_move_front(self) -> ComposeResult:
        yield self._row("Patterns", self._input("bulk-patterns", "trigger_word, 1girl"))
        yield self._match_row("auto")
        yield self._row("After first", self._input("bulk-keep", "0", str(self.keep_tokens), tags=False,
                                                   classes="-short", integer=True),
                        Label(self._keep_note(" tags stay in place (trigger word)")))
        yield Static(PATTERN_HELP + " Matching tags keep their order.", classes="bulk-help")

    def _match_row(self, mode: str) -> Horizontal:
        return self._row("Match", self._choice_widget(MODE_CHOICES, mode, "bulk-mode"),
                         self._toggle("any case", "bulk-any-case"))

    def _compose_strip_underscores(self) -> ComposeResult:
        yield self._row("Keep as is", self._input("bulk-keep-tags", "e.g. alice_lora: trigger words to leave alone"))
        yield Static("long_hair -> long hair. Tags of 3 characters or fewer (^_^) are left alone.",
                     classes="bulk-help")

    def _compose_remove_category(self) -> ComposeResult:
        names = {number: name for name, number in CATEGORY_NAMES.items()}
        with Horizontal(id="bulk-categories"):
            for number in CATEGORY_ORDER:  # rating ticked: X, Enter drops the rating tags (README step 3)
                yield self._toggle(names[number], f"bulk-cat-{names[number]}", default=names[number] == "rating")
        note = ("Categories come from the tagger's selected_tags.csv." if self.categories_available else
                "No selected_tags.csv is loaded: only rating tags (general, sensitive, questionable, explicit) "
                "are known.")
        yield Static(note, classes="bulk-help")

    def on_mount(self) -> None:
        if self.rename is not None:  # what a plain replace form opens with: remembered as typed over that
            self._defaults.update({"bulk-old": "", "bulk-new": ""})
        self._ready()

    def _ready(self) -> None:
        """After compose: the remembered toggles the user set, the add form's enabled fields, the
        message line, and the focus."""
        if self._prefill:
            for toggle in self.query(BulkToggle):
                toggle.touched = toggle.id in form_memory(self.app).touched.get(self.kind, ())
        if self.kind == "add":
            self._sync_add_fields()
        if self.kind == "replace":
            self._sync_replace_fields()
        self._validate()
        if self.rename is not None:  # Old is filled in: the new name is what is typed next, over the old one
            new = self.query_one("#bulk-new", Input)
            new.focus()
            new.select_all()
            return
        fields = self.query_one("#bulk-dialog").query("Input, BulkChoice, BulkToggle")
        first = next((field for field in fields if field.focusable), None)
        if first is not None:
            first.focus()
            if isinstance(first, Input) and first.value and self._prefill:
                first.select_all()  # remembered text: Enter reuses it, typing replaces it (`+ tag Enter` as ever)

    # ---- building the op ------------------------------------------------------------------

    def _value(self, id: str) -> str:
        return self.query_one(f"#{id}", Input).value

    def _choice(self, id: str) -> str:
        return self.query_one(f"#{id}", BulkChoice).value

    def build_op(self) -> Op | list[Op]:
        """The Op the form describes (Replace of several old tags: their ops), checked by core; raises
        LoratuiError (Incomplete: not filled in)."""
        op = getattr(self, f"_build_{self.kind}")()
        check_ops(op if isinstance(op, list) else [op], self.separator)
        if not isinstance(op, list):
            self._check_categories(op)
        return op

    def _check_categories(self, op: Op) -> None:
        """Categories other than rating need the tagger's CSV (as the CLI's --tags-csv check)."""
        if self.categories_available:
            return
        if isinstance(op, RemoveCategory) and op.numbers() - {CATEGORY_NAMES["rating"]}:
            raise LoratuiError(f"{op.describe()}: categories other than rating {NEEDS_CSV}")
        if isinstance(op, SortTags) and op.by == "category":
            raise LoratuiError(f"sort by category {NEEDS_CSV}")

    def _build_add(self) -> AddTags:
        tags = split_tag_list(self._value("bulk-tags"))
        if not tags:
            raise Incomplete("Type the tag(s) to add, separated by commas.")
        where, keep = self._choice("bulk-position"), 0
        if where == "front":
            # `tags add --front --keep N`: the first N stay where they are (a trigger word among them
            # is not moved), the tags go in after them
            position, keep = 0, _whole_number(self._value("bulk-keep") or "0", "after first")
        elif where == "end":
            position = -1
        else:
            if not self._value("bulk-index").strip():
                raise Incomplete("Type the index to insert at (0 = front, -1 = end).")
            position = _whole_number(self._value("bulk-index"), "index", minimum=None)
        return AddTags(tags, position, self.query_one("#bulk-move", BulkToggle).value, keep=keep)

    def _patterns(self) -> list[str]:
        patterns = split_items(self._value("bulk-patterns"))
        if not patterns:
            raise Incomplete("Type the tag(s) or pattern(s), separated by commas.")
        return patterns

    def _toggled(self, id: str) -> bool:
        return self.query_one(f"#{id}", BulkToggle).value

    def _build_remove(self) -> RemoveTags:
        return RemoveTags(self._patterns(), self._choice("bulk-mode"), self._toggled("bulk-any-case"))

    def _build_replace(self) -> ReplaceTag | list[ReplaceTag]:
        mode = self._choice("bulk-mode")
        # girl, female, 1girls: one each (a regex stays whole: its commas are its own)
        olds = [item.strip() for item in parse_old_tags(self._value("bulk-old"), self.separator, mode)]
        if not olds:
            raise Incomplete("Type the tag(s) to rename, Enter, then the new name.")
        old = ", ".join(olds)
        removing = self._toggled(REMOVE_TOGGLE_ID)  # an empty New removes: only when asked for (hunt s14)
        new = "" if removing else self._value("bulk-new").strip()
        if not new and not removing:
            raise Incomplete(f"Type the new name for {old} (to remove it, tick 'remove Old instead').")
        if new:
            if all(item == new for item in olds):  # h5 A5: a rename from the tag list opens this way
                raise Incomplete(SAME_AS_OLD.format(new=new))
            olds = [item for item in olds if item != new]  # girl, 1girl -> 1girl: 1girl stays as it is
        ops = replace_ops(olds, new, mode, self._toggled("bulk-any-case"))
        return ops[0] if len(ops) == 1 else ops

    def _build_dedupe(self) -> Dedupe:
        return Dedupe(ignore_case=not self._toggled("bulk-case-sensitive"))

    def _build_sort(self) -> SortTags:
        return SortTags(self._choice("bulk-by"), _whole_number(self._value("bulk-keep") or "0", "keep first"))

    def _build_move_front(self) -> MoveToFront:
        return MoveToFront(self._patterns(), self._choice("bulk-mode"),
                           _whole_number(self._value("bulk-keep") or "0", "after first"),
                           self._toggled("bulk-any-case"))

    def _build_strip_underscores(self) -> StripUnderscores:
        return StripUnderscores(keep_tags=split_tag_list(self._value("bulk-keep-tags")))

    def _build_remove_category(self) -> RemoveCategory:
        chosen = [toggle.id.removeprefix("bulk-cat-") for toggle in self.query(BulkToggle) if toggle.value]
        if not chosen:
            raise Incomplete("Tick at least one category (space).")
        return RemoveCategory(chosen)

    # ---- validation as you type -----------------------------------------------------------

    def _validate(self) -> None:
        message = self.query_one("#bulk-message", Static)
        try:
            self._op = self.build_op()
        except Incomplete as exc:
            self._op, self.problem = None, str(exc)
            message.update(Text(self.problem))
            message.remove_class("-error")
            return
        except LoratuiError as exc:
            self._op, self.problem = None, str(exc)
            message.update(Text(f"error: {self.problem}"))
            message.add_class("-error")
            return
        self.problem = None
        message.update(Text(f"ready: {describe_op(self._op)}"))
        message.remove_class("-error")

    def _sync_add_fields(self) -> None:
        where = self._choice("bulk-position")
        self.query_one("#bulk-index", Input).disabled = where != "index"
        self.query_one("#bulk-keep", Input).disabled = where != "front"
        move = self.query_one("#bulk-move", BulkToggle)
        if not move.touched:  # as the CLI: --front moves existing tags, --position does not
            move.set_reactive(BulkToggle.value, where == "front")
            move.refresh()

    def _sync_replace_fields(self) -> None:
        self.query_one("#bulk-new", Input).disabled = self._toggled(REMOVE_TOGGLE_ID)

    @on(Input.Changed)
    @on(BulkChoice.Changed)
    @on(BulkToggle.Changed)
    def _changed(self, event: Message) -> None:
        if self.kind == "add" and isinstance(event, BulkChoice.Changed):
            self._sync_add_fields()
        if self.kind == "replace" and isinstance(event, BulkToggle.Changed):
            self._sync_replace_fields()
        if self.is_mounted:
            self._validate()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_apply()

    def action_apply(self) -> None:
        if enter_step(self, self.kind):  # took a suggestion, or went from Old to New: not applied yet
            return
        self._validate()
        if self._op is None:
            self.app.bell()
            if self.kind == "replace" and self.problem == SAME_AS_OLD.format(new=self._value("bulk-new").strip()):
                self.notify(f"nothing to rename: New is the same as Old ({self._value('bulk-new').strip()}): type "
                            "the new tag", severity="warning")  # a line that says why Enter did nothing
            return
        self._remember()
        form_memory(self.app).built = (self._op, self.kind, self.scope_label)
        self.dismiss(self._op)

    def action_cancel(self) -> None:
        self._remember()
        form_memory(self.app).built = None
        self.dismiss(None)

    async def action_clear(self) -> None:
        """The form as it opens the first time (the config's keep_tokens, no tags), memory forgotten."""
        memory = form_memory(self.app)
        memory.values.pop(self.kind, None)
        memory.touched.pop(self.kind, None)
        self._prefill, self.rename = {}, None
        self._defaults = {}
        await self.recompose()
        self._ready()

    def _remember(self) -> None:
        """Keep what differs from the form's defaults (a default that changes, such as the config's
        keep_tokens, is not frozen), for the next time this form opens in this app."""
        values: dict[str, str | bool] = {}
        touched: set[str] = set()
        for widget in self.query_one("#bulk-dialog").query("Input, BulkChoice, BulkToggle"):
            if widget.id is None or widget.id == REMOVE_TOGGLE_ID:  # a removal is chosen afresh every time
                continue
            value = widget.value
            if value != self._defaults.get(widget.id):
                values[widget.id] = value
            if getattr(widget, "touched", False):
                touched.add(widget.id)
        memory = form_memory(self.app)
        memory.values[self.kind], memory.touched[self.kind] = values, touched
