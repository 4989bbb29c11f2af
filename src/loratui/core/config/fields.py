"""Field specs and value checking for the training config (used by load.py and the importers).

Each schema field gets a FieldSpec (kind, bounds, choices, help) derived once from config.py, and
coerce_value() turns one raw value into its canonical form or raises ValueError with a problem text
that a user can act on ("must be an integer from 1 to 1024, got 'sixteen'").
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import shlex
import typing
from dataclasses import dataclass
from typing import Any

from loratui.core.config import schema
from loratui.core.config.families import canonical_family
from loratui.core.config.optimizer_args import optimizer_arg_problem
from loratui.core.config.schema import SECTIONS, TrainingConfig, section_fields
from loratui.core.errors import LoratuiError
from loratui.core.termline import shell_arg


class ConfigError(LoratuiError):
    """A config problem. ``problems`` holds every one found; str() is the first (one line)."""

    def __init__(self, problems: list[str] | str, source: str | None = None):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        first = self.problems[0]
        if len(self.problems) > 1:
            where = f" {shell_arg(source)}" if source and not source.startswith("<") else ""
            first += f" (and {len(self.problems) - 1} more: run `loratui config check{where}` to see all)"
        super().__init__(first)


@dataclass(frozen=True)
class FieldSpec:
    section: str
    name: str
    kind: str  # bool | int | float | str | str_list | resolution | warmup
    optional: bool
    default: Any
    help: str
    choices: tuple | None
    min: float | None
    max: float | None

    def typed_text(self, value: Any) -> str:
        """The text a form field shows for ``value``; coerce_value(self, that text) gives ``value`` back
        (a list's elements quoted where they hold a space or a quote, so a Settings edit keeps them)."""
        if value is None:
            return ""
        if self.kind == "resolution":
            w, h = value
            return str(w) if w == h else f"{w},{h}"
        if self.kind == "str_list":
            return list_text(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)


def _kind(tp: Any) -> tuple[str, bool]:
    optional = False
    args = typing.get_args(tp)
    if type(None) in args:
        optional = True
        rest = [a for a in args if a is not type(None)]
        tp = rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]
    if tp is bool:
        return "bool", optional
    if tp is int:
        return "int", optional
    if tp is float:
        return "float", optional
    if tp is str:
        return "str", optional
    if set(typing.get_args(tp)) == {int, float}:
        return "warmup", optional
    origin = typing.get_origin(tp)
    if origin is tuple:
        return "resolution", optional
    if origin is list:
        return "str_list", optional
    raise TypeError(f"config field type {tp!r} has no reader")


def _build_specs() -> dict[tuple[str, str], FieldSpec]:
    specs: dict[tuple[str, str], FieldSpec] = {}
    for section in SECTIONS:
        cls = typing.get_type_hints(TrainingConfig)[section]
        hints = typing.get_type_hints(cls)
        for f in section_fields(section):
            kind, optional = _kind(hints[f.name])
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            md = f.metadata
            specs[(section, f.name)] = FieldSpec(section, f.name, kind, optional, default, md["help"],
                                                 md.get("choices"), md.get("min"), md.get("max"))
    return specs


FIELDS: dict[tuple[str, str], FieldSpec] = _build_specs()
KEY_SECTIONS: dict[str, str] = {name: section for (section, name) in FIELDS}
PATH_KEYS: frozenset[tuple[str, str]] = frozenset({
    ("model", "pretrained_model_name_or_path"), ("model", "vae"), ("dataset", "train_data_dir"),
    ("dataset", "reg_data_dir"), ("network", "network_weights"), ("saving", "output_dir"),
    ("saving", "resume"), ("sampling", "sample_prompts"),
})

# sd-scripts spellings that mean exactly one of our optimizers (case-insensitive keys).
# SGDNesterov is NOT an alias: it also sets momentum and nesterov, so it is refused with a hint.
_OPTIMIZER_ALIASES = {
    "torch.optim.adamw": "AdamW",
    "bitsandbytes.optim.adamw8bit": "AdamW8bit", "bnb.optim.adamw8bit": "AdamW8bit",
    "lion_pytorch.lion": "Lion", "bitsandbytes.optim.lion8bit": "Lion8bit",
    "bnb.optim.lion8bit": "Lion8bit", "transformers.optimization.adafactor": "Adafactor",
    "prodigyopt.prodigy": "Prodigy", "torch.optim.sgd": "SGD",
}
_OPTIMIZER_HINTS = {
    "sgdnesterov": 'use optimizer_type = "SGD" with optimizer_args = ["momentum=0.9", "nesterov=True"]',
    "sgdnesterov8bit": 'use optimizer_type = "SGD" with optimizer_args = ["momentum=0.9", "nesterov=True"]',
    "pagedadamw8bit": 'use "AdamW8bit" (paged optimizers are not supported)',
    "pagedlion8bit": 'use "Lion8bit" (paged optimizers are not supported)',
    "dadaptation": 'use "Prodigy" (the D-Adaptation successor, also with learning_rate 1)',
    "dadaptadam": 'use "Prodigy" (the D-Adaptation successor, also with learning_rate 1)',
}


def field_spec(key: str, section: str | None = None) -> FieldSpec:
    """The spec of ``key`` (optionally "section.key"); KeyError if there is none."""
    if section is None and "." in key:
        section, key = key.split(".", 1)
    return FIELDS[(section or KEY_SECTIONS[key], key)]


def optimizer_name(value: str) -> str | None:
    """Canonical optimizer for an sd-scripts spelling, or None when we have no equivalent."""
    low = value.strip().lower()
    for name in schema.OPTIMIZERS:
        if name.lower() == low:
            return name
    return _OPTIMIZER_ALIASES.get(low)


# ---------------------------------------------------------------- list fields as one line of text

# An element shown bare: no whitespace, no quote, no backslash (what shlex would read differently).
_BARE_ELEMENT = re.compile(r"""[^\s"'\\]+""")


def list_text(items: list[str]) -> str:
    """A list of strings as one line, shell-style: elements apart by spaces, an element holding a space,
    a quote or a backslash (or empty) in quotes. parse_list_text reads it back to the same list, as
    kohya_ss's GUI string of optimizer args is read (shlex) by `config import-kohya`."""
    return " ".join(_quoted_element(item) for item in items)


def _quoted_element(item: str) -> str:
    if _BARE_ELEMENT.fullmatch(item):
        return item
    if '"' not in item and "\\" not in item:
        return f'"{item}"'
    if "'" not in item:  # shlex reads everything between single quotes as it is
        return f"'{item}'"
    return '"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_list_text(text: str) -> list[str]:
    """One line of shell-style words -> the list (quotes group words; ValueError for one not closed)."""
    try:
        return shlex.split(text)
    except ValueError:
        raise ValueError(f"a quote is not closed in {text!r}: close it (an element holding spaces goes in "
                         "quotes, e.g. \"betas=(0.9, 0.99)\")") from None


# ---------------------------------------------------------------- value checking


def show_value(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if hasattr(value, "isoformat"):  # TOML reads 1979-05-27 (unquoted) as a date
        return f"the date/time {value.isoformat()} (TOML reads an unquoted 1979-05-27 as a date)"
    return repr(value) if not isinstance(value, (list, tuple)) else "[" + ", ".join(show_value(v) for v in value) + "]"


def _fmt_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(x)


def range_text(spec: FieldSpec) -> str:
    if spec.min is not None and spec.max is not None:
        return f" from {_fmt_num(spec.min)} to {_fmt_num(spec.max)}"
    if spec.min is not None:
        return f" >= {_fmt_num(spec.min)}"
    if spec.max is not None:
        return f" <= {_fmt_num(spec.max)}"
    return ""


def _quoted_hint(value: Any) -> str:
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return ""
        return " (a string: write the number without quotes)"
    return ""


def _in_range(spec: FieldSpec, x: float) -> bool:
    return (spec.min is None or x >= spec.min) and (spec.max is None or x <= spec.max)


def file_name_problem(name: str) -> str | None:
    """Why ``name`` is not a plain file name (one that stays in its folder), or None."""
    if not name.strip():
        return "is empty"
    if "/" in name or "\\" in name:
        return f"{name!r} holds a path separator"
    if name in (".", ".."):
        return f"{name!r} is a folder reference"
    if any(ord(ch) < 32 for ch in name):
        return f"{name!r} holds a control character"
    return None


def clean_file_name(name: str) -> str:
    """The plain file name in ``name``: its last path part without folder references ("" if none)."""
    parts = [p for p in re.split(r"[/\\]", name) if p.strip() and p not in (".", "..")]
    last = "".join(ch for ch in parts[-1] if ord(ch) >= 32).strip() if parts else ""
    return last if not file_name_problem(last or " ") else ""


def coerce_value(spec: FieldSpec, value: Any) -> Any:
    """Check one value against its field and return it in canonical form; ValueError(problem)."""
    kind = spec.kind
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false (TOML booleans, no quotes), got {show_value(value)}")
        return value
    if kind == "int":
        what = f"an integer{range_text(spec)}"
        if isinstance(value, float) and value.is_integer() and not isinstance(value, bool):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"must be {what}, got {show_value(value)}{_quoted_hint(value)}")
        if spec.choices and value not in spec.choices:
            raise ValueError(f"must be one of {', '.join(map(str, spec.choices))}, got {value}")
        if not _in_range(spec, value):
            off = ("; 0 is not \"off\" here (kohya_ss' GUI writes it so): delete the line or comment it out to "
                   "turn it off") if value == 0 and getattr(spec, "optional", False) else ""
            if spec.name == "network_dim":
                from loratui.core.config.network_args import lokr_full_matrix_hint

                hint = lokr_full_matrix_hint(value)
                off = f"; {hint}" if hint else off
            raise ValueError(f"must be {what}, got {value}{off}")
        return value
    if kind == "float":
        what = f"a number{range_text(spec)}"
        if not isinstance(value, (int, float)) or isinstance(value, bool) or \
                (isinstance(value, float) and not math.isfinite(value)):
            raise ValueError(f"must be {what}, got {show_value(value)}{_quoted_hint(value)}")
        if not _in_range(spec, value):
            raise ValueError(f"must be {what}, got {_fmt_num(value)}")
        return float(value)
    if kind == "warmup":
        what = "a step count (integer >= 0) or a fraction of the total steps below 1 (e.g. 0.05)"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                (isinstance(value, float) and not math.isfinite(value)) or value < 0:
            raise ValueError(f"must be {what}, got {show_value(value)}{_quoted_hint(value)}")
        if isinstance(value, float) and value >= 1:
            if not value.is_integer():
                raise ValueError(f"must be {what}, got {value}")
            return int(value)
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise ValueError(f"must be a string (in quotes), got {show_value(value)}")
        if spec.choices:
            for choice in spec.choices:
                if choice.lower() == value.strip().lower():
                    return choice
            if spec.name == "model_family":  # sd15, sd1.5, sd21 ... are read as sd1, sd2
                family = canonical_family(value, allow_auto=True)
                if family in spec.choices:
                    return family
            if spec.name == "optimizer_type":
                canonical = optimizer_name(value)
                if canonical:
                    return canonical
                hint = _OPTIMIZER_HINTS.get(value.strip().lower())
                if hint:
                    raise ValueError(f"{value!r} is not supported: {hint}")
            close = difflib.get_close_matches(value.lower(), [c.lower() for c in spec.choices], n=1)
            mean = ""
            if close:
                mean = " (did you mean " + repr(next(c for c in spec.choices if c.lower() == close[0])) + "?)"
            raise ValueError(f"must be one of {', '.join(spec.choices)}, got {value!r}{mean}")
        if (spec.section, spec.name) == ("saving", "output_name"):
            problem = file_name_problem(value)
            if problem:
                raise ValueError(f"{problem}: the LoRA, its states and samples are saved in output_dir under this "
                                 "name, so it must be a plain file name such as \"my_lora\"")
        return value
    if kind == "str_list":
        if isinstance(value, str):  # kohya style or a form field: weight_decay=0.01 "betas=(0.9, 0.99)"
            value = parse_list_text(value)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"must be a list of strings like [\"weight_decay=0.01\"], got {show_value(value)}")
        if (spec.section, spec.name) == ("optimizer", "optimizer_args"):
            for item in value:
                problem = optimizer_arg_problem(item)
                if problem:
                    raise ValueError(problem)
        return list(value)
    if kind == "resolution":
        return _coerce_resolution(spec, value)
    raise AssertionError(kind)


def _coerce_resolution(spec: FieldSpec, value: Any) -> tuple[int, int]:
    what = f"a size in pixels{range_text(spec)}: 512, \"512,768\" or [512, 768] (width, height)"
    parts: list[Any]
    if isinstance(value, bool):
        parts = []
    elif isinstance(value, int):
        parts = [value, value]
    elif isinstance(value, str):
        pieces = [p.strip() for p in re.split(r"[,x]", value.strip().lower())]
        parts = [int(p) if p.isdigit() else None for p in pieces]
        if len(parts) == 1:
            parts = parts * 2
    elif isinstance(value, (list, tuple)):
        parts = list(value) if len(value) in (1, 2) else []
        if len(parts) == 1:
            parts = parts * 2
    else:
        parts = []
    if len(parts) != 2 or not all(isinstance(p, int) and not isinstance(p, bool) for p in parts):
        raise ValueError(f"must be {what}, got {show_value(value)}")
    w, h = parts
    if not (_in_range(spec, w) and _in_range(spec, h)):
        raise ValueError(f"must be {what}, got {show_value(value)}")
    return (w, h)


KIND_WORDS = {"bool": "true/false", "int": "integer", "float": "number", "str": "string",
              "str_list": "list of strings", "resolution": "size", "warmup": "steps or ratio"}


def describe_field(spec: FieldSpec) -> tuple[str, str]:
    """(head line, help) of a field, as `loratui config explain KEY` and the settings form show them:
    ``[section] key  (kind, default D; one of ... | range)`` and the help text (not wrapped)."""
    default = spec.default
    if spec.kind == "resolution":
        default = default[0] if default[0] == default[1] else list(default)
    shown = "unset" if default is None else repr(default) if isinstance(default, str) else \
        str(default).lower() if isinstance(default, bool) else str(default)
    extra = ""
    if spec.choices:
        extra = "; one of " + ", ".join(map(str, spec.choices))
    elif spec.min is not None or spec.max is not None:
        extra = ";" + range_text(spec)
    return f"[{spec.section}] {spec.name}  ({KIND_WORDS[spec.kind]}, default {shown}{extra})", spec.help
