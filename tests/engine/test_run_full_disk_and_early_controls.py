"""A run's life on the tiny model: the disk filling while the events file is written (the
run ends with exit 1, one line naming the events file and its disk, a torn line that readers skip and
no lock left), and requests made while the run was still starting (honoured at its first step; an earlier
run's are not)."""

from __future__ import annotations

import errno
import os
import time

from loratui.core.events import control_path, events_path, lock_path, read_events, request_control
from test_train import make_project, of


def test_a_disk_that_fills_while_an_event_is_written_ends_the_run_cleanly(tiny_sd1_dir, tmp_path, monkeypatch,
                                                                           capsys):
    from loratui.engine import run as run_module

    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_steps": 6})
    out = tmp_path / "out"
    run = run_module.Run(str(config), show_progress=False)
    real_write, full = os.write, {"on": False, "calls": 0}

    def write(fd, data):
        if not full["on"] or run.writer is None or fd != run.writer._fd:
            return real_write(fd, data)
        full["calls"] += 1
        if full["calls"] == 1:
            return real_write(fd, bytes(data)[:25])  # the step line is cut part-way, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    on_step = run_module.Reporter.on_step

    def filling(self, tr, **kwargs):
        if tr.step == 3:
            full["on"] = True
        return on_step(self, tr, **kwargs)

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(run_module.Reporter, "on_step", filling)
    code = run.execute()
    monkeypatch.undo()
    assert code == 1  # a failed run (train --help, README), not bad input
    assert not lock_path(out, "tiny").exists()  # released though the events file could not be closed cleanly
    data = events_path(out, "tiny").read_bytes()
    # the torn step line stays (the file never shrinks under a follower: core/events.py) and is no event
    *whole, torn = data.split(b"\n")
    assert len(torn) == 25 and torn.startswith(b'{"event": "step"')
    events = read_events(events_path(out, "tiny"))
    assert len(events) == len(whole) and [e["step"] for e in of(events, "step")] == [1, 2]
    err = capsys.readouterr().err
    line = next(line for line in err.splitlines() if line.startswith("error: "))
    assert "no space left on" in line and f"writing {events_path(out, 'tiny')}:" in line and "free" in line
    assert "Traceback" not in err


def test_requests_made_while_the_run_starts_are_honoured_and_older_ones_are_not(tiny_sd1_dir, tmp_path):
    from loratui.engine.run import Run

    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_epochs": 25})
    out = tmp_path / "out"
    out.mkdir()
    request_control(out, "tiny", "stop")  # an earlier run's: not for this one
    time.sleep(0.01)
    run = Run(str(config), show_progress=False, launched_at=time.time())  # launched: importing, loading...
    save = request_control(out, "tiny", "save")  # before the run opened its output (and the control file)
    stop = request_control(out, "tiny", "stop")
    assert control_path(out, "tiny").is_file() and run.controls is None
    code = run.execute()
    events = read_events(events_path(out, "tiny"))
    assert code == 0
    answers = {e["id"]: e for e in of(events, "control")}
    assert set(answers) == {save, stop} and all(a["status"] == "done" for a in answers.values())
    finished = of(events, "finished")[0]
    assert finished["reason"] == "stopped" and finished["step"] <= 2  # read at its first step, not 100 steps on
    assert "at step 1" in answers[save]["message"]
    assert of(events, "run_started")[0]["launched_at"] == round(run.launched_at, 3)
