"""Findings of user test hunt8 in the caption core: long captions in filters, unquoted tags with
spaces, dedupe's preview wording, case variants, and the cleanup checks a kohya user expects."""

from __future__ import annotations

from pathlib import Path

import pytest

from loratui.core.captions import (
    Dedupe, EditContext, RemoveCategory, RemoveTags, load_captions, op_from_dict, parse_caption, parse_where,
    plan_edits, tag_matcher,
)
from loratui.core.captions.filter import quote_hint
from loratui.core.dataset import caption_problems, scan_dataset
from loratui.core.errors import LoratuiError

P = Path("10_alice/x.txt")


def cap(line: str, path: Path = P):
    return parse_caption((line + "\n").encode(), path)


# ---- 6: a filter sees the whole first line -------------------------------------------------------

def test_text_filter_sees_past_the_first_200_characters():
    tags = [f"filler tag {i}" for i in range(40)] + ["blue sky"]
    caption = cap(", ".join(tags))
    assert len(caption.first_line) > 400
    assert parse_where("text:blue")(caption)
    assert parse_where('tag:"blue sky"')(caption)


# ---- 9: tag:long hair -----------------------------------------------------------------------------

@pytest.mark.parametrize("expression, quoted", [
    ("tag:long hair", 'tag:"long hair"'),
    ("tag:solo and tag:long hair", 'tag:"long hair"'),
    ("folder:3_carol woman", 'folder:"3_carol woman"'),
    ("-tag:white background", '-tag:"white background"'),
])
def test_unquoted_value_with_a_space_says_to_quote_it(expression, quoted):
    with pytest.raises(LoratuiError) as info:
        parse_where(expression)
    message = str(info.value)
    assert "\n" not in message and "need quotes" in message and quoted in message


def test_unfinished_count_names_the_form():
    with pytest.raises(LoratuiError, match=r"tags<N"):
        parse_where("tags<")


def test_quote_hint_for_the_filter_box():
    # the app's filter box reads a plain word as free text, so it cannot raise: it shows the hint
    assert quote_hint("tag:long hair") == 'tags with spaces need quotes: tag:"long hair"'
    assert quote_hint("tag:long hair and tag:solo") == 'tags with spaces need quotes: tag:"long hair"'
    assert quote_hint('tag:"long hair" blue') is None
    assert quote_hint("tag:solo") is None and quote_hint("blue sky") is None
    assert quote_hint("") is None


def test_quoted_and_plain_where_still_work():
    caption = cap("long hair, solo, blue sky")
    assert parse_where('tag:"long hair" and tag:solo')(caption)
    assert parse_where("tag:solo tag:long*")(caption)  # a space still means and between terms


# ---- 12: dedupe's preview loses no tag ------------------------------------------------------------

def test_dedupe_summary_lists_no_tag_as_lost(tmp_path):
    folder = tmp_path / "img" / "10_alice"
    folder.mkdir(parents=True)
    (folder / "a.png").write_bytes(b"x")
    (folder / "a.txt").write_text("long hair, sky, long hair, sky, outdoors\n")
    (folder / "b.png").write_bytes(b"x")
    (folder / "b.txt").write_text("solo, outdoors, outdoors\n")
    plan = plan_edits(load_captions(tmp_path / "img"), [Dedupe()])
    assert plan.changed == 2
    gained, lost = plan.tag_changes()
    assert not gained and not lost  # every file still has each of these tags
    assert dict(plan.duplicate_changes()) == {"long hair": 1, "sky": 1, "outdoors": 1}
    summary = plan.summary()
    assert summary["tags_removed"] == {} and summary["duplicates_removed"] == {"long hair": 1, "sky": 1,
                                                                                "outdoors": 1}


def test_tag_changes_count_files_that_gain_or_lose_a_tag():
    a = cap("x, y, x")
    b = cap("x, z")
    plan = plan_edits([a, b], [RemoveTags(["x"])])
    gained, lost = plan.tag_changes()
    assert not gained and dict(lost) == {"x": 2}  # a file losing both copies counts once
    assert not plan.duplicate_changes()


# ---- 17: case variants ----------------------------------------------------------------------------

def test_tag_filter_ignores_case():
    caption = cap("SOLO, Long Hair, WHITE BACKGROUND")
    assert parse_where("tag:solo")(caption)
    assert parse_where('tag:"long hair"')(caption)
    assert parse_where("tag:*background")(caption)
    assert parse_where("tag:/white.*/")(caption)
    assert not parse_where("tag:/(?-i:white.*)/")(caption)  # a regex can ask for case
    assert not parse_where("text:solo")(caption)  # text: stays a plain, exact substring


def test_remove_category_finds_upper_case_ratings_and_csv_tags():
    ctx = EditContext(categories={"long_hair": 0, "alice_(character)": 4})
    op = RemoveCategory(["rating"])
    assert op.run(["GENERAL", "Explicit", "solo", "general"], ctx) == ["solo"]
    assert RemoveCategory(["character"]).run(["Alice (Character)", "solo"], ctx) == ["solo"]
    assert ctx.category("LONG HAIR") == 0


def test_dedupe_merges_case_variants_keeping_the_first_spelling():
    assert Dedupe().run(["LONG HAIR", "solo", "long hair", "Solo"]) == ["LONG HAIR", "solo"]
    assert Dedupe(ignore_case=False).run(["LONG HAIR", "long hair", "a", "a"]) == ["LONG HAIR", "long hair", "a"]
    assert op_from_dict({"op": "dedupe", "ignore_case": False}) == Dedupe(ignore_case=False)
    with pytest.raises(LoratuiError, match="ignore_case"):
        op_from_dict({"op": "dedupe", "ignore_case": "no"})


def test_remove_can_ignore_case_but_does_not_by_default():
    tags = ["WHITE BACKGROUND", "white background", "solo"]
    assert RemoveTags(["*background"]).run(tags) == ["WHITE BACKGROUND", "solo"]
    assert RemoveTags(["*background"], ignore_case=True).run(tags) == ["solo"]
    assert RemoveTags(["solo"], ignore_case=True).run(["SOLO", "x"]) == ["x"]
    assert op_from_dict({"op": "remove", "patterns": ["a"], "ignore_case": True}).ignore_case
    match = tag_matcher(["Solo", "/ab+/"], ignore_case=True)
    assert match("SOLO") and match("ABB") and not match("x")


# ---- 18: cleanup checks ---------------------------------------------------------------------------

def problems_of(line: str) -> dict[str, tuple[str, str]]:
    return {p.kind: (p.severity, p.message) for p in caption_problems(P, (line + "\n").encode())}


def test_duplicate_tags_are_reported_with_their_variants():
    found = problems_of("long hair, solo, long hair, LONG HAIR, long_hair, blue eyes")
    severity, message = found["duplicate_tags"]
    assert severity == "info" and "\n" not in message
    assert message.startswith("10_alice/x.txt")
    assert "long hair" in message and "tags dedupe" in message
    assert "duplicate_tags" not in problems_of("long hair, solo, blue eyes")
    assert "duplicate_tags" not in problems_of("a photo of a cat, sitting on a mat")


def test_case_and_underscore_variants_count_as_duplicates():
    assert "duplicate_tags" in problems_of("SOLO, solo")
    assert "duplicate_tags" in problems_of("long_hair, long hair")
    assert "duplicate_tags" not in problems_of("^_^, solo")


def test_caption_past_clips_token_limit_is_a_warning():
    long = ", ".join(f"tag number {i}" for i in range(200))
    severity, message = problems_of(long)["long_caption"]
    assert severity == "warning" and "\n" not in message and "75 tokens sd-scripts reads by default" in message
    assert message.startswith("10_alice/x.txt") and "200 tags" in message
    assert "long_caption" not in problems_of(", ".join(f"tag {i}" for i in range(20)))  # about 69 tokens
    # a lower limit (the config's max_token_length) flags shorter ones
    thirty = ", ".join(f"blue sky {i}" for i in range(30))
    assert any(p.kind == "long_caption" for p in caption_problems(P, thirty.encode(), max_tokens=75))


def test_weighted_tags_are_info():
    severity, message = problems_of("(masterpiece:1.2), solo, (red hair, blue eyes:1.1)")["weighted_tags"]
    assert severity == "info" and "(masterpiece:1.2)" in message and "weighted_captions" in message
    assert "weighted_tags" not in problems_of("solo, :(, (artist), smile")


def test_scan_reports_the_new_checks_in_its_usual_form(tmp_path):
    from PIL import Image

    folder = tmp_path / "10_alice"
    folder.mkdir()
    Image.new("RGB", (16, 16)).save(folder / "a.png")
    (folder / "a.txt").write_text("solo, SOLO, " + ", ".join(f"tag {i}" for i in range(300)) + "\n")
    kinds = {p.kind: p.severity for p in scan_dataset(tmp_path).problems}
    assert kinds == {"duplicate_tags": "info", "long_caption": "warning"}


def test_scan_takes_the_configs_token_limit(tmp_path):
    from PIL import Image

    folder = tmp_path / "10_alice"
    folder.mkdir()
    Image.new("RGB", (16, 16)).save(folder / "a.png")
    (folder / "a.txt").write_text(", ".join(f"blue sky {i}" for i in range(30)) + "\n")
    assert not scan_dataset(tmp_path, max_tokens=150).problems
    problems = scan_dataset(tmp_path, max_tokens=75).problems
    assert [p.kind for p in problems] == ["long_caption"] and "max_token_length 75" in problems[0].message


def test_replace_and_move_front_can_ignore_case():
    from loratui.core.captions import MoveToFront, ReplaceTag

    tags = ["a", "Long Hair", "LONG HAIR", "long hair", "Solo"]
    assert ReplaceTag("long hair", "long_hair").run(tags) == ["a", "Long Hair", "LONG HAIR", "long_hair", "Solo"]
    assert ReplaceTag("long hair", "long_hair", ignore_case=True).run(tags) == ["a", "long_hair", "Solo"]
    assert ReplaceTag("(long) hair", "\\1_hair", "regex", ignore_case=True).run(tags) == [
        "a", "Long_hair", "LONG_hair", "long_hair", "Solo"]
    assert MoveToFront(["solo"]).run(tags) == tags
    assert MoveToFront(["solo"], ignore_case=True).run(tags) == ["Solo", *tags[:-1]]
    assert MoveToFront(["solo"], keep=1, ignore_case=True).run(tags) == ["a", "Solo", *tags[1:-1]]
    assert "any case" in ReplaceTag("x", "", ignore_case=True).describe()
    assert "(nothing)" in ReplaceTag("x", "").describe()
    assert op_from_dict({"op": "move_front", "patterns": ["solo"], "ignore_case": True}).ignore_case
    assert ReplaceTag("a", "b", ignore_case=True).to_dict() == {"op": "replace", "old": "a", "new": "b",
                                                              "ignore_case": True}
