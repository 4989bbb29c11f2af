"""Tag selection: ratings argmax, thresholds, and every option; the tag list for autocomplete."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.wd14_tiny import TAGS
from loratui.captioners.wd14 import TagInfo, TagOptions, TagSelector, parse_replacements, read_tag_csv, tag_list
from loratui.core.errors import LoratuiError

INFOS = [TagInfo(t[0], t[1], t[2]) for t in TAGS]
NAMES = [t[0] for t in TAGS]


def probs(**on):
    p = np.zeros(len(TAGS), np.float32)
    for name, value in on.items():
        p[NAMES.index(name.replace("__", "_"))] = value
    return p


def sel(p, **kw):
    return TagSelector(INFOS, TagOptions(**kw)).select(p)


BASE = dict(general=0.1, sensitive=0.6, **{"1girl": 0.9, "solo": 0.35, "low_prob": 0.349})


def test_thresholds_are_inclusive_and_per_category():
    p = probs(**BASE, other_char=0.85)
    p[NAMES.index("hatsune_miku_(vocaloid)")] = 0.84
    assert sel(p) == ["1girl", "solo", "other_char"]
    assert sel(p, general_threshold=0.5, character_threshold=0.8) == ["1girl", "hatsune_miku_(vocaloid)", "other_char"]


def test_rating_argmax_first_last_off():
    p = probs(**BASE)
    assert sel(p, rating="first") == ["sensitive", "1girl", "solo"]
    assert sel(p, rating="last") == ["1girl", "solo", "sensitive"]
    assert sel(p, rating="off") == ["1girl", "solo"]


def test_underscores_removed_except_short_tags():
    p = probs(**BASE, red_theme=0.9, **{"^_^": 0.9})
    assert sel(p, remove_underscore=True) == ["1girl", "solo", "red theme", "^_^"]


def test_character_first_and_expand():
    p = probs(**BASE, other_char=0.9)
    p[NAMES.index("hatsune_miku_(vocaloid)")] = 0.9
    assert sel(p, character_tags_first=True) == ["hatsune_miku_(vocaloid)", "other_char", "1girl", "solo"]
    assert sel(p, character_tag_expand=True)[2:4] == ["hatsune_miku", "vocaloid"]
    assert sel(p, character_tag_expand=True, remove_underscore=True)[2:4] == ["hatsune miku", "vocaloid"]


def test_undesired_always_first_and_replacement():
    p = probs(**BASE, red_theme=0.9)
    assert sel(p, undesired_tags=["solo", "red theme"], remove_underscore=True) == ["1girl"]
    assert sel(p, always_first_tags=["mychar", "solo"]) == ["mychar", "solo", "1girl", "red_theme"]
    pairs = parse_replacements(r"1girl,one girl;red_theme,red\, theme;solo,1girl")
    assert pairs[1] == ("red_theme", "red, theme")
    out = sel(p, tag_replacement=pairs, remove_underscore=True)
    assert out == ["one girl", "1girl", "red, theme"]  # every pair applies once, no chaining


def test_always_first_in_either_underscore_form_is_not_repeated():
    p = probs(**BASE, red_theme=0.9)
    assert sel(p, always_first_tags=["red_theme"], remove_underscore=True) == ["red_theme", "1girl", "solo"]
    assert sel(p, always_first_tags=["sks_dog"], remove_underscore=True)[0] == "sks_dog"  # as typed


def test_undesired_matches_the_name_before_or_after_replacement():
    p = probs(**BASE)
    pairs = parse_replacements("1girl,1woman")
    assert sel(p, tag_replacement=pairs, undesired_tags=["1woman"]) == ["solo"]
    assert sel(p, tag_replacement=pairs, undesired_tags=["1girl"]) == ["solo"]


def test_tag_csv_that_is_not_utf8_is_one_line(tmp_path):
    bad = tmp_path / "selected_tags.csv"
    bad.write_bytes(b"\xff\xfe garbage\x00\x81")
    with pytest.raises(LoratuiError, match="not a readable WD14 selected_tags.csv"):
        read_tag_csv(bad)
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbftag_id,name,category,count\n1,general,9,0\n")
    assert read_tag_csv(bom)[0].name == "general"


def test_bad_replacement_is_one_line():
    with pytest.raises(LoratuiError, match="source,target"):
        parse_replacements("a,b,c")


def test_tag_list_for_autocomplete(wd14_v3):
    tags = tag_list(wd14_v3)
    assert tags[0] == TagInfo("general", 9, 0) and tags[4] == TagInfo("1girl", 0, 5000)
    assert len(tags) == len(TAGS)
