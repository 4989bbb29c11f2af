"""The Caption screen's overwrite question (screens.caption_overwrite) words the count as before, and a
read-only caption's failure names the form's "Rewrite read-only" switch, not the CLI's --force
(Pilot, a real child run of the tiny WD14 tagger; the CLI keeps its own wording)."""

from __future__ import annotations

import asyncio
import stat

import pytest
from fixtures.pilot_wait import until
from fixtures.read_only_caption import project  # noqa: F401 - the project fixture

from loratui.captioners.existing_captions import ExistingCaptions
from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.caption import CaptionScreen
from loratui.tui.screens.caption_overwrite import CaptionOverwriteQuestion, overwrite_question
from loratui.tui.screens.config_dialogs import ChoiceDialog
from loratui.tui.services.caption_models import app_wording
from loratui.tui.services.caption_runs import caption_runner
from loratui.tui.widgets.caption_progress import results_text


def test_the_question_text_is_unchanged():
    assert overwrite_question(ExistingCaptions(1234, 20000, ".caption"), True) == (
        "1,234 of 20,000 images have a caption already (.caption files, all subfolders). Overwrite replaces "
        "them (ctrl+z on the Dataset screen puts the whole run back); append merges the new tags in; skip "
        "captions only the others.")
    assert "(.txt files)." in overwrite_question(ExistingCaptions(1, 2, ".txt"), False)
    assert issubclass(CaptionScreen, CaptionOverwriteQuestion)


def test_the_app_names_the_switch_where_the_cli_names_the_flag(tmp_path):
    from loratui.core.captions import check_rewritable
    from loratui.core.errors import LoratuiError

    path = tmp_path / "a.txt"
    path.write_text("a\n")
    path.chmod(stat.S_IRUSR)
    with pytest.raises(LoratuiError) as info:
        check_rewritable(path)
    cli = str(info.value)
    assert cli.endswith("or pass --force to rewrite it anyway")  # the CLI's words stay
    assert app_wording(cli) == cli.replace("or pass --force to rewrite it anyway",
                                           "or turn on Rewrite read-only (Writing) to rewrite it anyway")


def test_a_read_only_caption_failure_names_the_rewrite_switch(tmp_path, project):
    locked = project / "img" / "3_x" / "r.txt"
    shown: list[str] = []

    async def main():
        app = LoratuiApp(locate_dataset(project), settings_file=tmp_path / "tui.toml", keymap_file=tmp_path / "k.toml",
                         watch=False)
        async with app.run_test(size=(80, 24)) as pilot:
            app.add_mode("caption2", CaptionScreen)
            await app.switch_mode("caption2")
            await until(pilot, lambda: app.screen.model_ok, "model check")
            await pilot.press("ctrl+r")
            await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the overwrite question")
            assert "1 of 2 images have a caption already (.txt files)" in app.screen.body
            await pilot.press("o")
            runner = caption_runner(app)
            await until(pilot, lambda: runner.run is not None and not runner.run.active, "the run", 30)
            assert runner.run.failed_count == 1 and runner.run.captioned == 1, runner.run.summary()
            shown.append(str(results_text(runner.run, app.store.root)))
            shown.append(str(app.screen.query_one("#run-list").render()))

    asyncio.run(main())
    assert locked.read_text(encoding="utf-8") == "hand written\n"  # not rewritten
    for text in shown:
        assert "read-only caption file, not rewritten" in text
        assert "turn on Rewrite read-only (Writing) to rewrite it anyway" in text and "--force" not in text
