"""Theme data files: shipped themes, user overrides, broken files, and applying them to an app."""

from __future__ import annotations

import asyncio
import tomllib

from textual.app import App, ComposeResult
from textual.widgets import Static

from loratui.tui.services.themes import (
    COLOUR_FIELDS,
    apply_theme,
    load_themes,
    register_themes,
    remember_theme_changes,
    shipped_themes_dir,
    user_themes_dir,
)
from loratui.tui.services.user_settings import load_settings

SHIPPED = {"loratui-dark", "loratui-light", "loratui-high-contrast"}


def _write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_themes_load_without_problems(tmp_path):
    catalog = load_themes(user_dir=tmp_path / "none")
    assert catalog.problems == []
    assert SHIPPED <= set(catalog.names())
    assert len(catalog.themes) >= 3


def test_shipped_themes_are_complete():
    """Every shipped theme sets every main colour and the same loratui variables."""
    required_colours = set(COLOUR_FIELDS) - {"boost"}
    variable_sets = {}
    for path in sorted(shipped_themes_dir().glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        assert required_colours <= set(data), f"{path.name} lacks {required_colours - set(data)}"
        assert isinstance(data["dark"], bool)
        variable_sets[path.name] = {name for name in data["variables"] if name in
                                    ("tag-chip", "tag-chip-selected", "loss-line", "loss-smoothed")}
    assert all(names == {"tag-chip", "tag-chip-selected", "loss-line", "loss-smoothed"}
               for names in variable_sets.values()), variable_sets


def test_high_contrast_uses_only_black_white_yellow():
    catalog = load_themes(user_dir=None)
    theme = catalog.get("loratui-high-contrast")
    assert theme is not None and theme.dark
    colours = {getattr(theme, name).lower() for name in COLOUR_FIELDS if getattr(theme, name)}
    colours |= {value.lower() for value in theme.variables.values() if value.startswith("#")}
    assert colours <= {"#000000", "#ffffff", "#ffff00"}


def test_broken_user_theme_is_skipped_with_one_line(tmp_path):
    user = tmp_path / "themes"
    bad_colour = _write(user, "bad-colour.toml", 'name = "bad"\nprimary = "#12345G"\n')
    bad_toml = _write(user, "bad-toml.toml", 'name = "oops\nprimary = "#ffffff"\n')
    no_name = _write(user, "no-name.toml", 'primary = "#ffffff"\n')
    typo = _write(user, "typo.toml", 'name = "typo"\nprimery = "#ffffff"\nprimary = "#ffffff"\n')
    _write(user, "good.toml", 'name = "good"\nprimary = "#ffffff"\n[variables]\ntag-chip = "#000000"\n')
    (user / "notes.txt").write_text("not a theme")

    catalog = load_themes(user_dir=user)
    assert "good" in catalog.names()
    assert not {"bad", "typo"} & set(catalog.names())
    assert len(catalog.problems) == 4
    assert all("\n" not in line for line in catalog.problems)
    by_file = {path: [line for line in catalog.problems if line.startswith(str(path))]
               for path in (bad_colour, bad_toml, no_name, typo)}
    assert all(len(lines) == 1 for lines in by_file.values()), by_file
    assert "'primary'" in by_file[bad_colour][0] and "not a colour" in by_file[bad_colour][0]
    assert "not valid TOML" in by_file[bad_toml][0]
    assert "no 'name'" in by_file[no_name][0]
    assert "did you mean 'primary'" in by_file[typo][0]
    # shipped themes are unaffected
    assert SHIPPED <= set(catalog.names())


def test_bad_values_are_reported(tmp_path):
    user = tmp_path / "themes"
    path = _write(user, "x.toml", 'name = "has space"\nprimary = 3\ndark = "yes"\ntext_alpha = 2\n'
                                  '[variables]\nloss-line = "#zzz"\nBad_Name = "#ffffff"\n')
    catalog = load_themes(user_dir=user)
    (line,) = catalog.problems
    assert line.startswith(f"{path}: ")
    for fragment in ("name 'has space'", "'primary' is 3", "'dark'", "'text_alpha'", "loss-line", "Bad_Name"):
        assert fragment in line


def test_user_theme_replaces_shipped_one(tmp_path):
    user = tmp_path / "themes"
    path = _write(user, "mine.toml", 'name = "loratui-dark"\nprimary = "#ff0000"\ndark = true\n')
    catalog = load_themes(user_dir=user)
    assert catalog.problems == []
    assert catalog.names().count("loratui-dark") == 1
    assert catalog.get("loratui-dark").primary == "#ff0000"
    assert catalog.sources["loratui-dark"] == path
    assert catalog.user_names == {"loratui-dark"}  # the palette calls it "your theme (mine.toml)"


def test_duplicate_name_in_user_folder_is_a_problem(tmp_path):
    user = tmp_path / "themes"
    _write(user, "a.toml", 'name = "same"\nprimary = "#ff0000"\n')
    second = _write(user, "b.toml", 'name = "same"\nprimary = "#00ff00"\n')
    catalog = load_themes(user_dir=user)
    assert catalog.get("same").primary == "#ff0000"
    (line,) = catalog.problems
    assert line.startswith(str(second)) and "a.toml" in line


def test_default_user_dir_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert user_themes_dir() == tmp_path / "loratui" / "themes"
    _write(tmp_path / "loratui" / "themes", "xdg.toml", 'name = "xdg-theme"\nprimary = "#123456"\n')
    assert "xdg-theme" in load_themes().names()


class ThemedApp(App):
    def compose(self) -> ComposeResult:
        yield Static("hello")


def test_register_apply_and_remember(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    settings_file = tmp_path / "loratui" / "tui.toml"

    async def scenario():
        app = ThemedApp()
        async with app.run_test(size=(80, 24)) as pilot:
            register_themes(app, load_themes())
            assert SHIPPED <= set(app.available_themes)
            assert apply_theme(app, "loratui-high-contrast") is None
            assert app.theme == "loratui-high-contrast"
            problem = apply_theme(app, "no-such-theme")
            assert app.theme == "loratui-dark"
            assert "no-such-theme" in problem and "\n" not in problem

            remember_theme_changes(app)
            await pilot.pause()
            assert not settings_file.exists()  # the start-up theme is not written back
            app.theme = "loratui-light"
            await pilot.pause()
            await pilot.pause()
        settings, problems = load_settings()
        assert problems == []
        assert settings.theme == "loratui-light"

    asyncio.run(scenario())
