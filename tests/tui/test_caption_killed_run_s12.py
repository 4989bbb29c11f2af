"""A caption child that dies without reporting (kill -9, the OOM killer): the app names the signal,
finds what it wrote in the undo journal on disk, and offers undo and resume as for a cancel; the
resume continues the run with the CLI's --resume (s12 user-test of captioning)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset
from fixtures.wd14_tiny import make_wd14_model
from PIL import Image

from loratui.captioners.resume import run_description
from loratui.core.captions import ChangeWriter
from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.caption import CaptionScreen
from loratui.tui.services.caption_runs import CaptionRun, CaptionRunner, caption_runner, resume_args
from loratui.tui.widgets.caption_progress import results_text

COMMAND = ["python", "-m", "loratui", "caption", "wd14", "", "--model", "m", "--mode", "append", "--json-events"]


def killed_run(root: Path, **kw) -> CaptionRun:
    run = CaptionRun("wd14", [*COMMAND[:5], str(root), *COMMAND[6:]], **kw)
    run.exit_code = -signal.SIGKILL
    return run


def test_a_killed_run_names_the_signal_counts_its_captions_and_offers_undo_and_resume(tmp_path):
    root = tmp_path / "img"
    (root / "5_a").mkdir(parents=True)
    run = killed_run(root, phase="running")
    with ChangeWriter(root, run_description("wd14", "append")) as writer:
        for i in range(3):
            writer.write(root / "5_a" / f"{i}.txt", b"1girl\n")
    run.phase = CaptionRunner._end_phase(run)
    assert run.phase == "failed"
    assert run.error == ("the caption command was killed by SIGKILL (out of memory? try a smaller Batch size); it "
                         "had written 3 caption(s): 'caption: resume' (ctrl+p) continues the run")
    assert run.journal.endswith("000001.json") and run.resumable
    lines = results_text(run, root).plain.splitlines()
    assert any(line.startswith("undo: 1 (Dataset) then ctrl+z") for line in lines)
    assert any(line.startswith("resume: ctrl+p, 'caption: resume'") for line in lines)
    captioner, folder, args = resume_args(run)
    assert (captioner, folder) == ("wd14", root)
    assert args == ["--model", "m", "--mode", "append", "--resume"]


def test_a_killed_run_that_wrote_nothing_and_an_older_run_are_not_confused(tmp_path):
    root = tmp_path / "img"
    (root / "5_a").mkdir(parents=True)
    with ChangeWriter(root, run_description("wd14", "append")) as writer:  # an earlier run
        writer.write(root / "5_a" / "0.txt", b"1girl\n")
    run = killed_run(root, phase="running", started_wall=time.time() + 5)
    run.phase = CaptionRunner._end_phase(run)
    assert run.phase == "failed"
    assert run.error.startswith("the caption command was killed by SIGKILL") and "written" not in run.error
    assert run.journal is None and not run.resumable and resume_args(run) is None
    crashed = killed_run(root, phase="running", started_wall=time.time() + 5)
    crashed.exit_code = -signal.SIGSEGV
    CaptionRunner._end_phase(crashed)
    assert crashed.error == "the caption command crashed (SIGSEGV)"


def test_kill_9_of_the_child_in_the_app_then_resume(tmp_path, monkeypatch):
    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    make_wd14_model(tmp_path / "store" / "wd14" / "Tiny__wd-tiny")
    img = make_dataset(tmp_path / "proj") / "img"
    folder = img / "3_big"
    folder.mkdir()
    Image.new("RGB", (1600, 1600), (20, 40, 230)).save(folder / "big_000.png")
    for i in range(1, 30):  # slow enough to be killed half-way
        (folder / f"big_{i:03d}.png").write_bytes((folder / "big_000.png").read_bytes())
    app = LoratuiApp(locate_dataset(tmp_path / "proj"), settings_file=tmp_path / "tui.toml",
                     keymap_file=tmp_path / "k.toml", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            app.add_mode("caption2", CaptionScreen)
            await app.switch_mode("caption2")
            screen = app.screen
            await until(pilot, lambda: screen.model_ok or screen.model_problem, "model check")
            screen.query_one("#opt-mode").value = "append"
            await pilot.press("ctrl+r")
            runner = caption_runner(app)
            await until(pilot, lambda: runner.run is not None and runner.run.captioned >= 2, "two captions", 30)
            run = runner.run
            if runner._proc is None:  # a busy machine: the run ended (and its child was reaped) before the kill
                pytest.skip("the caption run ended before it could be killed")
            try:
                os.kill(runner._proc.pid, signal.SIGKILL)
            except ProcessLookupError:  # a busy machine: the child captioned every image before the kill
                pytest.skip("the caption run ended before it could be killed")
            await until(pilot, lambda: not run.active, "the kill", 10)
            assert run.phase == "failed" and "killed by SIGKILL (out of memory?" in run.summary()
            assert run.found_written >= 2 and "undo: 1 (Dataset) then ctrl+z" in str(
                screen.query_one("#run-list").render())
            await pilot.press("ctrl+p", *"caption: resume", "enter")
            await until(pilot, lambda: runner.run is not run and not runner.run.active, "resumed run", 60)
            resumed = runner.run
            assert resumed.phase == "done", resumed.summary()
            assert "--resume" in resumed.command_line and "--mode append" in resumed.command_line
            assert resumed.skipped == run.found_written and resumed.resume_of
            # every image has the tags, the user's captions kept first (append)
            for image in sorted(img.glob("*/*.png")):
                assert "1girl" in image.with_suffix(".txt").read_text(), image

    asyncio.run(main())


def test_resume_without_a_run_this_session_says_there_is_none_to_resume(tmp_path, monkeypatch):
    """After a restart the app looks the run up as the CLI does (captioners.resume): with no interrupted
    run its one line says so and nothing starts."""
    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    make_wd14_model(tmp_path / "store" / "wd14" / "Tiny__wd-tiny")
    make_dataset(tmp_path / "proj")
    app = LoratuiApp(locate_dataset(tmp_path / "proj"), settings_file=tmp_path / "tui.toml",
                     keymap_file=tmp_path / "k.toml", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            app.add_mode("caption2", CaptionScreen)
            await app.switch_mode("caption2")
            screen = app.screen
            await until(pilot, lambda: screen.model_ok or screen.model_problem, "model check")
            screen.action_resume()
            said = lambda: [n.message for n in app._notifications if "no caption run" in n.message]  # noqa: E731
            await until(pilot, said, "the line saying there is nothing to resume", 10)
            assert "no caption run in its undo journal to resume" in said()[0]
            assert caption_runner(app).run is None

    asyncio.run(main())
