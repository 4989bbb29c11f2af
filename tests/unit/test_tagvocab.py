"""core/captions/tagvocab.py: tag vocabulary and prefix completion for the tag editor."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from loratui.core.captions import parse_caption
from loratui.core.errors import LoratuiError
from loratui.core.captions import TagVocab, load_selected_tags, tag_categories

CSV = ("tag_id,name,category,count\n1,general,9,100\n2,long_hair,0,900\n3,long_sleeves,0,500\n"
       "4,alice_(wonderland),4,50\n5,^_^,0,10\n6,hair_ornament,0,300\n7,very_long_hair,0,400\n")


@pytest.fixture
def tags(tmp_path):
    path = tmp_path / "selected_tags.csv"
    path.write_text(CSV)
    return load_selected_tags(path)


def test_load_selected_tags(tags, tmp_path):
    assert tags[0].name == "general" and tags[0].category == 9 and tags[1].count == 900
    assert tag_categories(tags)["alice_(wonderland)"] == 4
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(LoratuiError, match="not a tagger CSV"):
        load_selected_tags(tmp_path / "bad.csv")
    (tmp_path / "num.csv").write_text("tag_id,name,category,count\n1,x,nine,0\n")
    with pytest.raises(LoratuiError, match="num.csv:2: category and count must be numbers"):
        load_selected_tags(tmp_path / "num.csv")
    with pytest.raises(LoratuiError, match="tag list not found"):
        load_selected_tags(tmp_path / "none.csv")


def test_completion_order_dataset_first_then_tagger_count(tags):
    vocab = TagVocab(Counter({"long sleeves": 3, "solo": 9}), tags)
    names = [c.tag for c in vocab.complete("long")]
    # starting with the prefix: used in the dataset first, then by count; then a word inside a tag
    assert names == ["long sleeves", "long hair", "very long hair"]
    assert [c.tag for c in vocab.complete("hair")] == ["hair ornament", "long hair", "very long hair"]
    assert [c.tag for c in vocab.complete("long_h")] == ["long hair", "very long hair"]  # _ is a space
    hit = vocab.complete("ALICE")[0]
    assert hit.category == 4 and hit.category_name == "character" and hit.tag == "alice (wonderland)"
    assert vocab.complete("^_")[0].tag == "^_^"  # short tags keep their underscores
    assert vocab.complete("") == [] and vocab.complete("zzz") == []
    assert [c.tag for c in vocab.complete("long", limit=1)] == ["long sleeves"]
    assert [c.tag for c in vocab.complete("long", exclude=["long_sleeves"])] == ["long hair", "very long hair"]
    assert vocab.complete("so")[0].in_dataset == 9 and vocab.complete("so")[0].category is None


def test_spelling_follows_the_dataset(tags):
    vocab = TagVocab(Counter({"blue_eyes": 2, "1girl": 3}), tags)
    assert vocab.complete("long h")[0].tag == "long_hair"
    both = TagVocab(Counter({"long_hair": 1, "long hair": 5}), tags)
    assert [c.tag for c in both.complete("long h")] == ["long hair", "very long hair"]


def test_lookup_update_and_from_captions(tags, tmp_path):
    caps = [parse_caption(b"solo, long hair\n", Path("a.txt")), parse_caption(b"solo\n", Path("b.txt"))]
    (tmp_path / "t.csv").write_text(CSV)
    vocab = TagVocab.from_captions(caps, tmp_path / "t.csv")
    assert vocab.lookup("Long_Hair").in_dataset == 1 and vocab.lookup("long hair").count == 900
    assert "solo" in vocab and "nope" not in vocab and vocab.lookup("nope") is None
    assert len(vocab) == 8
    vocab.update(Counter({"solo": 1}))
    assert vocab.lookup("long hair").in_dataset == 0
    assert vocab.categories()["general"] == 9
    assert TagVocab().complete("a") == []


def test_completion_is_fast_enough_for_typing(tags):
    """A 10,000-tag vocabulary answers a prefix by bisection (smoke check, no timing assertion)."""
    vocab = TagVocab(Counter({f"tag {i}": i for i in range(10_000)}), tags)
    assert [c.tag for c in vocab.complete("tag 999", limit=3)] == ["tag 9999", "tag 9998", "tag 9997"]
