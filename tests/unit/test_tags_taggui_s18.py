"""Hunt s18 (h5, a taggui user cleaning captions from the shell).

A4: `tags remove 'miku (cosplay)'`, `replace long_hair ...` and `--where 'tag:"miku (cosplay)"'` matched nothing
without a word while the captions held `miku \\(cosplay\\)` / `long hair` (what add and dedupe call the same
tag). Matching stays exact; a note on stderr (and in the JSON's notes) names the spelling, as typed back
in a shell (the add note printed repr's doubled backslashes). (b)5: `tags find` lists the captions a --where
matches. (b)7: `tags replace DIR 'girl, female, 1girls' 1girl` renames several old tags in one change.
"""

from __future__ import annotations

import json
import shlex

import pytest
from click.testing import CliRunner
from fixtures.cli_run import run_main
from fixtures.tui_dataset import make_dataset

from loratui.cli import cli
from loratui.core.captions import (AddTags, ReplaceTag, describe_replace, load_captions, parse_old_tags,
                                   plan_edits, replace_ops, typed_tag)

ESCAPED = "miku \\(cosplay\\)"  # as a caption holds it (A1111's escaped brackets)
PLAIN = "miku (cosplay)"        # as the tag reads, and as a taggui user types it
CAPTIONS = {
    "10_alice/i0.png": f"alice, {ESCAPED}, long hair",
    "10_alice/i1.png": "alice, girl, female, solo",
    "10_alice/i2.png": f"alice, 1girls, long hair, {ESCAPED}",
    "10_alice/i3.png": "alice, Solo, girl",
    "10_alice/i4.png": "alice, 1girl, female",
    "10_alice/i5.png": None,  # no caption file
}


@pytest.fixture(autouse=True)
def _own_model_store(tmp_path, monkeypatch):
    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "model-store"))


@pytest.fixture
def ds(tmp_path):
    return make_dataset(tmp_path / "p", CAPTIONS)


def caption(ds, i: int) -> str:
    return (ds / "img" / "10_alice" / f"i{i}.txt").read_text(encoding="utf-8").strip()


def notes(err: str) -> list[str]:
    return [line.removeprefix("note: ") for line in err.splitlines() if line.startswith("note: ")]


# ---- A4: another spelling of a typed tag -------------------------------------------------------

def test_typed_spellings_paste_back_into_a_shell():
    for tag in (ESCAPED, PLAIN, "long hair", "solo", "jack-o'-lantern", "say \"cheese\" o'clock", "a$b'c"):
        assert shlex.split(typed_tag(tag)) == [tag]
    assert typed_tag(ESCAPED) == "'miku \\(cosplay\\)'"  # one backslash each, as in the caption
    assert typed_tag("a\nb") == "'a\\nb'"  # a control character escaped: the note stays one line


def test_the_add_note_prints_the_spelling_as_typed_not_repr(ds):
    plan = plan_edits(load_captions(ds / "img"), [AddTags([PLAIN])])
    assert plan.notes == [f"'{PLAIN}': not added to 2 caption(s) that have it already as '{ESCAPED}' (the same tag)"]


def test_remove_of_another_spelling_matches_nothing_and_says_which_spelling_is_there(ds, capsys):
    code, out, err = run_main(["tags", "remove", ds, PLAIN, "--yes"], capsys)
    assert code == 0 and "Nothing to change." in out
    assert notes(err) == [f"no caption has '{PLAIN}'; 2 have '{ESCAPED}' (another spelling of it): use that spelling"]
    assert caption(ds, 0) == f"alice, {ESCAPED}, long hair"  # matching stays exact: nothing removed
    # the spelling in the note, pasted back, is the tag
    pasted = shlex.split(notes(err)[0].split("; 2 have ")[1].split(" (another")[0])
    code, out, err = run_main(["tags", "remove", ds, *pasted, "--yes"], capsys)
    assert code == 0 and "Wrote 2" in out and not notes(err)
    assert caption(ds, 0) == "alice, long hair"


def test_only_the_argument_that_matches_nothing_gets_a_note_and_json_has_it(ds, capsys):
    code, out, err = run_main(["tags", "remove", ds, "long_hair", "solo", "*girl*", "--dry-run", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["changed"] == 4  # solo and the glob did match
    expected = "no caption has 'long_hair'; 2 have 'long hair' (another spelling of it): use that spelling"
    assert notes(err) == [expected] and data["notes"] == [expected]


def test_a_case_only_spelling_suggests_ignore_case_and_a_match_says_nothing(ds, capsys):
    code, out, err = run_main(["tags", "remove", ds, "SOLO", "--dry-run"], capsys)
    assert notes(err) == ["no caption has 'SOLO'; 1 has 'solo', 1 'Solo' (other spellings of it): use those "
                          "spellings (or --ignore-case)"]
    code, out, err = run_main(["tags", "remove", ds, "SOLO", "--ignore-case", "--dry-run"], capsys)
    assert "2 of 6 caption(s) change" in out and not notes(err)


def test_replace_and_a_where_selection_say_it_too(ds, capsys):
    code, out, err = run_main(["tags", "replace", ds, PLAIN, "hatsune miku", "--dry-run"], capsys)
    assert code == 0 and "Nothing to change." in out
    assert notes(err) == [f"no caption has '{PLAIN}'; 2 have '{ESCAPED}' (another spelling of it): use that spelling"]
    code, out, err = run_main(["tags", "replace", ds, "long_hair", "long hair", "--where", "tag:1girls",
                               "--dry-run"], capsys)
    assert notes(err) == ["none of the 1 caption(s) --where selects has 'long_hair'; 1 has 'long hair' (another "
                          "spelling of it): use that spelling"]


def test_a_where_tag_of_another_spelling_names_the_term_to_paste(ds, capsys):
    code, out, err = run_main(["tags", "freq", ds, "--where", f'tag:"{PLAIN}"'], capsys)
    assert code == 0 and out.startswith("0 caption(s)")
    [note] = notes(err)
    assert note.startswith(f"--where: no caption has the tag '{PLAIN}'; 2 have '{ESCAPED}' (another spelling of it)")
    term = shlex.split(note.split(": --where ", 1)[1])
    assert term == [f'tag:"{ESCAPED}"']
    code, out, err = run_main(["tags", "freq", ds, "--where", *term], capsys)
    assert out.startswith("2 caption(s)") and not notes(err)
    # the writing commands say it too (and their JSON); a tag: that matches says nothing
    code, out, err = run_main(["tags", "add", ds, "x", "--where", "tag:long_hair", "--dry-run", "--json"], capsys)
    assert json.loads(out)["notes"] == notes(err) and "'long hair'" in notes(err)[0]
    code, out, err = run_main(["tags", "freq", ds, "--where", "tag:solo or tag:*girl*"], capsys)
    assert not notes(err)


def test_json_keeps_the_plans_own_notes_beside_the_commands(tmp_path, capsys):
    root = make_dataset(tmp_path / "p", {"1_a/i1.png": ESCAPED, "misc/x.png": "y"})
    code, out, err = run_main(["tags", "add", root, PLAIN, "--dry-run", "--json"], capsys)
    found = json.loads(out)["notes"]
    assert any("not added to 1 caption(s)" in n for n in found) and any("not concept folders" in n for n in found)


# ---- (b)5: tags find ------------------------------------------------------------------------------

def test_find_lists_the_paths_a_where_matches(ds, capsys):
    code, out, err = run_main(["tags", "find", ds, "--where", "-tag:1girl and not empty"], capsys)
    assert code == 0, err
    assert out.splitlines() == [f"10_alice/i{i}.txt" for i in (0, 1, 2, 3)]
    code, out, err = run_main(["tags", "find", ds, "--where", "tag:girl", "--captions"], capsys)
    assert out.splitlines() == ["10_alice/i1.txt\talice, girl, female, solo", "10_alice/i3.txt\talice, Solo, girl"]
    code, out, err = run_main(["tags", "find", ds], capsys)  # no --where: every caption, a missing one too
    assert len(out.splitlines()) == 6


def test_find_json(ds, capsys):
    code, out, err = run_main(["tags", "find", ds, "--where", "missing or tag:female", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["considered"] == 6 and data["matched"] == 3 and data["notes"] == []
    assert data["files"][0] == {"path": "10_alice/i1.txt", "exists": True,
                                "tags": ["alice", "girl", "female", "solo"], "text": "alice, girl, female, solo"}
    assert data["files"][-1] == {"path": "10_alice/i5.txt", "exists": False, "tags": [], "text": ""}


def test_find_with_no_match_is_exit_0_with_a_line_on_stderr(ds, capsys):
    code, out, err = run_main(["tags", "find", ds, "--where", f'tag:"{PLAIN}"'], capsys)
    assert code == 0 and out == ""
    assert "no caption matches --where " in err and "(of 6 read)" in err and f"'{ESCAPED}'" in err
    code, out, err = run_main(["tags", "find", ds, "--where", "tag:nothing", "--json"], capsys)
    assert code == 0 and json.loads(out)["matched"] == 0


def test_find_bad_input_is_exit_2(ds, tmp_path, capsys):
    code, out, err = run_main(["tags", "find", ds, "--where", "tag:long hair"], capsys)
    assert code == 2 and 'tag:"long hair"' in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = run_main(["tags", "find", empty], capsys)
    assert code == 2 and "no images" in err


def test_find_escapes_a_tab_in_a_caption_so_the_columns_hold(tmp_path, capsys):
    root = make_dataset(tmp_path / "p", {"1_a/i1.png": "a\tb, c"})
    code, out, err = run_main(["tags", "find", root, "--captions"], capsys)
    assert out.splitlines() == ["1_a/i1.txt\ta\\tb, c"]


def test_tags_help_lists_find():
    out = CliRunner().invoke(cli, ["tags", "--help"]).output
    assert "freq, find, add" in " ".join(out.split()) and "\n  find " in out


# ---- (b)7: several old tags in one replace ------------------------------------------------------

def test_parse_old_tags():
    assert parse_old_tags("girl, female, 1girls") == ["girl", "female", "1girls"]
    assert parse_old_tags("girl,female,girl") == ["girl", "female"]
    assert parse_old_tags("(red hair, blue eyes:1.2), x") == ["(red hair, blue eyes:1.2)", "x"]
    assert parse_old_tags("a|b", "|") == ["a", "b"]
    assert parse_old_tags("/a{1,3}, b/", mode="auto") == ["/a{1,3}, b/"]  # a regex is one pattern
    assert parse_old_tags("a{1,3}", mode="regex") == ["a{1,3}"]
    assert parse_old_tags("  ") == []
    assert replace_ops(["a", "b"], "c") == [ReplaceTag("a", "c"), ReplaceTag("b", "c")]
    assert describe_replace(["a", "b"], "c") == "replace a, b -> c"
    assert describe_replace(["a"], "c") == ReplaceTag("a", "c").describe()


def test_replace_several_old_tags_is_one_change_and_one_undo(ds, capsys):
    before = {i: caption(ds, i) for i in range(5)}
    code, out, err = run_main(["tags", "replace", ds, "girl, female, 1girls", "1girl", "--yes"], capsys)
    assert code == 0, err
    assert out.startswith("Plan: replace girl, female, 1girls -> 1girl\n")
    assert [caption(ds, i) for i in (1, 2, 3, 4)] == [
        "alice, 1girl, solo", f"alice, 1girl, long hair, {ESCAPED}", "alice, Solo, 1girl", "alice, 1girl"]
    code, out, err = run_main(["tags", "undo", ds, "--list"], capsys)
    assert out.splitlines() == ["  1. replace girl, female, 1girls -> 1girl (4 file(s))"]
    code, out, err = run_main(["tags", "undo", ds, "--yes"], capsys)
    assert code == 0 and {i: caption(ds, i) for i in range(5)} == before


def test_replace_several_json_recipe_and_notes(ds, tmp_path, capsys):
    recipe = tmp_path / "r.toml"
    code, out, err = run_main(["tags", "replace", ds, f"girl, {PLAIN}", "1girl", "--dry-run", "--json",
                               "--save-recipe", recipe], capsys)
    data = json.loads(out)
    assert [op["old"] for op in data["ops"]] == ["girl", PLAIN] and data["changed"] == 2
    assert data["notes"] == notes(err) == [
        f"no caption has '{PLAIN}'; 2 have '{ESCAPED}' (another spelling of it): use that spelling"]
    code, out, err = run_main(["tags", "apply", ds, recipe, "--dry-run", "--json"], capsys)
    assert json.loads(out)["changed"] == 2
    # one old tag reads as it did; a blank one is refused, nothing written
    code, out, err = run_main(["tags", "replace", ds, "girl", "1girl", "--dry-run"], capsys)
    assert out.startswith("Plan: replace girl -> 1girl\n")
    code, out, err = run_main(["tags", "replace", ds, " , ", "1girl", "--yes"], capsys)
    assert code == 2 and "blank" in err and caption(ds, 1) == "alice, girl, female, solo"
