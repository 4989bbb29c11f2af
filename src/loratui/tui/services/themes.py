"""Colour themes as TOML data files.

Shipped themes live in ``loratui.core.resources.data_dir("themes")``; the user's own in
``$XDG_CONFIG_HOME/loratui/themes`` (beside the user presets folder). Each ``*.toml`` holds one
Textual ``Theme``: its fields as top-level keys plus an optional ``[variables]`` table::

    name = "my-theme"          # required: letters, digits, '-' and '_'
    primary = "#7aa2f7"        # required; every colour is anything textual.color.Color.parse reads
    dark = true
    background = "#1a1b26"
    [variables]                # any Textual CSS colour: "#3b4261", "#a9b1d6 60%", "auto 87%", "red"
    tag-chip = "#3b4261"

A file with a problem is skipped and reported as one line "FILE: what is wrong: what to do". A user
theme with the same name as a shipped one replaces it. Every ``[variables]`` value is checked as
Textual's CSS parser will read it (a colour; a text style for a ``*-style`` name): a value it refuses
would otherwise crash the app when the theme is applied.

loratui's own variables (``LORATUI_VARIABLES``) colour its widgets through ``THEMED_WIDGETS_CSS``;
a theme that does not set one (Textual's built-in themes) gets ``loratui_variable_defaults``: the
colours those widgets have without it.
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
from textual.css.parse import parse_declarations
from textual.theme import Theme

from loratui.core.resources import data_dir
from loratui.tui.services.table_colours import table_colour_defaults

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
# Textual's variables are colours except its text styles ("block-cursor-text-style", "link-style-hover");
# the colours named for backgrounds and borders are checked as one ("auto 87%" is text-only there)
_STYLE_VARIABLE_RE = re.compile(r"(^|-)style($|-)")
_BACKGROUND_VARIABLE_RE = re.compile(r"(^|-)(background|border|surface|panel|boost|tint|chip)($|-)")
# a value is spliced into the stylesheet as written: these would end or break the declaration
_NOT_IN_VALUES = set(";{}!\n\r")
_SUGGESTION_RE = re.compile(r"[Dd]id you mean '([^']+)'")


class ThemeFileError(ValueError):
    """A theme file is unusable; the message is one line naming the file. ``theme_name``: the name
    it gives, when it gives a usable one (so a setting naming it is told why it is missing)."""

    def __init__(self, message: str, theme_name: str | None = None) -> None:
        super().__init__(message)
        self.theme_name = theme_name


@dataclass
class ThemeCatalog:
    """The themes found, in load order (shipped first), and one problem line per skipped file."""

    themes: list[Theme] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    sources: dict[str, Path] = field(default_factory=dict)
    """Theme name -> the file it was read from."""
    user_names: set[str] = field(default_factory=set)
    """The themes read from the user's folder (a shipped name among them: the user's file replaced it)."""
    skipped: dict[str, Path] = field(default_factory=dict)
    """Theme name -> the file that names it but was skipped for a problem (listed in ``problems``)."""

    def names(self) -> list[str]:
        return [theme.name for theme in self.themes]

    def get(self, name: str) -> Theme | None:
        for theme in self.themes:
            if theme.name == name:
                return theme
        return None


def user_themes_dir() -> Path:
    from loratui.core.userdirs import user_config_dir

    return user_config_dir() / "themes"


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
        usable_name = name if isinstance(name, str) and _NAME_RE.match(name) else None
        raise ThemeFileError(f"{path}: " + "; ".join(issues), usable_name)
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
        else:
            problem = variable_value_problem(name, value)
            if problem:
                bad.append(f"variable '{name}' = {value!r} ({problem})")
    if bad:
        return "bad " + ", ".join(bad) + ": fix the [variables] table"
    return None


def variable_value_problem(name: str, value: str) -> str | None:
    """Why Textual's CSS parser refuses ``value`` for variable ``name`` (None: it reads it).

    Parsed as the declaration Textual will build from it, so exactly its forms pass: a colour
    ("#a9b1d6", "#a9b1d6 60%", "auto 87%", "ansi_red", "transparent") or, for a ``*-style`` name, a
    text style ("bold reverse", "not underline"). A background's or a border's colour cannot be "auto"."""
    is_style = bool(_STYLE_VARIABLE_RE.search(name))
    wanted = "a text style such as \"bold\"" if is_style else "a colour such as \"#7aa2f7\" or \"#7aa2f7 60%\""
    if not value.strip() or _NOT_IN_VALUES & set(value):
        return f"not {wanted}"
    prop = "text-style" if is_style else "background" if _BACKGROUND_VARIABLE_RE.search(name) else "color"
    if prop == "background" and value.split()[0].lower() == "auto":
        return f"'auto' is for text colours only, not backgrounds or borders: give {wanted}"
    try:
        parse_declarations(f"{prop}: {value};", read_from=("theme", name))
    except Exception as exc:  # noqa: BLE001 - DeclarationError, TokenError...: any refusal means unusable
        close = _SUGGESTION_RE.search(str(exc))
        hint = f"; did you mean '{close.group(1)}'?" if close else ""
        return f"not {wanted}{hint}"
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


def _scan(folder: Path, found: dict[str, Theme], sources: dict[str, Path], problems: list[str],
          skipped: dict[str, Path]) -> None:
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
            if exc.theme_name is not None:
                skipped.setdefault(exc.theme_name, path)
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
    skipped: dict[str, Path] = {}
    try:
        shipped = shipped_themes_dir()
    except FileNotFoundError as exc:
        problems.append(f"{exc}: reinstall loratui to get its themes back")
    else:
        _scan(shipped, found, sources, problems, skipped)
    user = Path(user_dir) if user_dir is not None else user_themes_dir()
    user_sources: dict[str, Path] = {}
    _scan(user, found, user_sources, problems, skipped)
    sources.update(user_sources)
    return ThemeCatalog(themes=list(found.values()), problems=problems, sources=sources,
                        user_names=set(user_sources),
                        skipped={name: path for name, path in skipped.items() if name not in found})


def register_themes(app: App, catalog: ThemeCatalog) -> None:
    """Register every theme of the catalog (a later registration of a name replaces an earlier one)."""
    for theme in catalog.themes:
        app.register_theme(theme)


def apply_theme(app: App, name: str, fallback: str = DEFAULT_THEME,
                skipped: dict[str, Path] | None = None) -> str | None:
    """Switch the app to theme ``name``; when it is not registered use ``fallback`` and return a problem
    line. ``skipped``: the catalog's skipped files (one naming ``name`` is what the line points to)."""
    available = app.available_themes
    if name in available:
        app.theme = name
        return None
    chosen = fallback if fallback in available else "textual-dark"
    app.theme = chosen
    if skipped and name in skipped:
        return (f"theme '{name}' is not usable ({skipped[name]} has a problem, listed above): using "
                f"'{chosen}' until that file is fixed")
    return (
        f"theme '{name}' is not installed: using '{chosen}'; pick another with \"Theme\" in the "
        f"command palette, or add {name}.toml to {user_themes_dir()}"
    )


def apply_startup_theme(app: App, catalog: ThemeCatalog, name: str) -> list[str]:
    """Apply the theme tui.toml names; return the theme lines to report: the catalog's problems, with
    the fallback said on the line of the skipped file that caused it (one line per file)."""
    problem = apply_theme(app, name, skipped=catalog.skipped)
    lines = list(catalog.problems)
    if problem is None:
        return lines
    if name in catalog.skipped:
        prefix = f"{catalog.skipped[name]}: "
        for index, line in enumerate(lines):
            if line.startswith(prefix):
                lines[index] = f"{line}; using '{app.theme}' until then (tui.toml names '{name}')"
                return lines
    return [*lines, problem]


def replace_refused_theme(app: App, error: Exception, good_theme: str | None) -> str:
    """Put a working theme in for the one Textual's CSS just refused (``app.theme``): ``good_theme``
    (the last one applied), else loratui-dark, else textual-dark; say so in one line (a toast, and
    listed under ?). Returns the line; re-raises ``error`` when no theme is left to try."""
    refused = app.theme
    fallback = next((name for name in (good_theme, DEFAULT_THEME, "textual-dark")
                     if name and name != refused and name in app.available_themes), None)
    if fallback is None:
        raise error  # loratui's own CSS is broken, whatever the theme
    catalog = getattr(app, "theme_catalog", None)
    line = theme_failure_line(refused, catalog.sources.get(refused) if catalog else None, error, fallback)
    # Textual marks the CSS it could not parse as invalid for good (skipped from then on); it was the
    # theme's values that failed, not the CSS: let it be parsed again
    app.stylesheet._invalid_css.clear()
    app.theme_fallback = fallback
    app.theme = fallback
    app.refresh_css(animate=False)
    app.startup_problems = [*getattr(app, "startup_problems", []), line]
    app.notify(line, title="theme not applied", severity="warning", timeout=12)
    return line


def theme_failure_line(name: str, source: Path | None, error: Exception, fallback: str) -> str:
    """One line for a theme Textual refused as it was applied (what the file check did not catch)."""
    where = f"{source}: theme '{name}'" if source is not None else f"theme '{name}'"
    detail = _css_error_detail(error)
    return (f"{where} cannot be applied ({detail}): using '{fallback}'; fix its [variables] "
            "(colours such as \"#7aa2f7\") or pick another with \"Theme\" in the command palette")


def _css_error_detail(error: Exception) -> str:
    """The first message of a StylesheetParseError, as plain words (Textual's are Rich markup)."""
    rules = getattr(getattr(error, "errors", None), "rules", None) or []
    for rule in rules:
        for _token, message in getattr(rule, "errors", ()):
            text = getattr(message, "summary", message)  # a HelpText has a summary
            return re.sub(r"\[/?[a-z ]*\]", "", str(text)).strip().rstrip(".")
    return type(error).__name__


# ---- loratui's own theme variables ---------------------------------------------------------------

LORATUI_VARIABLES = {
    # name: the Textual variable whose value it takes when the theme does not set it (the widget's look)
    "tag-chip": "block-cursor-blurred-background",   # the tag editor's current tag, list without focus
    "tag-chip-selected": "block-cursor-background",  # ... and with focus
    "loss-line": "text-muted",                       # the loss chart's raw loss (drawn faint)
    "loss-smoothed": "accent",                       # ... and its EMA (drawn bold)
}

# App-level CSS (the widgets' own DEFAULT_CSS keeps Textual's variables, so a widget works in any app)
THEMED_WIDGETS_CSS = """
EditorTagList > .option-list--option-highlighted { background: $tag-chip; }
EditorTagList:focus > .option-list--option-highlighted { background: $tag-chip-selected; }
LossChart > .loss-chart--raw { color: $loss-line; }
LossChart > .loss-chart--ema { color: $loss-smoothed; }
ImageTable > .image-table--cursor {
    background: $table-cursor-blurred-background; color: $table-cursor-blurred-foreground;
    text-style: $table-cursor-blurred-text-style;
}
ImageTable:focus > .image-table--cursor {
    background: $table-cursor-background; color: $table-cursor-foreground; text-style: $table-cursor-text-style;
}
ImageTable > .image-table--selected {
    background: $table-selected-background; color: $table-selected-foreground; text-style: $table-selected-text-style;
}
ImageTable > .image-table--selected-muted { color: $table-selected-muted; }
ImageTable > .image-table--selected-problem { color: $table-selected-problem; text-style: $table-selected-text-style; }
"""


def loratui_variable_defaults(theme: Theme) -> dict[str, str]:
    """loratui's variables for ``theme`` when it does not set them: the colours the widgets have
    without them (a Textual built-in theme, an older user theme); the image table's cursor and
    selected rows: colours chosen to read well reduced to 256 or 16 colours (services.table_colours)."""
    variables = {**theme.to_color_system().generate(), **theme.variables}
    defaults = {name: variables[source] for name, source in LORATUI_VARIABLES.items() if source in variables}
    return {**defaults, **table_colour_defaults(variables, theme.variables, ansi=theme.ansi)}


def remember_theme_changes(app: App, settings_file: str | os.PathLike | None = None) -> None:
    """Save the theme to the user settings file whenever it changes from now on.

    Call it once the app is running (in ``on_mount``), after the start-up theme is applied: the
    theme active at that moment is not saved again, so a fallback theme never replaces the
    user's choice in the file; nor is the one the app puts in for a theme Textual refused
    (``app.theme_fallback``). A write failure is shown once as a warning notification.
    """
    from loratui.tui.services.user_settings import update_settings

    state = {"last": app.theme, "warned": False}

    def on_theme_changed(theme: Theme) -> None:
        # Textual publishes after the change, deferred: skip a stale notice (a newer change follows).
        if theme.name == state["last"] or theme.name != app.theme:
            return
        if getattr(app, "theme_fallback", None) == theme.name:  # put in for a refused theme: not a choice
            app.theme_fallback = None
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
