"""engine/outputs.py without a model: what a fresh run moves aside, whose history a resume appends to."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from loratui.engine.outputs import begun_after_state, move_last_run_aside


def test_a_fresh_run_moves_the_final_states_and_intermediate_saves(tmp_path):
    """f5 #3: the final stayed and was overwritten when the new run completed; it is kept like the rest."""
    out = tmp_path / "out"
    out.mkdir()
    for name in ("x.safetensors", "x-000001.safetensors", "x-step00000010.safetensors", "x-000002.safetensors",
                 "x-kept-step00000005.safetensors", "other.safetensors", "x.events.jsonl"):
        (out / name).write_bytes(f"weights of {name}".encode())
    for name in ("x-state", "x-000001-state", "x-state.tmp", "x-kept-step00000005-state", "x-000002-state"):
        (out / name).mkdir()
        (out / name / "state.json").write_text("{}")
    aside = move_last_run_aside(out, "x")
    folder, moved = aside.folder, aside.moved
    assert folder is not None and folder.parent == out and folder.name.startswith("x-kept-")
    assert sorted(p.name for p in moved) == ["x-000001-state", "x-000001.safetensors", "x-000002-state",
                                             "x-000002.safetensors", "x-state", "x-state.tmp",
                                             "x-step00000010.safetensors", "x.safetensors"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in moved)
    assert (folder / "x.safetensors").read_bytes() == b"weights of x.safetensors"
    left = sorted(p.name for p in out.iterdir() if p != folder)
    assert left == ["other.safetensors", "x-kept-step00000005-state", "x-kept-step00000005.safetensors",
                    "x.events.jsonl"]
    assert aside.weights is None and aside.promoted is None and aside.notes == []
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


def test_a_fresh_run_moves_a_promoted_copy_in_the_final_name_to_a_promoted_name(tmp_path):
    """f5 #2: NAME.safetensors holding a promoted checkpoint (same bytes as a save) is moved to
    NAME-promoted.safetensors, not into the kept folder nor left to be overwritten; the final alone moves."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "x-step00000002.safetensors").write_bytes(b"step two")
    (out / "x.safetensors").write_bytes(b"step two")  # promoted when no state was there
    (out / "x-promoted.safetensors").write_bytes(b"promoted before")
    aside = move_last_run_aside(out, "x")
    assert not (out / "x.safetensors").exists()
    assert (out / "x-promoted-2.safetensors").read_bytes() == b"step two"
    assert (out / "x-promoted.safetensors").read_bytes() == b"promoted before"
    assert [p.name for p in aside.moved] == ["x-step00000002.safetensors"]
    assert aside.promoted == (out / "x-step00000002.safetensors", out / "x-promoted-2.safetensors")
    assert "promoted copy of x-step00000002.safetensors: moved to x-promoted-2.safetensors" in aside.notes[0]
    # only the final: it moves on its own
    (out / "x.safetensors").write_bytes(b"a final")
    aside = move_last_run_aside(out, "x")
    assert [p.name for p in aside.moved] == ["x.safetensors"] and (aside.folder / "x.safetensors").is_file()
