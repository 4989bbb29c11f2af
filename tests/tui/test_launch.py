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


KOHYA = '{"pretrained_model_name_or_path": "m.safetensors", "train_data_dir": "img", "LoRA_type": "Standard"}'


def test_a_kohya_json_says_how_to_import_it(tmp_path, monkeypatch):
    """`loratui alice.json` said "not a folder or a config .toml" and nothing about import-kohya."""
    from loratui.core.errors import LoratuiError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "alice.json").write_text(KOHYA, encoding="utf-16")  # as a Windows editor may save it
    with pytest.raises(LoratuiError) as caught:
        resolve_target("alice.json", [])
    assert str(caught.value) == ("alice.json: a kohya_ss GUI config, not a loratui one: import it with "
                                 "`loratui config import-kohya alice.json -o alice.toml`, then `loratui alice.toml`")
    (tmp_path / "alice.toml").write_text("")  # import-kohya never overwrites: the next free name
    (tmp_path / "other.json").write_text("[1, 2]")
    with pytest.raises(LoratuiError, match=r"not a folder or a config \.toml.*import-kohya other\.json -o other\.toml"):
        resolve_target("other.json", [])
    with pytest.raises(LoratuiError, match=r"-o alice-2\.toml`, then `loratui alice-2\.toml`"):
        resolve_target("alice.json", [])


def test_a_folder_with_a_kohya_json_and_no_config_names_it(tmp_path):
    (tmp_path / "img" / "2_x").mkdir(parents=True)
    (tmp_path / "notes.json").write_text('{"a": 1}')
    (tmp_path / "my lora.json").write_text(KOHYA)
    notes: list[str] = []
    assert resolve_target(tmp_path, notes)[1] is None
    [note] = notes
    assert note.startswith("no loratui config here, but my lora.json is a kohya_ss GUI config: ")
    assert f"`loratui config import-kohya '{tmp_path / 'my lora.json'}' -o '{tmp_path / 'my lora.toml'}'`" in note
    (tmp_path / "config.toml").write_text('[dataset]\ntrain_data_dir = "img"\n')
    notes.clear()
    assert resolve_target(tmp_path, notes)[1] == tmp_path / "config.toml" and notes == []
