"""Tag vocabulary for autocomplete: the dataset's own tags by frequency, plus a tagger's tag list.

A WD14 ``selected_tags.csv`` (``tag_id,name,category,count``; category 9 rating, 0 general,
4 character) adds every tag the tagger knows, with its category and Danbooru count, so the editor
can complete tags the dataset does not use yet. Matching ignores case and treats ``_`` as a space.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from loratui.core.errors import LoratuiError


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
                    raise LoratuiError(f"{path}:{line}: category/count must be numbers") from None
            return rows
    except FileNotFoundError:
        raise LoratuiError(f"{path}: tag list not found") from None
    except OSError as exc:
        raise LoratuiError(f"{path}: cannot read ({exc.strerror})") from None


def _key(tag: str) -> str:
    return tag.casefold().replace("_", " ")


@dataclass(frozen=True)
class Completion:
    tag: str
    in_dataset: int     # captions using it
    category: int | None
    count: int          # the tagger's (Danbooru) count, 0 if unknown


class TagVocab:
    """Prefix completion over dataset tags (first, by use) and tagger tags (then, by count)."""

    def __init__(self, frequency: Counter | None = None, tagger: list[TagInfo] | None = None):
        self.frequency = Counter(frequency or {})
        self._tagger = {}
        for info in tagger or []:
            self._tagger.setdefault(_key(info.name), info)
        self._rebuild()

    def _rebuild(self) -> None:
        entries: dict[str, Completion] = {}
        for tag, used in self.frequency.items():
            info = self._tagger.get(_key(tag))
            entries[_key(tag)] = Completion(tag, used, info.category if info else None, info.count if info else 0)
        for key, info in self._tagger.items():
            if key not in entries:
                entries[key] = Completion(info.name.replace("_", " ") if len(info.name) > 3 else info.name,
                                          0, info.category, info.count)
        self._sorted = sorted(entries.items(), key=lambda kv: kv[0])
        self._keys = [k for k, _ in self._sorted]

    def update(self, frequency: Counter) -> None:
        """Replace the dataset counts (after edits) and rebuild the index."""
        self.frequency = Counter(frequency)
        self._rebuild()

    def categories(self) -> dict[str, int]:
        return {info.name: info.category for info in self._tagger.values()}

    def complete(self, prefix: str, limit: int = 10) -> list[Completion]:
        """Tags starting with ``prefix`` (or with a word starting with it), best first."""
        import bisect

        key = _key(prefix.strip())
        if not key:
            return []
        start = bisect.bisect_left(self._keys, key)
        hits = []
        for k, completion in self._sorted[start:]:
            if not k.startswith(key):
                break
            hits.append(completion)
        if len(hits) < limit:  # also words inside a tag: "hair" -> "long hair"
            seen = {h.tag for h in hits}
            hits += [c for k, c in self._sorted if c.tag not in seen and f" {key}" in f" {k}"]
        hits.sort(key=lambda c: (-c.in_dataset, -c.count, c.tag))
        return hits[:limit]
