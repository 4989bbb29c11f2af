"""Tag operations: each maps one caption's tag list to a new one, without side effects.

``op.compile(ctx)`` returns a function ``tags -> new tags`` prepared once for a whole dataset
(patterns compiled, per-tag answers memoised: a dataset has a few thousand distinct tags but
hundreds of thousands of tag uses), which is what keeps planning over 10,000 captions fast.
``op.run(tags, ctx)`` is the one-off form. A compiled function never mutates its input and
returns the input list itself when nothing changes.

Every operation serialises to a plain dict (``to_dict`` / ``op_from_dict``), the form a TOML
recipe holds (op_records.py rebuilds one, recipes.py reads a file of them). An optional ``where``
(a --where expression, core/captions/filter.py) limits one operation to the captions it selects.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import MISSING, dataclass, field, fields

from loratui.core.errors import LoratuiError
from loratui.core.captions.files import DEFAULT_SEPARATOR, split_tags
from loratui.core.captions.patterns import tag_matcher
from loratui.core.captions.spellings import add_spelling_notes as _spelling_notes
from loratui.core.captions.tagkey import nfc, tag_key

from loratui.core.captions.tagfn import (  # noqa: F401 (RATING_TAGS: importable here)
    CATEGORY_NAMES, CATEGORY_ORDER, RATING_TAGS, EditContext, PerTag, TagFn, dropper, renamer, split_renamer,
)

SORT_KEYS = ("alpha", "frequency", "category")


def _kept(keep: int) -> str:
    return f" (first {keep} kept)" if keep else ""


def _after_first(keep: int) -> str:
    """"after the first tag, which stays" / "after the first 2 tags, which stay": the words of a
    front with ``keep``, saying that a tag among the kept ones is left where it is."""
    return "after the first tag, which stays" if keep == 1 else f"after the first {keep} tags, which stay"


# ---- operations -------------------------------------------------------------------------------

@dataclass
class Op:
    """Base class: ``compile(ctx)`` gives the tag function; ``to_dict`` is the recipe form."""

    op = ""              # the recipe name (a class attribute, not a field)
    reorders = False     # True: only reorders, so it leaves free-text (sentence) captions alone
    where: str | None = field(default=None, kw_only=True)

    def compile(self, ctx: EditContext) -> TagFn:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self, tags: list[str], ctx: EditContext | None = None) -> list[str]:
        return self.compile(ctx or EditContext())(list(tags))

    def to_dict(self) -> dict:
        """Recipe form: ``op`` plus every field that differs from its default."""
        data: dict = {"op": self.op}
        for f in fields(self):
            value = getattr(self, f.name)
            default = f.default if f.default is not MISSING else (
                f.default_factory() if f.default_factory is not MISSING else MISSING)
            if value is None or (default is not MISSING and value == default):
                continue
            data[f.name] = list(value) if isinstance(value, (list, tuple)) else value
        return data

    @property
    def uses_frequency(self) -> bool:
        """True when the result depends on the dataset's tag counts (``ctx.frequency``): a plan
        compiles it again with the counts the earlier operations left."""
        return False

    def describe(self) -> str:
        return self.op

    def new_tags(self) -> list[str]:
        """Literal tags this operation writes into captions (checked by ``check_ops``)."""
        return []

    def describe_where(self) -> str:
        text = self.describe()
        return f"{text} (where {self.where})" if self.where else text


@dataclass
class AddTags(Op):
    """Add tags at a position: 0 = front, -1 = end, N = before the Nth tag (-2 = before the last).

    A tag the caption already has is not added twice, under any spelling the caption check calls a
    repeat (``tag_key``: ``Solo`` is ``solo``, ``long_hair`` is ``long hair``, ``miku \\(x\\)`` is
    ``miku (x)``, a decomposed ``café`` is ``café``), so an add never makes the repeats the app then
    warns about; the plan's notes count the captions that had it under another spelling. With
    ``move_existing`` it is moved to the position (a trigger word must come first, since keep_tokens
    counts from the front), keeping the caption's spelling, and the other copies of it go; the notes
    then count only the captions where it stays among the ``keep`` tags (not moved).
    ``keep``: the first N tags stay where they are and nothing lands before them (the trigger
    word and keep_tokens); a tag among them is left there, not moved.
    """

    tags: list[str]
    position: int = -1
    move_existing: bool = False
    keep: int = 0
    op = "add"

    def compile(self, ctx):
        # tag key -> the spelling to add: a tag given twice (in any spelling) is added once, as first given
        wanted: dict[str, str] = {}
        for tag in (t.strip() for t in self.tags):
            if tag:
                wanted.setdefault(tag_key(tag), tag)
        position, move, keep = self.position, self.move_existing, max(0, self.keep)
        other_spelling: dict[str, Counter] = {tag: Counter() for tag in wanted.values()}  # for the plan's note

        def count_spellings(tags):
            for t in tags:
                given = wanted.get(tag_key(t))
                if given is not None and t != given:
                    other_spelling[given][t] += 1

        def run(tags):
            head = tags[:keep]
            if move:
                held = {tag_key(t) for t in head}
                spelled: dict[str, str] = {}  # the caption's own spelling of a wanted tag behind the kept ones
                base = list(head)
                for t in tags[keep:]:
                    key = tag_key(t)
                    if key in wanted:
                        spelled.setdefault(key, t)
                    else:
                        base.append(t)
                # a tag behind the kept ones is moved (in the caption's spelling), not "not added": only
                # one left among the kept tags goes to the note
                count_spellings([t for t in head if tag_key(t) in wanted])
                new = [spelled.get(key, tag) for key, tag in wanted.items() if key not in held]
            else:
                keys = [tag_key(t) for t in tags]
                held = set(keys)
                count_spellings([t for t, key in zip(tags, keys) if key in wanted])
                base = tags
                new = [tag for key, tag in wanted.items() if key not in held]
            if not new:
                return tags if not move or base == tags else base
            if position < 0:
                index = max(0, len(base) + 1 + position)
            else:
                index = min(position, len(base))
            index = max(index, len(head))
            out = base[:index] + new + base[index:]
            return tags if out == tags else out

        run.notes = lambda: _spelling_notes(other_spelling)  # type: ignore[attr-defined] (plan_edits reads it)
        return run

    def new_tags(self):
        return list(self.tags)

    def describe(self):
        if self.position == 0 and self.keep > 0:  # the trigger-word case: say what happens to the kept tags
            return (f"add {', '.join(self.tags)} {_after_first(self.keep)} in place"
                    + ("; moving existing ones from further back" if self.move_existing else ""))
        where = {0: "at the front", -1: "at the end"}.get(self.position, f"at position {self.position}")
        return (f"add {', '.join(self.tags)} {where}" + (" (moving existing ones)" if self.move_existing else "")
                + _kept(self.keep))


@dataclass
class RemoveTags(Op):
    """Remove tags matching any pattern (exact, glob, /regex/; see ``mode``).

    Case-sensitive unless ``ignore_case`` (then ``*background`` also removes ``WHITE BACKGROUND``):
    a caption's spelling is the user's, so a case-blind removal is asked for, never assumed.
    """

    patterns: list[str]
    mode: str = "auto"
    ignore_case: bool = False
    op = "remove"

    def compile(self, ctx):
        return dropper(tag_matcher(self.patterns, self.mode, self.ignore_case))

    def describe(self):
        return f"remove {', '.join(self.patterns)}" + (" (any case)" if self.ignore_case else "")


@dataclass
class ReplaceTag(Op):
    """Rename a tag (or every tag matching a pattern); duplicates that creates are merged.

    With mode "regex", ``new`` may use the groups of the match (``\\1``); a result holding the
    separator becomes several tags (``\\1`` of ``(red hair, blue eyes:1.2)``: ``red hair``, ``blue eyes``).
    An empty ``new`` removes.
    With ``ignore_case``, ``old`` matches in any case (``Long Hair`` and ``LONG HAIR`` too).
    """

    old: str
    new: str
    mode: str = "exact"
    ignore_case: bool = False
    op = "replace"

    def compile(self, ctx):
        new = self.new.strip()
        if self.mode == "regex":
            try:
                pattern = re.compile(nfc(self.old), re.IGNORECASE if self.ignore_case else 0)
            except re.error as exc:
                raise LoratuiError(f"bad regular expression {self.old!r}: {exc}") from None
            try:
                pattern.sub(self.new, "")  # a bad group reference fails here, once
            except (re.error, IndexError) as exc:
                raise LoratuiError(f"bad replacement {self.new!r} for {self.old!r}: {exc}") from None
            template = self.new
            # A group can hold the separator (\1 of "(red hair, blue eyes:1.2)"): the result is split
            # into the tags it reads back as, empty pieces dropped, so preview, counts and file agree.
            separator = getattr(ctx, "separator", None) or DEFAULT_SEPARATOR

            def renamed(tag: str) -> list[str] | None:
                # the whole tag, once (sub would also hit an empty tail); composed (NFC), as tag_matcher
                # matches: a decomposed "café" is found by "caf(.)", and renamed from its NFC text
                found = pattern.fullmatch(nfc(tag))
                return split_tags(found.expand(template), separator) if found else None

            return split_renamer(renamed)
        match = tag_matcher([self.old], self.mode, self.ignore_case)
        return renamer(lambda t: new if match(t) else None)

    def new_tags(self):
        return [self.new] if self.new.strip() and self.mode != "regex" else []

    def describe(self):
        case = " (any case)" if self.ignore_case else ""
        if not self.new:  # said plainly: a replace that removes is what a user-tester lost a tag to
            return f"replace {self.old} -> (nothing){case}: removes {self.old}"
        return f"replace {self.old} -> {self.new}{case}"


@dataclass
class Dedupe(Op):
    """Remove repeated tags; the first occurrence (and its spelling) stays where it is.

    With ``ignore_case`` (the default) every spelling the caption check reports as a repeat goes
    (``tag_key``): ``LONG HAIR`` or ``long_hair`` after ``long hair``, ``miku \\(x\\)`` after
    ``miku (x)``, a decomposed (NFD, macOS) ``café`` after ``café``. CLIP lowercases and NFC-normalises
    captions, and the others are one tag written two ways (a tagger's ``_``, A1111's escaped brackets),
    so the app's "repeats tags" hint names this fix.
    ``ignore_case = false`` (recipes) removes exact repeats only (the same text: NFC and NFD twins too,
    which look the same).
    """

    ignore_case: bool = True
    op = "dedupe"

    def compile(self, ctx):
        if not self.ignore_case:
            def run(tags):
                out = list(dict.fromkeys(tags))
                if not all(map(str.isascii, out)):  # NFC and NFD spellings: one text, the first kept
                    firsts: dict[str, str] = {}
                    for t in out:
                        firsts.setdefault(nfc(t), t)
                    out = list(firsts.values())
                return tags if len(out) == len(tags) else out

            return run

        def run(tags):
            seen: set[str] = set()
            out = []
            for tag in tags:
                key = tag_key(tag)
                if key not in seen:
                    seen.add(key)
                    out.append(tag)
            return tags if len(out) == len(tags) else out

        return run

    def describe(self):
        return "remove duplicate tags" + ("" if self.ignore_case else " (exact case only)")


@dataclass
class SortTags(Op):
    """Sort tags, keeping the first ``keep`` in place (the trigger word, like keep_tokens).

    alpha: case-insensitive; frequency: most used in the dataset first (then alpha); category:
    rating, character, copyright, artist, general, meta, unknown (the order inside one is kept).
    """

    by: str = "alpha"
    keep: int = 0
    op = "sort"
    reorders = True

    def compile(self, ctx):
        keep = max(0, self.keep)
        if self.by in ("alpha", "frequency"):
            freq = ctx.frequency
            # NFC: a decomposed "café" sorts (and counts: tag_frequency's rows are NFC) as "café" does
            if self.by == "alpha":
                slow = lambda t: (nfc(t).casefold(), t)  # noqa: E731  (a total order: same result either way)
            else:
                slow = lambda t: (-freq.get(nfc(t), 0), nfc(t).casefold(), t)  # noqa: E731
            # Rank every dataset tag once; sorting by an int is several times faster than by a tuple.
            rank = {t: i for i, t in enumerate(sorted(freq, key=slow))}

            def run(tags):
                tail = tags[keep:]
                try:
                    tail = sorted(tail, key=rank.__getitem__)
                except KeyError:  # a tag an earlier operation added: sort this caption the slow way
                    tail = sorted(tail, key=slow)
                out = tags[:keep] + tail
                return tags if out == tags else out

            return run
        if self.by == "category":
            ranks: dict[str, int] = {}

            def key(t):
                rank = ranks.get(t)
                if rank is None:
                    cat = ctx.category(t)
                    rank = ranks[t] = CATEGORY_ORDER.index(cat) if cat in CATEGORY_ORDER else len(CATEGORY_ORDER)
                return rank
        else:
            raise LoratuiError(f"unknown sort {self.by!r}: use one of {', '.join(SORT_KEYS)}")

        def run(tags):
            out = tags[:keep] + sorted(tags[keep:], key=key)
            return tags if out == tags else out

        return run

    @property
    def uses_frequency(self) -> bool:
        return self.by == "frequency"

    def describe(self):
        return f"sort by {self.by}" + _kept(self.keep)


@dataclass
class MoveToFront(Op):
    """Move tags matching the patterns to the front, in their current order; with ``keep`` N, to
    just after the first N tags, which stay in place (the trigger word and keep_tokens). With
    ``ignore_case`` the patterns match in any case."""

    patterns: list[str]
    mode: str = "auto"
    keep: int = 0
    ignore_case: bool = False
    op = "move_front"
    reorders = True

    def compile(self, ctx):
        match = tag_matcher(self.patterns, self.mode, self.ignore_case)
        per_tag = PerTag(lambda t: True if match(t) else None)
        hits = per_tag.hits
        keep = max(0, self.keep)

        def run(tags):
            if not per_tag.scan(tags):
                return tags
            head, tail = tags[:keep], tags[keep:]
            out = head + [t for t in tail if t in hits] + [t for t in tail if t not in hits]
            return tags if out == tags else out

        return run

    def describe(self):
        case = " (any case)" if self.ignore_case else ""
        if self.keep > 0:  # a matching tag among the kept ones (the trigger word) is not moved
            return (f"move {', '.join(self.patterns)}{case} to the front, {_after_first(self.keep)} in place "
                    f"even if {'it matches' if self.keep == 1 else 'they match'}")
        return f"move {', '.join(self.patterns)} to the front{case}"


@dataclass
class StripUnderscores(Op):
    """``long_hair`` -> ``long hair``; tags of 3 characters or fewer (``^_^``) are left alone,
    as sd-scripts' tagger does with --remove_underscore."""

    keep_tags: list[str] = field(default_factory=list)  # left as they are: trigger words such as alice_lora
    op = "strip_underscores"

    def compile(self, ctx):
        kept = {nfc(t) for t in self.keep_tags}
        return renamer(lambda t: t.replace("_", " ") if len(t) > 3 and "_" in t and nfc(t) not in kept else None)

    def describe(self):
        return "strip underscores" + (f" (keeping {', '.join(self.keep_tags)})" if self.keep_tags else "")


@dataclass
class RemoveCategory(Op):
    """Remove every tag of the given tagger categories (names or numbers, e.g. rating or 9)."""

    categories: list[str]
    op = "remove_category"

    def numbers(self) -> set[int]:
        numbers = set()
        for name in self.categories:
            text = str(name)
            if text.isdigit():
                numbers.add(int(text))
            elif text in CATEGORY_NAMES:
                numbers.add(CATEGORY_NAMES[text])
            else:
                raise LoratuiError(f"unknown tag category {name!r}: use {', '.join(CATEGORY_NAMES)} or a number")
        return numbers

    _numbers = numbers  # the name the CLI used first

    def compile(self, ctx):
        numbers = self.numbers()
        return dropper(lambda t: ctx.category(t) in numbers)

    def describe(self):
        return f"remove {', '.join(map(str, self.categories))} tags"


def unwritable_tag(tag: str, separator: str | None = None) -> str | None:
    """Why ``tag`` cannot be written into a caption as one tag, or None: a line break (sd-scripts
    reads only the first line) or, when ``separator`` is given, the separator outside brackets
    (it would read back as several tags; ``(a, b:1.2)`` is one tag)."""
    if "\n" in tag or "\r" in tag:
        return "holds a line break: a caption is one line (sd-scripts reads only the first)"
    if separator is not None:
        parts = len(split_tags(tag, separator))
        if parts > 1:
            return f"contains the separator {separator!r}, so it would read back as {parts} tags"
    return None


def check_ops(ops: Iterable[Op], separator: str | None = None) -> None:
    """Raise a one-line LoratuiError for an operation that cannot run or would write a bad caption:
    patterns must compile, every literal tag it writes must pass ``unwritable_tag``, and it must have
    something to act on (`tags add img ""` is refused, not an empty plan)."""
    for op in ops:
        for key, what in (("tags", "tag"), ("patterns", "pattern")):
            values = getattr(op, key, None)
            if values is not None and not any(str(v).strip() for v in values):
                raise LoratuiError(f"{op.op}: no {what} given (only blank ones): give at least one {what}")
        if isinstance(op, ReplaceTag) and not op.old.strip():
            raise LoratuiError("replace: the tag to replace is blank: give the tag (or pattern) to rename")
        for tag in op.new_tags():
            problem = unwritable_tag(tag, separator)
            if problem:
                raise LoratuiError(f"tag {tag!r} {problem}: give each tag as its own argument, on one line")
        op.compile(EditContext())  # bad regexes, replacements and categories fail here, once
