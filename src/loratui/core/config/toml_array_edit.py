"""A TOML array's text edited to hold a new list, changing only the elements that changed.

Why: a Settings field changes one item of a list key (``network_args``, ``optimizer_args``, ...), and the
user laid that array out by hand: quote styles, spacing, commas, comments, one line or several. Writing the
new list afresh would reflow all of it. Here the old and new lists are matched (equal items, then items
with the same key in "key=value", then items without a key, slot by slot) and the text is edited:

- a changed item gets a new literal in place, in its old quote style when the value allows it;
- an item removed goes with its comma, and with its own line and trailing comment when it had a line to
  itself (the comment lines above it stay: they may be about more than that item);
- an item added goes after the item before it in the new list (before the first when it is first), in
  the style of its neighbour: on its own line with the same indent, or on the same line with the same
  separator and quotes.

When the text is not a plain array of scalars (a nested array, an inline table, a multi-line string) or the
new list reorders kept items, ``edit_array_text`` returns None and the caller writes the array afresh.
Pure Python; write.py is the only user.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from loratui.core.config.render import toml_value

_BARE = re.compile(r"[A-Za-z0-9_+\-.:]+")  # numbers, booleans, dates: one word each


@dataclass(frozen=True)
class _Token:
    kind: str  # "[", "]", ",", "ws", "nl", "comment", "value"
    start: int
    end: int


@dataclass
class _Array:
    text: str
    tokens: list[_Token]
    elements: list[int]  # indices into tokens, one per element
    values: list[Any]

    def span(self, i: int) -> _Token:
        return self.tokens[self.elements[i]]


def array_key(value: Any) -> str | None:
    """The key of a "key=value" item: an item whose value changed is still the same item."""
    return value.split("=", 1)[0].strip() if isinstance(value, str) and "=" in value else None


def _ident(value: Any) -> tuple[str, Any]:
    return type(value).__name__, value  # True is not 1 here


def _string_end(text: str, pos: int) -> int | None:
    """The end of the one-line string literal starting at ``pos`` (None: unterminated or multi-line)."""
    quote = text[pos]
    if text.startswith(quote * 3, pos):
        return None  # multi-line strings: rare in a list of arguments, written afresh
    i = pos + 1
    while i < len(text):
        ch = text[i]
        if ch == "\n":
            return None
        if ch == "\\" and quote == '"':
            i += 2
            continue
        if ch == quote:
            return i + 1
        i += 1
    return None


def _tokens(text: str) -> list[_Token] | None:
    if not text.startswith("["):
        return None
    out, pos = [_Token("[", 0, 1)], 1
    while pos < len(text):
        ch = text[pos]
        if ch in " \t":
            end = pos
            while end < len(text) and text[end] in " \t":
                end += 1
            out.append(_Token("ws", pos, end))
        elif ch == "\n":
            out.append(_Token("nl", pos, pos + 1))
            end = pos + 1
        elif ch == "#":
            end = text.find("\n", pos)
            end = len(text) if end < 0 else end
            out.append(_Token("comment", pos, end))
        elif ch in ",]":
            end = pos + 1
            out.append(_Token(ch, pos, end))
            if ch == "]":
                return out if end == len(text) else None
        elif ch in "\"'":
            end = _string_end(text, pos)
            if end is None:
                return None
            out.append(_Token("value", pos, end))
        else:
            match = _BARE.match(text, pos)
            if match is None:
                return None  # "[" or "{": not a plain array
            end = match.end()
            out.append(_Token("value", pos, end))
        pos = end
    return None


def _parse(text: str) -> _Array | None:
    """The array's tokens and values, or None when it is not ``[ scalar, scalar, ... ]``."""
    tokens = _tokens(text)
    if tokens is None:
        return None
    kinds = [t.kind for t in tokens if t.kind not in ("ws", "nl", "comment")]
    body = kinds[1:-1]
    if body:  # value (, value)* ,?
        if body[-1] == ",":
            body = body[:-1]
        if body[0::2] != ["value"] * len(body[0::2]) or body[1::2] != [","] * len(body[1::2]) or len(body) % 2 == 0:
            return None
    elements = [i for i, t in enumerate(tokens) if t.kind == "value"]
    values = []
    for i in elements:
        try:
            values.append(tomllib.loads("v = " + text[tokens[i].start:tokens[i].end])["v"])
        except tomllib.TOMLDecodeError:
            return None
    return _Array(text, tokens, elements, values)


# ---------------------------------------------------------------- where an element sits


def _same_line_neighbour(arr: _Array, i: int, step: int) -> int | None:
    """The element next to ``i`` (step -1: before, +1: after) on the same line, or None."""
    t = arr.elements[i] + step
    while 0 <= t < len(arr.tokens) and arr.tokens[t].kind in ("ws", ","):
        t += step
    return i + step if 0 <= t < len(arr.tokens) and arr.tokens[t].kind == "value" else None


def _comma_after(arr: _Array, i: int) -> _Token | None:
    t = arr.elements[i] + 1
    while arr.tokens[t].kind not in ("value", "]"):
        if arr.tokens[t].kind == ",":
            return arr.tokens[t]
        t += 1
    return None


def _owns_line(arr: _Array, i: int) -> bool:
    """Only indent before the element on its line, only its comma and comment after it."""
    t = arr.elements[i] - 1
    while arr.tokens[t].kind == "ws":
        t -= 1
    if arr.tokens[t].kind != "nl":
        return False
    t = arr.elements[i] + 1
    while arr.tokens[t].kind in ("ws", ",", "comment"):
        t += 1
    return arr.tokens[t].kind == "nl"


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _line_end(text: str, pos: int) -> int:
    """The index just past the newline ending the line holding ``pos``."""
    return text.index("\n", pos) + 1


def _separator(arr: _Array, i: int) -> str:
    """How this array separates two items on one line (" ," / ", " / ...), the one next to ``i`` first."""
    n = len(arr.elements)
    for k in sorted(range(n - 1), key=lambda k: (abs(k + 0.5 - i), k)):  # the nearest pair first
        if _same_line_neighbour(arr, k, 1) == k + 1:
            return arr.text[arr.span(k).end:arr.span(k + 1).start]
    return ", "


def _literal(value: Any, like: str) -> str:
    """``value`` as TOML, a string in 'literal' style when ``like`` is one and the value allows it."""
    if (isinstance(value, str) and like.startswith("'") and "'" not in value
            and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)):
        return f"'{value}'"
    return toml_value(value)


def _has_comment(text: str) -> bool:
    return "#" in text  # only ever asked of the text between two literals: no string in it


# ---------------------------------------------------------------- one edit at a time


def _cut(text: str, start: int, end: int) -> str:
    return text[:start] + text[end:]


def _delete(arr: _Array, i: int) -> str:
    text, e, n = arr.text, arr.span(i), len(arr.elements)
    before = _same_line_neighbour(arr, i, -1)
    if before is not None:  # `"a", "b"`: ", "b"" goes, the comma after b (if any) is a's now
        return _cut(text, arr.span(before).end, e.end)
    after = _same_line_neighbour(arr, i, 1)
    if after is not None:
        return _cut(text, e.start, arr.span(after).start)
    if _owns_line(arr, i):
        out = _cut(text, _line_start(text, e.start), _line_end(text, e.end))
        if _comma_after(arr, i) is None and i > 0:  # it was last without a trailing comma: so is the new last
            comma = _comma_after(arr, i - 1)
            out = _cut(out, comma.start, comma.end)  # before the cut line: same position
        return out
    if i > 0 and not _has_comment(text[arr.span(i - 1).end:e.start]):
        return _cut(text, arr.span(i - 1).end, e.end)
    if i + 1 < n and not _has_comment(text[e.end:arr.span(i + 1).start]):
        return _cut(text, e.start, arr.span(i + 1).start)
    # comments all around: the literal and one comma go, every comment stays
    start, end = e.start, e.end
    if not text[_line_start(text, start):start].strip(" \t"):  # first on its line: its indent goes too
        start = _line_start(text, start)
        while text[end] in " \t":
            end += 1
    comma = _comma_after(arr, i) or (_comma_after(arr, i - 1) if i > 0 else None)
    cuts = sorted([(start, end)] + ([(comma.start, comma.end)] if comma else []), reverse=True)
    for start, end in cuts:
        text = _cut(text, start, end)
    return text


def _insert(arr: _Array, at: int, value: Any) -> str:
    """``value`` added as element ``at`` (0 <= at <= len), next to an existing element."""
    text = arr.text
    if at == 0:
        first = arr.span(0)
        literal = _literal(value, text[first.start:first.end])
        if _owns_line(arr, 0):
            start = _line_start(text, first.start)
            return text[:start] + text[start:first.start] + literal + ",\n" + text[start:]
        return text[:first.start] + literal + _separator(arr, 0) + text[first.start:]
    i = at - 1
    anchor = arr.span(i)
    literal = _literal(value, text[anchor.start:anchor.end])
    if _owns_line(arr, i):
        indent = text[_line_start(text, anchor.start):anchor.start]
        end = _line_end(text, anchor.end)
        if _comma_after(arr, i) is not None:
            return text[:end] + indent + literal + ",\n" + text[end:]
        return text[:anchor.end] + "," + text[anchor.end:end] + indent + literal + "\n" + text[end:]
    return text[:anchor.end] + _separator(arr, i) + literal + text[anchor.end:]


# ---------------------------------------------------------------- old list -> new list


def _pairs(old: list, new: list) -> dict[int, int] | None:
    """new index -> old index of the element it keeps (same or changed value); None when kept elements
    would change order."""
    matcher = SequenceMatcher(None, [_ident(v) for v in old], [_ident(v) for v in new], autojunk=False)
    pairs: dict[int, int] = {}
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            pairs[block.b + k] = block.a + k
    used = set(pairs.values())
    for j, value in enumerate(new):
        key = array_key(value)
        if j in pairs or key is None:
            continue
        i = next((i for i, v in enumerate(old) if i not in used and array_key(v) == key), None)
        if i is not None:
            pairs[j] = i
            used.add(i)
    order = sorted(pairs.items())
    if any(a[1] >= b[1] for a, b in zip(order, order[1:])):
        return None
    # between two kept elements, items without a key are edited slot by slot
    bounds = [(-1, -1), *order, (len(new), len(old))]
    for (j0, i0), (j1, i1) in zip(bounds, bounds[1:]):
        olds = [i for i in range(i0 + 1, i1) if array_key(old[i]) is None]
        news = [j for j in range(j0 + 1, j1) if array_key(new[j]) is None]
        pairs.update(zip(news, olds))
    return pairs


class _Unparsable(Exception):
    """An edit above left text this module cannot read back (a bug): the array is written afresh."""


def _reparse(text: str) -> _Array:
    arr = _parse(text)
    if arr is None:
        raise _Unparsable(text)
    return arr


def edit_array_text(text: str, new: list) -> str | None:
    """The array ``text`` (from "[" to "]") edited to hold ``new``; None when it cannot be done in place."""
    try:
        return _edited(text, list(new))
    except _Unparsable:
        return None


def _edited(text: str, new: list) -> str | None:
    arr = _parse(text)
    if arr is None or not arr.values:
        return None
    pairs = _pairs(arr.values, new)
    if pairs is None:
        return None
    for j, i in sorted(pairs.items(), key=lambda p: -p[1]):  # right to left: earlier offsets stay valid
        if _ident(arr.values[i]) != _ident(new[j]):
            span = arr.span(i)
            literal = _literal(new[j], text[span.start:span.end])
            text = text[:span.start] + literal + text[span.end:]
    gone = sorted(set(range(len(arr.values))) - set(pairs.values()), reverse=True)
    if not pairs:  # nothing kept: the new items go after the old ones, which then go
        for j, value in enumerate(new):
            text = _insert(_reparse(text), len(arr.values) + j, value)
        pairs = {j: len(arr.values) + j for j in range(len(new))}
    for i in gone:
        text = _delete(_reparse(text), i)
    for j, value in enumerate(new):
        if j not in pairs:  # new[:j] are the first j elements now
            text = _insert(_reparse(text), j, value)
    done = _parse(text)
    if done is None or [_ident(v) for v in done.values] != [_ident(v) for v in new]:
        return None  # an edit above went wrong: the caller writes the array afresh
    return text
