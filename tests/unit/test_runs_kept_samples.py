"""An earlier run's sample images once a later run moved them aside (user test s11/f8): found as
NAME-kept-<time>/sample/X, where the same name in sample/ holds a later run's image; what a new run
of NAME would move (``previous_outputs(..., samples=True)``) names them, and no other name's."""

from __future__ import annotations

import json
import os

from loratui.core import runs
from loratui.core.events import make_event


def _earlier_run(out, name: str) -> str:
    events = [make_event("run_started", config="/p/config.toml", output_dir=str(out), output_name=name, model={},
                         dataset={}, schedule={"total_steps": 4, "epochs": 1}, resumed_from=None, pid=1)]
    events[0]["time"] = round(events[0]["time"] - 3600, 3)  # began an hour ago: its files are its own since
    for step in (1, 2, 3, 4):
        events.append(make_event("step", step=step, total_steps=4, epoch=1, loss=1.0, avg_loss=1.0, lr=1e-3,
                                 images_per_s=2.0, eta_s=1.0))
        if step in (2, 4):
            events.append(make_event("sample_saved", paths=[str(out / "sample" / f"{name}_{step:06d}_00_3.png")],
                                     step=step, epoch=1))
    events.append(make_event("checkpoint_saved", path=str(out / f"{name}.safetensors"), kind="final", step=4,
                             epoch=1))
    events.append(make_event("finished", reason="completed", step=4, epoch=1, output=None, elapsed_s=1.0))
    return "".join(json.dumps(e) + "\n" for e in events)


def test_an_earlier_runs_samples_are_found_in_the_kept_folder_not_the_later_runs_in_place(tmp_path):
    out = tmp_path / "out"
    (out / "sample").mkdir(parents=True)
    (out / "p.events.1.jsonl").write_text(_earlier_run(out, "p"))
    record = runs.read_summary(out, "p", 1).record
    ended = record.last_time
    kept = out / "p-kept-20250101-000000" / "sample"
    kept.mkdir(parents=True)
    for step in (2, 4):
        (kept / f"p_{step:06d}_00_3.png").write_bytes(b"the earlier run's")
        os.utime(kept / f"p_{step:06d}_00_3.png", (ended - 30, ended - 30))
    (out / "sample" / "p_000002_00_3.png").write_bytes(b"the later run's")  # same name, written since
    os.utime(out / "sample" / "p_000002_00_3.png", (ended + 600, ended + 600))
    found = runs.earlier_checkpoints(record.listed(), out, "p", ended)
    by_kind = {c.kind: c for c in found}
    assert by_kind["sample"].samples == [kept / "p_000002_00_3.png"]
    assert by_kind["sample"].path == kept / "p_000002_00_3.png"
    assert by_kind["final"].samples == [kept / "p_000004_00_3.png"]
    # a sample in place that no later run wrote over is found where it is
    (out / "sample" / "p_000004_00_3.png").write_bytes(b"still the earlier run's")
    os.utime(out / "sample" / "p_000004_00_3.png", (ended - 5, ended - 5))
    found = runs.earlier_checkpoints(record.listed(), out, "p", ended)
    assert {c.kind: c for c in found}["final"].samples == [out / "sample" / "p_000004_00_3.png"]


def test_previous_samples_are_this_names_only(tmp_path):
    out = tmp_path / "out"
    (out / "sample").mkdir(parents=True)
    for name in ("p_000005_00_3.png", "p_1234567_12_-1.png", "p_x_000005_00_3.png", "px_000005_00_3.png",
                 "p_000005_00_3.png.tmp", "q_000005_00_3.png"):
        (out / "sample" / name).write_bytes(b"x")
    (out / "p-000001.safetensors").write_bytes(b"x")
    assert [p.name for p in runs.previous_samples(out, "p")] == ["p_000005_00_3.png", "p_1234567_12_-1.png"]
    assert [p.name for p in runs.previous_outputs(out, "p")] == ["p-000001.safetensors"]
    assert [p.relative_to(out).as_posix() for p in runs.previous_outputs(out, "p", samples=True)] == [
        "p-000001.safetensors", "sample/p_000005_00_3.png", "sample/p_1234567_12_-1.png"]
    assert runs.previous_samples(tmp_path / "nowhere", "p") == []
