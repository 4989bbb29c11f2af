"""Bulk tag operations as pure functions: operations -> an edit plan (a diff) -> apply (with undo).

An operation maps one caption's tag list to a new one (``op.run(tags, ctx)``), given a context
holding the dataset-wide tag frequencies and the tagger's tag categories. ``plan_edits`` runs a
list of operations over many captions and returns an EditPlan listing only the files that change,
with the tags each gains and loses; nothing is written until ``edit_journal.apply_plan``.

Operations serialise to plain dicts (``op.to_dict()`` / ``op_from_dict``), which is what a TOML
recipe holds (core/recipes.py), so a cleanup can be saved and replayed on the next dataset.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from loratui.core.captions import Caption
from loratui.core.errors import LoratuiError

# WD14's rating tags (category 9 in selected_tags.csv): known even without a tagger CSV.
RATING_TAGS = frozenset({"general", "sensitive", "questionable", "explicit"})
CATEGORY_NAMES = {"general": 0, "artist": 1, "copyright": 3, "character": 4, "meta": 5, "rating": 9}
CATEGORY_ORDER = (9, 4, 3, 1, 0, 5)  # sort by category: rating, character, copyright, artist, general, meta


@dataclass
class EditContext:
    """What operations may look at besides the caption itself."""

    frequency: Counter = field(default_factory=Counter)   # tag -> number of captions with it
    categories: dict[str, int] = field(default_factory=dict)  # tag -> tagger category number

    def category(self, tag: str) -> int | None:
        if tag in self.categories:
            return self.categories[tag]
        alt = tag.replace(" ", "_")
        if alt in self.categories:
            return self.categories[alt]
        return 9 if tag in RATING_TAGS else None


# ---- matching ---------------------------------------------------------------------------------

MATCH_MODES = ("exact", "glob", "regex", "auto")


def tag_matcher(patterns: Iterable[str], mode: str = "auto") -> Callable[[str], bool]:
    """A predicate for tags. auto: a pattern with * ? [ is a glob, /.../ is a regex, else exact.

    Compiled once per (patterns, mode) and cached: operations call this for every caption.
    """
    return _compiled_matcher(tuple(patterns), mode)


@functools.lru_cache(maxsize=256)
def _compiled_matcher(patterns: tuple[str, ...], mode: str) -> Callable[[str], bool]:
    exact: set[str] = set()
    regexes: list[re.Pattern] = []
    for pattern in patterns:
        kind = mode
        body = pattern
        if mode == "auto":
            if len(pattern) > 2 and pattern.startswith("/") and pattern.endswith("/"):
                kind, body = "regex", pattern[1:-1]
            elif any(ch in pattern for ch in "*?["):
                kind = "glob"
            else:
                kind = "exact"
        if kind == "exact":
            exact.add(body)
        elif kind == "glob":
            regexes.append(re.compile(fnmatch.translate(body)))
        elif kind == "regex":
            try:
                regexes.append(re.compile(body))
            except re.error as exc:
                raise LoratuiError(f"bad regular expression {body!r}: {exc}") from None
        else:
            raise LoratuiError(f"unknown match mode {mode!r}: use one of {', '.join(MATCH_MODES)}")

    if not regexes:
        return exact.__contains__
    combined = re.compile("|".join(f"(?:{r.pattern})" for r in regexes)) if len(regexes) > 1 else regexes[0]
    full = combined.fullmatch

    def matches(tag: str) -> bool:
        return tag in exact or full(tag) is not None

    return matches


def _merge(tags: list[str], produced: set[str]) -> list[str]:
    """Drop repeats of the tags an operation produced (a rename merging into an existing tag),
    leaving any other duplicates alone (that is what Dedupe is for)."""
    seen: set[str] = set()
    out = []
    for tag in tags:
        if tag in produced:
            if tag in seen:
                continue
            seen.add(tag)
        out.append(tag)
    return out


def _dedupe(tags: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for tag in tags:
        if tag not in seen:
            seen.add(tag)
            out.append(tag)
    return out


# ---- operations -------------------------------------------------------------------------------

@dataclass
class Op:
    """Base class: ``run`` returns the new tag list; ``to_dict`` is its recipe form."""

    op = ""

    def run(self, tags: list[str], ctx: EditContext) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_dict(self) -> dict:
        data = {"op": self.op}
        data.update({k: v for k, v in self.__dict__.items() if v is not None})
        return data

    def describe(self) -> str:
        return self.op


@dataclass
class AddTags(Op):
    """Add tags (skipping ones already there) at a position: 0 = front, -1 = end, or an index."""

    tags: list[str]
    position: int = -1
    op = "add"

    def run(self, tags, ctx):
        new = [t for t in self.tags if t not in tags]
        if not new:
            return tags
        if self.position < 0:
            index = max(0, len(tags) + 1 + self.position)
        else:
            index = min(self.position, len(tags))
        return tags[:index] + new + tags[index:]

    def describe(self):
        where = {0: "at the front", -1: "at the end"}.get(self.position, f"at position {self.position}")
        return f"add {', '.join(self.tags)} {where}"


@dataclass
class RemoveTags(Op):
    patterns: list[str]
    mode: str = "auto"
    op = "remove"

    def run(self, tags, ctx):
        match = tag_matcher(self.patterns, self.mode)
        return [t for t in tags if not match(t)]

    def describe(self):
        return f"remove {', '.join(self.patterns)}"


@dataclass
class ReplaceTag(Op):
    """Rename a tag (or every tag matching a pattern); duplicates that creates are merged.

    With mode "regex", ``new`` may use the groups of the match (``\\1``).
    """

    old: str
    new: str
    mode: str = "exact"
    op = "replace"

    def run(self, tags, ctx):
        if self.mode == "regex":
            try:
                pattern = re.compile(self.old)
            except re.error as exc:
                raise LoratuiError(f"bad regular expression {self.old!r}: {exc}") from None
            renamed = {t: pattern.sub(self.new, t).strip() for t in tags if pattern.fullmatch(t)}
        else:
            match = tag_matcher([self.old], self.mode)
            renamed = {t: self.new.strip() for t in tags if match(t)}
        if not renamed:
            return tags
        out = [renamed.get(t, t) for t in tags]
        return _merge([t for t in out if t], set(renamed.values()))

    def describe(self):
        return f"replace {self.old} -> {self.new}"


@dataclass
class Dedupe(Op):
    op = "dedupe"

    def run(self, tags, ctx):
        return _dedupe(tags)

    def describe(self):
        return "remove duplicate tags"


SORT_KEYS = ("alpha", "frequency", "category")


@dataclass
class SortTags(Op):
    """Sort tags, keeping the first ``keep`` in place (the trigger word, like keep_tokens)."""

    by: str = "alpha"
    keep: int = 0
    op = "sort"

    def run(self, tags, ctx):
        head, tail = tags[: self.keep], tags[self.keep:]
        if self.by == "alpha":
            tail = sorted(tail, key=str.casefold)
        elif self.by == "frequency":
            tail = sorted(tail, key=lambda t: (-ctx.frequency.get(t, 0), t.casefold()))
        elif self.by == "category":
            def rank(t):
                cat = ctx.category(t)
                return CATEGORY_ORDER.index(cat) if cat in CATEGORY_ORDER else len(CATEGORY_ORDER)
            tail = sorted(tail, key=rank)  # stable: keeps the order inside a category
        else:
            raise LoratuiError(f"unknown sort {self.by!r}: use one of {', '.join(SORT_KEYS)}")
        return head + tail

    def describe(self):
        return f"sort by {self.by}" + (f" (first {self.keep} kept)" if self.keep else "")


@dataclass
class MoveToFront(Op):
    patterns: list[str]
    mode: str = "auto"
    op = "move_front"

    def run(self, tags, ctx):
        match = tag_matcher(self.patterns, self.mode)
        front = [t for t in tags if match(t)]
        return front + [t for t in tags if not match(t)] if front else tags

    def describe(self):
        return f"move {', '.join(self.patterns)} to the front"


@dataclass
class StripUnderscores(Op):
    """``long_hair`` -> ``long hair``; tags of 3 characters or fewer (``^_^``) are left alone."""

    op = "strip_underscores"

    def run(self, tags, ctx):
        renamed = {t: t.replace("_", " ") for t in tags if len(t) > 3 and "_" in t}
        if not renamed:
            return tags
        return _merge([renamed.get(t, t) for t in tags], set(renamed.values()))

    def describe(self):
        return "strip underscores"


@dataclass
class RemoveCategory(Op):
    categories: list[str]
    op = "remove_category"

    def _numbers(self) -> set[int]:
        numbers = set()
        for name in self.categories:
            if str(name).isdigit():
                numbers.add(int(name))
            elif name in CATEGORY_NAMES:
                numbers.add(CATEGORY_NAMES[name])
            else:
                raise LoratuiError(f"unknown tag category {name!r}: use {', '.join(CATEGORY_NAMES)} or a number")
        return numbers

    def run(self, tags, ctx):
        numbers = self._numbers()
        return [t for t in tags if ctx.category(t) not in numbers]

    def describe(self):
        return f"remove {', '.join(self.categories)} tags"


OPS: dict[str, type[Op]] = {cls.op: cls for cls in
                            (AddTags, RemoveTags, ReplaceTag, Dedupe, SortTags, MoveToFront, StripUnderscores,
                             RemoveCategory)}


def op_from_dict(data: dict, where: str = "recipe") -> Op:
    """Rebuild an operation from its recipe form; errors name ``where`` and the bad key."""
    data = dict(data)
    name = data.pop("op", None)
    if name not in OPS:
        raise LoratuiError(f"{where}: unknown op {name!r}: use one of {', '.join(OPS)}")
    cls = OPS[name]
    fields = {f for f in cls.__dataclass_fields__}
    unknown = set(data) - fields
    if unknown:
        raise LoratuiError(f"{where}: op {name!r} has no key {sorted(unknown)[0]!r} "
                           f"(keys: {', '.join(sorted(fields)) or 'none'})")
    for key in ("tags", "patterns", "categories"):
        if key in data and isinstance(data[key], str):
            data[key] = [data[key]]
    try:
        op = cls(**data)
    except TypeError as exc:
        raise LoratuiError(f"{where}: op {name!r}: {exc}") from None
    if getattr(op, "mode", "auto") not in MATCH_MODES:
        raise LoratuiError(f"{where}: op {name!r}: mode must be one of {', '.join(MATCH_MODES)}")
    if isinstance(op, SortTags) and op.by not in SORT_KEYS:
        raise LoratuiError(f"{where}: op 'sort': by must be one of {', '.join(SORT_KEYS)}")
    return op


# ---- plans ------------------------------------------------------------------------------------

@dataclass
class FileEdit:
    caption: Caption
    old: list[str]
    new: list[str]

    @property
    def path(self) -> Path:
        return self.caption.path

    @property
    def added(self) -> list[str]:
        """Tags gained (a multiset difference, so a removed duplicate shows as removed)."""
        return list((Counter(self.new) - Counter(self.old)).elements())

    @property
    def removed(self) -> list[str]:
        return list((Counter(self.old) - Counter(self.new)).elements())

    @property
    def reordered_only(self) -> bool:
        return not self.added and not self.removed


@dataclass
class EditPlan:
    ops: list[Op]
    edits: list[FileEdit]
    considered: int  # captions the filter selected

    @property
    def changed(self) -> int:
        return len(self.edits)

    def tag_changes(self) -> tuple[Counter, Counter]:
        """(tag -> files gaining it, tag -> files losing it)."""
        added, removed = Counter(), Counter()
        for edit in self.edits:
            added.update(edit.added)
            removed.update(edit.removed)
        return added, removed

    def to_dict(self) -> dict:
        return {
            "ops": [op.to_dict() for op in self.ops],
            "considered": self.considered,
            "changed": self.changed,
            "files": [{"path": str(e.path), "old": e.old, "new": e.new, "added": e.added, "removed": e.removed}
                      for e in self.edits],
        }


def tag_frequency(captions: Iterable[Caption]) -> Counter:
    """tag -> number of captions containing it (a tag twice in one caption counts once)."""
    counts: Counter = Counter()
    for caption in captions:
        counts.update(set(caption.tags))
    return counts


def run_ops(tags: list[str], ops: list[Op], ctx: EditContext) -> list[str]:
    for op in ops:
        tags = op.run(tags, ctx)
    return tags


def plan_edits(captions: list[Caption], ops: list[Op], *, where: Callable[[Caption], bool] | None = None,
               ctx: EditContext | None = None) -> EditPlan:
    """The edit plan of ``ops`` over the captions that ``where`` selects. Writes nothing."""
    if ctx is None:
        ctx = EditContext()
    if not ctx.frequency:
        ctx.frequency = tag_frequency(captions)
    selected = [c for c in captions if where is None or where(c)]
    edits = []
    for caption in selected:
        new = run_ops(list(caption.tags), ops, ctx)
        if new != caption.tags:
            edits.append(FileEdit(caption, list(caption.tags), new))
    return EditPlan(list(ops), edits, len(selected))
