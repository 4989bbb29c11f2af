"""WD14 options typed in either spelling (space or underscore, any case), as append and the dataset
check compare tags: always-first duplicates dropped, undesired tags and replacements matched, names
the model does not have warned about (s12 user-test of captioning)."""

from __future__ import annotations

import numpy as np

from loratui.captioners.tiny_models import TAGS
from loratui.captioners.wd14 import TagInfo, TagOptions, TagSelector

INFOS = [TagInfo(t[0], t[1], t[2]) for t in TAGS]
NAMES = [t[0] for t in TAGS]


def probs(**on) -> np.ndarray:
    p = np.zeros(len(TAGS), np.float32)
    p[NAMES.index("general")] = 0.9
    for name, value in on.items():
        p[NAMES.index(name)] = value
    return p


BLUE = probs(**{"1girl": 0.9, "solo": 0.9, "blue_theme": 0.9, "white_background": 0.9})


def select(**options) -> list[str]:
    return TagSelector(INFOS, TagOptions(**options)).select(BLUE)


def test_always_first_tags_drop_the_detected_tag_in_any_spelling():
    assert select(always_first_tags=["blue theme", "Solo"]) == ["blue theme", "Solo", "1girl", "white_background"]
    assert select(always_first_tags=["Blue_Theme", "blue theme"]) == ["Blue_Theme", "1girl", "solo", "white_background"]


def test_undesired_and_replacement_match_with_spaces_without_remove_underscore():
    assert select(undesired_tags=["white background"]) == ["1girl", "solo", "blue_theme"]
    assert select(undesired_tags=["White_Background"], remove_underscore=True) == ["1girl", "solo", "blue theme"]
    assert select(tag_replacement=[("blue theme", "BLUE")]) == ["1girl", "solo", "BLUE", "white_background"]
    assert select(tag_replacement=[("BLUE_THEME", "blue")], remove_underscore=True)[2] == "blue"


def test_names_the_model_does_not_have_are_one_warning_line_per_option():
    selector = TagSelector(INFOS, TagOptions(undesired_tags=["white background", "whte background", "vocaloid"],
                                             tag_replacement=[("blu theme", "x"), ("solo", "alone")],
                                             character_tag_expand=True))
    lines = selector.unknown_warnings("selected_tags.csv")
    assert lines == [
        "--undesired-tags: 'whte background' is not a tag of selected_tags.csv in any spelling, so it does "
        "nothing: check the spelling (spaces and underscores both match)",
        "--tag-replacement: 'blu theme' is not a tag of selected_tags.csv in any spelling, so it does nothing: "
        "check the spelling (spaces and underscores both match)",
    ]
    # a replacement's new name may be undesired: no warning for it
    assert TagSelector(INFOS, TagOptions(undesired_tags=["alone"], tag_replacement=[("solo", "alone")])
                       ).unknown_warnings() == []


def test_the_result_marks_how_many_tags_lead_for_append():
    assert select(always_first_tags=["ohwx"]).lead == 1
    assert select(always_first_tags=["ohwx"], rating="first").lead == 2
    assert select(rating="last").lead == 0
    assert select(rating="first", undesired_tags=["general"]).lead == 0
