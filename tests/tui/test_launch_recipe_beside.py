"""`loratui bob` with a tag recipe saved beside the config (`tags dedupe bob --yes --save-recipe
bob/cleanup.toml`): the recipe is no config, so bob.toml still opens (it said "2 .toml files in bob
(bob.toml, cleanup.toml): no config opened")."""

from __future__ import annotations

import pytest

from loratui.core.errors import LoratuiError
from loratui.core.project import is_tag_recipe
from loratui.tui.launch import resolve_target

RECIPE = 'description = "tidy"\nwhere = "tag:solo"\n[[op]]\nop = "dedupe"\n'


def project(tmp_path):
    (tmp_path / "img" / "10_bob").mkdir(parents=True)
    (tmp_path / "bob.toml").write_text('[dataset]\ntrain_data_dir = "img"\n')
    (tmp_path / "cleanup.toml").write_text(RECIPE)
    return tmp_path


def test_a_recipe_beside_the_config_is_set_aside(tmp_path):
    notes: list[str] = []
    _location, config = resolve_target(project(tmp_path), notes)
    assert config == tmp_path / "bob.toml" and notes == []


def test_a_recipe_and_an_sdscripts_dataset_file_alone_open_no_config_and_count_no_tomls(tmp_path):
    project(tmp_path)
    (tmp_path / "bob.toml").unlink()
    (tmp_path / "bob_dataset.toml").write_text('[[datasets]]\n[[datasets.subsets]]\nimage_dir = "img/10_bob"\n')
    notes: list[str] = []
    assert resolve_target(tmp_path, notes)[1] is None
    assert not any(".toml files in" in note for note in notes), notes


def test_opening_a_recipe_as_a_config_says_what_it_is(tmp_path):
    project(tmp_path)
    with pytest.raises(LoratuiError, match="cleanup.toml: a tag recipe .*tags apply"):
        resolve_target(tmp_path / "cleanup.toml", [])


@pytest.mark.parametrize(("text", "expected"), [
    (RECIPE, True),
    ('[[op]]\nop = "dedupe"\n[dataset]\ntrain_data_dir = "img"\n', False),  # config keys: a (broken) config
    ('[dataset]\ntrain_data_dir = "img"\n', False),
    ("op = [\n", False),  # not TOML
    ("", False),
])
def test_is_tag_recipe(tmp_path, text, expected):
    path = tmp_path / "x.toml"
    path.write_text(text)
    assert is_tag_recipe(path) is expected
