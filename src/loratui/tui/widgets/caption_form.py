"""A keyboard form over the options of a `loratui caption` subcommand, generated from its click
parameters: the CLI is the one source of names, types, ranges, choices, defaults and help.

``OptionsForm(command, names)`` shows one compact row per option (an Input, a Select for a choice,
a Checkbox for a flag). ``args()`` turns the values into the command's arguments (defaults left
out). Each value is checked as it is typed (``check``: the option's click type, core's rules for
the separator and the caption extension, captioners.option_rules for free text such as
--tag-replacement: the rules the CLI itself applies) and a bad one is marked, with one line in our
words naming the field and what it takes (``General threshold (--general-threshold): must be a
number from 0 to 1, got 'abc'``); ``problems()`` lists them so that nothing starts with one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, Input, Label, Select

from loratui.captioners.option_rules import TEXT_OPTION_RULES, lengths_problem

# Labels, and help for options without their own help text.
LABELS = {"mode": "Write mode", "providers": "Provider", "workers": "Decode workers", "top_p": "Top-p",
          "force": "Rewrite read-only", "recursive": "All subfolders", "character_tags_first": "Character first",
          "always_first_tags": "Always first", "remove_underscore": "Underscore→space",
          "character_tag_expand": "Expand character", "tag_replacement": "Replace tags",
          "repetition_penalty": "Repetition penalty", "caption_extension": "Caption ext."}
EXTRA_HELP = {
    "num_beams": "Beam search width (1: greedy; 3-5 gives fuller sentences, slower).",
    "min_length": "Fewest tokens in a caption.",
    "max_length": "Most tokens in a caption.",
    "repetition_penalty": "Above 1.0 discourages repeated words.",
    "precision": "Weights precision: auto is fp16 on a GPU, fp32 on the CPU.",
}
# The option's help said shorter for the form's hint line (3 lines at 80 columns with the Esc note).
FORM_HELP = {
    "separator": "Tag separator: captions are split at its non-blank part and changed ones written with it "
                 "('|' as '| '); a blank one is refused.",
}
CHOICE_LABELS = {
    "mode": {"overwrite": "overwrite", "append": "append (merge, no duplicates)", "skip": "skip existing (resume)"},
}
# --providers is free text in the CLI; the form offers the usual onnxruntime lists.
PROVIDER_CHOICES = [
    ("auto (CUDA when a GPU is present, else CPU)", ""),
    ("CPU", "CPUExecutionProvider"),
    ("CUDA, else CPU", "CUDAExecutionProvider,CPUExecutionProvider"),
    ("TensorRT, CUDA, CPU", "TensorrtExecutionProvider,CUDAExecutionProvider,CPUExecutionProvider"),
    ("ROCm, CPU", "ROCMExecutionProvider,CPUExecutionProvider"),
    ("DirectML, CPU", "DmlExecutionProvider,CPUExecutionProvider"),
    ("CoreML, CPU", "CoreMLExecutionProvider,CPUExecutionProvider"),
]


class FormSelect(Select, inherit_bindings=False):
    """A Select in a form of one-line rows: Enter or Space lists the choices; Up/Down are left to
    the form, which moves between rows with them (Textual's Select opened its list on Up/Down)."""

    BINDINGS = [Binding("enter,space", "show_overlay", "Show choices", show=False)]


class FormCheckbox(Checkbox):
    """A check box whose mark says its state: ``X`` on, blank off (Textual draws an X either way and
    tells them apart by colour alone)."""

    @property
    def BUTTON_INNER(self) -> str:  # noqa: N802 (Textual reads the class constant through self)
        return "X" if self.value else " "


@dataclass(frozen=True)
class OptionField:
    name: str                 # the click parameter name ("general_threshold")
    opt: str                  # "--general-threshold"
    label: str
    kind: str                 # "flag", "choice" or "text"
    default: Any
    help: str
    choices: tuple[tuple[str, Any], ...] = ()
    param: click.Parameter | None = None

    @property
    def widget_id(self) -> str:
        return f"opt-{self.name}"


def option_fields(command: click.Command, names: list[str]) -> list[OptionField]:
    """The fields for ``names`` (in that order) from ``command``'s click options."""
    ctx = click.Context(command)
    params = {p.name: p for p in command.params if isinstance(p, click.Option)}
    fields = []
    for name in names:
        param = params[name]
        default = param.get_default(ctx)
        label = LABELS.get(name) or param.opts[0].lstrip("-").replace("-", " ").capitalize()
        text = FORM_HELP.get(name) or param.help or EXTRA_HELP.get(name, "")
        shown_default = "" if default in (None, "", False) else f" (default: {default})"
        help_line = f"{param.opts[0]}: {text or label}{shown_default}"
        if param.is_flag:
            fields.append(OptionField(name, param.opts[0], label, "flag", bool(default), help_line, param=param))
        elif name == "providers":
            fields.append(OptionField(name, param.opts[0], label, "choice", "", help_line,
                                      tuple(PROVIDER_CHOICES), param))
        elif isinstance(param.type, click.Choice):
            labels = CHOICE_LABELS.get(name, {})
            choices = tuple((labels.get(c, c), c) for c in param.type.choices)
            fields.append(OptionField(name, param.opts[0], label, "choice", default, help_line, choices, param))
        else:
            fields.append(OptionField(name, param.opts[0], label, "text", default, help_line, param=param))
    return fields


def expected_number(param_type: click.ParamType) -> str | None:
    """"a number from 0 to 1", "a whole number, 1 or more": what a numeric click type takes (None:
    not a number)."""
    if isinstance(param_type, (click.IntRange, click.FloatRange)):
        kind = "a whole number" if isinstance(param_type, click.IntRange) else "a number"
        low, high = param_type.min, param_type.max
        above = "above" if param_type.min_open else "from"
        below = "below" if param_type.max_open else "to"
        if low is not None and high is not None:
            return f"{kind} {above} {low} {below} {high}"
        if low is not None:
            return f"{kind} above {low}" if param_type.min_open else f"{kind}, {low} or more"
        if high is not None:
            return f"{kind} below {high}" if param_type.max_open else f"{kind}, {high} or less"
        return kind
    if param_type is click.INT:
        return "a whole number"
    if param_type is click.FLOAT:
        return "a number"
    return None


def field_problem(field: OptionField, text: str) -> str | None:
    """What is wrong with ``text`` typed in ``field``, as one line naming the field, or None."""
    where = f"{field.label} ({field.opt})"
    default = "" if field.default in (None, "") else f" ({field.default})"
    if field.name == "separator":
        from loratui.core.captions import check_separator
        from loratui.core.errors import LoratuiError

        try:
            check_separator("\t" if text in ("\\t", "tab") else text or str(field.default))  # as the CLI reads it
        except LoratuiError:
            return f"{where}: needs a visible character, such as ',' (the default) or '|'; a blank one is refused"
        return None
    if field.name == "caption_extension":
        from loratui.core.dataset import caption_extension_problem

        problem = text.strip() and caption_extension_problem(text.strip())
        return f"{where}: {problem}" if problem else None
    rule = TEXT_OPTION_RULES.get(field.name)
    if rule is not None:  # the CLI's own rule (captioners.option_rules), so no run fails on it later
        problem = rule(text)
        return f"{where}: {problem}" if problem else None
    if field.param is None or field.param.type is click.STRING or not text.strip():
        return None
    expected = expected_number(field.param.type) or f"a {field.param.type.name}"
    try:
        field.param.type.convert(text.strip(), field.param, None)
    except click.BadParameter:
        got = text.strip() if len(text.strip()) <= 20 else text.strip()[:19] + "…"  # the line stays within the hint
        return f"{where}: must be {expected}, got {got!r}; type one, or clear it for the default{default}"
    return None


class OptionsForm(Vertical):
    """Rows of label + control for some options of one subcommand."""

    DEFAULT_CSS = """
    OptionsForm { height: auto; }
    OptionsForm .field-row { height: 1; margin-bottom: 0; }
    OptionsForm .field-label { width: 20; color: $text-muted; }
    OptionsForm .field-row Input, OptionsForm .field-row Select, OptionsForm .field-row Checkbox { width: 1fr; }
    OptionsForm .field-row Input.bad { color: $error; text-style: underline; }
    """

    def __init__(self, fields: list[OptionField], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.fields = fields
        self.by_widget_id = {f.widget_id: f for f in fields}

    def compose(self) -> ComposeResult:
        for field in self.fields:
            with Horizontal(classes="field-row"):
                yield Label(field.label, classes="field-label", markup=False)
                if field.kind == "flag":
                    yield FormCheckbox("", field.default, id=field.widget_id, compact=True, tooltip=field.help)
                elif field.kind == "choice":
                    yield FormSelect(field.choices, value=field.default, allow_blank=False, id=field.widget_id,
                                 compact=True, tooltip=field.help)
                else:
                    placeholder = "" if field.default in (None, "") else f"{field.default}"
                    yield Input("" if field.default is None else str(field.default), placeholder=placeholder,
                                id=field.widget_id, compact=True, tooltip=field.help, select_on_focus=False)

    # ---- values -------------------------------------------------------------------------------

    def value(self, name: str) -> Any:
        widget = self.query_one(f"#opt-{name}")
        if isinstance(widget, Select):
            return widget.value if widget.value is not Select.BLANK else None
        return widget.value

    def set_value(self, name: str, value: Any) -> None:
        self.query_one(f"#opt-{name}").value = value

    def problems(self) -> list[tuple[str, str]]:
        """(widget id, one line naming the option and what to do) for every value that is refused."""
        found = []
        for field in self.fields:
            problem = self.check(field)
            if problem:
                found.append((field.widget_id, problem))
        return found

    def check(self, field: OptionField) -> str | None:
        """One line naming the field and what it takes, or None: the CLI's own rules (its click type,
        the separator and caption extension rules of core), worded for the form."""
        if field.kind != "text" or field.param is None:
            return None
        text = str(self.value(field.name))
        return field_problem(field, text) or self._lengths_problem(field)

    def _lengths_problem(self, field: OptionField) -> str | None:
        """BLIP's min length above its max length, marked on the min length field (both numbers)."""
        if field.name != "min_length" or "opt-max_length" not in self.by_widget_id:
            return None
        try:
            low, high = (int(str(self.value(n)).strip() or self.by_widget_id[f"opt-{n}"].default)
                         for n in ("min_length", "max_length"))
        except (TypeError, ValueError):
            return None  # a value that is not a number has its own line
        problem = lengths_problem(low, high)
        return f"{field.label} ({field.opt}): {problem}" if problem else None

    def args(self) -> list[str]:
        """The command-line arguments for the values that differ from the defaults."""
        out: list[str] = []
        for field in self.fields:
            value = self.value(field.name)
            if field.kind == "flag":
                if value:
                    out.append(field.opt)
                continue
            text = "" if value is None else str(value)
            if field.kind == "text" and field.param is not None and field.param.type is not click.STRING:
                text = text.strip()
            if text == "" or text == ("" if field.default is None else str(field.default)):
                continue
            out += [field.opt, text]
        return out

    def on_input_changed(self, event: Input.Changed) -> None:
        field = self.by_widget_id.get(event.input.id or "")
        if field is None:
            return
        event.input.set_class(self.check(field) is not None, "bad")
        if field.name == "max_length" and "opt-min_length" in self.by_widget_id:  # the pair's rule: re-mark min
            self.query_one("#opt-min_length").set_class(self.check(self.by_widget_id["opt-min_length"]) is not None,
                                                        "bad")
