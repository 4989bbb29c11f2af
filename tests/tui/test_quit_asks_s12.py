"""ctrl+q asks before it stops a caption run or drops text typed into an open dialog (s12 navigation
user-test: both quit at once, 584 of 1000 captions written and the child gone; a bulk form's tags lost)."""

from __future__ import annotations

import asyncio

from fixtures.pilot_wait import until
from test_train_screen import make_app, make_project

from loratui.tui.screens.bulk_op import BulkOpScreen
from loratui.tui.screens.config_dialogs import ChoiceDialog
from loratui.tui.services.caption_runs import CaptionRun, caption_runner


def _run(app, scenario, size=(80, 24)) -> None:
    async def main():
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await scenario(pilot)

    asyncio.run(main())


async def _question(pilot, app) -> ChoiceDialog:
    return await until(pilot, lambda: isinstance(app.screen, ChoiceDialog) and app.screen, "the quit question")


def test_quit_during_a_caption_run_asks_and_names_the_undo(tmp_path):
    config = make_project(tmp_path)
    app = make_app(tmp_path, config)
    folder = str(tmp_path / "img")

    async def scenario(pilot):
        runner = caption_runner(app)
        runner.run = CaptionRun("wd14", ["python", "-m", "loratui", "caption", "wd14", folder, "--json-events"],
                                phase="running", done=168, to_caption=416)
        await pilot.press("ctrl+q")
        dialog = await _question(pilot, app)
        assert "A caption run is at 168/416: quitting stops it" in dialog.body
        assert f"undo with 1 (Dataset) then ctrl+z / loratui tags undo {folder}" in dialog.body
        assert dialog.choices == [("q", "stop it and quit")]
        await pilot.press("escape")  # stay: the run goes on
        await until(pilot, lambda: not isinstance(app.screen, ChoiceDialog), "closed")
        assert app.is_running
        await pilot.press("ctrl+q")
        await _question(pilot, app)
        await pilot.press("ctrl+q")  # asked already: no second question over the first
        await pilot.pause()
        assert sum(isinstance(s, ChoiceDialog) for s in app.screen_stack) == 1
        runner.run.phase = "done"  # it ended meanwhile: the next ctrl+q quits at once
        await pilot.press("escape", "ctrl+q")
        await until(pilot, lambda: not app.is_running, "quit at once")

    _run(app, scenario)


def test_quit_with_tags_typed_in_a_bulk_form_asks_and_a_remembered_form_does_not(tmp_path):
    config = make_project(tmp_path)
    app = make_app(tmp_path, config)

    async def scenario(pilot):
        await until(pilot, lambda: app.screen.query("#images"), "the dataset screen")
        await pilot.press("plus")
        await until(pilot, lambda: isinstance(app.screen, BulkOpScreen), "the add form")
        await pilot.pause()
        await pilot.press(*"mytrigger, another")
        await pilot.press("ctrl+q")
        dialog = await _question(pilot, app)
        assert "'mytrigger, another' typed in the Add tags dialog, not applied: quitting drops it." in dialog.body
        assert dialog.choices == [("q", "drop it and quit")]
        await pilot.press("escape")  # back in the form, the text still there
        await until(pilot, lambda: isinstance(app.screen, BulkOpScreen), "the form again")
        await pilot.press("escape")  # the form closes, remembering what was typed
        await until(pilot, lambda: not isinstance(app.screen, BulkOpScreen), "the form closed")
        await pilot.press("plus")
        await until(pilot, lambda: isinstance(app.screen, BulkOpScreen), "the add form again")
        await pilot.pause()
        await pilot.pause()
        await pilot.press("ctrl+q")  # it opened with the remembered text: nothing new to lose
        await until(pilot, lambda: not app.is_running, "quit at once")

    _run(app, scenario)
