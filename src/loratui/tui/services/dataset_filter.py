"""The Dataset table's filter box over the open dataset's rows: its text read as --where terms (core's
language) and free-text words (``split_filter``), and ``RowFilter``, the DatasetStore's filtering half
(mixed into services.dataset_store.DatasetStore, which re-exports every name here): it expects the store's
``all_rows``, ``reg_rows`` and ``_search_cache``. Runs on the UI thread or in a filter worker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from itertools import compress
from operator import attrgetter

from loratui.core.captions import WHERE_FLAGS, nfc, parse_where, quote_hint  # the flags: core's own
from loratui.core.errors import LoratuiError
from loratui.tui.services.dataset_rows import ImageRow

_CAPTION_OF = attrgetter("caption")


@dataclass
class FilterResult:
    rows: list[ImageRow]
    error: str | None = None     # the --where problem, shown under the filter box
    free_text: str = ""          # the words matched as plain text


WHERE_WORDS = ("and", "or", "not")
_COUNTS = ("tags", "tokens")  # core's count terms: tags>N, tokens>N (about N CLIP tokens)


def _is_where_token(token: str) -> bool:
    low = token.lower().lstrip("-")
    return (":" in low or low in WHERE_WORDS or low in WHERE_FLAGS  # `tags<`, `tokens>x`: core's error
            or any(low.startswith(what) and low[len(what):len(what) + 1] in ("<", ">", "=") for what in _COUNTS))


def split_filter(text: str) -> tuple[str, list[str]]:
    """The filter box's text as (a --where expression, free-text words). Quoted values stay whole."""
    tokens: list[str] = []
    buf, quote = "", ""
    for ch in text:
        if quote:
            buf += ch
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            buf += ch
            quote = ch
        elif ch.isspace():
            if buf:
                tokens.append(buf)
            buf = ""
        else:
            buf += ch
    if buf:
        tokens.append(buf)
    where = [t for t in tokens if _is_where_token(t)]
    words = [nfc(t.strip("\"'")).lower() for t in tokens if not _is_where_token(t)]  # as rows' search_text
    return " ".join(where), words


class RowFilter:
    """The rows the filter box selects, and the `reg` of a --where (the store's rows; see the module doc)."""

    def _search_texts(self, rows: list[ImageRow]) -> list[str]:
        """Each row's ``search_text``, in order, kept while the rows and their captions stay the same
        objects (checked on every call: a caption may be swapped on a row from anywhere). Runs on the UI
        thread or in a filter worker: the cache is one tuple, swapped whole."""
        captions = list(map(_CAPTION_OF, rows))
        kept = self._search_cache
        if kept is None or kept[0] is not rows or kept[1] != captions:
            kept = (rows, captions, [row.search_text() for row in rows])
            self._search_cache = kept
        return kept[2]

    def filter(self, text: str, concept: str | None = None) -> FilterResult:
        """Rows matching the filter box: --where terms (core's language) and free-text words."""
        where_text, words = split_filter(text)
        error = None
        predicate = None
        if where_text:
            try:
                predicate = parse_where(where_text, is_reg=self.reg_caption_test())
            except LoratuiError as exc:
                error = str(exc)
        rows = self.all_rows
        if words:  # first: the cheapest test, and it narrows what the --where terms are tried on
            hays = self._search_texts(rows)
            hit = [words[0] in hay for hay in hays]  # one pass per word, no call or new object per row
            for word in words[1:]:
                hit = [was and word in hay for was, hay in zip(hit, hays)]
            rows = list(compress(rows, hit))
        if concept:
            rows = [r for r in rows if r.folder == concept]
        if predicate is not None:
            rows = [r for r in rows if r.caption is not None and predicate(r.caption)]
        if not rows and error is None:  # `tag:long hair` read as the tag "long" and the word "hair"
            error = quote_hint(text)
        return FilterResult(rows, error, " ".join(words))

    def reg_caption_test(self):
        """The filter's `reg`: the caption is a reg row's (the rows know, a config's reg folder elsewhere too).
        A recipe's where is compiled with it too, so `reg` picks the same images in both."""
        reg = {row.caption_str for row in self.reg_rows}
        return lambda caption: os.fspath(caption.path) in reg
