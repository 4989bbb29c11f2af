"""A regex replace whose result holds the separator makes several tags (it read back as several, while the
preview counted one), in core and through `loratui tags replace --regex`; the words of a front with keep."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures.cli_run import run_main

from loratui.core.captions import AddTags, EditContext, MoveToFront, ReplaceTag, parse_caption, plan_edits

WEIGHTS = r"[(\[](.+):-?[0-9.]+[)\]]"
STRIP = ReplaceTag(WEIGHTS, r"\1", "regex")


def test_a_backreference_holding_the_separator_becomes_several_tags():
    assert STRIP.run(["mychar", "(red hair, blue eyes:1.2)", "[smile:0.8]"]) == \
        ["mychar", "red hair", "blue eyes", "smile"]


def test_pieces_already_there_merge_and_other_repeats_stay():
    # red hair from the split meets the caption's red hair: one stays (the first), as a plain rename
    # merging into an existing tag; an unrelated repeat (solo, solo) is dedupe's business, left alone
    tags = ["red hair", "solo", "(red hair, blue eyes:1.2)", "solo"]
    assert STRIP.run(tags) == ["red hair", "solo", "blue eyes", "solo"]
    # two weighted tags giving the same piece: merged too
    assert STRIP.run(["(a, b:1.1)", "(b, c:1.1)"]) == ["a", "b", "c"]


def test_empty_pieces_are_dropped_and_an_empty_result_removes_the_tag():
    assert ReplaceTag(r"(\w+)-(\w*)", r"\1, \2, ", "regex").run(["x-", "y-z"]) == ["x", "y", "z"]
    assert ReplaceTag(r"drop.*", "", "regex").run(["keep", "drop me"]) == ["keep"]
    assert ReplaceTag(r"(.+)", r"\1", "regex").run(["a", "b"]) == ["a", "b"]  # unchanged: the same list back


def test_the_split_uses_the_captions_separator(tmp_path: Path):
    caption = parse_caption(b"mychar | (a| b:1.2) | c, d\n", tmp_path / "x.txt", " | ")
    assert caption.tags == ["mychar", "(a| b:1.2)", "c, d"]
    plan = plan_edits([caption], [STRIP])  # plan_edits takes the separator from the captions
    assert plan.edits[0].new == ["mychar", "a", "b", "c, d"]
    assert STRIP.run(["(a| b:1.2)"], EditContext(separator="|")) == ["a", "b"]
    assert STRIP.run(["(a| b:1.2)"]) == ["a| b"]  # the default separator: a comma


def test_cli_replace_regex_writes_the_pieces_as_tags(tmp_path: Path, capsys):
    folder = tmp_path / "img" / "10_mychar"
    folder.mkdir(parents=True)
    from PIL import Image

    Image.new("RGB", (8, 8)).save(folder / "a.png")
    (folder / "a.txt").write_text("mychar, (red hair, blue eyes:1.2), smile\n", encoding="utf-8")
    code, out, err = run_main(["tags", "replace", tmp_path / "img", WEIGHTS, r"\1", "--regex", "--dry-run",
                               "--json"], capsys)
    assert code == 0, err  # it was refused: the plan "wrote" the tag 'red hair, blue eyes'
    data = json.loads(out)
    assert data["tags_added"] == {"red hair": 1, "blue eyes": 1}
    code, out, err = run_main(["tags", "replace", tmp_path / "img", WEIGHTS, r"\1", "--regex", "--yes"], capsys)
    assert code == 0, err
    assert (folder / "a.txt").read_text(encoding="utf-8") == "mychar, red hair, blue eyes, smile\n"


def test_front_with_keep_says_the_kept_tags_stay():
    assert AddTags(["mychar"], 0, True, 1).describe() == \
        "add mychar after the first tag, which stays in place; moving existing ones from further back"
    assert AddTags(["a", "b"], 0, False, 2).describe() == "add a, b after the first 2 tags, which stay in place"
    assert AddTags(["a"], -1, False, 1).describe() == "add a at the end (first 1 kept)"
    assert AddTags(["a"], 0).describe() == "add a at the front"
    assert MoveToFront(["mychar"], keep=1).describe() == \
        "move mychar to the front, after the first tag, which stays in place even if it matches"
    assert MoveToFront(["a"], ignore_case=True).describe() == "move a to the front (any case)"
    # and what they do: a trigger word among the kept tags is not moved
    assert AddTags(["mychar"], 0, True, 1).run(["mychar", "a"]) == ["mychar", "a"]
    assert AddTags(["mychar"], 0, True, 1).run(["a", "b", "mychar"]) == ["a", "mychar", "b"]
    assert MoveToFront(["mychar"], keep=1).run(["mychar", "a"]) == ["mychar", "a"]
