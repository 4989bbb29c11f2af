"""core/captions/tagvocab.py: tag vocabulary and completion (prefix and substring) for the tag editor."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import time

import pytest

from loratui.core.captions import parse_caption
from loratui.core.errors import LoratuiError
from loratui.core.captions import TagInfo, TagVocab, load_selected_tags, tag_categories

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


@pytest.mark.parametrize("mode", ["prefix", "substring"])
def test_completion_order_dataset_first_then_tagger_count(tags, mode):
    vocab = TagVocab(Counter({"long sleeves": 3, "solo": 9}), tags)
    complete = lambda text, **kw: vocab.complete(text, mode=mode, **kw)  # noqa: E731
    names = [c.tag for c in complete("long")]
    # starting with the prefix: used in the dataset first, then by count; then a word inside a tag
    assert names == ["long sleeves", "long hair", "very long hair"]
    assert [c.tag for c in complete("hair")] == ["hair ornament", "long hair", "very long hair"]
    assert [c.tag for c in complete("long_h")] == ["long hair", "very long hair"]  # _ is a space
    hit = complete("ALICE")[0]
    assert hit.category == 4 and hit.category_name == "character" and hit.tag == "alice (wonderland)"
    assert complete("^_")[0].tag == "^_^"  # short tags keep their underscores
    assert complete("") == [] and complete("zzz") == []
    assert [c.tag for c in complete("long", limit=1)] == ["long sleeves"]
    assert [c.tag for c in complete("long", exclude=["long_sleeves"])] == ["long hair", "very long hair"]
    assert complete("so")[0].in_dataset == 9 and complete("so")[0].category is None


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
    assert [c.tag for c in vocab.complete("tag 999", limit=3, mode="prefix")] == ["tag 9999", "tag 9998", "tag 9997"]
    # substring mode puts the exact tag first, then the prefix matches by use
    assert [c.tag for c in vocab.complete("tag 999", limit=3)] == ["tag 999", "tag 9999", "tag 9998"]


def test_substring_ranking_exact_prefix_word_start_then_inside():
    vocab = TagVocab(Counter({"chair": 50, "long hair": 5, "hair ornament": 2, "hair": 1, "blonde hair": 9,
                              "hairband": 3, "mohair coat": 40, "solo": 7}),
                     [TagInfo("short_hair", 0, 9000), TagInfo("armchair", 0, 100), TagInfo("hair_bow", 0, 800)])
    names = [c.tag for c in vocab.complete("hair")]
    # exact, then starting with it (dataset use, then tagger count), then word starts, then the rest
    assert names == ["hair", "hairband", "hair ornament", "hair bow",
                     "blonde hair", "long hair", "short hair",
                     "chair", "mohair coat", "armchair"]
    assert [c.tag for c in vocab.complete("HAIR", limit=4, exclude=["Hair", "hair_bow"])] == [
        "hairband", "hair ornament", "blonde hair", "long hair"]
    assert [c.tag for c in vocab.complete("hair", limit=8)][-1] == "chair"  # a word start never cut for "chair"
    assert [c.tag for c in vocab.complete("lo")] == ["long hair", "blonde hair", "solo"]  # inside: by use
    assert [c.tag for c in vocab.complete("g_h")] == ["long hair"]  # "_" is a space in the middle too
    assert [c.tag for c in vocab.complete("air", mode="prefix")] == []  # prefix mode: no inner matches
    assert vocab.complete("zzz") == [] and vocab.complete("  ") == [] and vocab.complete("hair", limit=0) == []
    with pytest.raises(ValueError, match="unknown completion mode"):
        vocab.complete("hair", mode="fuzzy")


def test_word_start_after_brackets_and_dashes():
    vocab = TagVocab(Counter({"alice (wonderland)": 1, "thunder": 5, "t-shirt": 1, "shirtless": 0}))
    assert [c.tag for c in vocab.complete("wonder")] == ["alice (wonderland)"]
    assert [c.tag for c in vocab.complete("under")] == ["thunder"]
    assert [c.tag for c in vocab.complete("shirt")] == ["shirtless", "t-shirt"]


def test_key_is_the_tag_identity():
    assert TagVocab.key(" Long_Hair ") == TagVocab.key("long hair") == "long hair"


def test_substring_completion_speed_with_20000_tags(tags):
    """Benchmark-like: prints the slowest time per call; no timing assertion (shared CI boxes vary)."""
    words = ["hair", "long", "short", "blue", "red", "eyes", "shirt", "skirt", "bow", "ribbon", "open",
             "mouth", "hat", "sky", "cloud", "tree", "dress", "boots", "gloves", "sword"]
    frequency = Counter({f"{words[i % 20]} {words[(i // 20) % 20]} {i}": (i * 7919) % 500 for i in range(12_000)})
    tagger = [TagInfo(f"{words[(i * 3) % 20]}_{words[(i // 7) % 20]}_t{i}", i % 2 * 4, i) for i in range(8_000)]
    vocab = TagVocab(frequency, tagger)
    assert len(vocab) == 20_000
    queries = ["h", "ha", "hai", "hair", "air", "o", "ng", "ribbon sky", "zzz", "1", "t79", "long h"]
    worst = {}
    for text in queries:
        start = time.perf_counter()
        hits = vocab.complete(text, limit=10, exclude=["hair long 0"])
        worst[text] = (time.perf_counter() - start) * 1000
        assert len(hits) <= 10
    print("\nsubstring completion, 20,000 tags, ms per call: "
          + ", ".join(f"{text!r} {ms:.2f}" for text, ms in worst.items())
          + f"; worst {max(worst.values()):.2f} ms")
