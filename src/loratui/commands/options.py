"""Option types shared by several commands, so that each reads a value the same way."""

from __future__ import annotations

import click


class FamilyType(click.ParamType):
    """--family: any spelling of a model family (sd1 or sd15, sd2, sdxl; any case), given to the
    command in the canonical form a config stores (sd1, sd2, sdxl; ``auto`` where allowed)."""

    name = "family"

    def __init__(self, *, auto: bool = False, families: tuple[str, ...] = ("sd1", "sd2", "sdxl")):
        self.auto = auto
        self.families = families

    def get_metavar(self, param, ctx=None) -> str:  # click 8.1 and 8.2 call it differently
        shown = [f for f in ("auto", "sd1", "sd15", "sd2", "sdxl")
                 if (f == "auto" and self.auto) or (f == "sd15" and "sd1" in self.families) or f in self.families]
        return "[" + "|".join(shown) + "]"

    def convert(self, value, param, ctx):
        from loratui.core.config import canonical_family

        if value is None:
            return None
        family = canonical_family(str(value), allow_auto=self.auto)
        if family is None or (family != "auto" and family not in self.families):
            names = ", ".join(("auto",) * self.auto + tuple("sd1 (or sd15)" if f == "sd1" else f for f in self.families))
            what = "not a model family" if family is None else "not offered here"
            self.fail(f"{value!r}: {what}: use {names}", param, ctx)
        return family


from loratui.core.captions import DEFAULT_SEPARATOR  # noqa: E402,F401  (', ': shown by `tags` and `caption` alike)

SEPARATOR_HELP = ("Tag separator: captions are split at its non-blank part; changed captions are written with it "
                  "('|' is written as '| '). A blank one (' ', a tab) is refused.")


def separator_value(ctx, param, separator: str) -> str:
    """--separator as given ('\\t' or 'tab' read as the tab they mean, which core then refuses with
    every other blank separator). Converted once, where click reads it."""
    return "\t" if separator in ("\\t", "tab") else separator


def stdio_is_terminal() -> bool:
    """Whether stdin and stdout are both terminals: a y/N question needs both (click.confirm writes
    it to stdout, so with stdout piped the question is invisible and its text lands in what a script
    reads)."""
    import sys

    return sys.stdin.isatty() and sys.stdout.isatty()


def can_ask(as_json: bool = False, terminal=stdio_is_terminal) -> bool:
    """May a command ask a y/N question? Only on a terminal (``terminal()``: stdin and stdout) and
    without --json (a script reads the JSON: it must not wait at a question). Otherwise the command
    refuses as its --help says for "not a terminal" (exit 2, nothing written). ``terminal``: each
    command module's own ``_interactive``, which tests replace."""
    return not as_json and terminal()


def json_line(obj, *, indent: int | None = None) -> str:
    """``obj`` as JSON text that is always valid UTF-8: non-ASCII as it is, unless some string holds
    what UTF-8 cannot encode (a non-UTF-8 file name, read as lone surrogates): then every non-ASCII
    character is written \\uXXXX-escaped, as JSON allows, instead of raw bytes a reader rejects."""
    import json

    text = json.dumps(obj, ensure_ascii=False, indent=indent)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, ensure_ascii=True, indent=indent)
    return text
