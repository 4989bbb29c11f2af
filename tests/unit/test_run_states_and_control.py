"""The state-folder rules in core (core/run_states.py), shared by the engine's --resume and the app
(the run picker, resume / extend); the control file in core/run_control.py (its old names kept in
core/events.py); the refusal of a state saved by another number of processes, said per process and
with the launch that has as many; the answer to a stop with several processes; a run's error read
from its log when its error event could not be written. No torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from loratui.core import events as events_module
from loratui.core import run_control, run_states
from loratui.core.config import TrainingConfig
from loratui.core.runs import RunSummary, read_summary
from loratui.engine import resume_check
from loratui.tui.services.followed_run import log_error


def write_state(folder: Path, step: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("lora.safetensors", "optimizer.pt", "rng.pt"):
        (folder / name).write_bytes(b"x")
    (folder / "state.json").write_text(json.dumps({"format": 1, "step": step, "epoch": 1, "batches_done": 0}))
    return folder


# ---- 3: one rule for which state folder, in core -----------------------------------------------------------

def test_the_engine_and_the_app_use_cores_state_rules():
    from loratui.tui.services import followed_run

    assert resume_check.find_resume_state is run_states.find_resume_state
    assert resume_check.complete_state is run_states.complete_state and resume_check.FORMAT == run_states.FORMAT
    assert followed_run.newest_state is run_states.newest_state
    assert "loratui.engine" not in Path(followed_run.__file__).read_text(encoding="utf-8")
    code = ("import sys, loratui.tui.services.followed_run, loratui.tui.screens.run_picker; "
            "print(sorted(m for m in sys.modules if m.startswith('loratui.engine')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_find_resume_state_reads_the_complete_tmp_after_a_kill(tmp_path):
    folder = tmp_path / "x-state"
    assert run_states.find_resume_state(folder) == (folder, None)
    write_state(tmp_path / "x-state.tmp", 9)
    read, note = run_states.find_resume_state(folder)
    assert read == tmp_path / "x-state.tmp" and "x-state.tmp, the newer state" in note
    assert run_states.state_step(read) == 9 and run_states.complete_state(read)


# ---- 5: the run picker's state is the newest one --------------------------------------------------------

def test_a_runs_summary_names_its_newest_state_not_only_name_state(tmp_path):
    events_module.events_path(tmp_path, "tiny").write_text("")
    summary = read_summary(tmp_path, "tiny")
    assert summary.state is None
    (tmp_path / "tiny-state").mkdir()
    (tmp_path / "tiny-state" / "state.json").write_text("{}")  # not a complete state: the engine refuses it
    assert summary.state is None
    write_state(tmp_path / "tiny-state", 4)
    write_state(tmp_path / "tiny-step00000012-state.tmp", 12)  # killed between the renames of its save
    assert summary.state == tmp_path / "tiny-step00000012-state"
    assert summary.newest_state() == (tmp_path / "tiny-step00000012-state", tmp_path / "tiny-step00000012-state.tmp",
                                      12)
    earlier = RunSummary(tmp_path, "tiny", "finished", "completed", None, 4, 4, 1, 0.0, summary.record, earlier=1)
    assert earlier.state is None  # the states are the latest run's


# ---- 4: the control file's code in core/run_control.py ------------------------------------------------

def test_the_control_names_stay_importable_from_core_events():
    for name in ("CONTROL_REQUESTS", "LAUNCHED_AT_ENV", "ControlReader", "control_path", "launch_time",
                 "process_launch_time", "process_started_at", "request_control"):
        assert getattr(events_module, name) is getattr(run_control, name), name
    assert events_module._process_start is run_control.process_start_ticks
    lines = Path(events_module.__file__).read_text(encoding="utf-8").count("\n")
    assert lines < 500


def test_a_request_goes_through_run_control(tmp_path):
    reader = run_control.ControlReader(run_control.control_path(tmp_path, "tiny"))
    asked = run_control.request_control(tmp_path, "tiny", "stop")
    assert [r["id"] for r in reader.poll()] == [asked]


# ---- 2: a state saved by another number of processes ---------------------------------------------------

def _problem(world: int, saved_world: int, saved_batches: int, batches_here: int) -> str | None:
    schedule = SimpleNamespace(batches_per_epoch=batches_here, batches_per_process=-(-batches_here // world),
                               steps_per_epoch=-(-batches_here // world), total_steps=100)
    info = {"step": 3, "epoch": 1, "batches_done": 3,
            "data": {"batches_per_epoch": saved_batches, "num_processes": saved_world}}
    return resume_check.position_problem(TrainingConfig(), None, world, schedule, info, state="out/x-state")


def test_a_state_of_two_processes_resumed_on_one_says_only_the_process_count_and_the_launch():
    problem = _problem(world=1, saved_world=2, saved_batches=24, batches_here=24)
    assert problem.startswith("--resume out/x-state: it was saved by a run on 2 process(es) and this run has 1; "
                              "an epoch has the same 24 batch(es), but each process's share of them differs, so ")
    assert "batch(es) here and had" not in problem  # "24 here and had 24 then" said nothing
    assert ("resume it on 2 process(es): `loratui train CONFIG --resume out/x-state --processes 2` (the Train "
            "screen's Resume does that)") in problem
    one = _problem(world=2, saved_world=1, saved_batches=24, batches_here=24)
    assert "resume it on 1 process(es): `loratui train CONFIG --resume out/x-state`" in one


def test_other_batches_and_processes_are_compared_per_process():
    problem = _problem(world=1, saved_world=2, saved_batches=24, batches_here=12)
    # the shares are alike (12 a process): the totals differ, and that is said rather than "12 here, 12 then"
    assert "it was saved by 2 process(es) and this run has 1, so an epoch has 12 batch(es) here and had 24 then" \
        in problem
    problem = _problem(world=1, saved_world=2, saved_batches=30, batches_here=12)
    assert "so a process's epoch has 12 batch(es) here and had 15 then" in problem
    assert "--processes 2`" in problem
    same_world = _problem(world=2, saved_world=2, saved_batches=23, batches_here=24)  # 12 a process both times
    assert "so an epoch has 24 batch(es) here and had 23 then" in same_world and "--processes" not in same_world
    assert _problem(world=2, saved_world=2, saved_batches=24, batches_here=24) is None


# ---- 7: the stop's answer with several processes -----------------------------------------------------------

def test_a_stop_read_by_one_of_several_processes_names_the_next_step():
    from loratui.engine.run_controls import RunControls

    answers = []
    run = SimpleNamespace(controls=SimpleNamespace(poll=lambda: [{"request": "stop", "id": "a"}]), world=2,
                          waiting={}, answer=lambda request, status, message: answers.append(message))
    tr = SimpleNamespace(step=7, stop_requested=False, requests=set())
    RunControls.poll_controls(run, tr)
    assert tr.stop_requested
    assert answers == ["stopping after step 8 (all 2 processes agree on it then): the LoRA and the state will be "
                       "saved"]


# ---- 8: the error line of the log, for a run whose error event was not written -----------------------------

def test_log_error_reads_the_latest_launchs_error_and_hint(tmp_path):
    log = tmp_path / "tiny.log"
    log.write_text("--- 2026 loratui train c.toml\nerror: an earlier launch's\n--- 2026 loratui train c.toml\n"
                   "[####] step 3/8\nerror: out of GPU memory at step 4\nhint: try the 8 GB preset\n")
    lines = log.read_text().splitlines()
    found = log_error(lines, log)
    assert found == {"kind": "error", "message": "out of GPU memory at step 4",
                     "hint": "try the 8 GB preset; read from tiny.log: the run wrote no error event"}
    crash = [*lines, "internal error: RuntimeError: boom (details in /c/train-crash.log)"]
    assert log_error(crash, log)["kind"] == "crash"
    assert log_error(crash, log)["message"] == "RuntimeError: boom (details in /c/train-crash.log)"
    assert log_error(lines[:3], log) is None  # the latest launch said no error
    os.utime(log, (1000.0, 1000.0))
    assert log_error(lines, log, since=5000.0) is None  # written before this session began: an earlier one's
    assert log_error(lines, log, since=1000.5) is not None
