"""Pieces of --help and of printed hints shared by every command: the "Exit codes:" block, the
shell quoting of a path in a command line the user may copy, and the help formatter that never
breaks a word at its hyphen (cli.py imports this module, so every command's --help uses it)."""

from __future__ import annotations

import inspect
import textwrap

import click

from loratui.core.termline import shell_arg  # re-exported: commands quote paths with it

# A hyphen stands in as this one-column character while click wraps, so no line ends inside
# `SmilingWolf/wd-swinv2-tagger-v3`, a file name or an option: an example pastes as written.
_HELD_HYPHEN = "\ue000"


def _hold(text: str) -> str:
    return text.replace("-", _HELD_HYPHEN)


class HelpFormatter(click.HelpFormatter):
    """click's help formatter, except that text is wrapped at spaces only, never at a hyphen."""

    def write_text(self, text: str) -> None:
        start = len(self.buffer)
        super().write_text(_hold(text))
        self._release(start)

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        start = len(self.buffer)
        super().write_dl([(_hold(term), _hold(text)) for term, text in rows], col_max, col_spacing)
        self._release(start)

    def _release(self, start: int) -> None:
        self.buffer[start:] = [part.replace(_HELD_HYPHEN, "-") for part in self.buffer[start:]]


click.Context.formatter_class = HelpFormatter  # every command's context makes its help with it

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

__all__ = ["EXIT_CODES_WIDTH", "HelpFormatter", "exit_codes", "exit_codes_block", "shell_arg"]
