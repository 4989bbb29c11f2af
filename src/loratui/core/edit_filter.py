"""The `--where` filter: which captions a bulk operation (or the frequency table) looks at.

Syntax: terms joined by `and` (or plain spaces) inside a group, groups joined by `or`; `not` or a
leading `-` negates a term. Quote values with spaces.

    tag:VALUE      the caption has a tag matching VALUE (exact, glob with * ? [, or /regex/)
    folder:VALUE   the caption's folder name matches VALUE (e.g. folder:10_alice, folder:*alice*)
    text:VALUE     the first line contains VALUE (plain substring)
    file:VALUE     the caption file name matches VALUE (glob)
    empty          the caption has no tags (or no caption file)
    missing        there is no caption file yet
    multiline      the file has text after its first line

Examples: `tag:solo and not tag:1girl`, `folder:*alice* or tag:"alice (character)"`, `-tag:rating*`
"""

from __future__ import annotations

import fnmatch
import shlex
from collections.abc import Callable

from loratui.core.captions import Caption
from loratui.core.edits import tag_matcher
from loratui.core.errors import LoratuiError

Predicate = Callable[[Caption], bool]
KEYS = ("tag", "folder", "text", "file")
FLAGS = ("empty", "missing", "multiline")


def _term(token: str) -> Predicate:
    if token in FLAGS:
        if token == "empty":
            return lambda c: not c.tags
        if token == "missing":
            return lambda c: not c.exists
        return lambda c: c.multiline
    key, sep, value = token.partition(":")
    if not sep or key not in KEYS or not value:
        raise LoratuiError(f"--where: cannot read {token!r}: use tag:X, folder:X, text:X, file:X, "
                           f"{', '.join(FLAGS)} (joined by and/or/not)")
    if key == "tag":
        match = tag_matcher([value])
        return lambda c: any(match(t) for t in c.tags)
    if key == "folder":
        return lambda c: fnmatch.fnmatchcase(c.path.parent.name, value)
    if key == "file":
        return lambda c: fnmatch.fnmatchcase(c.path.name, value)
    return lambda c: value in c.first_line


def parse_where(expression: str | None) -> Predicate | None:
    """Compile a --where expression; None (or blank) selects every caption."""
    if expression is None or not expression.strip():
        return None
    try:
        tokens = shlex.split(expression)
    except ValueError as exc:
        raise LoratuiError(f"--where: {exc} in {expression!r}") from None
    groups: list[list[Predicate]] = [[]]
    negate = False
    for token in tokens:
        low = token.lower()
        if low == "or":
            if not groups[-1] or negate:
                raise LoratuiError(f"--where: 'or' needs a term on each side in {expression!r}")
            groups.append([])
            continue
        if low == "and":
            continue
        if low == "not":
            negate = not negate
            continue
        if token.startswith("-") and len(token) > 1:
            token = token[1:]
            negate = not negate
        pred = _term(token)
        if negate:
            pred = (lambda p: lambda c: not p(c))(pred)
            negate = False
        groups[-1].append(pred)
    if not groups[-1] or negate:
        raise LoratuiError(f"--where: expression ends too early: {expression!r}")

    def selected(caption: Caption) -> bool:
        return any(all(p(caption) for p in group) for group in groups)

    return selected
