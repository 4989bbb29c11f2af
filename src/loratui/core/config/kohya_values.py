"""How the kohya_ss GUI JSON writes values (numbers and booleans as strings, "" for unset), read for the import."""

from __future__ import annotations

import math
from typing import Any

from loratui.core.config.fields import show_value
from loratui.core.config.kohya_keys import FALSE_WORDS, TRUE_WORDS


def empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def number(value: Any) -> Any:
    """kohya writes many numbers as strings ("0", "1234", "0.05")."""
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return value
    return value


def whole_number(value: Any) -> tuple[Any, Any]:
    """A count as the kohya_ss GUI may write it (its Gradio numbers are floats: 10.0), read the one way every
    integer key of the import is read: (the integer, None) for 10, 10.0, "10" or "10.0"; (its whole part, the
    number as written) for a fractional one (10.5 -> (10, 10.5): kohya_ss' own int(), which the caller warns
    about); (the value unchanged, None) for anything else (a word, a boolean, an empty string)."""
    read = number(value)
    if isinstance(read, bool) or not isinstance(read, (int, float)):
        return value, None
    if isinstance(read, int):
        return read, None
    if not math.isfinite(read):
        return value, None
    if read.is_integer():
        return int(read), None
    return int(read), read


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def positive_count(value: Any) -> bool:
    """A whole number above 0 (as whole_number reads it; not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def shown(value: Any) -> str:
    """A default as a user reads it: 512x512 for a resolution, unset for None."""
    if value is None:
        return "(unset)"
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    return show_value(value)


def bool_word(value: Any) -> bool | None:
    """True/False for a boolean written as a string or 0/1; None when it is not one."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        return True if word in TRUE_WORDS else False if word in FALSE_WORDS else None
    return None
