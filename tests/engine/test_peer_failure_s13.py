"""Several processes, one fails: the first process names that process and its line (its note, run_peers.py)
in one error event, not the broken all-reduce as "a bug in loratui"; the processes meet before the first
one takes the lock (a process that never comes leaves no stale lock, no empty events file); a later
process of the same launch does not refuse its launch's own lock (train's preflight)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from loratui.core.errors import LoratuiError
from loratui.core.events import RunLock, events_path, lock_path, read_events
from loratui.engine import run_peers
from test_train import make_project, of

GLOO = ("[/__w/pytorch/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:553] Connection closed by peer "
        "[127.0.0.1]:34213. This is typically caused by a remote worker crashing.")


@pytest.fixture
def launch(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "launch-1")
    return tmp_path / "cache" / "loratui"


def test_collective_failures_are_told_from_bugs():
    import torch.distributed as dist

    assert run_peers.is_collective_failure(RuntimeError(GLOO), 2)
    assert run_peers.is_collective_failure(dist.DistBackendError("NCCL communicator was aborted"), 4)
    assert run_peers.is_collective_failure(RuntimeError("[Rank 0] Watchdog caught collective operation timeout"), 2)
    assert not run_peers.is_collective_failure(RuntimeError(GLOO), 1)  # one process: nothing collective
    assert not run_peers.is_collective_failure(RuntimeError("boom in the step"), 2)
    assert not run_peers.is_collective_failure(ValueError("closed by peer"), 2)


def test_the_failed_process_is_named_with_its_own_line_and_log(launch):
    since = time.time()
    run_peers.leave_note(1, "process 1: internal error: RuntimeError: injected (details in /c/train-crash-1.log)")
    notes = run_peers.read_notes(2, 0, since, wait_s=0)
    assert notes == {1: "process 1: internal error: RuntimeError: injected (details in /c/train-crash-1.log)"}
    assert not list(launch.glob("train-launch-1-process*")), "a note read is removed"
    message, hint = run_peers.peer_failure(2, 0, 4, notes)
    assert message == "process 1 failed at step 5: internal error: RuntimeError: injected"
    assert hint.startswith("details in /c/train-crash-1.log;") and "bug" not in hint


def test_a_killed_process_leaves_no_note_and_is_said_so(launch):
    since = time.time()
    old = run_peers.note_path(1)
    old.parent.mkdir(parents=True)
    old.write_text("process 1: an earlier launch's line\n")
    os.utime(old, (since - 60, since - 60))  # the same run id, an earlier launch: not this one's
    started = time.monotonic()
    assert run_peers.read_notes(2, 0, since, wait_s=0.3) == {}
    assert time.monotonic() - started >= 0.3
    message, hint = run_peers.peer_failure(2, 0, 0, {})
    assert message.startswith("process 1 stopped answering before the first step: killed")
    assert "torchrun's summary" in hint


def _two_process_run(config, monkeypatch, failure: BaseException):
    """A Run as process 0 of 2 whose training breaks with ``failure`` (no process group: both patched)."""
    import torch

    from loratui.engine.run import Run

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setattr(Run, "_setup_distributed", lambda self: torch.device("cpu"))

    def train(self, schedule):
        self.training_began = True
        raise failure

    monkeypatch.setattr(Run, "_train", train)
    return Run(str(config), show_progress=False)


def test_a_peer_failure_is_one_error_event_naming_it_not_a_bug(tiny_sd1_dir, tmp_path, launch, monkeypatch, capsys):
    config = make_project(tmp_path, tiny_sd1_dir)
    run = _two_process_run(config, monkeypatch, RuntimeError(GLOO))
    run_peers.leave_note(1, "process 1: internal error: RuntimeError: injected failure on rank 1 "
                            "(details in /c/train-crash-2.log)")
    assert run.execute() == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: [" not in err and "a bug" not in err
    assert "error: process 1 failed before the first step: internal error: RuntimeError: injected failure" in err
    events = read_events(events_path(tmp_path / "out", "tiny"))
    error = of(events, "error")[0]
    assert error["kind"] == "process" and error["message"].startswith("process 1 failed")
    assert error["hint"].startswith("details in /c/train-crash-2.log")
    assert of(events, "finished")[0]["reason"] == "error"
    assert not lock_path(tmp_path / "out", "tiny").exists()
    # torchrun's SIGTERM to the survivor after the failure: no promise of a save
    run._on_signal(signal.SIGTERM, None)
    assert "saving" not in capsys.readouterr().err


def test_a_stop_signal_with_several_processes_does_not_promise_a_sure_save(tiny_sd1_dir, tmp_path, monkeypatch,
                                                                           capsys):
    from types import SimpleNamespace

    config = make_project(tmp_path, tiny_sd1_dir)
    run = _two_process_run(config, monkeypatch, RuntimeError("unused"))
    run.training_began, run.trainer = True, SimpleNamespace(stop_requested=False)
    run._on_signal(signal.SIGTERM, None)
    assert run.trainer.stop_requested
    err = capsys.readouterr().err
    assert "once all 2 processes reach it" in err and "finishing the current step" not in err


def test_the_processes_meet_before_the_lock_and_the_events_file(tiny_sd1_dir, tmp_path, monkeypatch):
    """A process that never joins (refused, killed): the first one, waiting to meet it, holds nothing."""
    from loratui.engine.run import Run

    config = make_project(tmp_path, tiny_sd1_dir)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")

    def never_met(self):
        assert not lock_path(tmp_path / "out", "tiny").exists()
        assert not events_path(tmp_path / "out", "tiny").exists()
        raise KeyboardInterrupt  # torchrun's SIGTERM while waiting

    monkeypatch.setattr(Run, "_setup_distributed", never_met)
    assert Run(str(config), show_progress=False).execute() == 130
    assert not lock_path(tmp_path / "out", "tiny").exists()
    assert not events_path(tmp_path / "out", "tiny").exists()


def test_a_later_process_of_the_launch_does_not_refuse_its_own_lock(tiny_sd1_dir, tmp_path, monkeypatch):
    from loratui.commands.train_cmd import _preflight

    config = make_project(tmp_path, tiny_sd1_dir)
    (tmp_path / "out").mkdir()
    lock = RunLock(lock_path(tmp_path / "out", "tiny"))
    lock.acquire()  # process 0 of the launch (this live process) holds it
    try:
        monkeypatch.setenv("RANK", "1")
        assert _preflight(str(config)).saving.output_name == "tiny"
        monkeypatch.setenv("RANK", "0")  # a second launch's first process: refused, as before
        with pytest.raises(LoratuiError, match=r"another run \(pid \d+\) is writing"):
            _preflight(str(config))
    finally:
        lock.release()
