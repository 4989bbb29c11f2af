"""core/captions/plan.py plans and core/captions/filter.py: what a bulk operation would change, over which captions."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loratui.core.captions import load_captions, parse_caption
from loratui.core.captions import combine_where, parse_where
from loratui.core.captions import (
    AddTags, Dedupe, EditContext, RemoveCategory, RemoveTags, ReplaceTag, SortTags, StripUnderscores, plan_edits,
    plan_set_tags, run_ops, tag_frequency,
)
from loratui.core.errors import LoratuiError


def make_dataset(root: Path, n: int = 6) -> Path:
    folder = root / "img" / "10_alice"
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"{i}.png").write_bytes(b"x")
        tags = ["alice", "solo" if i % 2 else "2girls", "general", "white_background"]
        if i == 0:
            tags.append("solo")
        (folder / f"{i}.txt").write_text(", ".join(tags) + "\n", encoding="utf-8")
    (folder / "nocap.png").write_bytes(b"x")
    return root / "img"


def test_plan_lists_only_changes_and_writes_nothing(tmp_path):
    root = make_dataset(tmp_path)
    before = {p: p.read_bytes() for p in root.rglob("*.txt")}
    caps = load_captions(root)
    plan = plan_edits(caps, [RemoveTags(["solo"])])
    assert plan.considered == 7 and plan.changed == len(plan) == 4
    assert all(e.removed == ["solo"] and not e.added and not e.new_file for e in plan)
    assert {p: p.read_bytes() for p in root.rglob("*.txt")} == before
    edit = plan.get(root / "10_alice" / "1.txt")
    assert edit.old_text == "alice, solo, general, white_background"
    assert edit.new_text == "alice, general, white_background"
    assert plan.get(root / "nope.txt") is None


def test_plan_summary_and_dict(tmp_path):
    root = make_dataset(tmp_path)
    plan = plan_edits(load_captions(root), [AddTags(["trig"], 0), RemoveTags(["2girls"])])
    summary = plan.summary()
    assert summary["considered"] == 7 and summary["changed"] == 7 and summary["new_files"] == 1
    assert summary["tags_added"] == {"trig": 7} and summary["tags_removed"] == {"2girls": 3}
    assert summary["description"] == "add trig at the front; remove 2girls"
    data = plan.to_dict(root)
    assert data["ops"] == [{"op": "add", "tags": ["trig"], "position": 0}, {"op": "remove", "patterns": ["2girls"]}]
    first = data["files"][0]
    assert first["path"] == "10_alice/0.txt" and first["removed"] == ["2girls"] and first["added"] == ["trig"]
    assert data["files"][-1]["new_file"] is True


def test_added_and_removed_are_multisets_in_order():
    cap = parse_caption(b"a, b, a, c\n", Path("x.txt"))
    plan = plan_set_tags([(cap, ["c", "d", "a", "e"])])
    edit = plan.edits[0]
    assert edit.added == ["d", "e"] and edit.removed == ["a", "b"]
    assert not edit.reordered_only
    assert plan_set_tags([(cap, ["a", "b", "a", "c"])]).changed == 0
    reorder = plan_set_tags([(cap, ["c", "a", "b", "a"])]).edits[0]
    assert reorder.reordered_only


def test_plan_set_tags_for_the_inline_editor(tmp_path):
    root = make_dataset(tmp_path)
    caps = load_captions(root)
    plan = plan_set_tags([(caps[0], ["alice", " ", "new tag "]), (caps[1], list(caps[1].tags))])
    assert plan.considered == 2 and plan.changed == 1
    assert plan.edits[0].new == ["alice", "new tag"] and plan.describe() == "edit tags"


def test_frequency_sees_the_dataset_before_the_plan(tmp_path):
    root = make_dataset(tmp_path)
    caps = load_captions(root)
    freq = tag_frequency(caps)
    assert freq["solo"] == 4 and freq["alice"] == 6  # twice in one caption counts once
    assert tag_frequency(caps, parse_where("tag:2girls"))["solo"] == 1
    plan = plan_edits(caps, [SortTags("frequency")])
    assert plan.edits[0].new[:2] == ["alice", "general"]


def test_free_text_captions_are_not_reordered(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    for name, text in (("a", "a photo of a cat, sitting on a red couch in the sun\n"), ("b", "b, a\n")):
        (folder / f"{name}.png").write_bytes(b"x")
        (folder / f"{name}.txt").write_text(text)
    caps = load_captions(folder)
    assert [c.kind for c in caps] == ["text", "tags"]
    plan = plan_edits(caps, [SortTags("alpha"), AddTags(["trig"], 0)])
    assert plan.skipped_text == 1
    assert plan.edits[0].new == ["trig", "a photo of a cat", "sitting on a red couch in the sun"]
    assert plan.edits[1].new == ["trig", "a", "b"]


def test_per_op_where_looks_at_the_tags_the_earlier_ops_left(tmp_path):
    """A recipe replays as its steps ran one at a time: op 2's where sees op 1's result."""
    root = make_dataset(tmp_path)
    caps = load_captions(root)
    plan = plan_edits(caps, [RemoveTags(["solo"]), AddTags(["single"], where="tag:solo")])
    assert all("single" not in e.new for e in plan)  # no caption has solo by then
    plan = plan_edits(caps, [ReplaceTag("solo", "one person"), AddTags(["single"], where='tag:"one person"')])
    by_name = {e.path.name: e.new for e in plan}
    assert by_name["1.txt"] == ["alice", "one person", "general", "white_background", "single"]
    assert by_name["0.txt"] == ["alice", "2girls", "general", "white_background", "one person", "single"]
    assert "2.txt" not in by_name and "nocap.txt" not in by_name


def test_plan_where_and_context_categories(tmp_path):
    root = make_dataset(tmp_path)
    caps = load_captions(root)
    plan = plan_edits(caps, [RemoveCategory(["character"])], where=parse_where("tag:solo"),
                      ctx=EditContext(categories={"alice": 4}))
    assert plan.considered == 4 and {tuple(e.removed) for e in plan} == {("alice",)}


def test_where_filters(tmp_path):
    root = make_dataset(tmp_path)
    (root / "10_alice" / "5.txt").write_text("alice\nsecond line\n")
    caps = load_captions(root)
    count = lambda expr: sum(1 for c in caps if parse_where(expr)(c))  # noqa: E731
    assert count("tag:solo") == 3
    assert count("tag:solo and not tag:2girls") == 2
    assert count("tag:solo tag:alice") == 3  # a space means and
    assert count("-tag:solo") == 4
    assert count("NOT tag:solo") == 4
    assert count("tag:2girls or missing") == 4
    assert count("tag:white_* and tag:solo or empty") == 4
    assert count("tag:/\\d+girls/") == 3
    assert count('tag:"long hair" or text:"alice, 2girls"') == 3
    assert count("folder:10_*") == 7 and count("folder:*bob*") == 0
    assert count("empty") == 1 and count("missing") == 1 and count("multiline") == 1
    assert count("file:1.txt") == 1 and count("file:?.txt") == 6
    assert count("tags>4") == 1 and count("tags<2") == 2 and count("tags=4") == 4
    assert parse_where("  ") is None and parse_where(None) is None
    for bad in ("tag:", "colour:red", "tag:a or", "not", '"unclosed', "or tag:a", "tag:a and", "and tag:a",
                "tag:a and or tag:b", "tags>x"):
        with pytest.raises(LoratuiError, match="--where"):
            parse_where(bad)


def test_combine_where_distributes_over_or(tmp_path):
    root = make_dataset(tmp_path)
    caps = load_captions(root)
    assert combine_where(None, "tag:a") == "tag:a" and combine_where("tag:a", "") == "tag:a"
    assert combine_where("tag:a", "tag:b") == "tag:a and tag:b"
    combined = combine_where("tag:solo or missing", 'not tag:"2girls" or file:0.txt')
    first, second = parse_where("tag:solo or missing"), parse_where("not tag:2girls or file:0.txt")
    both = parse_where(combined)
    assert [both(c) for c in caps] == [first(c) and second(c) for c in caps]
    with pytest.raises(LoratuiError):
        combine_where("tag:a or", "tag:b")


tags_strategy = st.lists(st.sampled_from(["a", "b", "c", "d_e", "general", "trig"]), max_size=6)
ops_strategy = st.lists(st.sampled_from([
    AddTags(["trig"], 0), RemoveTags(["a"]), ReplaceTag("b", "c"), Dedupe(), SortTags("alpha"), StripUnderscores(),
    RemoveCategory(["rating"]),
]), min_size=1, max_size=3)


@settings(max_examples=150, deadline=None)
@given(captions=st.lists(tags_strategy, min_size=1, max_size=6), ops=ops_strategy)
def test_property_plan_invariants(captions, ops):
    caps = [parse_caption((", ".join(tags) + "\n").encode(), Path(f"{i}.txt")) for i, tags in enumerate(captions)]
    snapshot = [list(c.tags) for c in caps]
    plan = plan_edits(caps, ops, ctx=EditContext(tag_frequency(caps)))
    assert [c.tags for c in caps] == snapshot  # planning changes nothing
    ctx = EditContext(tag_frequency(caps))
    expected = {c.path: run_ops(c.tags, ops, ctx) for c in caps}
    assert {e.path: e.new for e in plan} == {p: t for p, t in expected.items() if t != dict(
        (c.path, c.tags) for c in caps)[p]}
    for edit in plan:
        assert edit.old != edit.new
        assert Counter(edit.old) - Counter(edit.removed) + Counter(edit.added) == Counter(edit.new)
    again = plan_edits(caps, [Dedupe()])
    twice = plan_edits([parse_caption((", ".join(e.new) + "\n").encode(), e.path) for e in again], [Dedupe()])
    assert twice.changed == 0  # dedupe is idempotent over a plan
