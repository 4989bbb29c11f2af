"""Adding a tag the caption has in another case (`Solo`, `SOLO` for `solo`) does not make a second copy:
CLIP lowercases captions and dedupe treats them as one tag. The caption's own spelling is kept."""

from __future__ import annotations

from loratui.core.captions import AddTags, Dedupe


def test_add_at_the_front_moves_an_existing_tag_of_another_case_keeping_its_spelling():
    add = AddTags(["solo"], 0, move_existing=True)
    assert add.run(["Solo", "long_hair", "red"]) == ["Solo", "long_hair", "red"]  # already first: unchanged
    assert add.run(["x", "y", "SOLO"]) == ["SOLO", "x", "y"]  # moved, spelled as the user wrote it
    assert add.run(["x", "Solo", "y", "solo"]) == ["Solo", "x", "y"]  # one copy left, the first spelling
    assert add.run(["x"]) == ["solo", "x"]
    # what dedupe would leave anyway: the result never has a repeat dedupe removes
    for tags in (["Solo", "long_hair"], ["x", "SOLO"], ["x", "Solo", "y", "solo"]):
        out = add.run(tags)
        assert Dedupe().run(out) == out


def test_add_at_the_end_does_not_add_a_tag_present_in_another_case():
    add = AddTags(["solo", "new"])
    tags = ["Solo", "x"]
    assert add.run(tags) == ["Solo", "x", "new"]
    assert AddTags(["SOLO"]).compile(None)(tags) is tags  # nothing to add: the very same list back


def test_tags_given_twice_in_other_cases_are_added_once_as_first_given():
    assert AddTags(["Trig", "trig", "x"], 0).run(["a"]) == ["Trig", "x", "a"]


def test_keep_leaves_a_kept_tag_of_another_case_in_place_and_drops_later_copies():
    add = AddTags(["alice"], 0, move_existing=True, keep=1)
    assert add.run(["Alice", "b", "ALICE"]) == ["Alice", "b"]
    assert add.run(["trig", "b", "ALICE"]) == ["trig", "ALICE", "b"]
