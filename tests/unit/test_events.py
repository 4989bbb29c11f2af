"""core/events: schema checks, the JSONL writer, a reader and a follower that skip a half-written line."""

from __future__ import annotations

import io
import json
import os

import pytest

from loratui.core import events as ev


def test_writer_appends_one_checked_object_per_line(tmp_path):
    path = ev.events_path(tmp_path / "out", "lora")
    echo = io.StringIO()
    writer = ev.EventWriter(path, echo=echo)
    writer.emit("warning", message="hello")
    writer.emit("error", message="out of memory", hint="try preset 8 GB", kind="oom")
    writer.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["event"] for x in lines] == ["warning", "error"]
    assert echo.getvalue().splitlines() == lines
    assert json.loads(lines[1])["kind"] == "oom" and isinstance(json.loads(lines[0])["time"], float)
    with pytest.raises(ValueError, match="without hint"):
        ev.make_event("error", message="x", kind="crash")
    with pytest.raises(ValueError, match="unknown event"):
        ev.make_event("exploded")


def test_reader_skips_partial_and_foreign_lines(tmp_path):
    path = tmp_path / "run.events.jsonl"
    good = json.dumps(ev.make_event("finished", reason="completed", step=3, epoch=1))
    path.write_text("not json\n" + good + "\n" + '{"event": "step", "step": 4, "lo', encoding="utf-8")
    assert [e["event"] for e in ev.read_events(path)] == ["finished"]
    assert ev.read_events(tmp_path / "missing.jsonl") == []


def test_follower_waits_for_the_newline(tmp_path):
    path = tmp_path / "run.events.jsonl"
    follower = ev.EventFollower(path)
    assert follower.poll() == []  # no file yet
    line = json.dumps(ev.make_event("epoch_end", epoch=1, step=4, avg_loss=0.5))
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(line[:10])
        fh.flush()
        assert follower.poll() == []
        fh.write(line[10:] + "\n" + line)
        fh.flush()
        assert [e["epoch"] for e in follower.poll()] == [1]
        fh.write("\n")
        fh.flush()
        assert len(follower.poll()) == 1
    assert follower.poll() == []


def test_run_is_alive_reads_the_lock(tmp_path):
    assert ev.run_is_alive(tmp_path, "lora") is None
    ev.lock_path(tmp_path, "lora").write_text(f"{os.getpid()}\n")
    assert ev.run_is_alive(tmp_path, "lora") == os.getpid()
    ev.lock_path(tmp_path, "lora").write_text("999999999\n")
    assert ev.run_is_alive(tmp_path, "lora") is None


def test_run_lock_live_stale_and_reused_pid(tmp_path):
    from loratui.core.errors import LoratuiError

    path = ev.lock_path(tmp_path, "lora")
    lock = ev.RunLock(path)
    assert lock.acquire() is None
    assert path.read_text().split()[0] == str(os.getpid())
    assert ev.run_is_alive(tmp_path, "lora") == os.getpid()
    with pytest.raises(LoratuiError, match=f"another run \\(pid {os.getpid()}\\)"):
        ev.RunLock(path).acquire()
    lock.release()
    assert not path.exists()
    if os.path.exists(f"/proc/{os.getpid()}/stat"):  # our pid, but another process's start time: reused pid
        path.write_text(f"{os.getpid()} 1\n")
        assert ev.run_is_alive(tmp_path, "lora") is None
        other = ev.RunLock(path)
        assert "stale lock" in other.acquire()
        other.release()


def test_rotate_events_keeps_one_training_per_file(tmp_path):
    from loratui.core.events import rotate_events

    path = tmp_path / "x.events.jsonl"
    assert rotate_events(path) is None  # nothing to move
    path.write_text("")
    assert rotate_events(path) is None and path.exists()  # an empty file stays
    for n in range(7):
        path.write_text(f'{{"event": "run_started", "n": {n}}}\n{{"event": "step", "step": 1}}\n')
        assert rotate_events(path, keep=3) == tmp_path / "x.events.1.jsonl"
        assert not path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.events.1.jsonl", "x.events.2.jsonl", "x.events.3.jsonl"]
    assert '"n": 6' in (tmp_path / "x.events.1.jsonl").read_text()
    assert '"n": 4' in (tmp_path / "x.events.3.jsonl").read_text()


def test_starts_that_failed_before_a_step_do_not_push_real_runs_out(tmp_path):
    from loratui.core.events import rotate_events

    path = tmp_path / "x.events.jsonl"
    path.write_text('{"event": "run_started", "n": "real"}\n{"event": "step", "step": 1}\n')
    assert rotate_events(path, keep=3) == tmp_path / "x.events.1.jsonl"
    for n in range(6):  # six starts refused at once (a typo'd model path)
        path.write_text(f'{{"event": "run_started", "n": {n}}}\n{{"event": "error", "message": "no model"}}\n')
        assert rotate_events(path, keep=3) == tmp_path / "x.events.1.jsonl"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.events.1.jsonl", "x.events.2.jsonl"]
    assert '"n": 5' in (tmp_path / "x.events.1.jsonl").read_text()  # the newest failure is kept
    assert '"real"' in (tmp_path / "x.events.2.jsonl").read_text()  # the run that trained stays


def test_follower_reads_a_replacing_file_from_its_start_even_when_larger(tmp_path):
    """A new run rotates NAME.events.jsonl aside and writes a new one: the follower starts that one
    from byte 0 (by its inode, not only when it is shorter) and counts the restart."""
    path = tmp_path / "run.events.jsonl"
    old = json.dumps(ev.make_event("epoch_end", epoch=1, step=4, avg_loss=0.5)) + "\n"
    path.write_text(old)
    follower = ev.EventFollower(path)
    assert [e["epoch"] for e in follower.poll()] == [1] and follower.restarts == 0
    os.replace(path, tmp_path / "run.events.1.jsonl")
    new = "".join(json.dumps(ev.make_event("epoch_end", epoch=n, step=4 * n, avg_loss=0.4)) + "\n" for n in (7, 8))
    path.write_text(new)  # longer than the old file: only the inode tells
    assert [e["epoch"] for e in follower.poll()] == [7, 8] and follower.restarts == 1


def test_follower_skip_past_ignores_what_the_file_held(tmp_path):
    path = tmp_path / "run.events.jsonl"
    assert ev.EventFollower(path).identity() == (None, 0)
    path.write_text(json.dumps(ev.make_event("epoch_end", epoch=1, step=4, avg_loss=0.5)) + "\n")
    follower = ev.EventFollower(path)
    follower.skip_past(follower.identity())
    assert follower.poll() == []
    os.replace(path, tmp_path / "run.events.1.jsonl")
    path.write_text(json.dumps(ev.make_event("epoch_end", epoch=2, step=8, avg_loss=0.4)) + "\n")
    assert [e["epoch"] for e in follower.poll()] == [2]


def test_events_target_refuses_a_file_that_is_not_an_events_file(tmp_path):
    """`train --events config.toml` renamed the config aside (and 5 runs later deleted it)."""
    config = tmp_path / "config.toml"
    config.write_text("[model]\n")
    assert "ends in .jsonl" in ev.events_target_problem(config)
    other = tmp_path / "notes.jsonl"
    other.write_text('{"a": 1}\n')
    assert "holds something else than loratui events" in ev.events_target_problem(other)
    assert "the folder" in ev.events_target_problem(tmp_path / "missing" / "x.jsonl")  # a typo makes no folder tree
    assert "is a file, not a folder" in ev.events_target_problem(config / "x.jsonl")
    assert "is a folder" in ev.events_target_problem(tmp_path)
    assert ev.events_target_problem(tmp_path / "new.jsonl") is None
    (tmp_path / "empty.jsonl").write_text("")
    assert ev.events_target_problem(tmp_path / "empty.jsonl") is None
    run = tmp_path / "run.events.jsonl"
    run.write_text(json.dumps(ev.make_event("epoch_end", epoch=1, step=4, avg_loss=0.5)) + "\n")
    assert ev.events_target_problem(run) is None
