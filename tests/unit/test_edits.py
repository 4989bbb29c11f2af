"""core/captions/ops.py (via core/captions/plan.py): each tag operation on one caption, and its recipe form."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loratui.core.captions import (
    AddTags, Dedupe, EditContext, MoveToFront, RemoveCategory, RemoveTags, ReplaceTag, SortTags, StripUnderscores,
    op_from_dict, run_ops, tag_matcher,
)
from loratui.core.errors import LoratuiError


def run(op, tags, ctx=None):
    return op.run(list(tags), ctx)


def test_add_positions():
    assert run(AddTags(["t"], 0), ["a", "b"]) == ["t", "a", "b"]
    assert run(AddTags(["t"]), ["a", "b"]) == ["a", "b", "t"]
    assert run(AddTags(["t"], 1), ["a", "b"]) == ["a", "t", "b"]
    assert run(AddTags(["t"], -2), ["a", "b"]) == ["a", "t", "b"]
    assert run(AddTags(["t"], 9), ["a"]) == ["a", "t"]
    assert run(AddTags(["t"], -9), ["a"]) == ["t", "a"]
    assert run(AddTags(["t", "u"], 0), []) == ["t", "u"]
    assert run(AddTags(["a", "t"], 0), ["b", "a"]) == ["t", "b", "a"]  # already there: not added twice
    assert run(AddTags(["t", "t", " "], 0), ["a"]) == ["t", "a"]


def test_add_moving_existing_trigger_word():
    op = AddTags(["trig"], 0, move_existing=True)
    assert run(op, ["a", "trig", "b"]) == ["trig", "a", "b"]
    assert run(op, ["trig", "a"]) == ["trig", "a"]
    assert run(op, ["a", "trig", "trig"]) == ["trig", "a"]
    assert run(AddTags(["x", "y"], 0, True), ["y", "a", "x"]) == ["x", "y", "a"]


def test_matching_modes():
    assert tag_matcher(["a*"])("abc") and not tag_matcher(["a*"])("xa")
    assert tag_matcher(["/\\d+girls?/"])("2girls") and not tag_matcher(["/girl/"])("1girl")  # whole tag
    assert tag_matcher(["a*"], "exact")("a*") and not tag_matcher(["a*"], "exact")("ab")
    assert tag_matcher(["a.c"], "regex")("abc")
    assert tag_matcher(["long hair"], "glob")("long hair")
    with pytest.raises(LoratuiError, match="bad regular expression"):
        tag_matcher(["(("], "regex")
    with pytest.raises(LoratuiError, match="unknown match mode"):
        tag_matcher(["a"], "fuzzy")


def test_auto_reads_bracketed_weights_as_tags_and_a_glob_matches_its_own_text():
    """`[blue eyes]` is an A1111/NAI weighted tag: auto read it as a character class and removed
    nothing (187 captions had it)."""
    tags = ["[blue eyes]", "b", "{masterpiece}", "what?", "whats", "solo"]
    assert run(RemoveTags(["[blue eyes]"]), tags) == ["b", "{masterpiece}", "what?", "whats", "solo"]
    assert run(RemoveTags(["[blue eyes]"], mode="glob"), tags) == ["[blue eyes]", "{masterpiece}", "what?",
                                                                   "whats", "solo"]
    assert run(RemoveTags(["what?"]), tags) == ["[blue eyes]", "b", "{masterpiece}", "solo"]
    assert run(ReplaceTag("[blue eyes]", "blue eyes"), tags)[0] == "blue eyes"
    assert tag_matcher(["*[0-9]"])("x1") and not tag_matcher(["*[0-9]"])("xa")  # with * it is still a glob


def test_remove_exact_glob_regex():
    tags = ["white background", "simple_background", "solo", "1girl", "long hair"]
    assert run(RemoveTags(["solo"]), tags) == ["white background", "simple_background", "1girl", "long hair"]
    assert run(RemoveTags(["*background"]), tags) == ["solo", "1girl", "long hair"]
    assert run(RemoveTags(["/\\d+girl/"]), tags) == ["white background", "simple_background", "solo", "long hair"]
    assert run(RemoveTags(["*"], mode="exact"), tags) == tags
    assert run(RemoveTags(["solo", "1girl"]), tags + ["solo"]) == ["white background", "simple_background",
                                                                  "long hair"]
    with pytest.raises(LoratuiError, match="bad regular expression"):
        run(RemoveTags(["(("], mode="regex"), tags)


def test_replace_merges_duplicates_and_regex_groups():
    assert run(ReplaceTag("kitty", "cat"), ["cat", "kitty", "solo"]) == ["cat", "solo"]
    assert run(ReplaceTag("kitty", "cat"), ["kitty", "solo", "cat"]) == ["cat", "solo"]  # the first place wins
    assert run(ReplaceTag("(.*)_hair", r"\1 hair", "regex"), ["long_hair", "x"]) == ["long hair", "x"]
    assert run(ReplaceTag("*_eyes", "eyes", "glob"), ["blue_eyes", "red_eyes"]) == ["eyes"]
    assert run(ReplaceTag("a", ""), ["a", "b"]) == ["b"]
    assert run(ReplaceTag("a", "b"), ["x", "x"]) == ["x", "x"]  # other duplicates are Dedupe's business
    with pytest.raises(LoratuiError, match="bad replacement"):
        run(ReplaceTag("(a)", r"\3", "regex"), ["a"])


def test_dedupe_sort_move_strip():
    assert run(Dedupe(), ["a", "b", "a"]) == ["a", "b"]
    assert run(SortTags("alpha"), ["b", "C", "a"]) == ["a", "b", "C"]
    assert run(SortTags("alpha", keep=1), ["trig", "b", "a"]) == ["trig", "a", "b"]
    ctx = EditContext(Counter({"a": 1, "b": 5, "c": 3}))
    assert run(SortTags("frequency"), ["a", "b", "c"], ctx) == ["b", "c", "a"]
    assert run(SortTags("frequency"), ["new", "a", "b"], ctx) == ["b", "a", "new"]  # unknown tags: count 0
    ctx = EditContext(categories={"alice": 4, "solo": 0, "general": 9})
    assert run(SortTags("category"), ["solo", "mystery", "general", "alice"], ctx) == [
        "general", "alice", "solo", "mystery"]
    assert run(MoveToFront(["alice*"]), ["solo", "alice_x"]) == ["alice_x", "solo"]
    assert run(MoveToFront(["b", "c"]), ["a", "c", "b"]) == ["c", "b", "a"]  # their order is kept
    assert run(StripUnderscores(), ["long_hair", "^_^", "long hair", "o_o"]) == ["long hair", "^_^", "o_o"]
    assert run(StripUnderscores(keep_tags=["alice_lora"]), ["alice_lora", "long_hair"]) == ["alice_lora", "long hair"]
    with pytest.raises(LoratuiError, match="unknown sort"):
        run(SortTags("colour"), ["a"])


def test_remove_category_with_and_without_csv():
    assert run(RemoveCategory(["rating"]), ["general", "solo", "explicit"]) == ["solo"]
    assert run(RemoveCategory(["9"]), ["questionable", "solo"]) == ["solo"]
    ctx = EditContext(categories={"alice_(x)": 4})
    assert run(RemoveCategory(["character"]), ["alice (x)", "solo"], ctx) == ["solo"]
    with pytest.raises(LoratuiError, match="unknown tag category"):
        run(RemoveCategory(["colour"]), ["a"])


def test_ops_return_the_input_when_nothing_changes():
    tags = ["a", "b"]
    ctx = EditContext(Counter({"a": 2, "b": 1}))
    for op in (AddTags(["a"]), RemoveTags(["z*"]), ReplaceTag("z", "y"), Dedupe(), SortTags("frequency"),
               MoveToFront(["a"]), StripUnderscores(), RemoveCategory(["rating"])):
        assert op.compile(ctx)(tags) is tags, op


ALL_OPS = [AddTags(["t"], 0), AddTags(["t", "u"], 2, True), RemoveTags(["*bg"]), ReplaceTag("a", "b", "glob"),
           Dedupe(), SortTags("frequency", 1), MoveToFront(["x"]), StripUnderscores(), RemoveCategory(["rating"]),
           StripUnderscores(keep_tags=["a_b"]),
           RemoveTags(["x"], where="tag:y")]


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda op: op.op)
def test_op_dicts_round_trip(op):
    assert op_from_dict(op.to_dict()) == op


def test_op_dict_is_minimal_and_errors_name_the_key():
    assert AddTags(["t"]).to_dict() == {"op": "add", "tags": ["t"]}
    assert SortTags().to_dict() == {"op": "sort"}
    assert op_from_dict({"op": "add", "tags": "solo"}) == AddTags(["solo"])
    for data, message in [
        ({"op": "drop"}, "unknown op 'drop'"),
        ({"op": "remove", "pattern": "x"}, "has no key 'pattern'"),
        ({"op": "remove"}, "missing key 'patterns'"),
        ({"op": "add", "tags": ["t"], "position": "front"}, "position must be an integer"),
        ({"op": "add", "tags": [1.5]}, "tags must be a list of strings"),
        ({"op": "add", "tags": ["t"], "move_existing": "yes"}, "move_existing must be true or false"),
        ({"op": "sort", "by": "size"}, "by must be one of"),
        ({"op": "remove", "patterns": ["x"], "mode": "fuzzy"}, "mode must be one of"),
        ({"op": "remove_category", "categories": ["colour"]}, "unknown tag category"),
        ({"op": "dedupe", "where": "colour:red"}, "--where"),
        ({"op": "replace", "old": "a", "new": 3}, "new must be a string"),
    ]:
        with pytest.raises(LoratuiError, match=message):
            op_from_dict(data, "r.toml: op 1")


ops_strategy = st.lists(st.sampled_from([
    AddTags(["trig"], 0), AddTags(["x", "y"]), AddTags(["trig"], 0, True), RemoveTags(["a*"]), ReplaceTag("b", "c"),
    Dedupe(), SortTags("alpha"), SortTags("frequency", 1), SortTags("category"), MoveToFront(["c"]),
    StripUnderscores(), RemoveCategory(["rating"]), ReplaceTag("(.)_(.)", r"\2_\1", "regex"),
]), max_size=4)
tags_strategy = st.lists(st.sampled_from(["a", "ab", "B", "b", "c", "d_e", "general", "trig", "x", "^_^"]), max_size=8)


@settings(max_examples=300, deadline=None)
@given(tags=tags_strategy, ops=ops_strategy)
def test_property_ops_are_pure_and_idempotent_where_they_should_be(tags, ops):
    original = list(tags)
    ctx = EditContext(Counter(tags))
    out = run_ops(tags, ops, ctx)
    assert tags == original  # inputs untouched
    for op in (Dedupe(), SortTags("alpha"), SortTags("frequency"), StripUnderscores(), AddTags(["trig"], 0, True),
               MoveToFront(["c"]), RemoveCategory(["rating"])):
        once = run(op, out, ctx)
        assert run(op, once, ctx) == once, op  # idempotent
    assert not any(t.startswith("a") for t in run(RemoveTags(["a*"]), out))
    assert Counter(run(SortTags("alpha"), out)) == Counter(out)  # sorting only reorders
    assert run(Dedupe(ignore_case=False), out) == list(dict.fromkeys(out))
    folded = run(Dedupe(), out)  # case variants are repeats too (CLIP lowercases): the first spelling stays
    assert folded == [t for i, t in enumerate(out) if t.casefold() not in {u.casefold() for u in out[:i]}]
    assert run(AddTags(["trig"], 0, True), out)[0] == "trig"


@settings(max_examples=200, deadline=None)
@given(tags=tags_strategy, extra=st.lists(st.sampled_from(["new", "Zed", "a"]), max_size=3),
       by=st.sampled_from(["alpha", "frequency"]))
def test_property_sort_fast_path_equals_slow_path(tags, extra, by):
    """Dataset tags sort by a precomputed rank; tags unknown to the dataset the slow way: same result."""
    ctx = EditContext(Counter(tags))
    mixed = tags + extra
    fast = SortTags(by).compile(ctx)(mixed)
    slow_ctx = EditContext(Counter(tags) + Counter({"__unused__": 1}))
    reference = sorted(mixed, key=(lambda t: (t.casefold(), t)) if by == "alpha"
                       else (lambda t: (-slow_ctx.frequency.get(t, 0), t.casefold(), t)))
    assert fast == reference
