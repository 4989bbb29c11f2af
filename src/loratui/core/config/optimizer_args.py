"""``[optimizer] optimizer_args``: sd-scripts' ``--optimizer_args`` strings, ``"key=value"`` each.

The syntax rule lives here (pure Python, no torch) so that `config check`, the Settings field and
`train` refuse the same strings with the same line: core's coerce_value checks every element when a
config is read or a field is typed, and the engine (engine/optim.py) goes through coerce_value too
before it reads the values into the optimizer's keyword arguments.

sd-scripts reads each element as ``key, value = arg.split("=")`` then ``ast.literal_eval(value)``, so
``betas=0.9,0.99`` is the tuple (0.9, 0.99) (what betas takes), while a comma left at the end of an
element (``weight_decay=0.01,`` from typing ``weight_decay=0.01, betas=0.9,0.99``, the field's elements
being separated by spaces) makes the 1-tuple (0.01,), which the optimizer then fails on with a bare
TypeError. Such elements are refused here, with the way to write them.

A case-variant of true/false/none/null (``amsgrad=false``) is refused too: sd-scripts' literal_eval stops on
it, and read as text it would reach the optimizer as the string "false", which counts as on (the opposite
of what was written). literal_word says what to write instead (the kohya_ss import writes it so, with a
warning); engine/optim.py also refuses any other word given to an argument the optimizer takes as a bool.
"""

from __future__ import annotations

import ast

EXAMPLE = '"weight_decay=0.01"'
SPACED = "weight_decay=0.01 betas=0.9,0.99"  # the same two elements as the Settings field takes them


# the words a hand-written or GUI-written config means as Python's True / False / None
LITERAL_WORDS = {"true": "True", "false": "False", "none": "None", "null": "None"}


def literal_word(value: str) -> str | None:
    """The Python literal a case-variant of true/false/none/null stands for ("False" for "false", "None" for
    "null"), or None when ``value`` is no such word or is that literal already."""
    word = str(value).strip()
    literal = LITERAL_WORDS.get(word.lower())
    return literal if literal is not None and word != literal else None


def literal_word_problem(key: str, value: str) -> str | None:
    """The one line for ``key=value`` whose value is a true/false/none/null word not written as Python's
    literal, or None."""
    literal = literal_word(value)
    if literal is None:
        return None
    word = str(value).strip()
    meaning = {"False": ", which counts as on", "None": ", not None"}.get(literal, "")
    return (f"{key}={word}: write {key}={literal} (values are Python literals, as sd-scripts reads them; "
            f"{word!r} would be the text {word!r}{meaning})")


def optimizer_arg_problem(item: str) -> str | None:
    """Why one optimizer_args element is not ``key=value`` as sd-scripts reads it (one line, without
    the key's name), or None."""
    text = str(item)
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        return f"{text!r} is not key=value (e.g. {EXAMPLE})"
    if text.startswith("[") or text.endswith("]"):
        return (f"{text!r} holds a bracket of a TOML list: in the file write optimizer_args = [{EXAMPLE}, "
                f"\"betas=0.9,0.99\"]; in the Settings field type the elements with spaces: {SPACED}")
    if not key.strip().isidentifier():
        return f"{text!r}: {key.strip()!r} is not an argument name (e.g. {EXAMPLE})"
    if "=" in value:
        return (f"{text!r} holds two '=' (sd-scripts splits an element at each one): one key=value per element, "
                f"elements separated by spaces in the Settings field ({SPACED})")
    word = literal_word_problem(key.strip(), value)
    if word:
        return word
    try:
        parsed = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None  # a bare word: read as a string (the optimizer says whether it takes it)
    if isinstance(parsed, tuple) and len(parsed) == 1:
        return (f"{text!r} ends in a comma, which makes its value the tuple {parsed!r}: separate the elements "
                f"with spaces, not commas ({SPACED})")
    return None
