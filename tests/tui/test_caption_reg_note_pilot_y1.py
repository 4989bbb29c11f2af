"""The Caption screen names the reg images a run leaves out (h5 item 6): the overwrite question says how
many, where and the command that captions them (from the app's reg rows), and the run's end says it too
(its summary line, and the notification with the whole line, from the CLI's `reg_left_out`). Pilot, the
tiny WD14 tagger."""

from __future__ import annotations

from fixtures.pilot_wait import until
from fixtures.reg_rows import add_reg
from fixtures.tui_dataset import make_dataset

from loratui.tui.screens.caption_overwrite import reg_line_of_store
from loratui.tui.screens.config_dialogs import ChoiceDialog
from loratui.tui.services.caption_runs import caption_runner
from loratui.tui.widgets.caption_progress import CaptionRunPanel
from tests.tui.test_caption_hunt_s10 import notes, run_app, store  # noqa: F401 (fixture)


def test_the_question_and_the_end_of_the_run_name_the_reg_images_left_out(tmp_path, store):  # noqa: F811
    project = make_dataset(tmp_path / "proj")
    add_reg(project)  # reg/1_person: p1 captioned, p2 not
    reg = project / "reg"
    line = (f"2 reg image(s) in {reg} are not captioned by this run (1 has no caption): to caption them, run "
            f"loratui caption wd14 {reg} with the same options")

    async def scenario(app, pilot, screen):
        await until(pilot, lambda: app.store.captions_loaded and app.store.reg_rows, "the rows, reg ones too")
        assert reg_line_of_store(app.store, "wd14", False, ".txt") == line
        assert reg_line_of_store(app.store, "wd14", False, ".caption").endswith(  # another extension: not counted
            "are not captioned by this run: to caption them, run " f"loratui caption wd14 {reg} with the same options")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the overwrite question")
        assert "5 of 6 images have a caption already (.txt files)" in app.screen.body
        assert app.screen.body.endswith(f"skip captions only the others. {line}.")
        await pilot.press("s")  # skip those: the one image without a caption is captioned
        runner = caption_runner(app)
        await until(pilot, lambda: runner.run is not None and not runner.run.active, "the run ends", 30)
        assert runner.run.summary().endswith("; 2 reg image(s) left out")
        status = str(screen.query_one(CaptionRunPanel).query_one("#run-status").render())
        assert "2 reg image(s) left out" in status
        await pilot.pause(0.2)
        assert line in notes(app)

    run_app(tmp_path, project, scenario)
    assert not (reg / "1_person" / "p2.txt").exists()  # the reg images stay as they were
