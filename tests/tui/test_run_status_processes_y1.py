"""A `train --processes N` run launched from the app: the app follows the launcher (torchrun's agent, its
Popen), while rank 0 writes the events and holds the lock. Once rank 0 wrote `finished` (a stop) the
launcher goes on for seconds ending the other ranks; that was shown STARTING ("loading the model and the
dataset…") as the launcher's pid is not run_started's. It is ENDING, then STOPPED / FINISHED (h5 item 1)."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

from loratui.core.events import make_event
from loratui.tui.services.followed_run import FollowedRun
from loratui.tui.services.run_following import RunFollowing, launch_rank0, process_running, session_pid
from loratui.tui.widgets.run_status import status_lines

LAUNCHER, RANK0, LAUNCHED = 8036, 8040, 1000.0


def _line(event: str, when: float, **fields) -> bytes:
    return (json.dumps({**make_event(event, **fields), "time": when}) + "\n").encode()


def _started(when: float, pid: int, launched_at: float) -> bytes:
    return _line("run_started", when, config="/p/c.toml", output_dir="/p/out", output_name="x", model={},
                 dataset={}, schedule={"total_steps": 40, "epochs": 20, "processes": 2}, resumed_from=None,
                 pid=pid, launched_at=launched_at)


def _steps(first: int, last: int, start: float) -> list[bytes]:
    return [_line("step", start + s, step=s, total_steps=40, epoch=1, loss=0.5, avg_loss=0.5, lr=1e-3,
                  images_per_s=2.0, eta_s=60.0) for s in range(first, last + 1)]


def _stopped(when: float, step: int) -> bytes:
    return _line("finished", when, reason="stopped", step=step, epoch=1, output="/p/out/x.safetensors",
                 elapsed_s=8.0)


def _launched(tmp_path, launcher: int = LAUNCHER) -> FollowedRun:
    run = FollowedRun(tmp_path / "out", "x")
    run.process = SimpleNamespace(pid=launcher, poll=lambda: None)  # the launcher this app started
    run.launched_at = LAUNCHED
    return run


def _text(run: FollowedRun, pid) -> str:
    run.status = RunFollowing._status(run, session_pid(run, pid))
    return "".join(part for part, _ in status_lines(run.snapshot(session_pid(run, pid))))


def test_a_stopped_two_process_run_is_ending_while_its_launcher_exits_not_starting(tmp_path):
    run = _launched(tmp_path)
    assert RunFollowing._status(run, LAUNCHER) == "starting"  # rank 0 has not written its run_started yet
    run.feed([_started(LAUNCHED + 5, RANK0, LAUNCHED), *_steps(1, 8, LAUNCHED + 10)])
    assert RunFollowing._status(run, RANK0) == "live"  # rank 0 holds the lock: alive() gives its pid
    run.feed([_stopped(LAUNCHED + 20, 8)])
    assert RunFollowing._status(run, RANK0) == "ending"  # rank 0 still exiting, holding the lock
    # rank 0 let go of the lock; the launcher ends rank 1 (about 8 s): alive() gives the launcher's pid
    assert launch_rank0(run, LAUNCHER) == RANK0 and session_pid(run, LAUNCHER) == LAUNCHER
    text = _text(run, LAUNCHER)
    assert run.status == "ending" and "ENDING" in text and "STARTING" not in text
    assert "loading the model" not in text and "step 8" in text
    run.process, run.exit_code = None, 0  # the launcher exited 0: the stop saved the LoRA
    run.status = RunFollowing._status(run, None)
    assert run.status == "finished" and "STOPPED" in "".join(part for part, _ in status_lines(run.snapshot(None)))


def test_a_resume_with_two_processes_loads_then_goes_live_then_ends(tmp_path):
    run = _launched(tmp_path)
    earlier = LAUNCHED - 600  # the session stopped before: its rank 0, its launch
    run.feed([_started(earlier + 5, 7000, earlier), *_steps(1, 8, earlier + 10), _stopped(earlier + 20, 8)])
    # the new launcher loads; its rank 0 wrote nothing yet: the record is the session before it
    assert launch_rank0(run, LAUNCHER) is None
    assert RunFollowing._status(run, LAUNCHER) == "starting"
    assert RunFollowing._status(run, RANK0) == "starting"  # rank 0 took the lock, its run_started not read yet
    run.feed([_started(LAUNCHED + 5, RANK0, LAUNCHED), *_steps(9, 12, LAUNCHED + 10)])
    assert RunFollowing._status(run, RANK0) == "live"
    run.feed([_stopped(LAUNCHED + 20, 12)])
    assert RunFollowing._status(run, session_pid(run, LAUNCHER)) == "ending"


def test_rank0_ended_without_finished_is_ending_then_crashed(tmp_path):
    """Rank 0 died (its lock released or stale) and the launcher ends the others: not "loading"; once the
    launcher is gone too, crashed (as before)."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # reaped: its pid runs no more
    run = _launched(tmp_path)
    run.feed([_started(LAUNCHED + 5, dead.pid, LAUNCHED), *_steps(1, 5, LAUNCHED + 10)])
    assert not process_running(dead.pid)
    assert session_pid(run, LAUNCHER) == LAUNCHER
    assert RunFollowing._status(run, LAUNCHER) == "ending"
    run.process, run.exit_code = SimpleNamespace(pid=LAUNCHER, poll=lambda: 1), 1
    assert RunFollowing._status(run, None) == "crashed"


def test_rank0_running_with_its_lock_gone_is_live_under_its_own_pid(tmp_path):
    """The output folder deleted under the run takes the lock with it: alive() gives the launcher's pid,
    while rank 0 (running) goes on: live, its pid shown and its clock ticking."""
    import os

    run = _launched(tmp_path)
    run.feed([_started(LAUNCHED + 5, os.getpid(), LAUNCHED), *_steps(1, 5, LAUNCHED + 10)])
    assert process_running(os.getpid())
    assert session_pid(run, LAUNCHER) == os.getpid()
    assert RunFollowing._status(run, session_pid(run, LAUNCHER)) == "live"
    assert f"pid {os.getpid()}" in _text(run, LAUNCHER)


def test_one_process_and_runs_launched_elsewhere_are_as_before(tmp_path):
    run = _launched(tmp_path, launcher=RANK0)  # one process: the app's Popen is the run itself
    run.feed([_started(LAUNCHED + 5, RANK0, LAUNCHED), *_steps(1, 3, LAUNCHED + 10), _stopped(LAUNCHED + 20, 3)])
    assert launch_rank0(run, RANK0) is None and RunFollowing._status(run, RANK0) == "ending"
    attached = FollowedRun(tmp_path / "out", "x")  # `loratui attach`: no process of its own, the lock's owner
    attached.feed([_started(LAUNCHED + 5, RANK0, LAUNCHED), *_steps(1, 3, LAUNCHED + 10)])
    assert session_pid(attached, RANK0) == RANK0 and RunFollowing._status(attached, RANK0) == "live"
