"""A new run on an output name the app already follows (or that holds a finished run) shows only the new
run: not the last run's checkpoints and loss, which the new run overwrites. No training process: the
events files are written here the way `loratui train` rotates and writes them."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from textual.app import App

from fixtures.pilot_wait import until
from loratui.core.events import EventFollower, events_path
from loratui.tui.services.runs import RunService, RunUpdated

RECORDED = Path(__file__).resolve().parents[1] / "data" / "run_recorded.events.jsonl"


class Host(App):
    def __init__(self) -> None:
        super().__init__()
        self.service = RunService(self)
        self.updates: list = []

    def on_run_updated(self, message: RunUpdated) -> None:
        self.updates.append(message.snapshot)


def _latest(app, run):
    return next((s for s in reversed(app.updates) if s.key == run.key), None)


def _new_run_lines(out: Path) -> str:
    started = json.loads(RECORDED.read_text().splitlines()[0])
    started.update(output_dir=str(out), config=str(out / "config.toml"))
    started["schedule"]["total_steps"] = 10
    step = {"event": "step", "time": 1.0, "step": 1, "total_steps": 10, "epoch": 1, "loss": 0.9, "avg_loss": 0.9,
            "lr": 0.001, "images_per_s": 1.0, "eta_s": 9.0, "peak_vram_gib": None}
    return json.dumps(started) + "\n" + json.dumps(step) + "\n"


@pytest.mark.parametrize("pause", [0.0, 0.6], ids=["rotated-at-once", "rotated-later"])
def test_a_fresh_start_forgets_the_last_run_and_reads_the_new_file(tmp_path, pause):
    out = tmp_path / "out"
    out.mkdir()
    text = RECORDED.read_text().replace("{OUT}", str(out)).replace("{PROJECT}", str(tmp_path))
    events_path(out, "tiny").write_text(text.replace("{MODEL}", str(tmp_path / "model")))
    app = Host()

    async def scenario():
        async with app.run_test() as pilot:
            run = app.service.follow(out, "tiny")
            old = await until(pilot, lambda: (s := _latest(app, run)) and s.caught_up and s.status == "finished" and s,
                              "the finished run read", 30)
            assert old.checkpoints and old.step == 48
            # what start() does for a new run: the file's identity taken before the launch
            again = app.service.follow(out, "tiny", fresh=EventFollower(events_path(out, "tiny")).identity())
            assert again is run
            now = run.snapshot()
            assert now.checkpoints == () and now.step == 0 and run.view() == {} or not any(run.view().values())
            if pause:
                await pilot.pause(pause)  # the follower skips the old file: nothing of it comes back
                assert run.snapshot().checkpoints == ()
            os.replace(events_path(out, "tiny"), out / "tiny.events.1.jsonl")  # the new run's rotation
            events_path(out, "tiny").write_text(_new_run_lines(out))
            new = await until(pilot, lambda: (s := run.snapshot()).step == 1 and s, "the new run's step", 30)
            assert new.total_steps == 10 and new.checkpoints == ()

    asyncio.run(scenario())


def test_lines_read_before_a_reset_are_not_fed_after_it(tmp_path):
    """The follower read a chunk of the last run, then follow(fresh=...) reset the run: that chunk must
    not land in the new run's record (it showed the last run's steps under a refused new one)."""
    from loratui.tui.services.runs import FollowedRun

    run = FollowedRun(tmp_path, "tiny")
    skip, generation = run.take_skip()
    lines = [line.encode() for line in RECORDED.read_text().splitlines()[:5]]
    run.reset(skip=(1, 2))
    assert run.feed(lines, generation) == [] and run.snapshot().step == 0
    assert run.take_skip() == ((1, 2), run.generation)
    run.feed(lines, run.generation)
    assert run.snapshot().step == 4
