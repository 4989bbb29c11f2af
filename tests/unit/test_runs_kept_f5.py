"""User test s12/h5 of runs, fixed in f5 (no model): promoting never takes the final's name while the run
can go on, a checkpoint deleted by hand is gone, earlier runs of an --events file elsewhere are found
through the link, and a run started from a shell is not told to "see its log"."""

from __future__ import annotations

import json
import os
import time

import pytest
from click.testing import CliRunner

from loratui.core import runs
from loratui.core.events import events_path, log_path, make_event
from loratui.core.promote import move_promoted_final_aside, promoted_final_source


def _events(out, name, steps, *, finished=True, began=None) -> str:
    events = [make_event("run_started", config="/p/config.toml", output_dir=str(out), output_name=name, model={},
                         dataset={}, schedule={"total_steps": steps, "epochs": 1}, resumed_from=None, pid=1)]
    if began is not None:
        events[0]["time"] = began
    for step in range(1, steps + 1):
        events.append(make_event("step", step=step, total_steps=steps, epoch=1, loss=0.5, avg_loss=0.5, lr=1e-3,
                                 images_per_s=2.0, eta_s=1.0))
    if finished:
        events.append(make_event("finished", reason="completed", step=steps, epoch=1, output=None, elapsed_s=1.0))
    return "".join(json.dumps(e) + "\n" for e in events)


# ---- 2. a run that can still go on never gets a promoted copy under its final's name ----------------

def test_promoting_while_a_state_is_there_never_takes_the_final_name(tmp_path):
    source = tmp_path / "x-step00000002.safetensors"
    source.write_bytes(b"step two")
    (tmp_path / "x-state").mkdir()  # a stopped run: resume writes x.safetensors at its end
    assert runs.promote_checkpoint(source, "x").name == "x-promoted.safetensors"
    assert not (tmp_path / "x.safetensors").exists()
    (tmp_path / "x-state").rmdir()
    (tmp_path / "x-step00000002-state.tmp").mkdir()  # a half-saved step state counts too
    other = tmp_path / "x-step00000004.safetensors"
    other.write_bytes(b"step four")
    assert runs.promote_checkpoint(other, "x").name == "x-promoted-2.safetensors"


def test_a_promoted_copy_in_the_final_name_is_known_by_its_bytes_and_moved_aside(tmp_path):
    (tmp_path / "x-step00000002.safetensors").write_bytes(b"step two")
    final = tmp_path / "x.safetensors"
    final.write_bytes(b"step two")
    (tmp_path / "x-promoted.safetensors").write_bytes(b"another")
    assert promoted_final_source(tmp_path, "x") == tmp_path / "x-step00000002.safetensors"
    moved = move_promoted_final_aside(tmp_path, "x")
    assert moved == (tmp_path / "x-step00000002.safetensors", tmp_path / "x-promoted-2.safetensors")
    assert not final.exists() and moved[1].read_bytes() == b"step two"
    final.write_bytes(b"the run's own final")  # differs from every save: a final, left alone
    assert move_promoted_final_aside(tmp_path, "x") is None and final.read_bytes() == b"the run's own final"
    # a copy of a save kept aside in NAME-kept-<time>/ is a promoted copy too
    (tmp_path / "x-kept-20260101-000000").mkdir()
    (tmp_path / "x-kept-20260101-000000" / "x-000001.safetensors").write_bytes(b"the run's own final")
    assert promoted_final_source(tmp_path, "x") == tmp_path / "x-kept-20260101-000000" / "x-000001.safetensors"


# ---- 4. a checkpoint deleted by hand ----------------------------------------------------------------

def test_promoting_a_checkpoint_deleted_by_hand_says_it_is_gone(tmp_path):
    from loratui.tui.services.work import failure_line

    gone = tmp_path / "x-step00000010.safetensors"
    with pytest.raises(runs.CheckpointGone) as raised:
        runs.promote_checkpoint(gone, "x")
    line, internal = failure_line(f"promoting {gone.name}", raised.value)
    assert not internal and str(tmp_path) not in line and "No such file" not in line
    assert line.endswith("x-step00000010.safetensors is gone (deleted, or moved by a later run): nothing to promote")
    assert isinstance(raised.value, FileNotFoundError)  # callers that caught that still do


def test_the_latest_runs_checkpoints_are_checked_on_disk(tmp_path):
    kept = tmp_path / "x-step00000002.safetensors"
    kept.write_bytes(b"w")
    listed = [runs.Checkpoint(kept, "step", 2, 1, None), runs.Checkpoint(tmp_path / "x-step00000004.safetensors",
                                                                         "step", 4, 1, None),
              runs.Checkpoint(tmp_path / "sample" / "x_000005_00_1.png", "sample", 5, 1, None)]
    now = runs.checkpoints_on_disk(listed)
    assert [c.gone for c in now] == [False, True, False]  # a sample-only entry has no LoRA to be gone
    assert listed[1].gone is False  # the record's own are not changed


# ---- 5. --events elsewhere: the earlier runs are beside the file the link points to ------------------

def test_earlier_runs_of_an_events_file_elsewhere_are_found_through_the_link(tmp_path):
    from loratui.commands.attach_cmd import attach

    out, elsewhere = tmp_path / "model", tmp_path / "logs"
    out.mkdir()
    elsewhere.mkdir()
    (elsewhere / "ev_k.jsonl").write_text(_events(out, "run_k", 2))
    (elsewhere / "ev_k.1.jsonl").write_text(_events(out, "run_k", 1))  # as `train --events ev_k.jsonl` rotated it
    os.symlink(elsewhere / "ev_k.jsonl", events_path(out, "run_k"))
    listed = runs.list_runs(out)
    assert [(r.name, r.earlier, r.step) for r in listed] == [("run_k", 0, 2), ("run_k", 1, 1)]
    assert listed[1].events_file == elsewhere / "ev_k.1.jsonl"
    assert runs.run_events_path(out, "run_k", 1) == elsewhere / "ev_k.1.jsonl"
    result = CliRunner().invoke(attach, [str(out), "--list", "--json", "--run", "run_k", "--earlier", "1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["events"] == str(elsewhere / "ev_k.1.jsonl")
    # an earlier run beside it too (from before --events was used): both, newest first
    (out / "run_k.events.1.jsonl").write_text(_events(out, "run_k", 3))
    older = time.time() - 3600
    os.utime(out / "run_k.events.1.jsonl", (older, older))
    assert [(r.earlier, r.step) for r in runs.list_runs(out)] == [(0, 2), (1, 1), (2, 3)]
    assert runs.run_events_path(out, "run_k", 2) == out / "run_k.events.1.jsonl"


# ---- 6. a run started from a shell has no NAME.log to see ----------------------------------------------

def test_a_crashed_shell_run_points_at_its_events_not_at_a_log(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    began = time.time()
    events_path(out, "x").write_text(_events(out, "x", 3, finished=False, began=began))
    assert runs.own_log(out, "x", began) is None
    said = runs.log_pointer(out, "x", began)
    assert "no x.log" in said and "started from a shell" in said and "x.events.jsonl" in said
    assert runs.last_log_lines(out, "x", 2) == list(runs.read_summary(out, "x").record.notes)[-2:]
    # an older run's log (the app started that one): not this run's
    log_path(out, "x").write_text("--- an older run's output\n")
    old = began - 600
    os.utime(log_path(out, "x"), (old, old))
    assert runs.own_log(out, "x", began) is None
    assert "an older run's output" not in runs.last_log_lines(out, "x", 5)
    os.utime(log_path(out, "x"), None)  # written during this run: its own
    assert runs.log_pointer(out, "x", began) == "see its log (x.log)"
    assert runs.last_log_lines(out, "x", 5) == ["--- an older run's output"]
