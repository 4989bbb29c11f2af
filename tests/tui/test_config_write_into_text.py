"""The settings screen's writes of a file ctrl+s cannot edit in place (config_actions._write_into_text): save
as never replaces a file, even one made after the dialog checked the name (the reviewer's finding: the
name was checked, then os.replace wrote over whatever was there by then); "o" over a read-only file is
refused; a layout that cannot be edited in place is written as a fresh file, and says so."""

from __future__ import annotations

import os
import stat
import tempfile

import pytest

from loratui.core.config import ConfigError, dumps_config, load_config, loads_config
from loratui.tui.screens import config_actions

HAND = """\
# My hand-written config
[network]
network_dim = 20       # my rank

[model]
pretrained_model_name_or_path = "model/base.safetensors"

[dataset]
train_data_dir = "img"
"""


def _config(dim: int = 24):
    cfg = loads_config(HAND, "hand.toml")
    cfg.network.network_dim = dim
    return cfg


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_save_as_writes_the_loaded_text_with_the_change(tmp_path):
    path = tmp_path / "copy.toml"
    assert config_actions._write_into_text(_config(), path, HAND, new_file=True) == ""
    assert path.read_text(encoding="utf-8") == HAND.replace("network_dim = 20 ", "network_dim = 24 ")


def test_save_as_never_replaces_a_file_that_appeared_after_the_name_was_checked(tmp_path, monkeypatch):
    path = tmp_path / "copy.toml"
    real = tempfile.mkstemp

    def meanwhile(*args, **kwargs):  # another program takes the name after every check, just before the write
        if not path.exists():
            path.write_text("# someone else's\n", encoding="utf-8")
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", meanwhile)
    with pytest.raises(ConfigError) as caught:
        config_actions._write_into_text(_config(), path, HAND, new_file=True)
    message = str(caught.value)
    assert message.startswith(f"{path} already exists: nothing written") and "\n" not in message
    assert path.read_text(encoding="utf-8") == "# someone else's\n" and _leftovers(tmp_path) == []


@pytest.mark.parametrize("kept", [HAND, None])
def test_save_as_refuses_a_name_taken_even_by_a_dangling_link(tmp_path, kept):
    path = tmp_path / "copy.toml"
    os.symlink(tmp_path / "nowhere.toml", path)
    with pytest.raises(ConfigError, match="already exists"):
        config_actions._write_into_text(_config(), path, kept, new_file=True)
    assert path.is_symlink() and not (tmp_path / "nowhere.toml").exists() and _leftovers(tmp_path) == []


def test_save_as_of_a_config_never_saved_writes_config_news_layout(tmp_path):
    path = tmp_path / "new.toml"
    config_actions._write_into_text(_config(), path, None, new_file=True)
    assert path.read_text(encoding="utf-8") == dumps_config(_config())


def test_overwriting_a_read_only_file_on_o_is_refused(tmp_path):
    path = tmp_path / "proj.toml"
    path.write_text("not toml [", encoding="utf-8")  # unreadable: "o" writes the form over it
    path.chmod(stat.S_IRUSR | stat.S_IRGRP)
    try:
        with pytest.raises(ConfigError) as caught:
            config_actions._write_into_text(_config(), path, HAND, new_file=False)
        assert str(caught.value) == (f"{path}: read-only config file, not rewritten: make it writable "
                                     f"(chmod u+w '{path}') first")
        assert path.read_text(encoding="utf-8") == "not toml ["
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_overwriting_a_vanished_file_on_o_writes_it_again(tmp_path):
    path = tmp_path / "proj.toml"
    config_actions._write_into_text(_config(32), path, HAND, new_file=False)
    assert load_config(path).network.network_dim == 32 and "# My hand-written config" in path.read_text()


@pytest.mark.parametrize("new_file", [True, False])
def test_a_layout_that_cannot_be_edited_in_place_is_written_as_a_fresh_file(tmp_path, monkeypatch, new_file):
    def refuse(text, cfg, source=""):
        raise ConfigError(f"{source}: cannot update this file's layout in place; nothing written")

    monkeypatch.setattr(config_actions, "update_config_text", refuse)
    path = tmp_path / "proj.toml"
    note = config_actions._write_into_text(_config(), path, HAND, new_file=new_file)
    assert note == " (as a fresh file: the loaded file's layout could not be edited in place)"
    assert path.read_text(encoding="utf-8") == dumps_config(_config())
    assert load_config(path).network.network_dim == 24
