"""`loratui CONFIG.toml`: a config the app can fix still opens the app on its dataset."""

from __future__ import annotations

import pytest

from loratui.core.config import ConfigError
from loratui.tui.launch import resolve_target


def test_a_config_with_an_unknown_key_opens_on_its_dataset_and_says_why(tmp_path):
    """It printed the error and exited 2: the one place to fix it (Settings) could not be opened."""
    (tmp_path / "img" / "2_x").mkdir(parents=True)
    config = tmp_path / "c.toml"
    config.write_text('[dataset]\ntrain_data_dir = "img"\n[saving]\nextra = 1\n')
    notes: list[str] = []
    location, path = resolve_target(config, notes)
    assert location.train_dir == (tmp_path / "img").resolve() and path == config
    assert len(notes) == 1 and "extra: unknown key in [saving]" in notes[0] and "Settings (3) says how" in notes[0]


def test_a_broken_config_whose_dataset_cannot_be_told_is_refused(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[dataset\n")
    with pytest.raises(ConfigError):
        resolve_target(config, [])


def test_several_configs_prefer_config_toml_and_say_so(tmp_path):
    (tmp_path / "img" / "2_x").mkdir(parents=True)
    for name in ("config.toml", "config2.toml", "long.toml"):
        (tmp_path / name).write_text('[dataset]\ntrain_data_dir = "img"\n')
    notes: list[str] = []
    _location, config = resolve_target(tmp_path, notes)
    assert config == tmp_path / "config.toml"
    assert len(notes) == 1 and "3 .toml files" in notes[0] and "opened config.toml" in notes[0]
    (tmp_path / "config.toml").unlink()
    notes.clear()
    assert resolve_target(tmp_path, notes)[1] is None and "no config opened" in notes[0]
