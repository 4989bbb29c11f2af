"""core/runs: runs of an output folder (live / crashed / finished) from synthetic events and locks,
checkpoints, log tails, promote (a copy under a free name) and the flat-memory loss series."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc

import pytest

from loratui.core import runs
from loratui.core.events import _process_start, events_path, lock_path, log_path, make_event


def _write(out, name, events, *, lock_pid=None):
    out.mkdir(parents=True, exist_ok=True)
    with open(events_path(out, name), "w", encoding="utf-8") as handle:
        for kind, fields in events:
            handle.write(json.dumps(make_event(kind, **fields)) + "\n")
    if lock_pid is not None:
        lock_path(out, name).write_text(f"{lock_pid} {_process_start(lock_pid) or '-'}\n")


def _started(total=8, config="/p/config.toml"):
    return ("run_started", dict(config=config, output_dir="/out", output_name="x", model={}, dataset={},
                                schedule={"total_steps": total, "epochs": 2}, resumed_from=None, pid=1))


def _step(step, loss=0.5, total=8, epoch=1):
    return ("step", dict(step=step, total_steps=total, epoch=epoch, loss=loss, avg_loss=loss, lr=1e-3,
                         images_per_s=2.0, eta_s=1.0))


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_live_crashed_and_finished_runs(tmp_path):
    out = tmp_path / "out"
    _write(out, "live", [_started(), _step(1), _step(2)], lock_pid=os.getpid())
    _write(out, "killed", [_started(), _step(1), _step(2), _step(3)], lock_pid=_dead_pid())
    _write(out, "nolock", [_started(), _step(1)])
    _write(out, "done", [_started(), *[_step(i) for i in range(1, 9)],
                         ("finished", dict(reason="completed", step=8, epoch=2, output="/out/done.safetensors"))])
    _write(out, "stopped", [_started(), _step(1),
                            ("finished", dict(reason="stopped", step=1, epoch=1, output=None))])
    (out / "done.safetensors").write_bytes(b"x")  # not a run
    listed = runs.list_runs(out)
    assert listed[0].name == "live" and listed[0].status == "live" and listed[0].pid == os.getpid()
    by_name = {r.name: r for r in listed}
    assert set(by_name) == {"live", "killed", "nolock", "done", "stopped"}
    assert by_name["killed"].status == "crashed" and by_name["killed"].pid is None  # never "running"
    assert by_name["killed"].step == 3 and by_name["killed"].total_steps == 8
    assert by_name["nolock"].status == "crashed"
    assert (by_name["done"].status, by_name["done"].reason, by_name["done"].step) == ("finished", "completed", 8)
    assert by_name["stopped"].reason == "stopped"
    assert by_name["killed"].describe() == "killed: crashed, step 3/8, epoch 1"
    assert runs.list_runs(tmp_path / "missing") == []


def test_a_resumed_run_is_live_again_and_a_lock_without_events_is_listed(tmp_path):
    out = tmp_path / "out"
    _write(out, "again", [_started(), _step(1), ("finished", dict(reason="stopped", step=1, epoch=1, output=None)),
                          _started(), _step(2)], lock_pid=os.getpid())
    out.joinpath("fresh.lock").write_text(f"{os.getpid()}\n")
    by_name = {r.name: r for r in runs.list_runs(out)}
    assert by_name["again"].status == "live" and by_name["again"].record.finished is None
    assert by_name["fresh"].status == "live" and by_name["fresh"].step == 0


def test_a_big_events_file_is_summarised_from_its_ends(tmp_path):
    out = tmp_path / "out"
    steps = [_step(i, total=40_000) for i in range(1, 4001)]
    _write(out, "big", [_started(total=40_000, config="/proj/c.toml"), *steps])
    assert events_path(out, "big").stat().st_size > 2 * runs.TAIL_BYTES
    summary = runs.read_summary(out, "big")
    assert summary.step == 4000 and summary.record.config.as_posix() == "/proj/c.toml"
    assert summary.status == "crashed"


def test_checkpoints_with_their_samples_state_and_loss(tmp_path):
    record = runs.RunRecord(tmp_path, "x")
    for kind, fields in [_started(), _step(4, loss=0.3),
                         ("checkpoint_saved", dict(path="/o/x-000001.safetensors", kind="epoch", step=4, epoch=1)),
                         ("checkpoint_saved", dict(path="/o/x-000001-state", kind="state", step=4, epoch=1)),
                         ("sample_saved", dict(paths=["/o/sample/a.png"], step=4, epoch=1)),
                         _step(5, loss=0.2),
                         ("checkpoint_saved", dict(path="/o/x-step00000005.safetensors", kind="step", step=5, epoch=2)),
                         ("checkpoint_saved", dict(path="/o/x-step00000005.safetensors", kind="step", step=5, epoch=2)),
                         ("sample_saved", dict(paths=["/o/sample/b.png"], step=7, epoch=2)),
                         ("warning", dict(message="careful")),
                         ("error", dict(message="out of GPU memory", hint="8 GB preset", kind="oom"))]:
        record.feed(make_event(kind, **fields))
    first, second = record.checkpoints
    assert (first.step, first.epoch, first.kind, first.avg_loss) == (4, 1, "epoch", 0.3)
    assert first.state.name == "x-000001-state" and [p.name for p in first.samples] == ["a.png"]
    assert second.avg_loss == 0.2 and second.state is None
    assert record.samples[0]["step"] == 7
    assert record.error["kind"] == "oom" and list(record.notes)[-2:] == [
        "warning: careful", "error: out of GPU memory (8 GB preset)"]


def test_a_sample_rendered_before_its_checkpoint_is_saved_belongs_to_it(tmp_path):
    """The final step renders its samples, then saves the LoRA: the final file showed "no samples"."""
    record = runs.RunRecord(tmp_path, "x")
    for kind, fields in [_started(), _step(26, loss=0.3),
                         ("sample_saved", dict(paths=["/o/sample/x_000026_00_1.png"], step=26, epoch=2)),
                         ("sample_saved", dict(paths=["/o/sample/x_000020_00_1.png"], step=20, epoch=2)),
                         ("checkpoint_saved", dict(path="/o/x.safetensors", kind="final", step=26, epoch=2))]:
        record.feed(make_event(kind, **fields))
    (final,) = record.checkpoints
    assert [p.name for p in final.samples] == ["x_000026_00_1.png"]
    assert [e["step"] for e in record.samples] == [20]  # no checkpoint at its step: still parked


def test_an_extended_run_keeps_the_samples_and_moves_the_state_to_its_new_owner(tmp_path):
    """Finish at 26 (final + samples + NAME-state), extend to 39: the epoch save the extension writes at
    step 26 keeps the samples (the final that held them is rewritten at 39), and NAME-state belongs to
    the step-39 save only (the step-17 line kept "+state" and "continue from" resumed step 39)."""
    record = runs.RunRecord(tmp_path, "x")
    for kind, fields in [_started(), _step(17),
                         ("checkpoint_saved", dict(path="/o/x-000001.safetensors", kind="epoch", step=17, epoch=1)),
                         ("checkpoint_saved", dict(path="/o/x-state", kind="state", step=17, epoch=1)),
                         _step(26, loss=0.25),
                         ("sample_saved", dict(paths=["/o/sample/x_000026_00_1.png"], step=26, epoch=2)),
                         ("checkpoint_saved", dict(path="/o/x.safetensors", kind="final", step=26, epoch=2)),
                         ("checkpoint_saved", dict(path="/o/x-state", kind="state", step=26, epoch=2)),
                         ("checkpoint_saved", dict(path="/o/x-000002.safetensors", kind="epoch", step=26, epoch=2)),
                         _step(39),
                         ("checkpoint_saved", dict(path="/o/x.safetensors", kind="final", step=39, epoch=3)),
                         ("checkpoint_saved", dict(path="/o/x-state", kind="state", step=39, epoch=3))]:
        record.feed(make_event(kind, **fields))
    by_name = {c.path.name: c for c in record.checkpoints}
    assert list(by_name) == ["x-000001.safetensors", "x-000002.safetensors", "x.safetensors"]
    assert [p.name for p in by_name["x-000002.safetensors"].samples] == ["x_000026_00_1.png"]
    assert by_name["x-000002.safetensors"].avg_loss == 0.25
    assert [c.state.name if c.state else None for c in record.checkpoints] == [None, None, "x-state"]


def test_samples_between_saves_are_listed_as_entries_of_their_own(tmp_path):
    record = runs.RunRecord(tmp_path, "x")
    for kind, fields in [_started(), _step(4),
                         ("checkpoint_saved", dict(path="/o/x-000001.safetensors", kind="epoch", step=4, epoch=1)),
                         ("sample_saved", dict(paths=["/o/sample/x_000006_00_1.png", "/o/sample/x_000006_01_1.png"],
                                               step=6, epoch=2)),
                         _step(8),
                         ("checkpoint_saved", dict(path="/o/x.safetensors", kind="final", step=8, epoch=2))]:
        record.feed(make_event(kind, **fields))
    listed = record.listed()
    assert [(c.kind, c.step) for c in listed] == [("epoch", 4), ("sample", 6), ("final", 8)]
    assert [p.name for p in listed[1].samples] == ["x_000006_00_1.png", "x_000006_01_1.png"]
    assert [c.kind for c in record.checkpoints] == ["epoch", "final"]  # the files stay what they were


def test_state_step_reads_what_a_state_folder_holds_now(tmp_path):
    (tmp_path / "x-state").mkdir()
    (tmp_path / "x-state" / "state.json").write_text(json.dumps({"step": 52, "epoch": 4}))
    assert runs.state_step(tmp_path / "x-state") == 52
    assert runs.state_step(tmp_path / "gone") is None


def test_log_tail_and_the_story_when_there_is_no_log(tmp_path):
    out = tmp_path / "out"
    _write(out, "x", [_started(), ("warning", dict(message="stale lock replaced"))])
    assert runs.last_log_lines(out, "x")[-1] == "warning: stale lock replaced"
    log_path(out, "x").write_text("loading\n[##..] step 1\r[###.] step 2\ndone\n", encoding="utf-8")
    assert runs.last_log_lines(out, "x") == ["loading", "[###.] step 2", "done"]
    log_path(out, "x").write_text("".join(f"line {i}\n" for i in range(20_000)), encoding="utf-8")
    assert runs.tail_lines(log_path(out, "x"), 3) == ["line 19997", "line 19998", "line 19999"]


def test_promote_copies_under_a_free_name_and_never_overwrites(tmp_path):
    source = tmp_path / "x-000002.safetensors"
    source.write_bytes(b"epoch two")
    final = runs.promote_checkpoint(source, "x")
    assert final == tmp_path / "x.safetensors" and final.read_bytes() == b"epoch two"
    source.write_bytes(b"epoch two, again")
    second = runs.promote_checkpoint(source, "x")
    source.write_bytes(b"epoch two, once more")
    third = runs.promote_checkpoint(source, "x")
    assert (second.name, third.name) == ("x-promoted.safetensors", "x-promoted-2.safetensors")
    assert final.read_bytes() == b"epoch two"  # not overwritten
    assert source.read_bytes() == b"epoch two, once more"  # copied, not moved
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "x-000002.safetensors", "x-promoted-2.safetensors", "x-promoted.safetensors", "x.safetensors"]
    (tmp_path / "sub").mkdir()
    assert runs.promote_checkpoint(source, "y", tmp_path / "sub") == tmp_path / "sub" / "y.safetensors"
    with pytest.raises(FileNotFoundError):
        runs.promote_checkpoint(tmp_path / "gone.safetensors", "x")


def test_promoting_the_same_checkpoint_again_names_the_copy_and_writes_nothing(tmp_path):
    """`p` twice made x-promoted.safetensors, then x-promoted-2.safetensors: two identical copies."""
    (tmp_path / "x.safetensors").write_bytes(b"the final LoRA")
    source = tmp_path / "x-000001.safetensors"
    source.write_bytes(b"epoch one")
    first = runs.promote_checkpoint(source, "x")
    assert first.name == "x-promoted.safetensors"
    before = sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.iterdir())
    with pytest.raises(runs.AlreadyPromoted) as already:
        runs.promote_checkpoint(source, "x")
    assert already.value.target == first and "as x-promoted.safetensors" in str(already.value)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.iterdir()) == before  # nothing written
    # the same size with other bytes is another checkpoint: a copy of its own
    other = tmp_path / "x-000002.safetensors"
    other.write_bytes(b"epoch two")
    assert runs.promote_checkpoint(other, "x").name == "x-promoted-2.safetensors"
    # a copy promoted as NAME.safetensors (no final yet) counts too
    (tmp_path / "sub").mkdir()
    assert runs.promote_checkpoint(source, "y", tmp_path / "sub").name == "y.safetensors"
    assert runs.promoted_copy(source, "y", tmp_path / "sub") == tmp_path / "sub" / "y.safetensors"
    assert runs.promoted_copy(other, "y", tmp_path / "sub") is None


def test_elapsed_is_one_clock_whether_the_run_is_live_ended_or_crashed(tmp_path):
    """The header said "elapsed 2m26s" live, then 2m25s once stopped: the finished event's elapsed_s
    counts from the first step (no loading, no caching), the live clock from run_started."""
    record = runs.RunRecord(tmp_path, "x")
    record.feed({"event": "run_started", "time": 100.0, "resumed_from": None, "schedule": {"total_steps": 10}})
    assert record.session_seconds(now=246.4) == pytest.approx(146.4)
    record.feed({"event": "step", "time": 240.0, "step": 4, "total_steps": 10})
    assert record.session_seconds() == pytest.approx(140.0)  # crashed: to its last event
    record.feed({"event": "finished", "time": 246.0, "reason": "stopped", "step": 4, "epoch": 1,
                 "elapsed_s": 145.0})
    assert record.session_seconds(now=999.0) == pytest.approx(146.0)  # ended: to its finished event
    old = runs.RunRecord(tmp_path, "x")  # no times: the engine's own count
    old.feed({"event": "run_started", "resumed_from": None, "schedule": {}})
    old.feed({"event": "finished", "reason": "stopped", "step": 4, "epoch": 1, "elapsed_s": 145.0})
    assert old.session_seconds() == 145.0


def test_loss_series_keeps_memory_flat_for_100k_steps():
    series = runs.LossSeries(capacity=1024, tail=512)
    for step in range(1, 5_001):
        series.add(step, 1.0)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for step in range(5_001, 100_001):
        series.add(step, 1.0 / step ** 0.5, lr=1e-4)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(series) <= 1024 and grown < 64 * 1024, grown
    view = series.view()
    assert view["step"][-1] == 100_000 and len(view["step"]) <= 1024
    assert view["step"] == sorted(view["step"])
    zoom = series.view(last_steps=100)
    assert zoom["step"] == list(range(99_901, 100_001)) and zoom["lr"][-1] == 1e-4
    wide = series.view(last_steps=50_000)
    assert wide["step"][0] > 50_000 - 2 * series.width and wide["step"][-1] == 100_000


def test_loss_series_means_and_rewind():
    series = runs.LossSeries(capacity=4, tail=4, smoothing=0.5)
    for step, loss in enumerate([1, 3, 5, 7, 9, 11, 13, 15], start=1):
        series.add(step, float(loss))
    view = series.view()
    # 8 points, 4 slots: neighbours merged whenever the slots fill up, means kept exactly
    assert series.width == 4 and view["loss"] == [4, 12] and view["step"] == [4, 8]
    assert view["low"] == [1, 9] and view["high"] == [7, 15]
    assert series.view(last_steps=2)["loss"] == [13.0, 15.0]
    series.add(5, 100.0)  # resumed from an earlier state: history from step 5 on is replaced
    view = series.view()
    assert view["step"] == [4, 5] and view["loss"] == [4, 100.0]
    series.add_event(make_event("epoch_end", epoch=1, step=5, avg_loss=1.0))
    series.add(6, float("nan"))  # ignored
    assert series.epochs == [(5, 1)] and series.last_step == 5


def test_fast_step_lines_give_what_json_gives(tmp_path):
    """feed_lines (regex + add_many for stretches of step lines) against one json event at a time."""
    from loratui.core.events import EventWriter

    writer = EventWriter(tmp_path / "x.events.jsonl")
    emit = lambda pair: writer.emit(pair[0], **pair[1])  # noqa: E731
    emit(_started(total=3000))
    for step in range(1, 3001):
        loss = 1 / step if step != 1500 else 7.0
        writer.emit("step", step=step, total_steps=3000, epoch=step // 700 + 1, loss=loss, avg_loss=loss,
                    lr=1e-5 * step, images_per_s=1.5, eta_s=None, peak_vram_gib=None)
        if step % 700 == 0:
            writer.emit("epoch_end", epoch=step // 700, step=step, avg_loss=0.5)
            writer.emit("checkpoint_saved", path=f"/o/x-{step}.safetensors", kind="epoch", step=step, epoch=step // 700)
        if step == 2000:  # a resume from an earlier state: steps come round again
            emit(_started(total=3000))
            for again in range(1900, 1950):
                emit(_step(again, loss=0.25, total=3000))
    writer.close()
    lines = (tmp_path / "x.events.jsonl").read_bytes().split(b"\n")[:-1]
    lines.insert(10, b'{"event": "step", "oddly": "shaped", "step": 10}')  # a line only json reads
    lines.insert(20, b"not json at all")
    fast_record, fast = runs.RunRecord(tmp_path, "x"), runs.LossSeries(capacity=256, tail=100)
    for start in range(0, len(lines), 997):  # as a follower hands them over
        others = runs.feed_lines(fast_record, fast, lines[start:start + 997])
        assert all(e["event"] != "step" for e in others)
    slow_record, slow = runs.RunRecord(tmp_path, "x"), runs.LossSeries(capacity=256, tail=100)
    from loratui.core.events import parse_line

    for line in lines:
        event = parse_line(line.decode())
        if event is not None:
            slow_record.feed(event)
            slow.add_event(event)
    assert fast.view() == slow.view() and fast.view(last_steps=50) == slow.view(last_steps=50)
    assert fast.epochs == slow.epochs and fast.width == slow.width
    assert fast_record.last_step == slow_record.last_step and fast_record.events == slow_record.events
    assert [c.avg_loss for c in fast_record.checkpoints] == [c.avg_loss for c in slow_record.checkpoints]


# ---- `loratui attach OUTPUT_DIR` ---------------------------------------------------------------------

def test_attach_lists_runs_and_opens_the_chosen_one(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from loratui.commands.attach_cmd import attach
    from loratui.core.errors import LoratuiError
    from loratui.tui import launch

    out = tmp_path / "out"
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")
    _write(out, "live", [_started(config=str(config)), _step(1)], lock_pid=os.getpid())
    _write(out, "dead", [_started(config=str(config)), _step(1), _step(2)], lock_pid=_dead_pid())
    log_path(out, "dead").write_text("loading\nstep 2\nKilled\n", encoding="utf-8")
    result = CliRunner().invoke(attach, [str(out), "--list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("  1  live: live (pid ") and "step 1/8" in lines[0]
    assert lines[1].startswith("  2  dead: crashed, step 2/8") and lines[2:] == [
        "       | loading", "       | step 2", "       | Killed"]
    result = CliRunner().invoke(attach, [str(out), "--list", "--json"])
    assert [json.loads(x)["status"] for x in result.output.splitlines()] == ["live", "crashed"]
    result = CliRunner().invoke(attach, [str(out), "--list", "--json", "--run", "dead"])  # that run only
    assert [json.loads(x)["name"] for x in result.output.splitlines()] == ["dead"]
    result = CliRunner().invoke(attach, [str(out), "--list", "--run", "nope"])
    assert result.exit_code != 0 and "no run named 'nope'" in str(result.exception)

    opened = []
    monkeypatch.setattr(launch, "run_app", lambda target, **kw: opened.append((target, kw)))
    result = CliRunner().invoke(attach, [str(out), "--run", "dead"])
    assert result.exit_code == 0, result.output
    assert opened == [(config, {"attach": out, "attach_run": "dead", "attach_earlier": 0})]
    result = CliRunner().invoke(attach, [str(out)])  # two runs, no terminal to ask on
    assert isinstance(result.exception, LoratuiError) and "pass --run NAME" in str(result.exception)
    result = CliRunner().invoke(attach, [str(out), "--run", "nope"])
    assert "no run named 'nope' here (runs: live, dead)" in str(result.exception)
    result = CliRunner().invoke(attach, [str(tmp_path)])
    assert "no runs here" in str(result.exception)
    result = CliRunner().invoke(attach, [str(tmp_path / "missing")])
    assert "no such folder" in str(result.exception)


def test_a_resumed_run_counts_the_time_of_its_earlier_sessions(tmp_path):
    """elapsed went back from 1m16s to 51s after a resume: the sessions before it count too."""
    record = runs.RunRecord(tmp_path, "lora")
    record.feed({"event": "run_started", "time": 100.0, "resumed_from": None, "schedule": {"total_steps": 10}})
    record.feed({"event": "step", "time": 150.0, "step": 4, "total_steps": 10})
    record.feed({"event": "finished", "reason": "stopped", "step": 4, "elapsed_s": 76.0})
    record.feed({"event": "run_started", "time": 500.0, "resumed_from": "lora-state", "schedule": {}})
    assert record.earlier_s == 76.0
    record.feed({"event": "step", "time": 530.0, "step": 6, "total_steps": 10})  # killed: no finished event
    record.feed({"event": "run_started", "time": 900.0, "resumed_from": "lora-state", "schedule": {}})
    assert record.earlier_s == 76.0 + 30.0
