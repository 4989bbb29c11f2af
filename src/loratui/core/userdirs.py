"""Where loratui keeps a user's own files, by the XDG base-directory rules (one place for every caller).

* config: ``$XDG_CONFIG_HOME/loratui``, else ``~/.config/loratui`` (tui.toml, keymap.toml, themes/, presets/)
* cache: ``$XDG_CACHE_HOME/loratui``, else ``~/.cache/loratui`` (crash logs, the model store models/,
  model_configs/, torch-compile/)

An empty (or blank) variable counts as unset, as the XDG spec says: ``HOME=""`` used to put every file
under ``/`` (``/.config/loratui/tui.toml``). Without HOME the account's home from the password database
is used (what ``~`` means then); when neither names one, the files go to a stand-in home in the temp
dir (never the current folder), and ``no_home_note`` says so in one line.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

APP_NAME = "loratui"


def home_dir() -> Path | None:
    """The user's home: HOME when it is set and not blank, else the password database's entry; None
    when neither names a folder."""
    if os.name == "nt" or os.environ.get("HOME", "").strip():
        found = os.path.expanduser("~")  # as before for every normal setup (byte-identical paths)
        return Path(found) if found not in ("", "~") else None
    try:
        import pwd

        found = pwd.getpwuid(os.getuid()).pw_dir
    except (ImportError, KeyError, OSError):
        found = ""
    return Path(found) if found.strip() else None


def stand_in_home() -> Path:
    """The home used when there is none: a folder of the temp dir, per user id."""
    uid = os.getuid() if hasattr(os, "getuid") else os.getpid()
    return Path(tempfile.gettempdir()) / f"{APP_NAME}-{uid}-home"


def _base(variable: str, under_home: str) -> Path:
    value = os.environ.get(variable, "")
    if value.strip():
        return Path(value)
    return (home_dir() or stand_in_home()) / under_home


def config_home() -> Path:
    """``$XDG_CONFIG_HOME``, else ``~/.config``."""
    return _base("XDG_CONFIG_HOME", ".config")


def cache_home() -> Path:
    """``$XDG_CACHE_HOME``, else ``~/.cache``."""
    return _base("XDG_CACHE_HOME", ".cache")


def user_config_dir() -> Path:
    """``$XDG_CONFIG_HOME/loratui`` (``~/.config/loratui`` when the variable is unset or empty)."""
    return config_home() / APP_NAME


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/loratui`` (``~/.cache/loratui`` when the variable is unset or empty)."""
    return cache_home() / APP_NAME


def no_home_note() -> str | None:
    """One line when loratui's own folders fell back to the stand-in home (no HOME, no home in the
    password database, and an XDG variable unset), else None."""
    if home_dir() is not None:
        return None
    unset = [name for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME") if not os.environ.get(name, "").strip()]
    if not unset:
        return None
    return (f"HOME is not set: loratui keeps its settings and caches in {stand_in_home()}, which the system "
            f"may clear: set HOME (or {' and '.join(unset)}) to keep them")
