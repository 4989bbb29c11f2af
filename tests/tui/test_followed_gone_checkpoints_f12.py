"""Checkpoints of the latest run deleted by hand still showed as present in the Train screen's list (f12 #1):
a snapshot now stats each LoRA file (``checkpoints_on_disk``), and the follower looks again every few
seconds while the run is not live, when no event comes to redraw the list."""

from __future__ import annotations

import asyncio
import json
import time

from textual.app import App

from fixtures.pilot_wait import until
from loratui.core.events import events_path, make_event
from loratui.tui.services.runs import FollowedRun, RunService, RunUpdated


def _events(out, saves: int, finished: bool = True) -> list[dict]:
    events = [make_event("run_started", config="/p/config.toml", output_dir=str(out), output_name="x", model={},
                         dataset={}, schedule={"total_steps": saves, "epochs": saves}, resumed_from=None, pid=1)]
    for step in range(1, saves + 1):
        events.append(make_event("checkpoint_saved", path=str(out / f"x-{step:06d}.safetensors"), kind="epoch",
                                 step=step, epoch=step))
    if finished:
        events.append(make_event("finished", reason="completed", step=saves, epoch=saves,
                                 output=str(out / "x.safetensors"), elapsed_s=1.0))
    return events


def _write(out, saves: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    events_path(out, "x").write_text("".join(json.dumps(e) + "\n" for e in _events(out, saves)))
    for step in range(1, saves + 1):
        (out / f"x-{step:06d}.safetensors").write_bytes(b"lora")


def test_a_snapshot_marks_a_deleted_checkpoint_gone(tmp_path):
    out = tmp_path / "out"
    _write(out, 3)
    run = FollowedRun(out, "x")
    run.feed([line.encode() for line in events_path(out, "x").read_text().splitlines()])
    assert [c.gone for c in run.snapshot().checkpoints] == [False, False, False]
    (out / "x-000002.safetensors").unlink()
    assert [c.gone for c in run.snapshot().checkpoints] == [False, True, False]
    assert run.gone_checkpoints() == {out / "x-000002.safetensors"}


def test_stating_400_checkpoints_is_cheap_enough_for_every_snapshot(tmp_path):
    out = tmp_path / "out"
    _write(out, 400)
    for step in range(1, 400, 2):
        (out / f"x-{step:06d}.safetensors").unlink()
    run = FollowedRun(out, "x")
    run.feed([line.encode() for line in events_path(out, "x").read_text().splitlines()])
    run.snapshot()
    began = time.perf_counter()
    for _ in range(5):
        snapshot = run.snapshot()
    each = (time.perf_counter() - began) / 5
    assert sum(c.gone for c in snapshot.checkpoints) == 200
    assert each < 0.25, f"a snapshot of 400 checkpoints took {each * 1000:.0f} ms"  # ~1 ms of stats measured


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
    _write(out, 2)
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
