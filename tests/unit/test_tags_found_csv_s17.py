"""`tags apply RECIPE` (category ops), `tags sort --by category` and `tags freq --categories` find the
tagger's selected_tags.csv as the app and `tags remove-category` do (commands.tagger_csv): --tags-csv
wins, the file used is named on stderr once, and none found is one line naming where it looked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli, main

NOTE = "note: tag categories from "
# general: a rating tag (9); alice: character (4); red, circle: general (0)
CSV = "tag_id,name,category,count\n1,general,9,1\n2,alice,4,1\n3,red,0,1\n4,circle,0,1\n"
# the same tags, other categories: red a character, alice a general tag
OTHER_CSV = "tag_id,name,category,count\n1,general,9,1\n2,alice,0,1\n3,red,4,1\n4,circle,0,1\n"
CAPTION = "red, alice, general, circle"


@pytest.fixture(autouse=True)
def isolated_user_dirs(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "store"))  # the user's own taggers stay out


def project(root: Path) -> Path:
    """A project folder (img/2_shp with two captioned images), as `dataset init` makes one."""
    folder = root / "img" / "2_shp"
    folder.mkdir(parents=True)
    for i in range(2):
        Image.new("RGB", (16, 16), (40 * i, 90, 200)).save(folder / f"{i}.png")
        (folder / f"{i}.txt").write_text(CAPTION, encoding="utf-8")
    return root


def caption(root: Path, i: int = 0) -> str:
    return (root / "img" / "2_shp" / f"{i}.txt").read_text(encoding="utf-8")


def write_csv(path: Path, text: str = CSV) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def tagger_csv(root: Path) -> Path:
    """Where the Caption screen's taggers sit in a project: kohya's wd14_tagger_model/<repo>/."""
    return write_csv(root / "wd14_tagger_model" / "SmilingWolf__wd-v1-4-vit-tagger-v2" / "selected_tags.csv")


def recipe(tmp_path: Path, *ops: str) -> Path:
    path = tmp_path / "cleanup.toml"
    path.write_text("".join(f"[[op]]\n{op}\n\n" for op in ops), encoding="utf-8")
    return path


REMOVE_CHARACTER = 'op = "remove_category"\ncategories = ["character"]'
SORT_BY_CATEGORY = 'op = "sort"\nby = "category"'


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def run_main(args, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


# ---- found beside the project -------------------------------------------------------------------------

def test_sort_by_category_uses_the_projects_tagger_csv_and_names_it_once(tmp_path):
    root = project(tmp_path)
    csv = tagger_csv(root)
    result = run("tags", "sort", root, "--by", "category", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stderr.count(NOTE) == 1 and f"{NOTE}{csv} (--tags-csv PATH to use another)" in result.stderr
    assert "only the rating tags" not in result.output
    assert caption(root) == "general, alice, red, circle"  # rating, character, general


def test_apply_recipe_with_category_ops_uses_the_found_csv_once(tmp_path):
    root = project(tmp_path)
    csv = tagger_csv(root)
    result = run("tags", "apply", root, recipe(tmp_path, SORT_BY_CATEGORY, REMOVE_CHARACTER), "--yes")
    assert result.exit_code == 0, result.output
    assert result.stderr.count(NOTE) == 1 and str(csv) in result.stderr  # two ops, one lookup, one line
    assert caption(root) == "general, red, circle" and caption(root, 1) == "general, red, circle"


def test_apply_json_keeps_stdout_json_and_the_note_on_stderr(tmp_path):
    root = project(tmp_path)
    tagger_csv(root)
    result = run("tags", "apply", root, recipe(tmp_path, REMOVE_CHARACTER), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["written"] == 0 and data["changed"] == 2 and NOTE in result.stderr


def test_a_flat_folder_uses_the_model_stores_tagger(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.new("RGB", (16, 16)).save(flat / "a.png")
    (flat / "a.txt").write_text(CAPTION, encoding="utf-8")
    store_csv = write_csv(tmp_path / "store" / "wd14" / "SmilingWolf__wd-v1-4-vit-tagger-v2" / "selected_tags.csv")
    result = run("tags", "sort", flat, "--by", "category", "--yes")
    assert result.exit_code == 0 and f"{NOTE}{store_csv}" in result.stderr, result.output
    assert (flat / "a.txt").read_text(encoding="utf-8") == "general, alice, red, circle"


def test_other_ops_and_sorts_look_for_no_csv(tmp_path):
    root = project(tmp_path)
    tagger_csv(root)
    for args in (("sort", root, "--by", "alpha", "--dry-run"), ("remove-category", root, "rating", "--dry-run"),
                 ("apply", root, recipe(tmp_path, 'op = "sort"\nby = "frequency"'), "--dry-run")):
        result = run("tags", *args)
        assert result.exit_code == 0 and NOTE not in result.stderr, (args, result.output)


# ---- --tags-csv wins ------------------------------------------------------------------------------------

def test_tags_csv_overrides_the_found_one(tmp_path):
    root = project(tmp_path)
    tagger_csv(root)
    other = write_csv(tmp_path / "elsewhere" / "selected_tags.csv", OTHER_CSV)
    result = run("tags", "sort", root, "--by", "category", "--tags-csv", other, "--yes")
    assert result.exit_code == 0 and NOTE not in result.stderr, result.output
    assert caption(root) == "general, red, alice, circle"  # red is the character in OTHER_CSV
    result = run("tags", "apply", root, recipe(tmp_path, REMOVE_CHARACTER), "--tags-csv", other, "--yes")
    assert result.exit_code == 0 and NOTE not in result.stderr, result.output
    assert caption(root) == "general, alice, circle"


# ---- none found -----------------------------------------------------------------------------------------

def test_apply_removing_a_category_without_a_csv_is_one_line_naming_where_it_looked(tmp_path, capsys):
    root = project(tmp_path)
    code, out, err = run_main(["tags", "apply", root, recipe(tmp_path, REMOVE_CHARACTER), "--yes"], capsys)
    rc_code, _, rc_err = run_main(["tags", "remove-category", root, "character", "--yes"], capsys)
    assert code == rc_code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err + out
    assert err.startswith("error: remove character tags: categories other than rating need --tags-csv PATH")
    assert err == rc_err  # the same line as remove-category's
    for place in (root, root / "img", root / "wd14_tagger_model", root / "models", tmp_path / "store" / "wd14"):
        assert str(place) in err
    assert caption(root) == CAPTION and caption(root, 1) == CAPTION


def test_sort_by_category_without_a_csv_sorts_the_rating_tags_and_says_where_it_looked(tmp_path, capsys):
    """Rating tags are known without the csv (as `remove-category rating`): the sort still runs, exit 0,
    with one note that names where no csv was found."""
    root = project(tmp_path)
    for args in (["sort", root, "--by", "category", "--yes"], ["apply", root, recipe(tmp_path, SORT_BY_CATEGORY),
                                                               "--yes"]):
        assert main(["tags", *map(str, args)]) in (0, None)
        out, err = capsys.readouterr()
        notes = [line for line in out.splitlines() if "only the rating tags have a known category" in line]
        assert len(notes) == 1 and notes[0].startswith("Note: without --tags-csv"), out
        assert str(root / "wd14_tagger_model") in notes[0] and str(tmp_path / "store" / "wd14") in notes[0]
        assert NOTE not in err and "error" not in err
        assert caption(root) == "general, red, alice, circle"  # the rating tag first, the rest in order


# ---- freq: categories only when asked ---------------------------------------------------------------

def test_freq_shows_the_found_csvs_categories_only_with_categories(tmp_path, capsys):
    root = project(tmp_path)
    csv = tagger_csv(root)
    plain = run("tags", "freq", root, "--json")
    assert "categories" not in json.loads(plain.stdout) and NOTE not in plain.stderr  # a script's output as before
    asked = run("tags", "freq", root, "--json", "--categories")
    assert asked.exit_code == 0 and f"{NOTE}{csv}" in asked.stderr
    assert json.loads(asked.stdout)["categories"] == {"red": "general", "alice": "character", "general": "rating",
                                                      "circle": "general"}
    table = run("tags", "freq", root, "--categories").stdout
    assert any(line.split()[:1] == ["alice"] and line.rstrip().endswith("character") for line in table.splitlines())
    other = write_csv(tmp_path / "elsewhere" / "selected_tags.csv", OTHER_CSV)
    chosen = run("tags", "freq", root, "--json", "--categories", "--tags-csv", other)
    assert json.loads(chosen.stdout)["categories"]["alice"] == "general" and NOTE not in chosen.stderr
    csv.unlink()
    code, out, err = run_main(["tags", "freq", root, "--categories"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and not out
    assert err.startswith("error: --categories: tag categories need --tags-csv PATH") and str(root / "models") in err
