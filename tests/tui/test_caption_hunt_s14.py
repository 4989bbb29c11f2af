"""Caption screen findings of the s14 hunt (h1): 'caption: resume' takes the form's options at the first
try (Rewrite read-only), and asks when the form would shape captions otherwise than the run resumed; after
a finished run it answers with the app's start key, not the CLI's flag; ctrl+c during a caption run names
the cancel key; the help names a focused switch by its label and leaves out scroll keys that never act."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fixtures.pilot_wait import until
from fixtures.read_only_caption import HAND, project  # noqa: F401 - the project fixture
from fixtures.wd14_tiny import make_wd14_model
from PIL import Image

from loratui.captioners.resume import RunAttempt, find_interrupted_run
from loratui.core.captions import journal_dir
from loratui.core.dataset import locate_dataset
from loratui.core.errors import LoratuiError
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.caption import CaptionScreen
from loratui.tui.screens.caption_resume import differences, with_run_settings
from loratui.tui.screens.config_dialogs import ChoiceDialog
from loratui.tui.screens.help import collect_help
from loratui.tui.services.caption_runs import CaptionRun, caption_runner


def make_app(tmp_path: Path, project: Path) -> LoratuiApp:
    return LoratuiApp(locate_dataset(project), settings_file=tmp_path / "tui.toml", keymap_file=tmp_path / "k.toml",
                      watch=False)


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def resume_line(app, pilot) -> str:
    """'caption: resume' on the Caption screen where there is nothing to resume: the line the app says."""
    screen = await open_caption(app, pilot)
    screen.action_resume()
    said = lambda: [n for n in notes(app) if "nothing to resume" in n]  # noqa: E731
    await until(pilot, said, "the nothing-to-resume line", 10)
    return said()[0]


async def open_caption(app, pilot) -> CaptionScreen:
    app.add_mode("caption2", CaptionScreen)
    await app.switch_mode("caption2")
    screen = app.screen
    await until(pilot, lambda: screen.model_ok or screen.model_problem, "model check")
    return screen


async def failed_run(app, pilot):
    """ctrl+r, o: the run writes w.txt and fails on the read-only r.txt (the hunt's first step)."""
    await pilot.press("ctrl+r")
    await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the overwrite question")
    await pilot.press("o")
    runner = caption_runner(app)
    await until(pilot, lambda: runner.run is not None and not runner.run.active, "the run", 30)
    assert runner.run.failed_count == 1 and runner.run.resumable, runner.run.summary()
    return runner.run


# ---- 1. a resume takes the form's options; one that shapes captions otherwise asks -------------------

def test_the_first_resume_takes_rewrite_read_only_from_the_form(tmp_path, project):
    locked = project / "img" / "3_x" / "r.txt"
    app = make_app(tmp_path, project)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_caption(app, pilot)
            first = await failed_run(app, pilot)
            screen.query_one("#opt-force").value = True  # what the failure says to turn on
            screen.action_resume()
            await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the resume's overwrite question", 10)
            assert "resuming the wd14 run (overwrite)" in app.screen.body
            await pilot.press("o")
            runner = caption_runner(app)
            await until(pilot, lambda: runner.run is not first and not runner.run.active, "the resume", 30)
            resumed = runner.run
            assert "--force" in resumed.command and "--resume" in resumed.command, resumed.command_line
            assert resumed.phase == "done" and resumed.failed_count == 0, resumed.summary()

    asyncio.run(main())
    assert locked.read_text(encoding="utf-8") != HAND  # rewritten at the first resume


def test_a_resume_with_another_threshold_asks_and_r_keeps_the_runs(tmp_path, project):
    app = make_app(tmp_path, project)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_caption(app, pilot)
            first = await failed_run(app, pilot)
            screen.query_one("#opt-force").value = True
            screen.query_one("#opt-general_threshold").value = "0.9"
            screen.action_resume()
            await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the settings question", 10)
            body = app.screen.body
            assert app.screen.dialog_title == "settings differ from the run"
            assert "General threshold 0.9 (the run: 0.35)" in body and "ctrl+r starts a new run" in body
            assert "Rewrite read-only" in body  # the form's safe options still apply
            await pilot.press("escape")  # cancel: nothing starts
            await pilot.pause()
            assert caption_runner(app).run is first
            screen.action_resume()
            await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the settings question again", 10)
            await pilot.press("r")
            await until(pilot, lambda: isinstance(app.screen, ChoiceDialog) and "resuming" in app.screen.body,
                        "the resume's overwrite question", 10)
            await pilot.press("o")
            runner = caption_runner(app)
            await until(pilot, lambda: runner.run is not first and not runner.run.active, "the resume", 30)
            command = runner.run.command
            assert "--force" in command and "--resume" in command and "--general-threshold" not in command
            assert runner.run.phase == "done", runner.run.summary()

    asyncio.run(main())


def test_which_options_may_change_on_resume():
    run = ["--model", "/m/tagger/", "--general-threshold", "0.35", "--batch-size", "4", "--mode", "overwrite"]
    form = ["--model", "/m/tagger", "--force", "--workers", "2"]
    assert differences("wd14", run, form) == []  # force, batch size, workers: how it runs, not what it writes
    assert with_run_settings("wd14", run, form) == ["--model", "/m/tagger/", "--general-threshold", "0.35",
                                                    "--force", "--workers", "2"]
    assert differences("wd14", run, ["--model", "/other", "--remove-underscore"]) == [
        ("Model folder", "/other", "/m/tagger"), ("Underscore→space", "on", "off")]
    assert differences("blip", ["--model", "m", "--prefix", "sks"], ["--model", "m", "--device", "cpu"]) == [
        ("Prefix", "none", "sks")]


def test_the_run_record_keeps_the_options_for_a_resume_after_a_restart(tmp_path):
    train = tmp_path / "img"
    journal_dir(train).mkdir(parents=True)
    attempt = RunAttempt(train, "wd14", "append", options=["--model", "/m", "--general-threshold", "0.5"])
    attempt.begin()
    with pytest.raises(LoratuiError):  # it wrote nothing yet; the record holds the options all the same
        find_interrupted_run(train)
    assert '"options": ["--model", "/m", "--general-threshold", "0.5"]' in (
        journal_dir(train).parent / "caption-run.json").read_text()



def test_a_cli_run_records_its_options_and_the_app_compares_the_form_with_them(tmp_path, monkeypatch):
    """`loratui caption wd14` writes its options into the run record (a relative model folder made
    absolute, defaults left out), so a resume in an app started later can still tell what differs."""
    import json

    from click.testing import CliRunner

    from loratui.cli import cli

    make_wd14_model(tmp_path / "tagger")
    folder = tmp_path / "proj" / "img" / "2_x"
    folder.mkdir(parents=True)
    Image.new("RGB", (64, 64), (10, 200, 10)).save(folder / "a.png")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["caption", "wd14", "proj", "--model", "tagger", "--general-threshold", "0.5",
                                      "--remove-underscore", "--mode", "overwrite"])
    assert result.exit_code == 0, result.output
    record = json.loads((journal_dir(folder.parent).parent / "caption-run.json").read_text())
    options = record["last"]["options"]
    assert options == ["--model", str(tmp_path / "tagger"), "--general-threshold", "0.5", "--remove-underscore"]
    form = ["--model", "tagger", "--general-threshold", "0.50", "--remove-underscore", "--force"]
    assert differences("wd14", options, form) == []  # the same folder, the same threshold; force is safe
    assert [label for label, *_ in differences("wd14", options, ["--model", "tagger"])] == [
        "General threshold", "Underscore→space"]


# ---- 2. nothing to resume: the app's key, the CLI's flag -------------------------------------------------

def finished_record(train: Path) -> None:
    journal_dir(train).mkdir(parents=True)
    attempt = RunAttempt(train, "wd14", "overwrite")
    attempt.begin()
    attempt.finished()


def test_nothing_to_resume_names_ctrl_r_in_the_app_and_the_flag_in_the_cli(tmp_path, project):
    train = project / "img"
    finished_record(train)
    with pytest.raises(LoratuiError) as info:
        find_interrupted_run(train, "d2/img")
    assert str(info.value).startswith("--resume: the last caption run of d2/img (wd14, overwrite, ")
    assert str(info.value).endswith("nothing to resume; start a new run without --resume")
    assert info.value.worded(start="f5").endswith("nothing to resume; f5 starts a new run")
    app = make_app(tmp_path, project)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            line = await resume_line(app, pilot)
            assert line.endswith("finished with every image captioned: nothing to resume; ctrl+r starts a "
                                 "new run"), line
            assert "--resume" not in line
            assert caption_runner(app).run is None

    asyncio.run(main())


# ---- 3. ctrl+c during a caption run names the cancel key ---------------------------------------------

def test_ctrl_c_names_the_cancel_key_while_a_caption_run_is_busy(tmp_path, project):
    app = make_app(tmp_path, project)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_caption(app, pilot)
            screen.query_one("#run-results").focus()
            await pilot.press("ctrl+c")
            assert notes(app)[-1] == "ctrl+q quits the app (ctrl+c copies in a text box)"  # nothing runs
            runner = caption_runner(app)
            runner.run = CaptionRun("wd14", ["python", "-m", "loratui", "caption", "wd14", str(project)],
                                    phase="running")  # busy, as a run that is captioning
            await pilot.press("ctrl+c")
            assert notes(app)[-1] == ("ctrl+g cancels the caption run (after the caption being written; resumable); "
                                      "ctrl+q quits")
            runner.run.dry_run = True
            await pilot.press("ctrl+c")
            assert notes(app)[-1] == "ctrl+g cancels the caption dry run (it writes nothing); ctrl+q quits"
            runner.run.phase = "done"

    asyncio.run(main())


def test_ctrl_c_elsewhere_names_the_caption_key_and_a_tag_write_is_not_stoppable(tmp_path, project):
    app = make_app(tmp_path, project)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await app.switch_mode("caption")
            await pilot.pause()
            await app.switch_mode("dataset")
            await pilot.pause()
            app.set_focus(None)
            runner = caption_runner(app)
            runner.run = CaptionRun("wd14", ["python", "-m", "loratui", "caption", "wd14", str(project)],
                                    phase="running")
            await pilot.press("ctrl+c")
            assert notes(app)[-1].startswith("2 (Caption) then ctrl+g cancels the caption run"), notes(app)[-1]
            runner.run.phase = "done"
            dataset = app.screen
            dataset.writing = "writing 5 caption(s)…"
            try:
                await pilot.press("ctrl+c")
            finally:
                dataset.writing = None
            assert notes(app)[-1] == ("the Dataset screen's tag write cannot be stopped part-way; ctrl+q quits once "
                                      "it has finished")

    asyncio.run(main())


# ---- 4. help: a focused switch by its label; no scroll keys that never act -----------------------------

def test_help_names_the_focused_switch_by_its_label_and_drops_dead_scroll_keys(tmp_path, project):
    app = make_app(tmp_path, project)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_caption(app, pilot)
            screen.query_one("#opt-force").focus()
            await pilot.pause()
            groups = {group.title: group for group in collect_help(screen)}
            assert "Rewrite read-only (focused)" in groups, list(groups)
            assert not any(title.startswith("Opt ") for title in groups)
            form = [entry.description for entry in groups["Caption form"].entries]
            assert not {"Scroll Left", "Scroll Right", "Page Left", "Page Right"} & set(form), form
            assert "Page Down" in form  # the form scrolls up and down

    asyncio.run(main())
