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


async def _focused_input(app: App, pilot, value: str | None = None) -> Input:
    """The app's Input, focused (and holding ``value`` when given), once the app has settled."""
    box = app.query_one(Input)
    if value is not None:
        box.value = value
    box.focus()
    await pilot.pause()
    return box


class OneInput(App):
    def compose(self) -> ComposeResult:
        yield Input("long hair", select_on_focus=False)


def test_a_plain_input_applies_a_burst_in_order() -> None:
    keys_in_order.install()

    async def main() -> None:
        app = OneInput()
        async with app.run_test() as pilot:
            box = await _focused_input(app, pilot)
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
            _burst(app, ["end"] + ["backspace"] * 6 + list("people") + ["enter"])  # End: edit the old name
            await _settle(pilot)
            changes = [m for m in app.messages if m[0] == "changed"]
            assert changes[-1][1:] == (["1girl", "solo", "lonpeople", "smile"], "rename long hair to lonpeople")
            assert not editor.renaming

    asyncio.run(main())


def _added_tags(app: EditorApp) -> list[str]:
    return [m[1] for m in app.messages if m[0] == "changed"][-1]


def test_a_key_that_moves_focus_sends_the_letters_after_it_to_the_new_box() -> None:
    """"a" (add a tag) and "red" in one burst: the letters went to the tag list, where r renames
    and d deletes. The App now routes a key once the one before it is done."""
    keys_in_order.install()

    async def main() -> None:
        app = EditorApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            editor = app.query_one(TagEditor)
            _burst(app, [*"ared", "enter", *"blue", "enter", *"gre"])
            await _settle(pilot)
            assert _added_tags(app) == ["1girl", "red", "blue", "solo", "long hair", "smile"]
            assert not editor.renaming
            assert app.focused.id == "tag-editor-add" and app.focused.value == "gre"  # still being typed

    asyncio.run(main())


def test_enter_on_an_empty_add_box_then_a_list_key_acts_on_the_list() -> None:
    """The add box hands its Enter to the editor at once (TagInput.submit_to): the focus is back on
    the list before the next key is routed, so "d" deletes the highlighted tag, not types a d."""
    keys_in_order.install()

    async def main() -> None:
        app = EditorApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            _burst(app, ["a", *"red", "enter", "enter", "d"])
            await _settle(pilot)
            assert _added_tags(app) == ["1girl", "solo", "long hair", "smile"]
            assert [m[2] for m in app.messages if m[0] == "changed"] == ["add red", "delete red"]

    asyncio.run(main())


def test_a_key_whose_handler_never_finishes_holds_the_next_one_for_at_most_hold_s() -> None:
    keys_in_order.install()
    from textual.widgets import Static

    release = asyncio.Event()

    class Hangs(Static, can_focus=True):
        async def on_key(self, event: events.Key) -> None:
            if event.key == "x":
                self.app.query_one(Input).focus()
                await release.wait()  # a handler that hangs (until the test ends)

    class Stuck(App):
        def compose(self) -> ComposeResult:
            yield Hangs("hangs")
            yield Input()

    async def main() -> None:
        app = Stuck()
        async with app.run_test() as pilot:
            app.query_one(Hangs).focus()
            await pilot.pause()
            try:
                _burst(app, ["x", "y"])
                await asyncio.sleep(0.2)  # not pilot.pause: it waits for the hanging widget
                held = app.query_one(Input).value  # y waits behind x
                await asyncio.sleep(keys_in_order.HOLD_S)
                assert (held, app.query_one(Input).value) == ("", "y")
            finally:
                release.set()

    asyncio.run(main())


def test_a_paste_waits_its_turn_among_the_keys() -> None:
    keys_in_order.install()

    async def main() -> None:
        app = OneInput()
        async with app.run_test() as pilot:
            box = await _focused_input(app, pilot, "")
            _burst(app, ["a", "b"])
            paste = events.Paste("P")
            paste.set_sender(app)
            app._driver.send_message(paste)
            _burst(app, ["c"])
            await _settle(pilot)
            assert box.value == "abPc"

    asyncio.run(main())


def test_a_busy_app_does_not_let_a_later_key_overtake_a_queued_one() -> None:
    """The deadline ran from when a key was queued: an App busy for longer than HOLD_S let the next
    key through first (the reviewer's a, c, b)."""
    keys_in_order.install()
    from textual.message import Message

    class Busy(Message):
        pass

    class Slow(App):
        def compose(self) -> ComposeResult:
            yield Input()

        async def on_slow_busy(self, message) -> None:
            await asyncio.sleep(keys_in_order.HOLD_S + 0.2)

    Slow.on_busy = Slow.on_slow_busy

    async def main() -> None:
        app = Slow()
        async with app.run_test() as pilot:
            box = await _focused_input(app, pilot)
            _burst(app, ["a", "b"])
            busy = Busy()
            busy.set_sender(app)
            app._driver.send_message(busy)  # queued after a and b, as they are
            _burst(app, ["c"])
            for _ in range(40):
                await asyncio.sleep(0.05)
            assert box.value == "abc"

    asyncio.run(main())
