"""core/edits.py, edit_filter.py, edit_journal.py, recipes.py, tagvocab.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loratui.core.captions import load_captions, read_caption
from loratui.core.edit_filter import parse_where
from loratui.core.edit_journal import apply_plan, history, undo_last
from loratui.core.edits import (
    AddTags, Dedupe, EditContext, MoveToFront, RemoveCategory, RemoveTags, ReplaceTag, SortTags, StripUnderscores,
    op_from_dict, plan_edits, run_ops, tag_frequency,
)
from loratui.core.errors import LoratuiError
from loratui.core.recipes import Recipe, dumps_recipe, load_recipe, save_recipe
from loratui.core.tagvocab import TagVocab, load_selected_tags

CTX = EditContext()


def run(op, tags, ctx=CTX):
    return op.run(list(tags), ctx)


def test_add_positions():
    assert run(AddTags(["t"], 0), ["a", "b"]) == ["t", "a", "b"]
    assert run(AddTags(["t"]), ["a", "b"]) == ["a", "b", "t"]
    assert run(AddTags(["t"], 1), ["a", "b"]) == ["a", "t", "b"]
    assert run(AddTags(["t"], -2), ["a", "b"]) == ["a", "t", "b"]
    assert run(AddTags(["t"], 9), ["a"]) == ["a", "t"]
    assert run(AddTags(["a", "t"], 0), ["a", "b"]) == ["t", "a", "b"]  # already there: not added twice


def test_remove_exact_glob_regex():
    tags = ["white background", "simple_background", "solo", "1girl", "long hair"]
    assert run(RemoveTags(["solo"]), tags) == ["white background", "simple_background", "1girl", "long hair"]
    assert run(RemoveTags(["*background"]), tags) == ["solo", "1girl", "long hair"]
    assert run(RemoveTags(["/\\d+girl/"]), tags) == ["white background", "simple_background", "solo", "long hair"]
    assert run(RemoveTags(["*"], mode="exact"), tags) == tags
    with pytest.raises(LoratuiError, match="bad regular expression"):
        run(RemoveTags(["(("], mode="regex"), tags)


def test_replace_merges_duplicates_and_regex_groups():
    assert run(ReplaceTag("kitty", "cat"), ["cat", "kitty", "solo"]) == ["cat", "solo"]
    assert run(ReplaceTag("(.*)_hair", r"\1 hair", "regex"), ["long_hair", "x"]) == ["long hair", "x"]
    assert run(ReplaceTag("*_eyes", "eyes", "glob"), ["blue_eyes", "red_eyes"]) == ["eyes"]
    assert run(ReplaceTag("a", ""), ["a", "b"]) == ["b"]


def test_dedupe_sort_move_strip():
    assert run(Dedupe(), ["a", "b", "a"]) == ["a", "b"]
    assert run(SortTags("alpha"), ["b", "C", "a"]) == ["a", "b", "C"]
    assert run(SortTags("alpha", keep=1), ["trig", "b", "a"]) == ["trig", "a", "b"]
    ctx = EditContext(Counter({"a": 1, "b": 5, "c": 3}))
    assert run(SortTags("frequency"), ["a", "b", "c"], ctx) == ["b", "c", "a"]
    ctx = EditContext(categories={"alice": 4, "solo": 0, "general": 9})
    assert run(SortTags("category"), ["solo", "general", "alice"], ctx) == ["general", "alice", "solo"]
    assert run(MoveToFront(["alice*"]), ["solo", "alice_x"]) == ["alice_x", "solo"]
    assert run(StripUnderscores(), ["long_hair", "^_^", "long hair", "o_o"]) == ["long hair", "^_^", "o_o"]


def test_remove_category_with_and_without_csv():
    assert run(RemoveCategory(["rating"]), ["general", "solo", "explicit"]) == ["solo"]
    ctx = EditContext(categories={"alice_(x)": 4})
    assert run(RemoveCategory(["character"]), ["alice (x)", "solo"], ctx) == ["solo"]
    with pytest.raises(LoratuiError, match="unknown tag category"):
        run(RemoveCategory(["colour"]), ["a"])


def test_op_dicts_round_trip_and_errors():
    ops = [AddTags(["t"], 0), RemoveTags(["*bg"]), ReplaceTag("a", "b", "glob"), Dedupe(), SortTags("frequency", 1),
           MoveToFront(["x"]), StripUnderscores(), RemoveCategory(["rating"])]
    for op in ops:
        assert op_from_dict(op.to_dict()) == op
    with pytest.raises(LoratuiError, match="unknown op 'drop'"):
        op_from_dict({"op": "drop"})
    with pytest.raises(LoratuiError, match="has no key 'pattern'"):
        op_from_dict({"op": "remove", "pattern": "x"})
    assert op_from_dict({"op": "add", "tags": "solo"}) == AddTags(["solo"])


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
    assert plan.considered == 7 and plan.changed == 4
    assert all(e.removed == ["solo"] and not e.added for e in plan.edits)
    assert {p: p.read_bytes() for p in root.rglob("*.txt")} == before
    assert plan.to_dict()["changed"] == 4


def test_where_filters(tmp_path):
    root = make_dataset(tmp_path)
    caps = load_captions(root)
    count = lambda expr: sum(1 for c in caps if parse_where(expr)(c))  # noqa: E731
    assert count("tag:solo") == 4
    assert count("tag:solo and not tag:2girls") == 3
    assert count("-tag:solo") == 3
    assert count("tag:2girls or missing") == 4
    assert count("folder:10_*") == 7
    assert count("empty") == 1 and count("text:white_b") == 6 and count("file:1.txt") == 1
    assert parse_where("  ") is None
    for bad in ("tag:", "colour:red", "tag:a or", "not", '"unclosed'):
        with pytest.raises(LoratuiError, match="--where"):
            parse_where(bad)


def test_apply_undo_restores_bytes_and_new_files(tmp_path):
    root = make_dataset(tmp_path)
    (root / "10_alice" / "1.txt").write_bytes(b"\xef\xbb\xbfalice, solo\r\n")
    before = {p: p.read_bytes() for p in root.rglob("*.txt")}
    plan = plan_edits(load_captions(root), [AddTags(["trig"], 0)])
    result = apply_plan(plan, root)
    assert len(result.written) == 7 and not result.conflicts
    assert (root / "10_alice" / "nocap.txt").read_bytes() == b"trig\n"
    assert (root / "10_alice" / "1.txt").read_bytes() == b"\xef\xbb\xbftrig, alice, solo\r\n"
    assert history(root)[0][2] == 7
    undo = undo_last(root)
    assert len(undo.restored) == 7 and undo.remaining == 0
    assert {p: p.read_bytes() for p in root.rglob("*.txt")} == before
    assert not (root / "10_alice" / "nocap.txt").exists()
    with pytest.raises(LoratuiError, match="nothing to undo"):
        undo_last(root)


def test_undo_refuses_to_clobber_later_edits(tmp_path):
    root = make_dataset(tmp_path)
    apply_plan(plan_edits(load_captions(root), [StripUnderscores()]), root)
    target = root / "10_alice" / "0.txt"
    target.write_text("hand edited\n")
    result = undo_last(root)
    assert result.conflicts and target.read_text() == "hand edited\n"


def test_apply_skips_conflicts_and_journals_only_written(tmp_path):
    root = make_dataset(tmp_path)
    plan = plan_edits(load_captions(root), [AddTags(["x"])])
    (root / "10_alice" / "2.txt").write_text("changed meanwhile\n")
    result = apply_plan(plan, root)
    assert len(result.conflicts) == 1 and len(result.written) == 6
    assert (root / "10_alice" / "2.txt").read_text() == "changed meanwhile\n"
    assert history(root)[0][2] == 6


def test_undo_survives_a_new_process(tmp_path):
    root = make_dataset(tmp_path)
    before = (root / "10_alice" / "0.txt").read_bytes()
    apply_plan(plan_edits(load_captions(root), [StripUnderscores()]), root)
    code = f"from loratui.core.edit_journal import undo_last; undo_last({str(root)!r})"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (root / "10_alice" / "0.txt").read_bytes() == before


def test_kill_during_apply_leaves_each_file_old_or_new(tmp_path):
    """SIGKILL a process applying a plan over many files: no caption is ever empty or truncated."""
    folder = tmp_path / "img" / "1_x"
    folder.mkdir(parents=True)
    old = "a, b, c, " + ", ".join(f"tag{i}" for i in range(200)) + "\n"
    for i in range(400):
        (folder / f"{i}.png").write_bytes(b"x")
        (folder / f"{i}.txt").write_text(old)
    code = textwrap.dedent(f"""
        import sys
        from loratui.core.captions import load_captions
        from loratui.core.edits import AddTags, plan_edits
        from loratui.core.edit_journal import apply_plan
        plan = plan_edits(load_captions({str(tmp_path / 'img')!r}), [AddTags(["trigger"], 0)])
        print("go", flush=True)
        apply_plan(plan, {str(tmp_path / 'img')!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "go"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    new = "trigger, " + old
    for path in folder.glob("*.txt"):
        assert path.read_text() in (old, new)
    assert not list(folder.glob(".*.tmp")) or all(p.stat().st_size >= 0 for p in folder.glob(".*.tmp"))


def test_recipe_round_trip_and_errors(tmp_path):
    recipe = Recipe([RemoveCategory(["rating"]), RemoveTags(["*background"]), AddTags(["alice_lora"], 0)],
                    where="tag:solo", description="cleanup")
    path = tmp_path / "r.toml"
    save_recipe(recipe, path)
    assert load_recipe(path) == recipe
    (tmp_path / "bad.toml").write_text('[[op]]\nop = "remove"\npatterns = ["x"]\nmode = "fuzzy"\n')
    with pytest.raises(LoratuiError, match="bad.toml: op 1"):
        load_recipe(tmp_path / "bad.toml")
    (tmp_path / "empty.toml").write_text('where = "tag:x"\n')
    with pytest.raises(LoratuiError, match="no operations"):
        load_recipe(tmp_path / "empty.toml")
    (tmp_path / "syntax.toml").write_text('[[op]\n')
    with pytest.raises(LoratuiError, match="not valid TOML"):
        load_recipe(tmp_path / "syntax.toml")
    assert 'op = "add"' in dumps_recipe(recipe)


def test_tag_vocab_completion(tmp_path):
    csv = tmp_path / "selected_tags.csv"
    csv.write_text("tag_id,name,category,count\n1,general,9,100\n2,long_hair,0,900\n3,long_sleeves,0,500\n"
                   "4,alice_(wonderland),4,50\n5,^_^,0,10\n")
    tags = load_selected_tags(csv)
    assert tags[0].name == "general" and tags[0].category == 9
    vocab = TagVocab(Counter({"long sleeves": 3, "solo": 9}), tags)
    names = [c.tag for c in vocab.complete("long")]
    assert names == ["long sleeves", "long hair"]  # used in the dataset first, then by count
    assert [c.tag for c in vocab.complete("hair")] == ["long hair"]
    assert vocab.complete("ALICE")[0].category == 4
    assert vocab.complete("") == []
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(LoratuiError, match="not a tagger CSV"):
        load_selected_tags(tmp_path / "bad.csv")


ops_strategy = st.lists(st.sampled_from([
    AddTags(["trig"], 0), AddTags(["x", "y"]), RemoveTags(["a*"]), ReplaceTag("b", "c"), Dedupe(),
    SortTags("alpha"), SortTags("frequency", 1), MoveToFront(["c"]), StripUnderscores(), RemoveCategory(["rating"]),
]), max_size=4)
tags_strategy = st.lists(st.sampled_from(["a", "ab", "b", "c", "d_e", "general", "trig", "x"]), max_size=8)


@settings(max_examples=300, deadline=None)
@given(tags=tags_strategy, ops=ops_strategy)
def test_property_ops_are_pure_and_idempotent_where_they_should_be(tags, ops):
    original = list(tags)
    out = run_ops(list(tags), ops, EditContext(Counter(tags)))
    assert tags == original  # inputs untouched
    assert run(Dedupe(), run(Dedupe(), out)) == run(Dedupe(), out)
    assert run(SortTags("alpha"), run(SortTags("alpha"), out)) == run(SortTags("alpha"), out)
    assert run(StripUnderscores(), run(StripUnderscores(), out)) == run(StripUnderscores(), out)
    assert not any(t.startswith("a") for t in run(RemoveTags(["a*"]), out))


@settings(max_examples=40, deadline=None)
@given(captions=st.lists(tags_strategy, min_size=1, max_size=5), ops=ops_strategy)
def test_property_apply_then_undo_restores_every_byte(tmp_path_factory, captions, ops):
    root = tmp_path_factory.mktemp("ds")
    for i, tags in enumerate(captions):
        (root / f"{i}.png").write_bytes(b"x")
        if i % 3 != 2:
            (root / f"{i}.txt").write_text(", ".join(tags) + ("\r\n" if i % 2 else ""))
    before = {p.name: p.read_bytes() for p in root.glob("*.txt")}
    plan = plan_edits(load_captions(root), ops)
    apply_plan(plan, root)
    for edit in plan.edits:
        assert read_caption(edit.path).tags == edit.new
    if plan.edits:
        undo_last(root)
    assert {p.name: p.read_bytes() for p in root.glob("*.txt")} == before
