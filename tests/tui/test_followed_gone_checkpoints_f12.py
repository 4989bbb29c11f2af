"""Checkpoints of the latest run deleted by hand still showed as present in the Train screen's list (f12 #1):
a snapshot now stats each LoRA file (``checkpoints_on_disk``), and the follower looks again every few
seconds while the run is not live, when no event comes to redraw the list."""

from __future__ import annotations

import asyncio

from textual.app import App

from fixtures.followed_run_files import half_gone_run, write_run
from fixtures.pilot_wait import until
from loratui.core.events import events_path
from loratui.tui.services.runs import FollowedRun, RunService, RunUpdated


def test_a_snapshot_marks_a_deleted_checkpoint_gone(tmp_path):
    out = tmp_path / "out"
    write_run(out, 3)
    run = FollowedRun(out, "x")
    run.feed([line.encode() for line in events_path(out, "x").read_text().splitlines()])
    assert [c.gone for c in run.snapshot().checkpoints] == [False, False, False]
    (out / "x-000002.safetensors").unlink()
    assert [c.gone for c in run.snapshot().checkpoints] == [False, True, False]
    assert run.gone_checkpoints() == {out / "x-000002.safetensors"}


def test_a_snapshot_of_400_checkpoints_marks_the_200_gone(tmp_path):
    """Each snapshot stats every save (how long 400 take is bench/tui_latency.py's)."""
    out = half_gone_run(tmp_path / "out")
    run = FollowedRun(out, "x")
    run.feed([line.encode() for line in events_path(out, "x").read_text().splitlines()])
    snapshot = run.snapshot()
    assert len(snapshot.checkpoints) == 400 and sum(c.gone for c in snapshot.checkpoints) == 200
    assert [c.gone for c in snapshot.checkpoints[:4]] == [True, False, True, False]


class Host(App):
    def __init__(self) -> None:
        super().__init__()
        self.service = RunService(self)
        self.service.EARLIER_REFRESH = 0.3
        self.updates: list = []

    def on_run_updated(self, message: RunUpdated) -> None:
        self.updates.append(message.snapshot)


def test_a_finished_run_shows_a_checkpoint_deleted_while_followed_as_gone(tmp_path):
    out = tmp_path / "out"
    write_run(out, 2)
    app = Host()

    def latest():
        return app.updates[-1] if app.updates else None

    async def scenario():
        async with app.run_test() as pilot:
            app.service.follow(out, "x")
            await until(pilot, lambda: (s := latest()) and s.caught_up and s.status == "finished", "finished", 20)
            assert not any(c.gone for c in latest().checkpoints)
            (out / "x-000001.safetensors").unlink()
            snap = await until(pilot, lambda: (s := latest()) and any(c.gone for c in s.checkpoints) and s,
                               "the deleted checkpoint shown gone", 10)
            assert [c.gone for c in snap.checkpoints] == [True, False]
            posted = len(app.updates)
            await pilot.pause(1.5)  # nothing changed since: no more updates
            assert len(app.updates) == posted

    asyncio.run(scenario())
