"""The help screen lists the active bindings of the screen it was opened from."""

from __future__ import annotations

import asyncio
import io

from rich.console import Console
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Label, Static

from loratui.tui.screens.help import HelpScreen, collect_help, show_help


class Pad(Static, can_focus=True):
    """A focusable widget with its own keys."""

    BINDINGS = [
        Binding("a", "add", "Add tag", tooltip="Add a tag to the selected images", id="pad.add"),
        Binding("d", "delete", "Delete tag", show=False, id="pad.delete"),
    ]

    def action_add(self) -> None:
        pass

    def action_delete(self) -> None:
        pass


class DemoScreen(Screen):
    TITLE = "Captions"
    BINDINGS = [
        Binding("s", "save", "Save", id="demo.save"),
        Binding("u", "undo", "Undo", show=False, id="demo.undo"),
        Binding("z", "secret", "", show=False),  # no description: not listed
    ] + [Binding(f"ctrl+{c}", "noop", f"Filler action {c}", id=f"demo.fill_{c}") for c in "efghijklmnoprtvwy"]

    def compose(self) -> ComposeResult:
        yield Label("demo")
        yield Pad("pad", id="pad")

    def action_save(self) -> None:
        pass

    def action_undo(self) -> None:
        pass

    def action_noop(self) -> None:
        pass


class DemoApp(App):
    BINDINGS = [
        Binding("f1,question_mark", "help", "Help", tooltip="Show every key", id="app.help"),
    ]

    def on_mount(self) -> None:
        self.push_screen(DemoScreen())

    def action_help(self) -> None:
        show_help(self)


def _group(groups, prefix):
    matches = [group for group in groups if group.title.startswith(prefix)]
    assert len(matches) == 1, [group.title for group in groups]
    return matches[0]


def test_help_lists_focused_screen_and_app_bindings():
    async def scenario():
        app = DemoApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            app.screen.query_one("#pad").focus()
            await pilot.pause()
            await pilot.press("f1")
            await pilot.pause()
            help_screen = app.screen
            assert isinstance(help_screen, HelpScreen)
            groups = help_screen.groups
            titles = [group.title for group in groups]
            assert titles[0] == "Pad (focused)"
            assert titles[-1] == "Everywhere"
            assert titles.index("Captions screen") < titles.index("Everywhere")

            pad = {entry.description: entry for entry in _group(groups, "Pad").entries}
            assert pad["Add tag"].keys == "a"
            assert pad["Add tag"].tooltip == "Add a tag to the selected images"
            assert "Delete tag" in pad  # hidden from the footer, still listed

            screen_entries = {entry.description: entry for entry in _group(groups, "Captions").entries}
            assert {"Save", "Undo", "Focus Next"} <= set(screen_entries)
            assert all(entry.description for entry in screen_entries.values())  # "z" left out

            app_entries = {entry.description: entry for entry in _group(groups, "Everywhere").entries}
            assert app_entries["Help"].keys == "f1 / ?"
            assert app_entries["Help"].tooltip == "Show every key"
            # the id keymap.toml uses is shown beside each binding that has one (README promises it)
            from loratui.tui.screens.help import _group_table

            from rich.console import Console

            console = Console(width=100, record=True)
            console.print(_group_table(_group(groups, "Everywhere"), 12))
            assert "[app.help]" in console.export_text()
            assert "Quit" in app_entries

            # fits at 80x24 and scrolls
            dialog = help_screen.query_one("#help-dialog")
            assert dialog.region.right <= 80 and dialog.region.bottom <= 24
            body = help_screen.query_one("#help-body")
            assert body.has_focus
            assert body.max_scroll_y > 0
            await pilot.press("pagedown")
            await pilot.pause()
            assert body.scroll_y > 0

            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, DemoScreen)

    asyncio.run(scenario())


def test_help_closes_with_each_key_and_reflects_keymap():
    async def scenario():
        app = DemoApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            for key in ("q", "question_mark", "f1", "escape"):
                await pilot.press("question_mark")
                await pilot.pause()
                assert isinstance(app.screen, HelpScreen)
                await pilot.press(key)
                await pilot.pause()
                assert isinstance(app.screen, DemoScreen), key

            app.set_keymap({"demo.save": "ctrl+s"})
            show_help(app)
            await pilot.pause()
            save = {e.description: e for e in _group(app.screen.groups, "Captions").entries}["Save"]
            assert save.keys == "^s"
            show_help(app)  # a second call closes it
            await pilot.pause()
            assert isinstance(app.screen, DemoScreen)

    asyncio.run(scenario())


def test_collect_help_without_focus_has_screen_then_app():
    async def scenario():
        app = DemoApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            app.screen.set_focus(None)
            await pilot.pause()
            titles = [group.title for group in collect_help(app.screen)]
            assert titles == ["Captions screen", "Everywhere"]

    asyncio.run(scenario())


def test_textual_scroll_keys_of_the_focused_widget_come_after_the_screens_own():
    """Caption's help opened with "Vertical scroll #run-results (focused)" and ten scroll keys; the
    screen's own keys (all with loratui ids) came only after PgDn."""
    from textual.containers import VerticalScroll

    class ScrollScreen(DemoScreen):
        def compose(self) -> ComposeResult:
            yield VerticalScroll(Label("results"), id="run-results")

    async def scenario():
        app = DemoApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await app.push_screen(ScrollScreen())
            app.screen.query_one("#run-results").focus()
            await pilot.pause()
            titles = [group.title for group in collect_help(app.screen)]
            assert titles.index("Run results (focused)") > titles.index(next(t for t in titles if "screen" in t))

    asyncio.run(scenario())


def test_startup_problems_head_the_help_and_an_app_key_the_keymap_gave_a_screen_is_marked():
    """The start-up problems' toasts go after a few seconds: the help keeps them, first. With
    "app.help" = "s" the screen's own s (save) is nearer, so help has no key here: still listed."""
    async def scenario():
        app = DemoApp()
        app.startup_problems = ["themes/bad.toml: not valid TOML: fix it"]
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            app.screen.set_focus(None)
            app.set_keymap({"app.help": "s"})
            await pilot.pause()
            help_screen = show_help(app)
            await pilot.pause()
            body = help_screen.query_one("#help-body")
            assert [child.id for child in body.children[:2]] == ["help-problems-title", "help-problems"]
            console = Console(width=100, file=io.StringIO(), color_system=None)
            console.print(body.children[1].content)
            assert "! themes/bad.toml: not valid TOML: fix it" in console.file.getvalue()
            everywhere = {e.binding_id: e for e in _group(help_screen.groups, "Everywhere").entries}
            assert (everywhere["app.help"].keys, everywhere["app.help"].no_key) == ("no key", "'s' runs demo.save")

    asyncio.run(scenario())
