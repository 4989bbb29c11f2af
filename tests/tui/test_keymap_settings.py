"""User settings (tui.toml) and keymap overrides (keymap.toml)."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Static

import loratui.core.fsutil as fsutil
from loratui.tui.services.keymap import (
    apply_keymap,
    binding_ids,
    keymap_path,
    load_keymap,
    unknown_binding_ids,
)
from loratui.tui.services.user_settings import (
    UserSettings,
    load_settings,
    save_settings,
    settings_path,
    update_settings,
)


# --- settings -------------------------------------------------------------------------------

def test_settings_path_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert settings_path() == tmp_path / "loratui" / "tui.toml"
    assert keymap_path() == tmp_path / "loratui" / "keymap.toml"


def test_missing_settings_file_gives_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert load_settings() == (UserSettings(), [])
    assert UserSettings().theme == "loratui-dark" and UserSettings().image_preview == "auto"


def test_settings_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    wanted = UserSettings(theme="loratui-high-contrast", image_preview="halfblock")
    path = save_settings(wanted)
    assert path == tmp_path / "loratui" / "tui.toml"
    assert load_settings() == (wanted, [])
    assert [p.name for p in path.parent.iterdir()] == ["tui.toml"]  # no temp file left behind


def test_unchanged_settings_are_not_rewritten(tmp_path, monkeypatch):
    path = tmp_path / "tui.toml"
    save_settings(UserSettings(theme="loratui-light"), path)
    writes = []
    real = fsutil.atomic_write_text
    monkeypatch.setattr(fsutil, "atomic_write_text", lambda *a, **k: (writes.append(a), real(*a, **k)))
    save_settings(UserSettings(theme="loratui-light"), path)
    assert writes == []
    update_settings(path, image_preview="off")
    assert len(writes) == 1
    assert load_settings(path)[0] == UserSettings(theme="loratui-light", image_preview="off")


def test_broken_settings_file_gives_defaults_and_one_problem(tmp_path):
    path = tmp_path / "tui.toml"
    path.write_text('theme = "loratui-light\n')
    settings, problems = load_settings(path)
    assert settings == UserSettings()
    assert len(problems) == 1 and problems[0].startswith(f"{path}: ") and "\n" not in problems[0]


def test_bad_setting_values_reset_only_themselves(tmp_path):
    path = tmp_path / "tui.toml"
    path.write_text('theme = "loratui-light"\nimage_preview = "hologram"\nthem = "x"\n')
    settings, problems = load_settings(path)
    assert settings == UserSettings(theme="loratui-light", image_preview="auto")
    (line,) = problems
    assert "image_preview" in line and "halfblock" in line and "did you mean 'theme'" in line

    path.write_text("theme = 3\n")
    settings, (line,) = load_settings(path)
    assert settings.theme == "loratui-dark" and "'theme' should be a string" in line


# --- keymap file ----------------------------------------------------------------------------

def test_missing_keymap_is_empty(tmp_path):
    assert load_keymap(tmp_path / "keymap.toml") == ({}, [])


def test_keymap_forms(tmp_path):
    path = tmp_path / "keymap.toml"
    path.write_text(
        '[keys]\n"tags.add" = "a"\n"app.help" = "f1, question_mark"\n'
        '"app.quit" = ["ctrl+q", "f10"]\ncaptions.save = "ctrl+s"\n'
    )
    keymap, problems = load_keymap(path)
    assert problems == []
    assert keymap == {"tags.add": "a", "app.help": "f1,question_mark",
                      "app.quit": "ctrl+q,f10", "captions.save": "ctrl+s"}


def test_keymap_bad_entries_are_skipped_with_one_line(tmp_path):
    path = tmp_path / "keymap.toml"
    path.write_text('"stray.id" = "x"\n[keys]\n"a.ok" = "?"\n"a.num" = 5\n"a.empty" = "f1,"\n'
                    '"a.space" = "ctrl + s"\n')
    keymap, problems = load_keymap(path)
    assert keymap == {"a.ok": "?"}
    (line,) = problems
    assert line.startswith(f"{path}: ")
    for fragment in ("'stray.id' is outside the [keys] table", "'a.num'", "'a.empty'", "'a.space'"):
        assert fragment in line


def test_broken_keymap_file(tmp_path):
    path = tmp_path / "keymap.toml"
    path.write_text("[keys\n")
    keymap, (line,) = load_keymap(path)
    assert keymap == {} and line.startswith(str(path)) and "not valid TOML" in line


# --- keymap in an app -----------------------------------------------------------------------

class CounterApp(App):
    BINDINGS = [
        Binding("x", "bump", "Bump", id="demo.bump"),
        Binding("r", "reset", "Reset", id="demo.reset"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def compose(self) -> ComposeResult:
        yield Static("counter")

    def action_bump(self) -> None:
        self.count += 1

    def action_reset(self) -> None:
        self.count = 0


def test_binding_ids_and_unknown_ids(tmp_path):
    assert {"demo.bump", "demo.reset"} <= binding_ids([CounterApp])
    assert unknown_binding_ids({"demo.bump": "y"}, [CounterApp]) == []
    (line,) = unknown_binding_ids({"demo.bunp": "y"}, [CounterApp], tmp_path / "k.toml")
    assert "'demo.bunp'" in line and "did you mean 'demo.bump'" in line


def test_keymap_override_changes_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    keymap_file = tmp_path / "loratui" / "keymap.toml"
    keymap_file.parent.mkdir(parents=True)
    keymap_file.write_text('[keys]\n"demo.bump" = "y,question_mark"\n')

    async def scenario():
        app = CounterApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("x")
            assert app.count == 1
            keymap, problems = load_keymap()
            assert problems == []
            apply_keymap(app, keymap)
            await pilot.press("x")
            assert app.count == 1  # the old key no longer bumps
            await pilot.press("y", "question_mark")
            assert app.count == 3
            await pilot.press("r")  # a binding not in the keymap keeps its key
            assert app.count == 0
            keys = {key for key, active in app.screen.active_bindings.items()
                    if active.binding.id == "demo.bump"}
            assert keys == {"y", "question_mark"}

    asyncio.run(scenario())


def test_the_app_names_keymap_ids_no_binding_has(tmp_path):
    """`"no.such.id" = "x"` in keymap.toml was ignored without a word; ids of screens not shown yet
    (train.stop) are known."""
    from fixtures.tui_dataset import make_dataset

    from loratui.core.dataset import locate_dataset
    from loratui.tui.app import LoratuiApp

    keymap = tmp_path / "cfg" / "keymap.toml"
    keymap.parent.mkdir(parents=True)
    keymap.write_text('[keys]\n"app.dataset" = "f2"\n"train.stop" = "X"\n"app.datset" = "f3"\n', encoding="utf-8")
    root = make_dataset(tmp_path / "proj")
    app = LoratuiApp(locate_dataset(root), settings_file=tmp_path / "cfg" / "tui.toml", keymap_file=keymap,
                     themes_dir=tmp_path / "themes", watch=False)
    seen, toasts = [], []

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            seen.extend(app.startup_problems)  # what ? / F1 lists at its top
            toasts.extend(n.title for n in app._notifications)

    asyncio.run(scenario())
    [line] = [m for m in seen if "no key binding has the id" in m]
    assert "'app.datset' (did you mean 'app.dataset'?)" in line and "train.stop" not in line
    [clash] = [m for m in seen if "'f2' is bound to" in m]  # f2 is Settings' "save as": it wins there
    assert "on the Settings screen 'f2' runs settings.save_as; app.dataset has no key there" in clash
    assert toasts == ["2 start-up problems"]  # one toast for both
