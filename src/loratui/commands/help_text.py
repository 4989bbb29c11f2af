"""Pieces of --help and of printed hints shared by every command: the "Exit codes:" block and the
shell quoting of a path in a command line the user may copy."""

from __future__ import annotations

import inspect
import shlex
import textwrap

# click indents a command's help by 2 columns inside its 80-column help (78 wide at COLUMNS=80):
# rows of this width, indented 2 more, never pass 80.
EXIT_CODES_WIDTH = 76


def exit_codes_block(*rows: tuple[int, str]) -> str:
    r"""The "Exit codes:" block of a --help text, one row per code, wrapped to fit 80 columns.

    A click ``\b`` paragraph, so click keeps the rows as they are instead of running them into one.
    """
    lines = ["\b", "Exit codes:"]
    for code, meaning in rows:
        lead = f"  {code:<4} "
        lines += textwrap.wrap(meaning, EXIT_CODES_WIDTH, initial_indent=lead, subsequent_indent=" " * len(lead),
                               break_on_hyphens=False)
    return "\n".join(lines)


def exit_codes(*rows: tuple[int, str]):
    """Decorator: append the exit-code block to a command's docstring. Put it right under
    ``@group.command(...)`` / ``@click.command()``, so click reads the docstring with it."""
    def decorate(func):
        func.__doc__ = inspect.cleandoc(func.__doc__ or "") + "\n\n" + exit_codes_block(*rows)
        return func
    return decorate


def shell_arg(value: object) -> str:
    """``value`` as one word of a shell command the user can copy (``proj ü`` -> ``'proj ü'``);
    a plain path stays as it is."""
    return shlex.quote(str(value))
