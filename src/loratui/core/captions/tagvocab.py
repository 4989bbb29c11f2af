"""Tag vocabulary for autocomplete: the dataset's own tags by frequency, plus a tagger's tag list.

A WD14 ``selected_tags.csv`` (``tag_id,name,category,count``; category 9 rating, 0 general,
4 character) adds every tag the tagger knows, with its category and Danbooru count, so the editor
can complete tags the dataset does not use yet. Matching ignores case, treats ``_`` as a space (not in
``^_^``) and ``\\(`` as ``(``, as the caption check does, and compares Unicode composed (NFC; ``TagVocab.key``);
a tagger tag is offered in the dataset's own spelling style (``long hair`` or ``long_hair``,
whichever its captions use more; tags of 3 characters or fewer such as ``^_^`` are never changed).

    vocab = TagVocab.from_captions(captions, "selected_tags.csv")
    vocab.complete("long h")  # -> [Completion("long hair", in_dataset=412, category=0, count=...), ...]
    vocab.complete("hair")    # substring (the default): "hair", "hair ornament", "long hair", ..., "chair"
    vocab.complete("hair", mode="prefix")  # no "chair": starts of the tag or of a word only
"""

from __future__ import annotations

import bisect
import csv
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from loratui.core.captions.tagkey import count_tags, nfc, tag_key
from loratui.core.errors import LoratuiError

CATEGORY_LABELS = {0: "general", 1: "artist", 3: "copyright", 4: "character", 5: "meta", 9: "rating"}


@dataclass(frozen=True)
class TagInfo:
    name: str
    category: int
    count: int = 0


def load_selected_tags(path: str | os.PathLike) -> list[TagInfo]:
    """Read a WD14 ``selected_tags.csv`` in file order (the order of the model's outputs)."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = {"name", "category"} - set(reader.fieldnames or [])
            if missing:
                raise LoratuiError(f"{path}: not a tagger CSV: columns {sorted(missing)} missing "
                                   "(expected tag_id,name,category,count)")
            rows = []
            for line, row in enumerate(reader, 2):
                try:
                    rows.append(TagInfo(row["name"], int(row["category"]), int(row.get("count") or 0)))
                except (TypeError, ValueError):
                    raise LoratuiError(f"{path}:{line}: category and count must be numbers") from None
            return rows
    except FileNotFoundError:
        raise LoratuiError(f"{path}: tag list not found") from None
    except UnicodeDecodeError:
        raise LoratuiError(f"{path}: not UTF-8 text: is this the tagger's selected_tags.csv?") from None
    except OSError as exc:
        raise LoratuiError(f"{path}: cannot read ({exc.strerror})") from None


def tag_categories(tags: Iterable[TagInfo]) -> dict[str, int]:
    """tag name -> category, the mapping EditContext wants (sort by category, remove a category)."""
    return {info.name: info.category for info in tags}


_AFTER_EVERYTHING = "\U0010ffff"  # sorts after any character a key can hold (prefix range end)


def _key(tag: str) -> str:
    """The one comparison of tags (``TagVocab.key``): ``tag_key`` (the caption check's ``tag_variant_key``
    of the composed, NFC, text), so the index, ``in``, ``lookup`` and ``complete(exclude=...)`` agree with
    bulk add, dedupe and the check, and a decomposed ``café`` from macOS is ``café``."""
    return tag_key(tag.strip())


def _word_start(key: str, text: str) -> bool:
    """Does ``text`` occur in ``key`` at the start of a word (after a space, bracket, dash ...)?"""
    at = key.find(text)
    while at > 0 and key[at - 1].isalnum():
        at = key.find(text, at + 1)
    return at >= 0


@dataclass(frozen=True)
class Completion:
    tag: str
    in_dataset: int     # captions using it
    category: int | None
    count: int          # the tagger's (Danbooru) count, 0 if unknown

    @property
    def category_name(self) -> str:
        return CATEGORY_LABELS.get(self.category, "") if self.category is not None else ""


class TagVocab:
    """Completion over dataset tags (first, by use) and tagger tags (then, by count).

    Tags are the same tag when their keys match (``TagVocab.key``: case folded, ``_`` as a space, ``\\(`` as ``(``).
    """

    def __init__(self, frequency: Counter | None = None, tagger: list[TagInfo] | None = None):
        self.frequency = Counter(frequency or {})
        self._tagger: dict[str, TagInfo] = {}
        for info in tagger or []:
            self._tagger.setdefault(_key(info.name), info)
        self._rebuild()

    @classmethod
    def from_captions(cls, captions, tags_csv: str | os.PathLike | None = None) -> TagVocab:
        counts = count_tags(caption.tags for caption in captions)  # as tag_frequency counts: once per caption, NFC
        return cls(counts, load_selected_tags(tags_csv) if tags_csv else None)

    def _underscores(self) -> bool:
        """Does the dataset write multi-word tags with underscores (tagger output kept as is)?"""
        under = sum(1 for t in self.frequency if len(t) > 3 and "_" in t)
        spaced = sum(1 for t in self.frequency if " " in t)
        return under > spaced

    def _rebuild(self) -> None:
        entries: dict[str, Completion] = {}
        for tag, used in self.frequency.items():
            key = _key(tag)
            info = self._tagger.get(key)
            known = entries.get(key)
            if known is not None and known.in_dataset >= used:
                continue  # "long_hair" and "long hair" both used: offer the commoner spelling
            # offered composed (NFC): a completion writes the spelling CLIP reads, whatever macOS copied
            entries[key] = Completion(nfc(tag), used, info.category if info else None, info.count if info else 0)
        underscores = self._underscores()
        for key, info in self._tagger.items():
            if key not in entries:
                name = info.name if underscores or len(info.name) <= 3 else info.name.replace("_", " ")
                entries[key] = Completion(name, 0, info.category, info.count)
        self._sorted = sorted(entries.items(), key=lambda kv: kv[0])
        self._keys = [k for k, _ in self._sorted]
        # Best-first order for substring matching: dataset use, then tagger count, then the name.
        order = sorted(range(len(self._sorted)),
                       key=lambda i: (-self._sorted[i][1].in_dataset, -self._sorted[i][1].count,
                                      self._sorted[i][1].tag))
        self._rank = [0] * len(order)
        for position, index in enumerate(order):
            self._rank[index] = position
        self._ranked_keys = [self._keys[i] for i in order]
        self._ranked = [self._sorted[i][1] for i in order]

    @staticmethod
    def key(tag: str) -> str:
        """The form tags are compared in: ``Long_Hair`` and ``long hair`` are one tag, and so are
        ``miku \\(x\\)`` and ``miku (x)``, and NFC and NFD ``café``: ``tag_key``, which bulk add and
        dedupe use too, so the editor, the forms and the check agree on what is a repeat."""
        return _key(tag)

    def __len__(self) -> int:
        return len(self._sorted)

    def __contains__(self, tag: str) -> bool:
        index = bisect.bisect_left(self._keys, _key(tag))
        return index < len(self._keys) and self._keys[index] == _key(tag)

    def update(self, frequency: Counter) -> None:
        """Replace the dataset counts (after edits) and rebuild the index."""
        self.frequency = Counter(frequency)
        self._rebuild()

    def categories(self) -> dict[str, int]:
        return {info.name: info.category for info in self._tagger.values()}

    def lookup(self, tag: str) -> Completion | None:
        """The entry for exactly this tag (any case, ``_`` or space), or None."""
        index = bisect.bisect_left(self._keys, _key(tag))
        if index < len(self._keys) and self._keys[index] == _key(tag):
            return self._sorted[index][1]
        return None

    def complete(self, text: str, limit: int = 10, exclude: Iterable[str] = (),
                 mode: str = "substring") -> list[Completion]:
        """Tags matching ``text``, best first; ``exclude`` leaves out tags the caption already has.

        ``mode="substring"`` (the editor's): the exact tag, then tags starting with ``text``, then
        tags with a word starting with it (``hair`` finds ``long hair`` before ``chair``), then any
        other tag containing it. ``mode="prefix"``: tags starting with ``text``, then tags with a
        word starting with it. Within each group: used in the dataset (more captions first), then
        the tagger's count.
        """
        if mode not in ("substring", "prefix"):
            raise ValueError(f"unknown completion mode {mode!r}: use 'substring' or 'prefix'")
        whole = _key(text)  # the text as a whole tag: "^_^" keeps its "_"
        key = whole.replace("_", " ")  # as part of a tag: "g_h" is in "long_hair", whose key has a space
        if not key.strip() or limit <= 0:
            return []
        skip = {_key(t) for t in exclude}
        complete = self._complete_prefix if mode == "prefix" else self._complete_substring
        hits = complete(key, limit, skip)
        if whole != key:  # a short text with "_" ("^_"): the tags it starts or is come first
            first = complete(whole, limit, skip)
            hits = first + [hit for hit in hits if hit not in first]
        return hits[:limit]

    def _prefix_range(self, key: str) -> range:
        """Indexes into the key-sorted entries of every key starting with ``key`` (by bisection)."""
        start = bisect.bisect_left(self._keys, key)
        end = bisect.bisect_left(self._keys, key + _AFTER_EVERYTHING, start)
        return range(start, end)

    def _complete_prefix(self, key: str, limit: int, skip: set[str]) -> list[Completion]:
        hits = [self._sorted[i][1] for i in self._prefix_range(key) if self._keys[i] not in skip]
        hits.sort(key=lambda c: (-c.in_dataset, -c.count, c.tag))
        if len(hits) < limit:  # then words inside a tag: "hair" -> "long hair"
            seen = {_key(h.tag) for h in hits} | skip
            inner = [c for k, c in self._sorted if k not in seen and f" {key}" in f" {k}" and not k.startswith(key)]
            inner.sort(key=lambda c: (-c.in_dataset, -c.count, c.tag))
            hits += inner
        return hits[:limit]

    def _complete_substring(self, key: str, limit: int, skip: set[str]) -> list[Completion]:
        # Exact and prefix matches come from the key-sorted list by bisection, ordered by rank
        # (the position in best-first order); the rest is one scan of the keys in rank order that
        # stops as soon as enough word-start matches are found (they outrank other substrings).
        span = self._prefix_range(key)
        exact = span.start if span and self._keys[span.start] == key and key not in skip else None
        prefix = [i for i in span if i != exact and self._keys[i] not in skip]
        prefix.sort(key=self._rank.__getitem__)
        if exact is not None:  # the tag itself first, even when a longer one is used more
            prefix.insert(0, exact)
        hits = [self._sorted[i][1] for i in prefix[:limit]]
        if len(hits) >= limit:
            return hits[:limit]
        wanted = limit - len(hits)
        words: list[Completion] = []
        others: list[Completion] = []
        ranked_keys = self._ranked_keys
        for position in [p for p, k in enumerate(ranked_keys) if key in k]:
            k = ranked_keys[position]
            if k.startswith(key) or k in skip:
                continue
            if _word_start(k, key):
                words.append(self._ranked[position])
                if len(words) >= wanted:
                    break
            elif len(others) < wanted:
                others.append(self._ranked[position])
        return (hits + words + others)[:limit]
