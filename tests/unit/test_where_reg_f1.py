"""The --where term `reg` (core.captions.filter) and a config's reg_data_dir (core.dataset.config_reg_dir)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loratui.core.captions import parse_where, read_caption
from loratui.core.dataset import config_reg_dir
from loratui.core.errors import LoratuiError


def caption_in(folder: Path, name: str = "a.txt", text: str = "x, y\n"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return read_caption(folder / name)


def test_reg_is_told_from_the_folders_by_default(tmp_path):
    (tmp_path / "img").mkdir()
    train = caption_in(tmp_path / "img" / "10_alice")
    reg = caption_in(tmp_path / "reg" / "1_person")
    is_reg = parse_where("reg")
    assert is_reg(reg) and not is_reg(train)
    assert parse_where("not reg")(train) and not parse_where("-reg")(reg)
    assert parse_where("reg and tag:x")(reg) and not parse_where("reg and tag:z")(reg)


def test_a_caller_says_which_captions_are_reg(tmp_path):
    one = caption_in(tmp_path / "anywhere" / "1_person")
    assert parse_where("reg", is_reg=lambda c: True)(one)
    assert not parse_where("reg", is_reg=lambda c: False)(one)


def test_reg_with_a_value_is_an_error_naming_the_syntax():
    with pytest.raises(LoratuiError, match="reg, joined by"):
        parse_where("reg:1")


def test_config_reg_dir(tmp_path):
    (tmp_path / "regs" / "1_person").mkdir(parents=True)
    config = tmp_path / "proj" / "config.toml"
    config.parent.mkdir()
    config.write_text('[dataset]\nreg_data_dir = "../regs"\n')
    assert config_reg_dir(config) is not None and config_reg_dir(config).resolve() == (tmp_path / "regs").resolve()
    config.write_text('[dataset]\nreg_data_dir = "../nowhere"\n')
    assert config_reg_dir(config) is None  # Settings names a folder that is not there
    config.write_text("not toml [")
    assert config_reg_dir(config) is None and config_reg_dir(None) is None
