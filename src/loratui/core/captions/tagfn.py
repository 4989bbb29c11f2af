"""What a tag operation (ops.py) compiles to: a tag function ``tags -> new tags``, built from a per-tag
memo (``PerTag``: each distinct tag worked out once, whatever the dataset's size), and the context an
operation may read (``EditContext``: tag frequencies, tagger categories, the separator).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from loratui.core.captions.tagkey import nfc

# WD14's rating tags (category 9 in selected_tags.csv): known even without a tagger CSV.
RATING_TAGS = frozenset({"general", "sensitive", "questionable", "explicit"})
CATEGORY_NAMES = {"general": 0, "artist": 1, "copyright": 3, "character": 4, "meta": 5, "rating": 9}
CATEGORY_ORDER = (9, 4, 3, 1, 0, 5)  # sort by category: rating, character, copyright, artist, general, meta

TagFn = Callable[[list[str]], list[str]]


@dataclass
class EditContext:
    """What operations may look at besides the caption itself."""

    frequency: Counter = field(default_factory=Counter)       # tag -> number of captions with it
    categories: dict[str, int] = field(default_factory=dict)  # tag -> tagger category number
    # the captions' tag separator (plan_edits takes it from the captions when None): a regex
    # replacement that writes it makes several tags, as the file reads back and sd-scripts splits
    separator: str | None = None

    def category(self, tag: str) -> int | None:
        """The tagger category of ``tag``; ``long hair`` finds the CSV's ``long_hair``, and any case
        finds it too (``LONG HAIR``, ``GENERAL``): selected_tags.csv and WD14 ratings are lowercase,
        so a hand-typed or merged upper-case tag is the same tag to a category lookup; a decomposed
        (NFD) ``café`` finds ``café``."""
        found = self.categories.get(tag)
        if found is None and not tag.isascii():
            tag = nfc(tag)
            found = self.categories.get(tag)
        if found is None:
            found = self.categories.get(tag.replace(" ", "_"))
        if found is None and not tag.islower():
            low = tag.lower()
            found = self.categories.get(low)
            if found is None:
                found = self.categories.get(low.replace(" ", "_"))
            tag = low
        if found is None and tag in RATING_TAGS:
            found = 9
        return found


def merge_produced(tags: list[str], produced: set[str]) -> list[str]:
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


class PerTag:
    """``f(tag)`` worked out once per distinct tag; ``hits`` keeps the tags where it is not None.

    ``scan(tags)`` answers "does any tag of this caption hit?" with set operations (C speed):
    a dataset has a few thousand distinct tags but hundreds of thousands of tag uses.
    """

    def __init__(self, f: Callable[[str], object]):
        self.f = f
        self.seen: set[str] = set()
        self.hits: dict[str, object] = {}

    def scan(self, tags: list[str]) -> bool:
        present = set(tags)
        new = present - self.seen
        if new:
            for tag in new:
                value = self.f(tag)
                if value is not None:
                    self.hits[tag] = value
            self.seen |= new
        return not self.hits.keys().isdisjoint(present)


def dropper(f: Callable[[str], bool]) -> TagFn:
    """A TagFn removing the tags for which ``f`` is true."""
    per_tag = PerTag(lambda t: True if f(t) else None)
    hits = per_tag.hits

    def run(tags: list[str]) -> list[str]:
        if not per_tag.scan(tags):
            return tags
        return [t for t in tags if t not in hits]

    return run


def renamer(mapping: Callable[[str], str | None]) -> TagFn:
    """A TagFn renaming tags by ``mapping`` (None: unchanged, "": dropped), merging what collides."""
    per_tag = PerTag(lambda t: None if (new := mapping(t)) is None or new == t else new)
    hits = per_tag.hits

    def run(tags: list[str]) -> list[str]:
        if not per_tag.scan(tags):
            return tags
        out = [new for new in (hits.get(t, t) for t in tags) if new]
        if len(set(out)) == len(out):
            return out  # no collisions: nothing to merge (the common case)
        return merge_produced(out, {hits[t] for t in tags if t in hits})

    return run


def split_renamer(mapping: Callable[[str], list[str] | None]) -> TagFn:
    """A TagFn replacing a tag by the tags ``mapping`` gives (None: unchanged, []: dropped), merging
    repeats of the produced tags as ``renamer`` does (``red hair`` from a split meets ``red hair``)."""
    per_tag = PerTag(lambda t: None if (new := mapping(t)) is None or new == [t] else tuple(new))
    hits = per_tag.hits

    def run(tags: list[str]) -> list[str]:
        if not per_tag.scan(tags):
            return tags
        out: list[str] = []
        for tag in tags:
            out.extend(hits.get(tag, (tag,)))
        if len(set(out)) == len(out):
            return out
        return merge_produced(out, {new for t in tags if t in hits for new in hits[t]})

    return run
