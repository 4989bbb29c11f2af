"""engine/outputs.py without a model: what a fresh run moves aside, whose history a resume appends to."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from loratui.engine.outputs import begun_after_state, move_last_run_aside


def test_a_fresh_run_moves_states_and_intermediate_saves_but_not_the_final(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for name in ("x.safetensors", "x-000001.safetensors", "x-step00000010.safetensors", "x-000002.safetensors",
                 "x-kept-step00000005.safetensors", "other.safetensors", "x.events.jsonl"):
        (out / name).write_bytes(b"w")
    for name in ("x-state", "x-000001-state", "x-state.tmp", "x-kept-step00000005-state", "x-000002-state"):
        (out / name).mkdir()
        (out / name / "state.json").write_text("{}")
    aside = move_last_run_aside(out, "x")
    folder, moved = aside.folder, aside.moved
    assert folder is not None and folder.parent == out and folder.name.startswith("x-kept-")
    assert sorted(p.name for p in moved) == ["x-000001-state", "x-000001.safetensors", "x-000002-state",
                                             "x-000002.safetensors", "x-state", "x-state.tmp",
                                             "x-step00000010.safetensors"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in moved)
    left = sorted(p.name for p in out.iterdir() if p != folder)
    assert left == ["other.safetensors", "x-kept-step00000005-state", "x-kept-step00000005.safetensors",
                    "x.events.jsonl", "x.safetensors"]
    assert aside.weights is None
    assert move_last_run_aside(out, "x").folder is None  # nothing of a last run left to move


def test_a_resume_appends_to_its_runs_history_not_to_a_later_runs(tmp_path):
    state = tmp_path / "out" / "x-state"
    events = tmp_path / "x.events.jsonl"

    def started(time, resumed_from=None):
        events.write_text(json.dumps({"event": "run_started", "time": time, "resumed_from": resumed_from}) + "\n")

    started(100.0)
    assert not begun_after_state(events, state, saved_at=200.0)  # the run the state belongs to
    started(300.0)
    assert begun_after_state(events, state, saved_at=200.0)  # a fresh run started since
    started(300.0, str(state))
    assert not begun_after_state(events, state, saved_at=200.0)  # this state resumed before (and crashed)
    started(300.0, "out/x-state")
    assert not begun_after_state(events, state, saved_at=200.0)  # the same, typed relative
    started(300.0, str(tmp_path / "y-state"))
    assert begun_after_state(events, state, saved_at=200.0)
    assert not begun_after_state(tmp_path / "none.jsonl", state, saved_at=200.0)


def test_the_train_preflight_checks_load_no_ml_library():
    code = ("import sys; import loratui.engine.resume_check, loratui.engine.outputs; "
            "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
