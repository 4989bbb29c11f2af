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
