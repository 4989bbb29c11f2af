"""Start-up problems stay readable: a key bound twice in keymap.toml is named, several problems make
one toast, the help screen lists them (and the action that lost its key), the palette offers the
user's own themes."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

from rich.console import Console
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Label

from fixtures.tui_dataset import make_dataset
from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.help import PROBLEMS_TITLE, HelpScreen, _group_table, collect_help
from loratui.tui.services.keymap import class_bindings, key_clashes, keymap_clash_lines, lost_bindings
from loratui.tui.services.startup_problems import StartupProblems

CLASH = ("'t' is bound to dataset.undo (keymap.toml) and dataset.tags_pane (default): 't' runs dataset.undo; "
         "dataset.tags_pane has no key now; give one of them another key in keymap.toml")


def _app(tmp_path: Path, keymap: str = "", themes: dict[str, str] | None = None) -> LoratuiApp:
    cfg = tmp_path / "cfg"
    cfg.mkdir(parents=True, exist_ok=True)
    if keymap:
        (cfg / "keymap.toml").write_text(keymap, encoding="utf-8")
    for name, text in (themes or {}).items():
        (tmp_path / "themes").mkdir(exist_ok=True)
        (tmp_path / "themes" / name).write_text(text, encoding="utf-8")
    root = make_dataset(tmp_path / "proj")
    return LoratuiApp(locate_dataset(root), settings_file=cfg / "tui.toml", keymap_file=cfg / "keymap.toml",
                      themes_dir=tmp_path / "themes", watch=False)


async def _until(pilot, condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never came true"
        await pilot.pause(0.05)


def _printed(*renderables) -> str:
    console = Console(width=120, file=io.StringIO(), color_system=None)
    for renderable in renderables:
        console.print(renderable)
    return " ".join(console.file.getvalue().split())


def _toasts(app: App) -> list:
    return list(app._notifications)


# ---- keymap clashes ---------------------------------------------------------------------------

class Pane(Screen):
    BINDINGS = [Binding("t", "tags", "Tags", id="demo.tags"), Binding("ctrl+z,u", "undo", "Undo", id="demo.undo")]


def test_a_key_the_keymap_reuses_is_a_clash_the_default_owner_loses():
    bindings = class_bindings(Pane)
    [clash] = key_clashes(bindings, {"demo.undo": "t"})
    assert (clash.key, clash.winner.id, [loser.id for loser in clash.losers]) == ("t", "demo.undo", ["demo.tags"])
    assert set(lost_bindings(bindings, {"demo.undo": "t"})) == {"demo.tags"}
    assert key_clashes(bindings, {"demo.tags": "t"}) == []  # its own key again: no clash
    assert key_clashes(bindings, {"demo.undo": "?"}) == []


def test_two_keymap_entries_on_one_key_name_both_and_who_keeps_keys(tmp_path):
    lines = keymap_clash_lines({"demo.undo": "t", "demo.tags": "t,y"}, [Pane], tmp_path / "keymap.toml")
    assert lines == ["'t' is bound to demo.tags (keymap.toml) and demo.undo (keymap.toml): 't' runs demo.tags; "
                     "demo.undo has no key now; give one of them another key in keymap.toml"]


def test_the_keymap_giving_an_app_key_to_a_screen_is_named(tmp_path):
    """`"app.help" = "t"`: on the Dataset screen t still opens the tag list (the screen is nearer), so help
    has no key there."""
    from loratui.tui.screens.dataset import DatasetScreen

    [line] = keymap_clash_lines({"app.help": "t"}, [LoratuiApp, DatasetScreen])
    assert line.startswith("'t' is bound to dataset.tags_pane (default, the Dataset screen) and app.help "
                           "(keymap.toml, everywhere): on the Dataset screen 't' runs dataset.tags_pane; "
                           "app.help has no key there")


def test_a_key_bound_twice_is_named_at_start_and_help_keeps_the_shadowed_action(tmp_path):
    app = _app(tmp_path, '[keys]\n"dataset.undo" = "t"\n')

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await _until(pilot, lambda: _toasts(app))
            [toast] = _toasts(app)
            assert toast.title == "Start-up problem" and toast.message.startswith(CLASH)
            assert toast.severity == "warning"
            assert app.startup_problems == [CLASH]

            await pilot.press("question_mark")
            await _until(pilot, lambda: isinstance(app.screen, HelpScreen))
            help_screen = app.screen
            assert help_screen.problems == (CLASH,)
            assert str(help_screen.query_one("#help-problems-title", Label).render()) == PROBLEMS_TITLE
            entries = {e.binding_id: e for g in help_screen.groups for e in g.entries}
            tags = entries["dataset.tags_pane"]
            assert (tags.keys, tags.no_key) == ("no key", "'t' runs dataset.undo")
            assert "t" in entries["dataset.undo"].keys.split(" / ")
            shown = _printed(*(_group_table(group, 24) for group in help_screen.groups))
            assert "no key" in shown and "Tags - Every tag with its count ! no key: 't' runs dataset.undo" in shown

    asyncio.run(scenario())


def test_help_marks_only_what_the_keymap_took():
    """A key a focused text box takes, or Textual's own nearer keys, are no clash: nothing is marked."""
    from loratui.tui.screens.help import HelpEntry

    class Demo(App):
        def on_mount(self) -> None:
            self.push_screen(Pane())

    async def scenario():
        app = Demo()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert not any(e.no_key for g in collect_help(app.screen) for e in g.entries)
            app.set_keymap({"demo.undo": "t"})
            await pilot.pause()
            entries = {e.binding_id: e for g in collect_help(app.screen) for e in g.entries}
            assert entries["demo.tags"] == HelpEntry("no key", "Tags", "", False, "demo.tags", "'t' runs demo.undo")
            assert entries["demo.undo"].keys == "t" and not entries["demo.undo"].no_key

    asyncio.run(scenario())


# ---- several problems: one toast, all in the help ---------------------------------------------

def test_startup_problems_summary():
    problems = StartupProblems()
    assert problems.summary() is None
    problems.add("themes", ["a.toml: bad", "b.toml: worse"])
    problems.add("keymap.toml", [])
    problems.add("keymap.toml", ["keymap.toml: odd"])
    assert problems.lines == ["a.toml: bad", "b.toml: worse", "keymap.toml: odd"]
    assert problems.summary() == ("3 start-up problems",
                                  "2 in themes, 1 in keymap.toml: ? or f1 lists them, each with how to fix it")


def test_five_problems_make_one_lasting_toast_and_head_the_help(tmp_path):
    app = _app(tmp_path, '[keys]\n"dataset.undo" = "t"\n"no.such" = "f9"\n"app.help" = 5\n',
               themes={"a.toml": 'name = "x"\n', "b.toml": "not toml [", "c.toml": 'name = "c"\nprimary = "nope"\n'})

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await _until(pilot, lambda: _toasts(app))
            await pilot.pause()
            [toast] = _toasts(app)
            assert toast.title == "6 start-up problems"
            assert toast.message == "3 in themes, 3 in keymap.toml: ? or f1 lists them, each with how to fix it"
            assert toast.timeout >= 20
            problems = app.startup_problems
            assert len(problems) == 6 and CLASH in problems
            assert sum("a.toml" in p or "b.toml" in p or "c.toml" in p for p in problems) == 3

            await pilot.press("f1")
            await _until(pilot, lambda: isinstance(app.screen, HelpScreen))
            text = _printed(app.screen.query_one("#help-problems").content)
            assert all(f"! {' '.join(problem.split())}" in text for problem in problems)
            body = app.screen.query_one("#help-body")
            assert body.children[0].id == "help-problems-title"  # at the top of the list

    asyncio.run(scenario())


def test_no_problems_no_toast_and_no_problem_section(tmp_path):
    app = _app(tmp_path)

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.pause()
            assert _toasts(app) == [] and app.startup_problems == []
            await pilot.press("question_mark")
            await _until(pilot, lambda: isinstance(app.screen, HelpScreen))
            assert not app.screen.query("#help-problems")

    asyncio.run(scenario())


# ---- user themes in the palette ---------------------------------------------------------------

def test_palette_offers_the_users_themes_not_textuals(tmp_path):
    app = _app(tmp_path, themes={"good.toml": 'name = "hunt-good"\nprimary = "#7aa2f7"\ndark = true\n'})

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            themes = {c.title: c.help for c in app.palette_commands() if c.title.startswith("theme: ")}
            assert set(themes) == {"theme: hunt-good", "theme: loratui-dark", "theme: loratui-light",
                                   "theme: loratui-high-contrast"}
            assert themes["theme: hunt-good"] == "your theme (good.toml), remembered"

            await pilot.press("ctrl+p")
            await pilot.press(*"theme", "colon", "space", *"hunt")
            await pilot.press("enter")
            await _until(pilot, lambda: app.theme == "hunt-good")

    asyncio.run(scenario())
