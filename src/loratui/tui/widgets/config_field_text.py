"""What is typed in a settings field and what core reads from it: the text a value is shown as, the raw
value parsed from typed text, and core's check of it (``INVALID`` with core's words when refused).

Split from widgets/config_field.py (the widget that draws and edits a field); its names are re-exported
there, so ``from loratui.tui.widgets.config_field import check_text`` keeps working.
"""

from __future__ import annotations

import tomllib
from typing import Any

from loratui.core.config import FieldSpec, coerce_value

INVALID = object()   # the value of a field whose text core refuses
NO_FILE = object()   # the file value of a field when there is no file (nothing to differ from)


def value_text(spec: FieldSpec, value: Any) -> str:
    """How a value is typed in the field (and shown in the "changed" note): core's text, which core's
    coerce_value reads back to the same value (a list element holding a space is shown in quotes), so an
    untouched field is never "changed" and an edit keeps the other elements whole."""
    return spec.typed_text(value)


def parse_text(spec: FieldSpec, text: str) -> Any:
    """What was typed, as the raw value core's coerce_value checks (None: an optional field unset)."""
    stripped = text.strip()
    if spec.optional and not stripped:
        return None
    if spec.kind in ("int", "float", "warmup"):
        for number in (int, float):
            try:
                return number(stripped)
            except ValueError:
                pass
        return stripped  # core says what it must be: "must be an integer ..., got 'sixteen'"
    if spec.kind == "str_list" and stripped.startswith("[") and stripped.endswith("]"):
        try:  # a TOML list typed (or pasted) as the help shows it: ["weight_decay=0.01", "betas=0.9,0.99"]
            listed = tomllib.loads(f"v = {stripped}")["v"]
        except tomllib.TOMLDecodeError:
            listed = None  # core names the bracket left in an element
        if isinstance(listed, list):
            return listed
    if spec.kind in ("resolution", "str_list"):
        return stripped
    return text


def check_text(spec: FieldSpec, text: str) -> tuple[Any, str | None]:
    """(value, None) or (INVALID, "key: core's problem") for text typed in a field."""
    raw = parse_text(spec, text)
    if raw is None:
        return None, None
    try:
        return coerce_value(spec, raw), None
    except ValueError as exc:
        return INVALID, f"{spec.name}: {exc}"
