"""Other spellings of a tag the user typed: the notes that say a tag is in the captions as written otherwise.

``tags add`` and ``dedupe`` call ``long_hair``, ``Long Hair`` and ``long hair`` (or ``miku \\(cosplay\\)`` and
``miku (cosplay)``) one tag (tagkey.tag_key), but ``remove``, ``replace`` and ``--where tag:`` match what was
typed, exactly, and scripts rely on that. So matching stays exact; when a typed tag matches no caption while
another spelling of it is there, these notes say so and name the spelling to use.

A spelling is shown as the user types it back in a shell (``typed``): quoted, backslashes as they are
(``'miku \\(cosplay\\)'``, never ``repr``'s doubled ones); only control characters are escaped
(core.termline), so the note stays one line.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Iterable

from loratui.core.captions.filter import _key_value, _tokens, any_tag_term
from loratui.core.captions.patterns import pattern_kind, tag_matcher
from loratui.core.captions.tagkey import count_tags, nfc, tag_key
from loratui.core.termline import escape_controls

_SHELL_SPECIAL_IN_DOUBLE = frozenset('"$`\\!')
SHOWN_SPELLINGS = 2  # the most used other spellings a note names


def typed(text: str) -> str:
    """``text`` quoted as one shell word the user can paste back (``'long hair'``, ``'miku \\(cosplay\\)'``,
    ``"jack-o'-lantern"``), always quoted so that it reads as a name in a sentence; a control character
    escaped (``\\n``) so the line stays one line."""
    if "'" not in text:
        quoted = f"'{text}'"
    elif not any(ch in _SHELL_SPECIAL_IN_DOUBLE for ch in text):
        quoted = f'"{text}"'
    else:
        quoted = shlex.quote(text)
    return escape_controls(quoted)


def spelling(other: str, given: str) -> str:
    """``'café'``, or ``'café' in decomposed Unicode, NFD`` when it differs from ``given`` only in its
    Unicode form: the two look the same, so the note says what differs."""
    if nfc(other) != nfc(given):
        return typed(other)
    return f"{typed(other)} in {'composed Unicode, NFC' if nfc(other) == other else 'decomposed Unicode, NFD'}"


def add_spelling_notes(other_spelling: dict[str, Counter]) -> list[str]:
    """``'long hair': not added to 3 caption(s) that have it already as 'long_hair' (the same tag)``:
    one line per tag given to ``tags add`` that some captions hold under another spelling."""
    notes = []
    for tag, spellings in other_spelling.items():
        if spellings:
            shown = " or ".join(spelling(s, tag) for s, _ in spellings.most_common(SHOWN_SPELLINGS)) + (
                " ..." if len(spellings) > SHOWN_SPELLINGS else "")
            notes.append(f"{typed(tag)}: not added to {sum(spellings.values()):,} caption(s) that have it already "
                         f"as {shown} (the same tag)")
    return notes


class Spellings:
    """The tags of some captions, counted (captions holding each, NFC as ``tag_frequency``) and grouped by
    ``tag_key``, to answer "does this typed tag match any, and if not, how is it written here?"."""

    def __init__(self, tag_lists: Iterable[list[str]]):
        self.counts = count_tags(tag_lists)
        self._by_key: dict[str, list[str]] | None = None

    def matches(self, pattern: str, ignore_case: bool) -> bool:
        """Whether ``pattern`` (one exact tag) matches a tag of these captions."""
        match = tag_matcher([pattern], "exact", ignore_case)
        return any(map(match, self.counts))

    def others(self, tag: str) -> Counter:
        """The spellings of ``tag`` here (``tag_key``), with the captions holding each."""
        if self._by_key is None:
            self._by_key = {}
            for held in self.counts:
                self._by_key.setdefault(tag_key(held), []).append(held)
        return Counter({held: self.counts[held] for held in self._by_key.get(tag_key(tag), ())})

    def note(self, tag: str, ignore_case: bool, nobody: str, use: str = "") -> str | None:
        """When the exact tag ``tag`` matches nothing here but other spellings of it are here, the one line
        that says so: ``{nobody} 'miku (cosplay)'; 22 have 'miku \\(cosplay\\)' (another spelling of it): use
        that spelling``; ``use`` (``: --where ...``) follows. None when it matches, or no other spelling is here."""
        tag = tag.strip()
        if not tag or self.matches(tag, ignore_case):
            return None
        others = self.others(tag)
        if not others:
            return None
        verb = lambda count: "has " if count == 1 else "have "  # noqa: E731
        shown = [f"{count:,} {verb(count) if i == 0 else ''}{spelling(held, tag)}"
                 for i, (held, count) in enumerate(others.most_common(SHOWN_SPELLINGS))]
        more = f" and {len(others) - SHOWN_SPELLINGS} more" if len(others) > SHOWN_SPELLINGS else ""
        several = len(others) > 1
        case_only = 0 if ignore_case else sum(held.casefold() == tag.casefold() for held in others)
        case = ("" if not case_only else " (or --ignore-case)" if case_only == len(others)
                else " (--ignore-case also matches those differing only in case)")
        return (f"{nobody} {typed(tag)}; {', '.join(shown)}{more} "
                f"({'other spellings' if several else 'another spelling'} of it): "
                f"use {'those spellings' if several else 'that spelling'}{use}{case}")


def _nobody(considered: int, filtered: bool) -> str:
    if filtered:
        return f"none of the {considered:,} caption(s) --where selects has"
    return "no caption has"


def op_spelling_notes(ops, captions: list, *, filtered: bool = False) -> list[str]:
    """Notes for the exact tags of ``remove`` and ``replace`` operations (``RemoveTags.patterns``,
    ``ReplaceTag.old``) that match none of ``captions`` (those the command works on) while another spelling
    of the tag is there. Globs and regexes are left alone: they say how to match already."""
    wanted: list[tuple[str, bool]] = []
    for op in ops:
        kind = getattr(op, "op", "")
        if kind == "remove":
            patterns = op.patterns
        elif kind == "replace":
            patterns = [op.old]
        else:
            continue
        wanted += [(p, op.ignore_case) for p in patterns if pattern_kind(p, op.mode)[0] == "exact"]
    if not wanted:
        return []
    here = Spellings(c.tags for c in captions)
    nobody = _nobody(len(captions), filtered)
    notes = []
    for tag, ignore_case in dict.fromkeys(wanted):
        note = here.note(tag, ignore_case, nobody)
        if note is not None:
            notes.append(note)
    return notes


def where_spelling_notes(where: str | None, captions: list) -> list[str]:
    """Notes for the ``tag:`` values of a --where (exact ones; they match in any case) that match none of
    ``captions`` (every caption the command read) while another spelling of the tag is there, each naming
    the term to use (``--where 'tag:"miku \\(cosplay\\)"'``)."""
    if where is None or not where.strip():
        return []
    try:
        tokens = _tokens(where)
    except ValueError:  # parse_where says what is wrong
        return []
    values = []
    for token in tokens:
        term = _key_value(token)
        if term is not None and term[1].lower() == "tag" and pattern_kind(term[2])[0] == "exact":
            values.append(term[2])
    if not values:
        return []
    here = Spellings(c.tags for c in captions)
    notes = []
    for value in dict.fromkeys(values):
        others = here.others(value) if not here.matches(value, True) else Counter()
        if not others:
            continue
        # one --where the user can paste: each spelling found exactly (tag: ignores case: one per case-fold)
        spelled: dict[str, str] = {}
        for held, _ in others.most_common():
            spelled.setdefault(held.casefold(), held)
        terms = typed(any_tag_term(list(spelled.values())))
        note = here.note(value, True, "--where: no caption has the tag", f": --where {terms}")
        if note is not None:
            notes.append(note)
    return notes
