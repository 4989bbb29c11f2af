"""Keys typed right after ctrl+g land in the "Go to field" box, in order, however fast (the f2 hunt: 4 of 20
`ctrl+g batch size` in tmux over a loaded link lost their first letters). The App's key gate
(widgets.keys_in_order) holds a key while the screen pushed before it mounts, but for at most HOLD_S: on a
busy machine the picker mounted later than that, and the letters routed to it before its box had the focus,
or to the Settings screen that had not yet opened it, reached no widget."""

from __future__ import annotations

import asyncio

from test_settings_form import run, until
from textual import events

from loratui.tui.screens.config_dialogs import PickFromList
from loratui.tui.screens.settings import SettingsScreen
from loratui.tui.widgets import keys_in_order

TEXT = "batch size"


def burst(app, keys: list[str]) -> None:
    """Queue every key at once, as a terminal hands over a fast burst (pilot.press waits between keys)."""
    for key in keys:
        character = " " if key == "space" else key if len(key) == 1 else None
        event = events.Key(key, character)
        event.set_sender(app)
        app._driver.send_message(event)


def typed(text: str) -> list[str]:
    return ["space" if c == " " else c for c in text]


async def picker_box(app, pilot) -> str:
    await until(pilot, lambda: isinstance(app.screen, PickFromList) and app.screen.is_mounted)
    box = app.screen.query_one("#list-filter")
    for _ in range(10):  # the burst has settled when the box stops changing
        await pilot.pause(0.05)
    return box.value


def test_ctrl_g_and_the_text_in_one_burst_all_land_in_the_box(tmp_path):
    async def scenario(app, pilot, root):
        for _ in range(3):
            burst(app, ["ctrl+g", *typed(TEXT)])
            assert await picker_box(app, pilot) == TEXT
            assert app.screen.query_one("OptionList").get_option_at_index(0).id == "training.train_batch_size"
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, SettingsScreen))

    run(tmp_path, scenario)


def test_keys_typed_while_the_picker_is_slow_to_mount_are_kept(tmp_path, monkeypatch):
    """A loaded machine: the picker takes longer than the key gate's HOLD_S to mount; the keys wait for it
    (the App itself waits for a screen it pushed to mount)."""
    real_mount = PickFromList.on_mount

    async def slow_mount(self) -> None:
        await asyncio.sleep(keys_in_order.HOLD_S + 0.3)
        real_mount(self)

    monkeypatch.setattr(PickFromList, "on_mount", slow_mount)

    async def scenario(app, pilot, root):
        burst(app, ["ctrl+g", *typed(TEXT)])
        assert await picker_box(app, pilot) == TEXT
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        assert app.focused is not None and app.focused.id.endswith("-train_batch_size")

    run(tmp_path, scenario)


def test_keys_that_reached_settings_after_it_asked_for_the_picker_go_into_the_box(tmp_path):
    """Settings busy when ctrl+g came (the gate let the next keys go after HOLD_S): the letters queued
    behind ctrl+g on the Settings screen, which had no use for them once the picker was on top."""
    async def scenario(app, pilot, root):
        settings = app.screen

        async def busy() -> None:  # a slow handler ahead of ctrl+g in the Settings screen's queue
            await asyncio.sleep(keys_in_order.HOLD_S + 0.3)

        settings.call_later(busy)
        burst(app, ["ctrl+g", *typed(TEXT)])
        assert await picker_box(app, pilot) == TEXT
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        assert app.focused is None  # nothing typed reached the form
        assert not app.screen.form.unsaved_edits()

    run(tmp_path, scenario)


def test_from_a_focused_field_while_settings_is_busy_no_letter_goes_into_the_field(tmp_path):
    """The same with a field focused: the letters routed before the picker opened were typed into it."""

    async def scenario(app, pilot, root):
        from test_settings_form import goto

        await goto(pilot, "seed")
        settings = app.screen
        before = settings.form.field("seed").text

        async def busy() -> None:
            await asyncio.sleep(keys_in_order.HOLD_S + 0.3)

        settings.call_later(busy)
        burst(app, ["ctrl+g", *typed("42 epochs")])
        assert await picker_box(app, pilot) == "42 epochs"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        assert settings.form.field("seed").text == before and not settings.form.unsaved_edits()

    run(tmp_path, scenario)


def test_keys_that_reach_the_picker_itself_go_into_its_box(tmp_path):
    """Keys routed to the dialog before its box had the focus (posted to it before it mounted here):
    letters are typed into the box; backspace and Enter act as in the box while it has no focus."""

    async def scenario(app, pilot, root):
        app.screen.action_goto()
        dialog = app.screen  # pushed, not mounted yet
        assert isinstance(dialog, PickFromList) and not dialog.is_mounted
        for key in typed("batch sizx"):
            dialog.post_message(events.Key(key, " " if key == "space" else key))
        await until(pilot, lambda: dialog.is_mounted and dialog.query_one("#list-filter").value == "batch sizx")
        dialog.set_focus(None)
        for key, character in (("backspace", None), ("e", "e"), ("enter", "\r")):
            dialog.post_message(events.Key(key, character))
        await until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        assert app.focused is not None and app.focused.id.endswith("-train_batch_size")

    run(tmp_path, scenario)


def test_a_keymap_that_puts_goto_on_a_letter_still_types_it_in_a_field(tmp_path):
    """ctrl+g has priority now: a letter the keymap gives goto must not be taken from a focused box."""

    async def scenario(app, pilot, root):
        from test_settings_form import goto

        app.set_keymap({"settings.goto": "ctrl+g,g"})
        await goto(pilot, "output_name")
        box = app.focused
        await pilot.press("end", "g")
        assert isinstance(app.screen, SettingsScreen) and box.value.endswith("g")
        await pilot.press("escape", "g")  # no field focused: g goes to a field
        await until(pilot, lambda: isinstance(app.screen, PickFromList))

    run(tmp_path, scenario)
