"""A training run's life: the events file on a full disk (1), control requests made while a
run starts (2), elapsed time across a crash and a resume 3 h later (5). No torch."""

from __future__ import annotations

import errno
import json
import os
import time

import pytest

from loratui.core import events as events_module
from loratui.core import run_control
from loratui.core.diskspace import disk_full_message
from loratui.core.events import (LAUNCHED_AT_ENV, ControlReader, EventFollower, EventWriter, control_path, launch_time,
                                 make_event, read_events, request_control)
from loratui.core.run_record import RunRecord


# ---- 1: a full disk while an event is written -----------------------------------------------------------


def _full_after(monkeypatch, fd_of, keep_bytes: int):
    """os.write to the writer's fd writes ``keep_bytes`` of the next line, then fails as a full disk does."""
    real = os.write
    calls = {"n": 0}

    def write(fd, data):
        if fd != fd_of():
            return real(fd, data)
        calls["n"] += 1
        if calls["n"] == 1 and keep_bytes:
            return real(fd, bytes(data)[:keep_bytes])  # a short write: part of the line is on disk
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", write)


def test_a_write_cut_short_by_a_full_disk_leaves_whole_lines_and_names_the_file(tmp_path, monkeypatch):
    path = tmp_path / "tiny.events.jsonl"
    writer = EventWriter(path)
    writer.emit("warning", message="first")
    _full_after(monkeypatch, lambda: writer._fd, keep_bytes=20)
    with pytest.raises(OSError) as caught:
        writer.emit("step", step=1, total_steps=9, epoch=1, loss=1.0, avg_loss=1.0, lr=1e-3, images_per_s=1.0,
                    eta_s=1.0)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(path)
    monkeypatch.undo()
    writer.close()
    writer.close()  # twice: nothing left to flush, nothing raised
    data = path.read_bytes()
    # the torn part stays (the file never shrinks under a reader) and is no event
    assert data.count(b"\n") == 1 and not data.endswith(b"\n") and len(data.split(b"\n")[1]) == 20
    assert [e["message"] for e in read_events(path)] == ["first"]
    message = disk_full_message(caught.value, None)
    assert f"writing {path}:" in message and "free" in message


def test_after_a_torn_write_the_next_event_starts_a_line_and_a_follower_gets_it(tmp_path, monkeypatch):
    """A follower that already read the torn bytes: the file did not shrink under it (its offset
    stays good) and the next event, on a line of its own, reaches it: the run's `finished` is not lost."""
    path = tmp_path / "tiny.events.jsonl"
    writer = EventWriter(path)
    follower = EventFollower(path)
    writer.emit("warning", message="first")
    assert [e["message"] for e in follower.poll()] == ["first"]
    _full_after(monkeypatch, lambda: writer._fd, keep_bytes=30)
    with pytest.raises(OSError):
        writer.emit("step", step=1, total_steps=9, epoch=1, loss=1.0, avg_loss=1.0, lr=1e-3, images_per_s=1.0,
                    eta_s=1.0)
    with pytest.raises(OSError):  # still full, nothing written: the line stays torn
        writer.emit("warning", message="lost")
    monkeypatch.undo()
    assert follower.poll() == [] and follower.offset == path.stat().st_size  # it has read the torn bytes
    writer.emit("finished", reason="error", step=1, epoch=1, output=None)  # the disk has room again
    writer.emit("warning", message="after")
    writer.close()
    assert [e["event"] for e in follower.poll()] == ["finished", "warning"]
    assert follower.restarts == 0
    assert [e["event"] for e in read_events(path)] == ["warning", "finished", "warning"]
    assert path.read_bytes().count(b"\n") == 4  # first, the torn line ended, finished, after


def test_a_write_that_fails_after_its_leading_newline_leaves_no_torn_line(tmp_path, monkeypatch):
    path = tmp_path / "tiny.events.jsonl"
    path.write_text(json.dumps(make_event("warning", message="old")) + "\n" + '{"event": "st')
    writer = EventWriter(path)
    _full_after(monkeypatch, lambda: writer._fd, keep_bytes=1)  # only the newline that ends the torn line
    with pytest.raises(OSError):
        writer.emit("warning", message="lost")
    monkeypatch.undo()
    writer.emit("warning", message="next")
    writer.close()
    assert [e["message"] for e in read_events(path)] == ["old", "next"]
    assert b"\n\n" not in path.read_bytes()  # the newline was not written twice


def test_a_torn_last_line_is_ended_before_the_next_writer_appends(tmp_path):
    path = tmp_path / "tiny.events.jsonl"
    path.write_text(json.dumps(make_event("warning", message="old")) + "\n" + '{"event": "step", "ti')
    follower = EventFollower(path)
    assert [e["message"] for e in follower.poll()] == ["old"]  # a torn last line waits, is not an event
    writer = EventWriter(path)  # a resume appending to the file
    writer.emit("warning", message="resumed")
    writer.close()
    assert [e["message"] for e in read_events(path)] == ["old", "resumed"]
    assert [e["message"] for e in follower.poll()] == ["resumed"]


def test_a_full_disk_without_a_file_name_does_not_blame_the_current_folder():
    exc = RuntimeError("save failed")
    exc.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert "the file being written is not known" in disk_full_message(exc, None)
    named = OSError(errno.ENOSPC, "No space left on device", "/tmp/x/tiny.events.jsonl")
    wrapped = RuntimeError("emit failed")
    wrapped.__context__ = named
    assert "writing /tmp/x/tiny.events.jsonl:" in disk_full_message(wrapped, None)


# ---- 2: control requests made while the run starts -------------------------------------------------------


def test_requests_made_since_the_launch_count_and_older_ones_do_not(tmp_path):
    path = control_path(tmp_path, "tiny")
    request_control(tmp_path, "tiny", "stop")  # an earlier run's, never answered
    time.sleep(0.01)
    launched = time.time()
    save = request_control(tmp_path, "tiny", "save")  # while the run imports torch: before its reader exists
    with open(path, "a") as handle:
        handle.write('{"request": "sample", "id": "no-time-before"}\n')  # no time: only if after the reader
    reader = ControlReader(path, since=launched)
    with open(path, "a") as handle:
        handle.write('{"request": "sample", "id": "no-time-after"}\n')
    stop = request_control(tmp_path, "tiny", "stop")
    assert [r["id"] for r in reader.poll()] == [save, "no-time-after", stop]
    assert reader.poll() == []
    sample = request_control(tmp_path, "tiny", "sample")
    assert [r["id"] for r in reader.poll()] == [sample]


def test_without_a_launch_time_only_what_comes_after_the_reader_counts(tmp_path):
    request_control(tmp_path, "tiny", "save")
    reader = ControlReader(control_path(tmp_path, "tiny"))
    later = request_control(tmp_path, "tiny", "sample")
    assert [r["id"] for r in reader.poll()] == [later]


def test_the_launch_time_comes_from_the_app_or_the_process(monkeypatch):
    monkeypatch.setenv(LAUNCHED_AT_ENV, "1700000000.5")
    assert launch_time() == 1700000000.5
    for bad in ("soon", "nan", str(time.time() + 3600)):
        monkeypatch.setenv(LAUNCHED_AT_ENV, bad)
        assert launch_time() is None
    started = events_module.process_started_at(os.getpid())
    if started is not None:  # Linux: this process started before now, and not long before it ran this test
        assert started <= time.time()


def test_train_from_a_shell_sets_its_launch_time_for_the_run_only(monkeypatch):
    from loratui import cli

    monkeypatch.delenv(LAUNCHED_AT_ENV, raising=False)
    # cli imports it from core.run_control (core.events only re-exports it)
    monkeypatch.setattr(run_control, "process_launch_time", lambda: 1234.5)
    seen = []
    with cli._launch_time_set(["train", "c.toml"]):
        seen.append(os.environ.get(LAUNCHED_AT_ENV))
    assert seen == ["1234.500"] and LAUNCHED_AT_ENV not in os.environ
    with cli._launch_time_set(["steps", "c.toml"]):
        assert LAUNCHED_AT_ENV not in os.environ
    monkeypatch.setenv(LAUNCHED_AT_ENV, "99.0")  # the app said: kept
    with cli._launch_time_set(["train", "c.toml"]):
        assert os.environ[LAUNCHED_AT_ENV] == "99.0"


def test_where_proc_cannot_tell_the_launch_is_when_main_began(monkeypatch, tmp_path):
    """macOS (no /proc): process_launch_time is None; the run's launch time is then when `loratui
    train` began, before torch loads, and a request made after that counts."""
    from loratui import cli

    monkeypatch.delenv(LAUNCHED_AT_ENV, raising=False)
    real_read = run_control.Path.read_text

    def no_proc(self, *args, **kwargs):
        if str(self).startswith("/proc/"):
            raise FileNotFoundError(2, "No such file or directory", str(self))
        return real_read(self, *args, **kwargs)

    monkeypatch.setattr(run_control.Path, "read_text", no_proc)
    assert run_control.process_started_at(os.getpid()) is None and run_control.process_launch_time() is None
    before = time.time()
    with cli._launch_time_set(["train", "c.toml"]):
        launched = launch_time()
        assert launched is not None and before - 0.01 <= launched <= time.time() + 0.001  # to the ms
        save = request_control(tmp_path, "tiny", "save")  # while the run is loading
        reader = ControlReader(control_path(tmp_path, "tiny"), since=launched)
        stop = request_control(tmp_path, "tiny", "stop")
        assert [r["id"] for r in reader.poll()] == [save, stop]
    assert LAUNCHED_AT_ENV not in os.environ


def test_a_request_from_a_clock_behind_is_honoured_once_the_reader_is_open(tmp_path):
    """A writer on another host or in a container 10 s behind: its request, appended after the run
    opened the control file, is the run's; an earlier run's, already there, still is not."""
    path = control_path(tmp_path, "tiny")
    request_control(tmp_path, "tiny", "stop")  # an earlier run's
    time.sleep(0.01)
    reader = ControlReader(path, since=time.time())
    with open(path, "a") as handle:
        handle.write(json.dumps({"request": "stop", "id": "behind", "time": round(time.time() - 10, 3)}) + "\n")
    assert [r["id"] for r in reader.poll()] == ["behind"]
    fresh = ControlReader(path, since=time.time())  # a later run: the skewed one is already there, older
    assert fresh.poll() == []


# ---- 5: elapsed across a crash and a resume 3 h later ----------------------------------------------------


def _crash_then_resume(t0: float, launched_at: bool) -> list[dict]:
    def at(when, kind, **fields):
        return {**make_event(kind, **fields), "time": t0 + when}

    started = dict(output_dir="/o", output_name="tiny", model={}, dataset={}, schedule={"total_steps": 20},
                   config="/p/c.toml", pid=1)
    step = dict(total_steps=20, epoch=1, loss=1.0, avg_loss=1.0, lr=1e-3, images_per_s=1.0, eta_s=1.0)
    gap = 3 * 3600
    resumed = {**started, "resumed_from": "/o/tiny-state", "pid": 2}
    if launched_at:
        resumed["launched_at"] = t0 + gap + 95
    return [at(0, "run_started", **started, resumed_from=None),
            *[at(10 * i, "step", step=i, **step) for i in range(1, 11)],  # 100 s of training, then kill -9
            at(gap + 100, "warning", message="removed the stale lock of a run that is gone (pid 1)"),
            at(gap + 101, "warning", message="the config changed since this state was saved"),
            at(gap + 110, "run_started", **resumed),
            *[at(gap + 110 + 5 * i, "step", step=10 + i, **step) for i in range(1, 11)],
            at(gap + 170, "finished", reason="completed", step=20, epoch=1, output=None)]


@pytest.mark.parametrize("launched_at", [True, False])
def test_the_hours_a_crashed_run_sat_dead_are_not_elapsed(tmp_path, launched_at):
    from loratui.core.runs import read_summary

    t0 = 1_700_000_000.0
    events = _crash_then_resume(t0, launched_at)
    record = RunRecord(tmp_path, "tiny")
    for event in events:
        record.feed(event)
    assert record.earlier_s == pytest.approx(100.0)  # its first session trained 100 s
    assert record.session_seconds() == pytest.approx(60.0)
    (tmp_path / "tiny.events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    summary = read_summary(tmp_path, "tiny")  # the fast path (step lines in stretches) agrees
    assert summary.record.earlier_s == pytest.approx(100.0)


def test_a_torn_step_line_that_looks_whole_to_the_fast_path_is_skipped(tmp_path):
    """Cut after its "lr" field, a torn step line matches the step regex of feed_lines (core/run_record.py),
    which then parsed it as the stretch's last line and raised: the follower leaves it out."""
    from loratui.core.runs import LossSeries, RunRecord, feed_lines

    def step(i: int) -> str:
        return json.dumps(make_event("step", step=i, total_steps=9, epoch=1, loss=1.0, avg_loss=1.0, lr=1e-3,
                                     images_per_s=1.0, eta_s=1.0))

    torn = step(3)[:step(3).index('"images_per_s"')]
    finished = json.dumps(make_event("finished", reason="error", step=2, epoch=1, output=None))
    path = tmp_path / "tiny.events.jsonl"
    path.write_text("\n".join([step(1), step(2), torn, finished]) + "\n")
    record, series = RunRecord(tmp_path, "tiny"), LossSeries()
    others = feed_lines(record, series, EventFollower(path).poll_lines())
    assert [e["event"] for e in others] == ["finished"] and record.step == 2
