"""core/captions/recipes.py: tag operations saved as TOML and replayed on another dataset."""

from __future__ import annotations

from pathlib import Path

import pytest

from loratui.core.captions import load_captions
from loratui.core.captions import parse_where
from loratui.core.captions import (
    AddTags, Dedupe, EditContext, MoveToFront, RemoveCategory, RemoveTags, ReplaceTag, SortTags, StripUnderscores,
    plan_edits, tag_frequency,
)
from loratui.core.errors import LoratuiError
from loratui.core.captions import Recipe, append_to_recipe, dumps_recipe, load_recipe, recipe_from_dict, save_recipe

EVERY_OP = [RemoveCategory(["rating"]), RemoveTags(["*background"]), ReplaceTag("(.*)_hair", r"\1 hair", "regex"),
            Dedupe(), SortTags("category", 1), MoveToFront(["solo"]), StripUnderscores(),
            AddTags(["alice_lora"], 0, move_existing=True), RemoveTags(["smile"], where="folder:*b*")]


def test_recipe_round_trip(tmp_path):
    recipe = Recipe(EVERY_OP, where="tag:solo", description="cleanup")
    path = tmp_path / "r.toml"
    save_recipe(recipe, path)
    assert load_recipe(path) == recipe
    text = path.read_text()
    assert text.startswith('description = "cleanup"') and text.count("[[op]]") == len(EVERY_OP)
    assert 'op = "add"' in dumps_recipe(recipe) and "position = 0" in text and "move_existing = true" in text


def test_hand_written_recipe(tmp_path):
    path = tmp_path / "cleanup.toml"
    path.write_text('\ufeff# drop ratings and backgrounds, trigger word first\n'
                    '[[op]]\nop = "remove_category"\ncategories = ["rating"]\n\n'
                    '[[op]]\nop = "remove"\npatterns = "*background"\n\n'
                    '[[op]]\nop = "add"\ntags = ["trig"]\nposition = 0\n', encoding="utf-8")
    recipe = load_recipe(path)
    assert recipe.ops == [RemoveCategory(["rating"]), RemoveTags(["*background"]), AddTags(["trig"], 0)]
    assert recipe.describe() == "remove rating tags; remove *background; add trig at the front"


def test_recipe_replays_on_another_dataset(tmp_path):
    recipe = Recipe([RemoveCategory(["rating"]), RemoveTags(["*background"]), StripUnderscores(),
                     AddTags(["trig"], 0, move_existing=True)])
    save_recipe(recipe, tmp_path / "r.toml")
    for name, rows in (("one", ["general, long_hair, white_background", "trig, sensitive"]),
                       ("two", ["simple_background, blue_eyes, trig", "explicit"])):
        folder = tmp_path / name / "5_x"
        folder.mkdir(parents=True)
        for i, row in enumerate(rows):
            (folder / f"{i}.png").write_bytes(b"x")
            (folder / f"{i}.txt").write_text(row + "\n")
    loaded = load_recipe(tmp_path / "r.toml")
    results = {}
    for name in ("one", "two"):
        caps = load_captions(tmp_path / name)
        plan = plan_edits(caps, loaded.ops, where=parse_where(loaded.where), ctx=EditContext(tag_frequency(caps)))
        results[name] = [e.new for e in plan]
    assert results == {"one": [["trig", "long hair"], ["trig"]], "two": [["trig", "blue eyes"], ["trig"]]}


def test_recipe_errors_name_the_file_and_op(tmp_path):
    cases = {
        "bad.toml": ('[[op]]\nop = "remove"\npatterns = ["x"]\nmode = "fuzzy"\n', "bad.toml: op 1.*mode must be"),
        "empty.toml": ('where = "tag:x"\n', "no operations"),
        "syntax.toml": ("[[op]\n", "not valid TOML"),
        "key.toml": ('wher = "x"\n[[op]]\nop = "dedupe"\n', "unknown key 'wher'"),
        "table.toml": ('op = ["dedupe"]\n', "op 1 is not a table"),
        "where.toml": ('where = "colour:red"\n[[op]]\nop = "dedupe"\n', "where.toml: --where"),
        "second.toml": ('[[op]]\nop = "dedupe"\n[[op]]\nop = "sort"\nby = "size"\n', "second.toml: op 2"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(LoratuiError, match=message):
            load_recipe(tmp_path / name)
    with pytest.raises(LoratuiError, match="recipe not found"):
        load_recipe(tmp_path / "missing.toml")
    with pytest.raises(LoratuiError, match="where must be a string"):
        recipe_from_dict({"where": 3, "op": [{"op": "dedupe"}]})


def test_append_builds_a_recipe_step_by_step(tmp_path):
    path = tmp_path / "steps.toml"
    append_to_recipe(path, [RemoveCategory(["rating"])])
    append_to_recipe(path, [RemoveTags(["solo"])], where="tag:1girl or tag:2girls")
    recipe = append_to_recipe(path, [Dedupe(where="folder:x")], where="empty")
    assert [op.op for op in recipe.ops] == ["remove_category", "remove", "dedupe"]
    assert recipe.ops[1].where == "tag:1girl or tag:2girls"
    assert recipe.ops[2].where == "folder:x and empty"
    assert load_recipe(path) == recipe


def test_paths_are_plain(tmp_path):
    save_recipe(Recipe([Dedupe()]), str(tmp_path / "s.toml"))
    assert load_recipe(Path(tmp_path / "s.toml")).ops == [Dedupe()]


def test_adding_to_a_recipe_keeps_its_comments_and_layout(tmp_path):
    """--save-recipe into an existing recipe re-dumped the file: the user's comments were lost."""
    path = tmp_path / "r.toml"
    text = ('# my precious comment\r\ndescription = "drop ratings"  # why\r\n\r\n'
            '[[op]]\r\n# first the ratings\r\nop = "remove_category"\r\ncategories = ["rating"]\r\n')
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    recipe = append_to_recipe(path, [Dedupe()], where="tag:solo")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf" + text.encode())  # every old byte, BOM and CRLF kept
    assert raw.endswith(b'\r\n[[op]]\r\nop = "dedupe"\r\nwhere = "tag:solo"\r\n')
    assert load_recipe(path).ops == recipe.ops and len(recipe.ops) == 2


def test_adding_to_a_recipe_written_as_an_inline_array(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('# keep\nop = [ { op = "dedupe" } ]  # mine\n', encoding="utf-8")
    append_to_recipe(path, [RemoveTags(["solo"])])
    text = path.read_text()
    assert text.startswith("# keep\n") and "# mine" in text
    assert [type(op) for op in load_recipe(path).ops] == [Dedupe, RemoveTags]


def test_a_new_recipe_is_written_as_op_tables(tmp_path):
    path = tmp_path / "r.toml"
    append_to_recipe(path, [Dedupe()])
    assert path.read_text() == '[[op]]\nop = "dedupe"\n'


def test_a_new_description_keeps_the_recipes_comments(tmp_path):
    """The app's save with a description rewrote the whole file after the careful append."""
    path = tmp_path / "r.toml"
    path.write_bytes(b'# keep me\r\n[[op]]\r\nop = "dedupe"\r\n')
    recipe = append_to_recipe(path, [RemoveTags(["solo"])], description="my new description")
    raw = path.read_bytes()
    assert raw.startswith(b'description = "my new description"\r\n# keep me\r\n[[op]]\r\n')
    assert recipe.description == load_recipe(path).description == "my new description"
    path.write_text('description = "old"  # mine\n[[op]]\nop = "dedupe"\n', encoding="utf-8")
    append_to_recipe(path, [Dedupe()], description="new")
    assert path.read_text().startswith('description = "new"  # mine\n')
