"""The TUI's own preferences: ``$XDG_CONFIG_HOME/loratui/tui.toml`` (else ``~/.config/loratui``).

A small flat TOML file the user may edit by hand::

    theme = "loratui-dark"
    image_preview = "auto"   # auto | kitty | sixel | halfblock | off
    wd14_model_folder = "/home/me/models/wd14"   # the Caption screen's last good model folders
    blip_model_folder = ""

Loading never fails: a missing file gives the defaults, a broken one gives the defaults plus one
problem line naming the file (the app shows it as a notification). A bad value resets only that
setting. Saving is atomic and rewrites the whole file (comments are not preserved); ``update_settings``
keeps the lines it does not change as the user wrote them (a bad value or an unknown key included),
and never writes over a file it cannot read (not valid TOML, no permission): the change then holds for
this session only, said once per file (``SettingsNotSaved``).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loratui.core import userdirs

SETTINGS_FILE_NAME = "tui.toml"

IMAGE_PREVIEW_CHOICES = ("auto", "kitty", "sixel", "halfblock", "off")

# Settings whose value must be one of a few words; the others are checked by their default's type.
_CHOICES: dict[str, tuple[str, ...]] = {"image_preview": IMAGE_PREVIEW_CHOICES}
# Settings that may be "" (nothing remembered yet); other strings must not be blank.
_MAY_BE_EMPTY = {"wd14_model_folder", "blip_model_folder"}

_HEADER = (
    "# loratui TUI preferences. The app rewrites this file when you change a setting in it;\n"
    "# comments you add here are not kept. Delete the file to go back to the defaults.\n"
)


@dataclass(frozen=True)
class UserSettings:
    """Preferences that survive a restart of the TUI."""

    theme: str = "loratui-dark"
    """Name of the colour theme (a shipped one or one from the user themes folder)."""

    image_preview: str = "auto"
    """How images are previewed: "auto" (best the terminal supports), "kitty" / "sixel" (graphics,
    forced), "halfblock" (coloured
    half-cells, works everywhere) or "off"."""

    wd14_model_folder: str = ""
    """The last WD14 tagger folder the Caption screen checked good; prefilled at start when it still
    exists. Per user, not per project: one tagger folder (~/models/wd14/...) serves every dataset."""

    blip_model_folder: str = ""
    """The same for the BLIP / BLIP-2 / GIT model folder."""


def user_config_dir() -> Path:
    """``$XDG_CONFIG_HOME/loratui`` (``~/.config/loratui`` when the variable is unset or empty)."""
    return userdirs.user_config_dir()


def settings_path() -> Path:
    return user_config_dir() / SETTINGS_FILE_NAME


def load_settings(path: str | os.PathLike | None = None) -> tuple[UserSettings, list[str]]:
    """Read the settings file; returns (settings, problems) and never raises for a bad file. The default
    file's problems start with the no-home note (core/userdirs.py) when its folder is a stand-in."""
    no_home = userdirs.no_home_note() if path is None else None
    note = [no_home] if no_home else []
    path = Path(path) if path is not None else settings_path()
    data, why = _read_raw(path)
    if data is None:
        fix = "check its permissions; using the default settings" if why.startswith("cannot") else \
            "fix it, or delete it to use the default settings"
        return UserSettings(), [*note, f"{path}: {why}: {fix}"]
    values, issues = _check_values(data)
    settings = dataclasses.replace(UserSettings(), **values)
    if issues:
        return settings, [*note, f"{path}: " + "; ".join(issues)]
    return settings, note


def _read_raw(path: Path) -> tuple[dict[str, Any] | None, str]:
    """(the file's TOML table, "") or (None, why it cannot be read); a missing file is an empty table."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle), ""
    except FileNotFoundError:
        return {}, ""
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return None, f"not valid TOML ({exc})"
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"


def _check_values(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    known = {f.name: f for f in dataclasses.fields(UserSettings)}
    values: dict[str, Any] = {}
    issues: list[str] = []
    for key, value in data.items():
        spec = known.get(key)
        if spec is None:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            issues.append(f"unknown setting '{key}'{hint}: remove it")
            continue
        problem = _check_value(key, value, spec.default)
        if problem:
            issues.append(f"{problem}: using the default {spec.default!r}")
        else:
            values[key] = value
    return values, issues


def _check_value(key: str, value: Any, default: Any) -> str | None:
    choices = _CHOICES.get(key)
    if choices is not None:
        if value not in choices:
            return f"'{key}' is {value!r}, expected one of {', '.join(choices)}"
        return None
    expected = type(default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return None
    if type(value) is not expected:
        return f"'{key}' should be a {_type_word(expected)}, not {value!r}"
    if expected is str and not value.strip() and key not in _MAY_BE_EMPTY:
        return f"'{key}' is empty"
    return None


def _type_word(kind: type) -> str:
    return {str: "string", bool: "true/false", int: "whole number", float: "number"}.get(kind, kind.__name__)


def settings_to_toml(settings: UserSettings, keep: dict[str, Any] | None = None) -> str:
    """The file's text; ``keep``: lines of the file to write back as they are (a bad value, an unknown
    key), over the settings' own values."""
    import tomli_w  # small, but only needed when saving

    return _HEADER + tomli_w.dumps({**dataclasses.asdict(settings), **(keep or {})})


def save_settings(settings: UserSettings, path: str | os.PathLike | None = None,
                  keep: dict[str, Any] | None = None) -> Path:
    """Write the settings atomically (creating the folder); an unchanged file is left untouched.

    Raises OSError when the folder or file cannot be written (the caller notifies the user).
    """
    from loratui.core.fsutil import atomic_write_text

    path = Path(path) if path is not None else settings_path()
    text = settings_to_toml(settings, keep)
    try:
        if path.read_text(encoding="utf-8") == text:
            return path
    except (OSError, UnicodeDecodeError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    return path


class SettingsNotSaved(OSError):
    """The settings file exists but cannot be read, so it was not written over (``.settings``: the
    settings with the change, to use for this session)."""

    def __init__(self, message: str, settings: UserSettings) -> None:
        super().__init__(message)
        self.settings = settings

    def __str__(self) -> str:
        return str(self.args[0])


# Unreadable files this session, with the settings changed since (they hold for the session only): the
# callers (theme, preview, caption model folders) each warn on OSError, so it is raised once per file.
_SESSION_ONLY: dict[str, UserSettings] = {}


def update_settings(path: str | os.PathLike | None = None, **changes: Any) -> UserSettings:
    """Re-read the file, change some settings, save, and return the result.

    Reading first keeps changes made by another part of the app (or by hand) since start-up; lines
    not changed are written back as they were (a bad value or unknown key stays for the user to fix,
    and is reported again at the next start). A file that cannot be read is never written over: the
    first time, SettingsNotSaved (an OSError: callers warn and keep the change for this session) says
    so and what to do; after that the change is returned silently, the file left as it is.
    """
    path = Path(path) if path is not None else settings_path()
    raw, why = _read_raw(path)
    if raw is None:
        told = str(path) in _SESSION_ONLY
        updated = _SESSION_ONLY[str(path)] = dataclasses.replace(_SESSION_ONLY.get(str(path), UserSettings()),
                                                                 **changes)
        if told:
            return updated
        raise SettingsNotSaved(f"{path}: {why}: left as it is, so settings changed in the app hold for this "
                               "session only; fix the file (or delete it) to keep them", updated)
    _SESSION_ONLY.pop(str(path), None)  # readable again (fixed by hand): saved from now on
    accepted, _issues = _check_values(raw)
    updated = dataclasses.replace(UserSettings(), **{**accepted, **changes})
    kept = {key: value for key, value in raw.items() if key not in accepted and key not in changes}
    save_settings(updated, path, keep=kept)
    return updated
