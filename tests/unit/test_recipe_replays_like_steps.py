"""A recipe replays the way its steps ran one command at a time: each operation sees what the earlier
ones made of the captions (sort by frequency counts the current tags, an op's `where` tests them)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from loratui.core.captions import (
    AddTags, Dedupe, EditContext, MoveToFront, RemoveTags, ReplaceTag, SortTags, StripUnderscores, load_captions,
    plan_edits, tag_frequency,
)

FINDING = {1: "zebra, long_hair", 2: "zebra, long hair", 3: "long_hair, x", 4: "long hair, y", 5: "zebra, q"}


def write_dataset(root: Path, captions: dict) -> Path:
    folder = root / "1_a"
    folder.mkdir(parents=True)
    for name, text in captions.items():
        (folder / f"{name}.png").write_bytes(b"x")
        if text is not None:
            (folder / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
    return root


def apply_in_memory(captions, plan) -> dict:
    new = {e.path: e.new for e in plan.edits}
    return {c.path.name: new.get(c.path, c.tags) for c in captions}


def one_step_at_a_time(root: Path, ops) -> dict:
    """Each op planned on its own over the captions as the previous op left them (as written files)."""
    for op in ops:
        captions = load_captions(root)
        plan = plan_edits(captions, [op])
        for edit in plan.edits:
            edit.path.write_text(", ".join(edit.new) + "\n", encoding="utf-8")
    return {c.path.name: c.tags for c in load_captions(root)}


def test_the_findings_recipe_replays_as_its_steps(tmp_path):
    ops = [StripUnderscores(), SortTags("frequency"), AddTags(["solo"], where='tag:"long hair"')]
    stepped = one_step_at_a_time(write_dataset(tmp_path / "f1", FINDING), ops)
    captions = load_captions(write_dataset(tmp_path / "f2", FINDING))
    replayed = apply_in_memory(captions, plan_edits(captions, ops))
    assert replayed == stepped
    assert replayed["1.txt"] == replayed["2.txt"] == ["long hair", "zebra", "solo"]
    assert replayed["3.txt"] == ["long hair", "x", "solo"]


def test_the_callers_counts_are_not_changed_and_a_single_op_uses_them(tmp_path):
    captions = load_captions(write_dataset(tmp_path, FINDING))
    ctx = EditContext(frequency=tag_frequency(captions))
    before = dict(ctx.frequency)
    plan_edits(captions, [StripUnderscores(), SortTags("frequency")], ctx=ctx)
    assert dict(ctx.frequency) == before  # the app's store.frequency is passed in: never edited here
    # one op: the counts given (here made up) decide, as before
    ctx = EditContext(frequency={"x": 9, "long_hair": 1})
    plan = plan_edits(captions, [SortTags("frequency")], ctx=ctx)
    assert plan.get(tmp_path / "1_a" / "3.txt").new == ["x", "long_hair"]


def test_an_ops_where_sees_a_caption_file_an_earlier_op_created(tmp_path):
    captions = load_captions(write_dataset(tmp_path, {1: None, 2: "a"}))
    plan = plan_edits(captions, [AddTags(["new"], where="missing"), AddTags(["late"], where="missing"),
                                 AddTags(["seen"], where="text:new")])
    assert plan.get(tmp_path / "1_a" / "1.txt").new == ["new", "seen"]  # no longer missing after op 1
    assert plan.get(tmp_path / "1_a" / "2.txt") is None


TAGS = st.sampled_from(["a", "b", "long_hair", "long hair", "Solo", "solo", "x_y_z"])
OPS = st.sampled_from([
    StripUnderscores(), SortTags("frequency"), SortTags("alpha"), Dedupe(), AddTags(["solo"], 0, True),
    AddTags(["b"], where="tag:a"), RemoveTags(["a"], where='tag:"long hair"'), ReplaceTag("b", "a"),
    MoveToFront(["long*"], where="tags>2"), SortTags("frequency", where="tag:solo"),
])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(TAGS, max_size=5), min_size=1, max_size=5), st.lists(OPS, min_size=1, max_size=4))
def test_any_recipe_replays_as_its_steps(tmp_path_factory, dataset, ops):
    root = tmp_path_factory.mktemp("d")
    texts = {i: ", ".join(tags) for i, tags in enumerate(dataset)}
    stepped = one_step_at_a_time(write_dataset(root / "steps", texts), ops)
    captions = load_captions(write_dataset(root / "recipe", texts))
    assert apply_in_memory(captions, plan_edits(captions, ops)) == stepped
