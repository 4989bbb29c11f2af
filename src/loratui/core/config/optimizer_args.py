"""``[optimizer] optimizer_args``: sd-scripts' ``--optimizer_args`` strings, ``"key=value"`` each.

The syntax rule lives here (pure Python, no torch) so that `config check`, the Settings field and
`train` refuse the same strings with the same line: core's coerce_value checks every element when a
config is read or a field is typed, and the engine (engine/optim.py) goes through coerce_value too
before it reads the values into the optimizer's keyword arguments.
"""

from __future__ import annotations

EXAMPLE = '"weight_decay=0.01"'


def optimizer_arg_problem(item: str) -> str | None:
    """Why one optimizer_args element is not ``key=value`` (one line, without the key's name), or None."""
    key, sep, _ = str(item).partition("=")
    if not sep or not key.strip():
        return f"{item!r} is not key=value (e.g. {EXAMPLE})"
    return None
