"""A1111/taggui escape brackets in tags (``miku \\(vocaloid\\)``): the same tag as the plain spelling,
for the repeat check and for the captioners' append merge."""
from __future__ import annotations

from loratui.core.dataset import tag_variant_key


def test_escaped_brackets_are_the_same_tag_as_plain_ones():
    assert tag_variant_key(r"hatsune miku \(vocaloid\)") == tag_variant_key("hatsune_miku_(vocaloid)")
    assert tag_variant_key(r"Hatsune Miku \(Vocaloid\)") == tag_variant_key("hatsune miku (vocaloid)")


def test_other_backslashes_and_short_faces_are_kept():
    assert tag_variant_key(r"a\b tag") != tag_variant_key("a b tag")
    assert tag_variant_key("^_^") == "^_^"
