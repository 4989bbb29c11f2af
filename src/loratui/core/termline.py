"""One-line progress bars that redraw in place (``\\r``) must never wrap: a wrapped line leaves a
copy behind on every redraw. ``fit`` cuts a line to the terminal's width."""

from __future__ import annotations

import shutil


def fit(line: str) -> str:
    """``line`` cut to one column less than the terminal (80 when it cannot be asked)."""
    width = shutil.get_terminal_size((80, 24)).columns - 1
    return line if len(line) <= width else line[: max(width - 1, 1)] + "…"


def shell_arg(value: object) -> str:
    """``value`` as one word of a shell command the user may copy (``proj ü`` -> ``'proj ü'``); a
    plain path stays as it is."""
    import shlex

    return shlex.quote(str(value))
