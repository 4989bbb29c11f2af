"""Tag identity: when two spellings are one tag, as CLIP reads them.

CLIP's tokenizer (transformers' ``CLIPTokenizer``) applies Unicode NFC and lowercases before it splits
a caption, so ``café`` typed on Linux (composed, NFC) and ``café`` in a file copied from macOS
(decomposed, NFD: ``e`` + U+0301) train as the same tokens although their bytes differ. Every place
the tag tools compare tags goes through here: ``nfc`` for "the same text" (frequency rows, exact
matches, ``--where``), ``tag_key`` for "the same tag" (the caption check's ``tag_variant_key``, which also
folds case, ``_`` and escaped brackets: add's "already there", dedupe, the tag vocabulary).

Comparing is all this does: no tag is ever rewritten to NFC unless an operation is asked to change it
(``tags replace DIR café café`` with the composed spelling typed does exactly that).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable

from loratui.core.dataset import tag_variant_key


def nfc(text: str) -> str:
    """``text`` in composed form (NFC). ASCII (most tags) is returned as is without a lookup."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def tag_key(tag: str) -> str:
    """What two spellings of one tag share: ``tag_variant_key`` (case, ``_``, ``\\(``) of the NFC text,
    so a decomposed ``café`` is ``café``, as CLIP reads it."""
    return tag_variant_key(nfc(tag))


def non_nfc_tags(tags: Iterable[str]) -> list[str]:
    """The tags not in composed form (NFD, as macOS writes file names), in order, each once."""
    return list(dict.fromkeys(t for t in tags if not t.isascii() and not unicodedata.is_normalized("NFC", t)))


def counted_once(tags: Iterable[str]) -> dict[str, int]:
    """A caption's tags as a frequency count takes them: each once, in a stable order (ties), in
    composed form (NFC): a decomposed ``café`` (macOS) and ``café`` look alike and train alike, so
    they are one row of ``tags freq`` and of the app's tag list."""
    once = dict.fromkeys(tags, 1)
    if all(map(str.isascii, once)):  # most captions: no lookup per tag
        return once
    return dict.fromkeys(map(nfc, once), 1)


def count_tags(tag_lists: Iterable[list[str]]) -> Counter:
    """tag -> number of the lists holding it (a tag twice in one list counts once), counted under the
    NFC spelling: NFC and NFD spellings of one tag are one row. Counted as written first (the fast
    path: most datasets have no decomposed tag), then the few lists holding a decomposed tag again."""
    counts: Counter = Counter()
    lists = []
    for tags in tag_lists:
        counts.update(dict.fromkeys(tags, 1))  # once per list, in a stable order (ties)
        lists.append(tags)
    decomposed = set(non_nfc_tags(counts))
    if decomposed:
        for tags in lists:
            if not decomposed.isdisjoint(tags):
                counts.subtract(dict.fromkeys(tags, 1))
                counts.update(counted_once(tags))
        for tag in decomposed:
            del counts[tag]
    return counts
