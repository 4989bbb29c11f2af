"""A burst of keys (fast typing over SSH, tmux send-keys) edits a text box in the order typed: a
backspace or an arrow is not overtaken by the letters after it (Textual #6605; keys_in_order)."""

from __future__ import annotations

import asyncio

from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Input

from loratui.tui.widgets import keys_in_order
from test_tag_editor import EditorApp, TagEditor


def _burst(app: App, keys: list[str]) -> None:
    """Queue every key at once, as a terminal delivers a fast burst (pilot.press waits between keys)."""
    for key in keys:
        event = events.Key(key, key if len(key) == 1 else None)
        event.set_sender(app)
        app._driver.send_message(event)


async def _settle(pilot) -> None:
    for _ in range(10):
        await pilot.pause(0.05)


class OneInput(App):
    def compose(self) -> ComposeResult:
        yield Input("long hair", select_on_focus=False)


def test_a_plain_input_applies_a_burst_in_order() -> None:
    keys_in_order.install()

    async def main() -> None:
        app = OneInput()
        async with app.run_test() as pilot:
            box = app.query_one(Input)
            box.focus()
            await pilot.pause()
            _burst(app, ["backspace"] * 4 + list("xyz") + ["left", "left", "delete", "home", "q"])
            await _settle(pilot)
            assert box.value == "qlong xz"
            # the Caption screen's case: ctrl+u then a path typed at once left the box empty
            _burst(app, ["end", "ctrl+u", *"/models/wd"])
            await _settle(pilot)
            assert box.value == "/models/wd"

    asyncio.run(main())


def test_renaming_a_tag_with_a_burst_while_completions_open() -> None:
    """The helper's case: the completion list opens after the first backspace, the rest still lands."""
    keys_in_order.install()

    async def main() -> None:
        app = EditorApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            editor = app.query_one(TagEditor)
            await pilot.press("down", "down", "r")
            _burst(app, ["backspace"] * 6 + list("people") + ["enter"])
            await _settle(pilot)
            changes = [m for m in app.messages if m[0] == "changed"]
            assert changes[-1][1:] == (["1girl", "solo", "lonpeople", "smile"], "rename long hair to lonpeople")
            assert not editor.renaming

    asyncio.run(main())
