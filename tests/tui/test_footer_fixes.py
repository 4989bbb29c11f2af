"""The Footer forgets removed keys and is rebuilt only when what it shows changes (footer_fixes):
every cursor move on the Dataset table refreshed the bindings, and Textual 8.2 kept ~20 dead
FooterKeys a move (ten bursts of 40 moves: 220 ms a key instead of 75)."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static
from textual.widgets._footer import FooterKey

from loratui.tui.widgets import footer_fixes


class Pad(Static, can_focus=True):
    BINDINGS = [Binding("x", "flip", "Flip"), Binding("y", "other", "Other")]
    on = True

    def check_action(self, action, parameters):
        return self.on if action == "other" else True


class Host(App):
    def compose(self) -> ComposeResult:
        yield Pad("pad")
        yield Footer()


def _watchers(footer: Footer) -> int:
    return sum(len(v) for v in getattr(footer, "__watchers", {}).values())


def test_refreshes_that_change_nothing_keep_the_footer_and_its_watchers() -> None:
    footer_fixes.install()

    async def main() -> None:
        app = Host()
        async with app.run_test() as pilot:
            pad = app.query_one(Pad)
            pad.focus()
            await pilot.pause()
            footer = app.query_one(Footer)
            keys = list(footer.query(FooterKey))
            for _ in range(30):
                pad.refresh_bindings()
                await pilot.pause()
            assert list(footer.query(FooterKey)) == keys  # nothing shown changed: not rebuilt
            pad.on = False  # what is shown changes: rebuilt
            for _ in range(30):
                pad.on = not pad.on
                pad.refresh_bindings()
                await pilot.pause()
            assert _watchers(footer) <= 2 * len(list(footer.query(FooterKey))) + 2  # no dead keys kept
            assert str(list(footer.query(FooterKey))[0].description) == "Flip"

    asyncio.run(main())


class Crowded(Static, can_focus=True):
    BINDINGS = [Binding(k, f"act_{k}", f"Action {k}") for k in "abcdefgh"]


class Wide(App):
    BINDINGS = [Binding("question_mark", "help", "Help")]

    def compose(self) -> ComposeResult:
        yield Crowded("pad")
        yield Footer()

    def action_help(self) -> None:
        pass


def _keys(app) -> list[FooterKey]:
    return list(app.query_one(Footer).query(FooterKey))


def test_keys_that_do_not_fit_drop_the_palette_key_then_put_help_first() -> None:
    footer_fixes.install()

    async def main() -> None:
        app = Wide()
        async with app.run_test(size=(160, 10)) as pilot:
            app.query_one(Crowded).focus()
            await pilot.pause()
            keys = _keys(app)
            assert keys[-1].has_class("-command-palette")  # everything fits at 160 columns
            assert keys[0].description == "Action a"
            await pilot.resize_terminal(110, 10)  # 8 keys and help fit without the palette key
            await pilot.pause()
            await pilot.pause()
            keys = _keys(app)
            assert not any(k.has_class("-command-palette") for k in keys)
            assert keys[0].description == "Action a" and keys[-1].description == "Help"
            await pilot.resize_terminal(60, 10)  # they do not: help goes first
            await pilot.pause()
            await pilot.pause()
            assert _keys(app)[0].description == "Help"
            await pilot.resize_terminal(160, 10)
            await pilot.pause()
            await pilot.pause()
            assert _keys(app)[-1].has_class("-command-palette")

    asyncio.run(main())
