"""Tag patterns: exact names, globs (`*bg*`) and `/regex/`, as every tag operation and `--where` read them.

The lowest module of captions (with tagkey.py): the operations (ops.py) and the filter language
(filter.py) both build on it, so neither has to import the other to match a tag. Tags and patterns
compare in composed Unicode (NFC, ``tagkey.nfc``), as CLIP reads them: ``café`` finds a decomposed
``café`` copied from macOS too.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable

from loratui.core.captions.tagkey import nfc
from loratui.core.errors import LoratuiError

MATCH_MODES = ("exact", "glob", "regex", "auto")


def pattern_kind(pattern: str, mode: str = "auto") -> tuple[str, str]:
    """(kind, body): auto makes ``/.../`` a regex, anything with ``*`` or ``?`` a glob, the rest
    exact. Brackets alone do not make a glob in auto: ``[blue eyes]`` and ``[[masterpiece]]`` are
    A1111/NAI weighted tags far more often than a character class (mode glob reads them so)."""
    if mode != "auto":
        return mode, pattern
    if len(pattern) > 2 and pattern.startswith("/") and pattern.endswith("/"):
        return "regex", pattern[1:-1]
    if any(ch in pattern for ch in "*?"):
        return "glob", pattern
    return "exact", pattern


def compile_regex(body: str, flags: int = 0) -> re.Pattern:
    try:
        return re.compile(body, flags)
    except re.error as exc:
        raise LoratuiError(f"bad regular expression {body!r}: {exc}") from None


def tag_matcher(patterns: Iterable[str], mode: str = "auto", ignore_case: bool = False) -> Callable[[str], bool]:
    """A predicate for tags (exact, glob or regex; full-string matches). Answers are memoised.
    In auto mode a glob also matches its own text: ``what?`` removes the tag "what?" too.

    ``ignore_case``: ``solo`` also matches ``SOLO`` and ``Solo`` (exact and glob compare casefolded,
    a regex gets re.IGNORECASE; a scoped ``(?-i:...)`` inside it still asks for case).
    Tags and patterns compare composed (NFC): ``café`` matches a decomposed ``café`` (one tag to CLIP),
    and a pattern matches both spellings of a tag or neither."""
    fold = str.casefold if ignore_case else (lambda text: text)
    flags = re.IGNORECASE if ignore_case else 0
    exact: set[str] = set()
    regexes: list[re.Pattern] = []  # each compiled on its own: flags and group names stay its own
    for pattern in patterns:
        kind, body = pattern_kind(pattern, mode)
        body = nfc(body)
        if kind == "exact":
            exact.add(fold(body))
        elif kind == "glob":
            regexes.append(re.compile(fnmatch.translate(body), flags))
            if mode == "auto":
                exact.add(fold(body))
        elif kind == "regex":
            regexes.append(compile_regex(body, flags))
        else:
            raise LoratuiError(f"unknown match mode {mode!r}: use one of {', '.join(MATCH_MODES)}")
    if not regexes and not ignore_case:
        return lambda tag: tag in exact or nfc(tag) in exact
    memo: dict[str, bool] = {}

    def matches(tag: str) -> bool:
        hit = memo.get(tag)
        if hit is None:
            same = nfc(tag)
            hit = memo[tag] = fold(same) in exact or any(r.fullmatch(same) is not None for r in regexes)
        return hit

    return matches
