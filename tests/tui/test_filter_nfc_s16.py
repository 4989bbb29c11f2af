"""The Dataset filter box's free words match a tag whatever its Unicode form: a macOS copy writes
`café` decomposed (NFD), a user types it composed (NFC), and CLIP reads both as one word."""

from __future__ import annotations

import unicodedata

from loratui.core.captions import parse_caption
from loratui.tui.services.dataset_filter import split_filter
from loratui.tui.services.dataset_rows import ImageRow

NFC = unicodedata.normalize("NFC", "café")
NFD = unicodedata.normalize("NFD", "café")


def _row(tmp_path, name: str, caption_text: str) -> ImageRow:
    caption_path = tmp_path / f"{name}.txt"
    row = ImageRow(str(tmp_path / f"{name}.png"), "10_a", 1, str(caption_path))
    row.caption = parse_caption(caption_text.encode(), caption_path)
    return row


def test_a_typed_word_matches_both_spellings(tmp_path):
    decomposed, composed = _row(tmp_path, "a", f"{NFD}, solo"), _row(tmp_path, "b", f"{NFC}, solo")
    for typed in (NFC, NFD):
        _, words = split_filter(typed)
        assert words == [NFC]
        assert all(words[0] in row.search_text() for row in (decomposed, composed))


def test_a_decomposed_file_name_matches_a_composed_word(tmp_path):
    row = _row(tmp_path, NFD, "solo")
    _, words = split_filter(NFC)
    assert words[0] in row.search_text()
