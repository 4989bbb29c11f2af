"""The app's 'caption: resume' of an overwrite run asks before replacing captions the run did not write,
as a start does (it skipped the question), and names the run it resumes (review r1 #2)."""

from __future__ import annotations

import asyncio

from fixtures.caption_resume import caption_dataset, stop_after
from fixtures.pilot_wait import until
from fixtures.wd14_tiny import make_wd14_model

from loratui.captioners.existing_captions import ExistingCaptions
from loratui.captioners.resume import RunAttempt
from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.caption import CaptionScreen
from loratui.tui.screens.caption_overwrite import resume_question
from loratui.tui.screens.config_dialogs import ChoiceDialog
from loratui.tui.services.caption_runs import caption_runner

USER = "hand written\n"


def test_the_resume_question_names_the_run():
    text = resume_question(ExistingCaptions(3, 10, ".txt"), "resuming the wd14 run (overwrite) of 2 min ago")
    assert text.startswith("resuming the wd14 run (overwrite) of 2 min ago. 3 of 10 images have a caption it did "
                           "not write (.txt files).")


def test_resuming_an_overwrite_run_asks_first(tmp_path, monkeypatch):
    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    tagger = make_wd14_model(tmp_path / "store" / "wd14" / "Tiny__wd-tiny")
    img = caption_dataset(tmp_path / "proj" / "img", 4, concept="3_x", color=(30, 30, 200), user_caption=USER,
                          captioned={3})
    # stopped after i0: an interrupted overwrite run
    stop_after(tagger, img, "overwrite", 1, RunAttempt(img, "wd14", "overwrite"))
    app = LoratuiApp(locate_dataset(tmp_path / "proj"), settings_file=tmp_path / "tui.toml",
                     keymap_file=tmp_path / "k.toml", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            app.add_mode("caption2", CaptionScreen)
            await app.switch_mode("caption2")
            screen = app.screen
            await until(pilot, lambda: screen.model_ok or screen.model_problem, "model check")
            screen.action_resume()
            await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the overwrite question", 10)
            assert caption_runner(app).run is None  # nothing started before the answer
            assert any("resuming the wd14 run (overwrite)" in n.message for n in app._notifications)
            await pilot.press("s")  # skip those: a new run that leaves the user's caption alone
            runner = caption_runner(app)
            await until(pilot, lambda: runner.run is not None and not runner.run.active, "the run", 60)
            assert "--mode" in runner.run.command and "skip" in runner.run.command
            assert "--resume" not in runner.run.command
            assert (img / "3_x" / "i3.txt").read_text() == USER
            assert all((img / "3_x" / f"i{i}.txt").is_file() for i in range(3))

    asyncio.run(main())
