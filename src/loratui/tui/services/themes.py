"""Colour themes as TOML data files.

Shipped themes live in ``loratui.core.resources.data_dir("themes")``; the user's own in
``$XDG_CONFIG_HOME/loratui/themes`` (beside the user presets folder). Each ``*.toml`` holds one
Textual ``Theme``: its fields as top-level keys plus an optional ``[variables]`` table::

    name = "my-theme"          # required: letters, digits, '-' and '_'
    primary = "#7aa2f7"        # required; every colour is anything textual.color.Color.parse reads
    dark = true
    background = "#1a1b26"
    [variables]
    tag-chip = "#3b4261"

A file with a problem is skipped and reported as one line "FILE: what is wrong: what to do". A user
theme with the same name as a shipped one replaces it.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

from loratui.core.resources import data_dir

if TYPE_CHECKING:
    from textual.app import App

DEFAULT_THEME = "loratui-dark"

COLOUR_FIELDS = (
    "primary", "secondary", "warning", "error", "success", "accent",
    "foreground", "background", "surface", "panel", "boost",
)
_BOOL_FIELDS = ("dark", "ansi")
_FRACTION_FIELDS = ("luminosity_spread", "text_alpha")
ALLOWED_KEYS = tuple(f.name for f in dataclasses.fields(Theme))

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_VARIABLE_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# Variable values can be colours or other CSS values ("bold", "auto 87%"); check the colour-looking ones.
_COLOURISH_RE = re.compile(r"^(#|rgba?\(|hsla?\()", re.IGNORECASE)


class ThemeFileError(ValueError):
    """A theme file is unusable; the message is one line naming the file."""


@dataclass
class ThemeCatalog:
    """The themes found, in load order (shipped first), and one problem line per skipped file."""

    themes: list[Theme] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    sources: dict[str, Path] = field(default_factory=dict)
    """Theme name -> the file it was read from."""
    user_names: set[str] = field(default_factory=set)
    """The themes read from the user's folder (a shipped name among them: the user's file replaced it)."""

    def names(self) -> list[str]:
        return [theme.name for theme in self.themes]

    def get(self, name: str) -> Theme | None:
        for theme in self.themes:
            if theme.name == name:
                return theme
        return None


def user_themes_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "loratui" / "themes"


def shipped_themes_dir() -> Path:
    return data_dir("themes")


def parse_theme(data: dict[str, Any], path: str | os.PathLike) -> Theme:
    """Check one parsed theme file and build the Theme; ThemeFileError lists every issue on one line."""
    issues: list[str] = []
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in ALLOWED_KEYS:
            close = difflib.get_close_matches(key, ALLOWED_KEYS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            issues.append(f"unknown key '{key}'{hint}: remove or rename it")
            continue
        problem = _check_field(key, value)
        if problem:
            issues.append(problem)
        else:
            values[key] = dict(value) if key == "variables" else value
    name = data.get("name")
    if name is None:
        issues.insert(0, "no 'name': add a line like name = \"my-theme\"")
    if "primary" not in data:
        issues.append("no 'primary' colour: add a line like primary = \"#7aa2f7\"")
    if issues:
        raise ThemeFileError(f"{path}: " + "; ".join(issues))
    return Theme(**values)


def _check_field(key: str, value: Any) -> str | None:
    if key == "name":
        if not isinstance(value, str) or not _NAME_RE.match(value):
            return f"name {value!r} is not usable: use letters, digits, '-' and '_', starting with a letter"
        return None
    if key in COLOUR_FIELDS:
        return _check_colour(key, value)
    if key in _BOOL_FIELDS:
        if not isinstance(value, bool):
            return f"'{key}' is {value!r}: write true or false"
        return None
    if key in _FRACTION_FIELDS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            return f"'{key}' is {value!r}: write a number from 0 to 1"
        return None
    if key == "variables":
        return _check_variables(value)
    return None


def _check_colour(key: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return f"'{key}' is {value!r}: write a colour in quotes, such as \"#7aa2f7\""
    try:
        Color.parse(value)
    except ColorParseError:
        return f"'{key}' = {value!r} is not a colour: use \"#rrggbb\", \"rgb(r,g,b)\" or a colour name"
    return None


def _check_variables(table: Any) -> str | None:
    if not isinstance(table, dict):
        return "'variables' must be a table: write it as a [variables] section"
    bad: list[str] = []
    for name, value in table.items():
        if not _VARIABLE_RE.match(name):
            bad.append(f"variable name '{name}' (use lowercase letters, digits and '-')")
        elif not isinstance(value, str):
            bad.append(f"variable '{name}' = {value!r} (write the value in quotes)")
        elif _COLOURISH_RE.match(value.strip()):
            try:
                Color.parse(value.strip())
            except ColorParseError:
                bad.append(f"variable '{name}' = {value!r} (not a colour)")
    if bad:
        return "bad " + ", ".join(bad) + ": fix the [variables] table"
    return None


def load_theme_file(path: str | os.PathLike) -> Theme:
    """Read and check one theme file; ThemeFileError (one line, naming the file) when unusable."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ThemeFileError(f"{path}: not valid TOML ({exc}): fix the syntax or remove the file") from exc
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ThemeFileError(f"{path}: cannot be read ({reason}): check its permissions") from exc
    return parse_theme(data, path)


def _scan(folder: Path, found: dict[str, Theme], sources: dict[str, Path], problems: list[str]) -> None:
    """Add the themes of one folder; within a folder the first file (by name) defining a theme wins."""
    if not folder.is_dir():
        return
    seen_here: dict[str, Path] = {}
    for path in sorted(folder.glob("*.toml")):
        if path.name.startswith(".") or not path.is_file():
            continue
        try:
            theme = load_theme_file(path)
        except ThemeFileError as exc:
            problems.append(str(exc))
            continue
        if theme.name in seen_here:
            problems.append(
                f"{path}: theme '{theme.name}' is already defined by {seen_here[theme.name].name}: "
                "rename one of them"
            )
            continue
        seen_here[theme.name] = path
        found[theme.name] = theme
        sources[theme.name] = path


def load_themes(user_dir: str | os.PathLike | None = None) -> ThemeCatalog:
    """Every shipped theme, then every user theme (replacing a shipped one of the same name)."""
    found: dict[str, Theme] = {}
    sources: dict[str, Path] = {}
    problems: list[str] = []
    try:
        shipped = shipped_themes_dir()
    except FileNotFoundError as exc:
        problems.append(f"{exc}: reinstall loratui to get its themes back")
    else:
        _scan(shipped, found, sources, problems)
    user = Path(user_dir) if user_dir is not None else user_themes_dir()
    user_sources: dict[str, Path] = {}
    _scan(user, found, user_sources, problems)
    sources.update(user_sources)
    return ThemeCatalog(themes=list(found.values()), problems=problems, sources=sources,
                        user_names=set(user_sources))


def register_themes(app: App, catalog: ThemeCatalog) -> None:
    """Register every theme of the catalog (a later registration of a name replaces an earlier one)."""
    for theme in catalog.themes:
        app.register_theme(theme)


def apply_theme(app: App, name: str, fallback: str = DEFAULT_THEME) -> str | None:
    """Switch the app to theme ``name``; when it is not registered use ``fallback`` and return a problem line."""
    available = app.available_themes
    if name in available:
        app.theme = name
        return None
    chosen = fallback if fallback in available else "textual-dark"
    app.theme = chosen
    return (
        f"theme '{name}' is not installed: using '{chosen}'; pick another with \"Theme\" in the "
        f"command palette, or add {name}.toml to {user_themes_dir()}"
    )


def remember_theme_changes(app: App, settings_file: str | os.PathLike | None = None) -> None:
    """Save the theme to the user settings file whenever it changes from now on.

    Call it once the app is running (in ``on_mount``), after the start-up theme is applied: the
    theme active at that moment is not saved again, so a fallback theme never replaces the
    user's choice in the file. A write failure is shown once as a warning notification.
    """
    from loratui.tui.services.user_settings import update_settings

    state = {"last": app.theme, "warned": False}

    def on_theme_changed(theme: Theme) -> None:
        # Textual publishes after the change, deferred: skip a stale notice (a newer change follows).
        if theme.name == state["last"] or theme.name != app.theme:
            return
        state["last"] = theme.name
        try:
            update_settings(settings_file, theme=theme.name)
        except OSError as exc:
            if not state["warned"]:
                state["warned"] = True
                app.notify(
                    f"Could not save the theme choice: {exc}. It will apply to this session only.",
                    severity="warning",
                )

    app.theme_changed_signal.subscribe(app, on_theme_changed)
