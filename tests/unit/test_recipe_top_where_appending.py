"""--save-recipe into a recipe with a top-level `where`: the new operation is not narrowed by it. The
where moves onto the earlier operations (comments kept), or the save is refused when moving it could
change what they do."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from loratui.cli import cli
from loratui.core.captions import AddTags, Dedupe, RemoveTags, append_to_recipe, check_recipe_target, load_recipe
from loratui.core.errors import LoratuiError

TOP = '# boys only\nwhere = "folder:*boy*"\n\n[[op]]\n# the boy tag\nop = "add"\ntags = ["boytag"]\n'


def test_the_top_level_where_moves_onto_the_earlier_operations(tmp_path):
    path = tmp_path / "top.toml"
    path.write_text(TOP, encoding="utf-8")
    assert load_recipe(path).appending_note().startswith("its top-level where 'folder:*boy*' now sits on each")
    recipe = append_to_recipe(path, [AddTags(["alltag"])])
    again = load_recipe(path)
    assert again == recipe and again.where is None
    assert [(op.tags, op.where) for op in again.ops] == [(["boytag"], "folder:*boy*"), (["alltag"], None)]
    text = path.read_text()
    assert text.startswith("# boys only\n") and "# the boy tag\n" in text  # the user's comments stay
    assert again.appending_note() == ""  # nothing left to move next time


def test_an_operations_own_where_is_combined_and_inline_arrays_work(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('where = "folder:a or folder:b"\nop = [ { op = "dedupe", where = "multiline" } ]  # mine\n',
                    encoding="utf-8")
    append_to_recipe(path, [RemoveTags(["x"])], where="tag:y")
    recipe = load_recipe(path)
    assert recipe.where is None and "# mine" in path.read_text()
    assert [op.where for op in recipe.ops] == ["folder:a and multiline or folder:b and multiline", "tag:y"]


def test_a_where_on_tags_that_the_operations_change_is_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "r.toml"
    text = 'where = "tag:solo"\n[[op]]\nop = "remove"\npatterns = ["solo"]\n[[op]]\nop = "add"\ntags = ["x"]\n'
    path.write_text(text, encoding="utf-8")
    for call in (lambda: check_recipe_target(path), lambda: append_to_recipe(path, [Dedupe()])):
        with pytest.raises(LoratuiError, match=r"r\.toml: its top-level where 'tag:solo' .*another recipe"):
            call()
    assert path.read_text() == text
    # one operation: the where means the same on it as at the top
    path.write_text('where = "tag:solo"\n[[op]]\nop = "dedupe"\n', encoding="utf-8")
    append_to_recipe(path, [Dedupe()])
    assert [op.where for op in load_recipe(path).ops] == ["tag:solo", None]


def test_cli_save_says_where_the_where_went_and_the_replay_matches(tmp_path):
    for name in ("w3", "w4"):
        for folder in ("3_boy", "5_girl"):
            (tmp_path / name / folder).mkdir(parents=True)
            for i in range(2):
                (tmp_path / name / folder / f"{i}.png").write_bytes(b"x")
                (tmp_path / name / folder / f"{i}.txt").write_text("a\n", encoding="utf-8")
    recipe = tmp_path / "top.toml"
    recipe.write_text(TOP, encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(cli, ["tags", "add", str(tmp_path / "w3"), "alltag", "--yes", "--save-recipe", str(recipe)])
    assert out.exit_code == 0, out.output
    assert "its top-level where 'folder:*boy*' now sits on each of its 1 earlier operation(s)" in out.output
    out = runner.invoke(cli, ["tags", "apply", str(tmp_path / "w4"), str(recipe), "--yes"])
    assert out.exit_code == 0, out.output
    texts = {p.parent.name + "/" + p.name: p.read_text() for p in Path(tmp_path / "w4").rglob("*.txt")}
    assert all("alltag" in t for t in texts.values())
    assert sorted(k for k, t in texts.items() if "boytag" in t) == ["3_boy/0.txt", "3_boy/1.txt"]
