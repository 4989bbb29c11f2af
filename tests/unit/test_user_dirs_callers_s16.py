"""Every user folder loratui computes follows core.userdirs: an empty XDG value counts as unset, and an
empty HOME never puts files under / (presets, the compile cache, the single-file model configs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loratui.core.config.presets import user_presets_dir
from loratui.engine.model_configs import cache_root
from loratui.engine.speed import compile_cache_dir


@pytest.fixture
def blank_home(monkeypatch):
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "LORATUI_CACHE_DIR", "TORCHINDUCTOR_CACHE_DIR"):
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("HOME", "")


def test_no_user_folder_lands_under_the_root(blank_home):
    for folder in (user_presets_dir(), cache_root(), compile_cache_dir()):
        assert not str(folder).startswith(("/.config", "/.cache")), folder


def test_set_variables_still_win(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "c"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "k"))
    monkeypatch.delenv("LORATUI_CACHE_DIR", raising=False)
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    assert user_presets_dir() == tmp_path / "c" / "loratui" / "presets"
    assert cache_root() == tmp_path / "k" / "loratui"
    assert compile_cache_dir() == Path(tmp_path / "k" / "loratui" / "torch-compile")
