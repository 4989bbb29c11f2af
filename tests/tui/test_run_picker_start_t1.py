"""README: "press 4 then s to train". With an earlier run in the output folder, 4 opens the runs picker
by itself; `s` there starts a new run as enter on "+ start a new run" does (user test h15 #2), on the
key keymap.toml gives train.start, which the picker's line and hint name."""

from __future__ import annotations

import asyncio

from test_train_screen import make_app, make_project, open_train, write_recorded
from textual.app import App

from fixtures.pilot_wait import until
from loratui.tui.screens.run_picker import RunPicker, StartDialog


def test_s_in_the_picker_4_opened_shows_the_start_dialog(tmp_path):
    config = make_project(tmp_path)
    write_recorded(tmp_path)  # an earlier run: the Train screen opens the picker on its own
    app = make_app(tmp_path, config)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_train(app, pilot)
            picker = await until(pilot, lambda: isinstance(app.screen, RunPicker) and app.screen, "the run picker")
            options = picker.query_one("#run-options")
            assert str(options.get_option_at_index(0).prompt) == "+ start a new run from config.toml (s)"
            await pilot.press("s")
            dialog = await until(pilot, lambda: isinstance(app.screen, StartDialog) and app.screen, "start dialog")
            assert dialog.dialog_title == "start a new run from config.toml"
            assert screen.run is None  # nothing followed, nothing started: the dialog shows the command first

    asyncio.run(main())


class Host(App):
    def __init__(self, picker: RunPicker, keymap: dict[str, str] | None = None) -> None:
        super().__init__()
        self.picker, self.keymap, self.result = picker, keymap, "open"

    async def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        await self.push_screen(self.picker, callback=lambda result: setattr(self, "result", result))


def _detail(app) -> str:
    return str(app.screen.query_one("#run-detail").render())


def test_a_moved_start_key_is_the_one_named_and_the_one_that_starts(tmp_path):
    async def main():
        app = Host(RunPicker([], [tmp_path], "config.toml"), {"train.start": "S"})
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, RunPicker) and "S or enter" in _detail(app), "hint")
            options = app.screen.query_one("#run-options")
            assert str(options.get_option_at_index(0).prompt).endswith(" (S)")
            await pilot.press("s")
            await pilot.pause()
            assert app.result == "open" and isinstance(app.screen, RunPicker)
            await pilot.press("S")
            await until(pilot, lambda: app.result != "open", "dismissed")
            assert app.result == ("new", None)

    asyncio.run(main())


def test_without_a_config_s_starts_nothing(tmp_path):
    async def main():
        app = Host(RunPicker([], [tmp_path], None))
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, RunPicker), "picker")
            await pilot.press("s")
            await pilot.pause()
            assert app.result == "open" and isinstance(app.screen, RunPicker)

    asyncio.run(main())
