"""Where loratui keeps a user's files (core/userdirs.py, used by every caller): the XDG variables, else
~/.config and ~/.cache, as before for a normal setup; an empty HOME or XDG value counts as unset (HOME=""
put every file under /); no home at all: a stand-in in the temp dir, said in one line."""

from __future__ import annotations

import os
import pwd
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from loratui.captioners.store import store_root
from loratui.core import userdirs
from loratui.core.crashlog import crash_log_dir
from loratui.tui.services.keymap import keymap_path
from loratui.tui.services.themes import user_themes_dir
from loratui.tui.services.user_settings import load_settings, settings_path

VARIABLES = ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "LORATUI_MODEL_STORE")


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))

    def set_env(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)
    return set_env


def _every_place() -> dict[str, Path]:
    return {"settings": settings_path(), "keymap": keymap_path(), "themes": user_themes_dir(),
            "crash logs": crash_log_dir(), "model store": store_root()}


def _old_formula(variable: str, under_home: str) -> Path:
    """What each module computed before core/userdirs.py."""
    return Path(os.environ.get(variable) or os.path.join(os.path.expanduser("~"), under_home)) / "loratui"


@pytest.mark.parametrize("home", ["/home/me", "/home/me/", "/"])
def test_a_normal_home_gives_the_same_paths_as_before(env, home):
    env(HOME=home)
    assert userdirs.user_config_dir() == _old_formula("XDG_CONFIG_HOME", ".config")
    assert userdirs.user_cache_dir() == _old_formula("XDG_CACHE_HOME", ".cache")
    places = _every_place()
    want = Path(os.path.expanduser("~"))
    assert places["settings"] == want / ".config/loratui/tui.toml"
    assert places["keymap"] == want / ".config/loratui/keymap.toml"
    assert places["themes"] == want / ".config/loratui/themes"
    assert places["crash logs"] == want / ".cache/loratui"
    assert places["model store"] == want / ".cache/loratui/models"
    assert userdirs.no_home_note() is None


def test_the_xdg_variables_move_the_folders(env, tmp_path):
    env(HOME="/home/me", XDG_CONFIG_HOME=str(tmp_path / "c"), XDG_CACHE_HOME=str(tmp_path / "k"))
    places = _every_place()
    assert places["settings"] == tmp_path / "c/loratui/tui.toml"
    assert places["themes"] == tmp_path / "c/loratui/themes"
    assert places["crash logs"] == tmp_path / "k/loratui" and places["model store"] == tmp_path / "k/loratui/models"
    assert userdirs.user_config_dir() == _old_formula("XDG_CONFIG_HOME", ".config")


@pytest.mark.parametrize("blank", ["", "  "])
def test_an_empty_xdg_variable_counts_as_unset(env, blank):
    env(HOME="/home/me", XDG_CONFIG_HOME=blank, XDG_CACHE_HOME=blank)
    assert userdirs.user_config_dir() == Path("/home/me/.config/loratui")
    assert userdirs.user_cache_dir() == Path("/home/me/.cache/loratui")


def test_an_empty_home_is_the_accounts_home_not_the_root_folder(env, monkeypatch):
    env(HOME="")
    monkeypatch.setattr(pwd, "getpwuid", lambda uid: SimpleNamespace(pw_dir="/home/account"))
    places = _every_place()
    assert places["settings"] == Path("/home/account/.config/loratui/tui.toml")
    assert places["crash logs"] == Path("/home/account/.cache/loratui")
    assert not any(str(path).startswith(("/.config", "/.cache")) for path in places.values())
    assert userdirs.no_home_note() is None


def test_no_home_at_all_is_a_stand_in_in_the_temp_dir_said_once(env, monkeypatch, tmp_path):
    env(HOME="")

    def no_entry(uid):
        raise KeyError(uid)
    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    stand_in = tmp_path / "tmp" / f"loratui-{os.getuid()}-home"
    places = _every_place()
    assert places["settings"] == stand_in / ".config/loratui/tui.toml"
    assert places["model store"] == stand_in / ".cache/loratui/models"
    note = userdirs.no_home_note()
    assert note is not None and "\n" not in note and str(stand_in) in note
    assert note.endswith("set HOME (or XDG_CONFIG_HOME and XDG_CACHE_HOME) to keep them")
    settings, problems = load_settings()  # the app's start-up toast says it
    assert problems == [note]
    assert load_settings(tmp_path / "given.toml")[1] == []  # a file named by the caller: no note
    env(XDG_CONFIG_HOME=str(tmp_path / "c"))
    assert userdirs.no_home_note().endswith("set HOME (or XDG_CACHE_HOME) to keep them")
    env(XDG_CACHE_HOME=str(tmp_path / "k"))
    assert userdirs.no_home_note() is None  # nothing falls back


def test_the_model_store_variable_still_wins(env, tmp_path):
    env(HOME="", LORATUI_MODEL_STORE=str(tmp_path / "store"))
    assert store_root() == tmp_path / "store"
