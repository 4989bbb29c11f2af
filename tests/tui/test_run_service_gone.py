"""The output folder of a followed live run deleted under it: the app stayed at "● LIVE ... first step
running…" (nothing more came: the run wrote into deleted files), then showed CRASHED with only
"started (pid N)". Now it says at once that the folder was deleted, keeps the run live while its
process runs (its lock went with the folder), reads the folder the run makes again from its start,
and a run that ends while it is gone is CRASHED with that reason. No training process: a `sleep`
holds the lock, and the events are written here as the engine writes them."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time

from textual.app import App

from fixtures.pilot_wait import until
from loratui.core.events import events_path, lock_path, make_event
from loratui.tui.services.runs import FollowedRun, RunNotice, RunService, RunUpdated


class Host(App):
    def __init__(self) -> None:
        super().__init__()
        self.service = RunService(self)
        self.updates: list = []
        self.notices: list = []

    def on_run_updated(self, message: RunUpdated) -> None:
        self.updates.append(message.snapshot)

    def on_run_notice(self, message: RunNotice) -> None:
        self.notices.append(message.line)


def _started(out, pid: int, when: float) -> dict:
    event = make_event("run_started", config="/p/config.toml", output_dir=str(out), output_name="tiny", model={},
                       dataset={}, schedule={"total_steps": 26, "epochs": 2}, resumed_from=None, pid=pid)
    event["time"] = when
    return event


def _write(out, pid: int, *events: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    lock_path(out, "tiny").write_text(f"{pid} -\n")
    events_path(out, "tiny").write_text("".join(json.dumps(e) + "\n" for e in events))


def _latest(app, run):
    return next((s for s in reversed(app.updates) if s.key == run.key), None)


def test_a_deleted_output_folder_is_said_at_once_and_the_run_ending_then_keeps_the_reason(tmp_path):
    out = tmp_path / "some" / "new" / "deeper" / "out"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    started = _started(out, sleeper.pid, time.time() - 5)
    cached = make_event("cache_progress", what="caching latents", done=8, total=8, eta_s=0.0)
    _write(out, sleeper.pid, started, cached)
    app = Host()

    async def scenario():
        async with app.run_test() as pilot:
            run = app.service.follow(out, "tiny")
            # caching latents, no step yet: "starting" (it shows STARTING, not the numbers of a session before it)
            await until(pilot, lambda: (s := _latest(app, run)) and s.caught_up and s.status == "starting",
                        "starting", 30)
            shutil.rmtree(tmp_path / "some" / "new")
            await until(pilot, lambda: any("was deleted while the run was going" in n for n in app.notices),
                        "the deletion said", 10)
            assert f"tiny: the output folder {out} was deleted while the run was going" in app.notices[-1]
            snap = await until(pilot, lambda: (s := _latest(app, run)) and s.error and s, "the reason shown", 10)
            assert snap.error["kind"] == "deleted" and snap.status == "starting" and snap.pid == sleeper.pid
            assert "makes it again" in snap.error["hint"] and snap.notes[-1].startswith("the output folder")
            await pilot.pause(1.5)  # its lock is gone, its process runs: still going, not crashed
            assert run.status == "starting" and not any("gone without finishing" in n for n in app.notices)

            # the run makes the folder again (engine/run.py): its file starts with its run_started again
            step = make_event("step", step=9, total_steps=26, epoch=1, loss=0.5, avg_loss=0.5, lr=1e-3,
                              images_per_s=1.0, eta_s=20.0)
            warning = make_event("warning", message=f"the output folder {out} was deleted while the run was going "
                                                    "(step 9): made it again")
            _write(out, sleeper.pid, started, warning, step)
            snap = await until(pilot, lambda: (s := _latest(app, run)) and s.step == 9 and s, "read again", 10)
            assert snap.status == "live" and snap.checkpoints == ()
            assert any("made it again" in note for note in snap.notes)
            # what went with the folder stays said (the warning's toast is gone in seconds)
            assert snap.error["kind"] == "deleted" and snap.error["message"].startswith(f"the output folder {out}")
            assert snap.error["hint"].startswith("the run made it again and goes on")

            # deleted again, and the process ends before it makes it again: CRASHED, with the reason
            shutil.rmtree(tmp_path / "some" / "new")
            await until(pilot, lambda: (s := _latest(app, run)) and "makes it again" in s.error["hint"], "again", 10)
            sleeper.kill()
            sleeper.wait(10)
            snap = await until(pilot, lambda: (s := _latest(app, run)) and s.status == "crashed" and s, "crashed", 10)
            assert snap.error["kind"] == "deleted" and "ended while it was gone" in snap.error["hint"]
            crash = await until(pilot, lambda: next((n for n in app.notices if "gone without finishing" in n), None),
                                "the crash said", 10)
            assert f"after the output folder {out} was deleted" in crash

    try:
        asyncio.run(scenario())
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_new_run_rotating_its_events_file_is_not_a_deletion(tmp_path):
    """A new run moves NAME.events.jsonl aside and writes a new one: for an instant there is none."""
    out = tmp_path / "out"
    run = FollowedRun(out, "tiny")
    _write(out, 1, _started(out, 1, time.time()))
    events_path(out, "tiny").unlink()
    from loratui.core.events import EventFollower

    follower = EventFollower(run.key)
    follower.poll_lines()  # nothing there
    follower.offset = 100  # as if read before
    run.status = "live"
    service = RunService.__new__(RunService)
    service._post = lambda factory: (_ for _ in ()).throw(AssertionError("said"))
    assert not service._files_gone_or_back(run, follower) and run.gone is None  # missing an instant: not said
    run.missing_since -= RunService.MISSING_FOR
    service._post = lambda factory: None
    assert service._files_gone_or_back(run, follower)
    assert run.gone == f"tiny.events.jsonl was deleted from {out} while the run was going"


def test_elapsed_never_goes_back_when_the_run_stops(tmp_path):
    """"elapsed 2m26s" live became "elapsed 2m25s" stopped: the finished event's elapsed_s leaves out
    loading and caching. Both now count from run_started, and never below what was shown."""
    run = FollowedRun(tmp_path, "tiny")
    now = time.time()
    run.feed([json.dumps(_started(tmp_path, 1, now - 146.4)).encode()])
    live = run.snapshot(pid=1).elapsed_s
    assert 146.0 <= live < 148.0
    finished = make_event("finished", reason="stopped", step=4, epoch=1, output=None, elapsed_s=140.2)
    finished["time"] = now - 0.6  # written a moment before the live snapshot above was taken
    run.feed([json.dumps(finished).encode()])
    stopped = run.snapshot(pid=None).elapsed_s
    assert stopped >= live and stopped - live < 1.0
