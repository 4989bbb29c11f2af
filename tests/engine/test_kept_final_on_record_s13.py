"""A resume that keeps the newer final as NAME-kept-stepN records the copy (core/promote.py), so the
next launch never takes the final for a promoted copy of it; an error event of kind "process" reads
"process failed" on the Train screen."""

from __future__ import annotations

import torch
from safetensors.torch import save_file

from loratui.core.promote import kept_copies, promoted_final_source
from loratui.engine.outputs import keep_newer_outputs
from loratui.tui.widgets.run_status import run_error_line


def test_a_kept_final_is_on_record_and_not_taken_for_a_promoted_copy(tmp_path):
    final = tmp_path / "x.safetensors"
    save_file({"w": torch.zeros(2)}, str(final), metadata={"ss_steps": "30", "ss_epoch": "3",
                                                             "ss_training_started_at": "100"})
    kept = keep_newer_outputs(tmp_path, "x", resumed=tmp_path / "x-state", step=20, saved_at=50.0)
    copies = [k.kept for k in kept if k.kind == "final"]
    assert copies and copies[0].read_bytes() == final.read_bytes()
    assert len(kept_copies(tmp_path, "x")) == 1
    assert promoted_final_source(tmp_path, "x") is None


def test_a_failed_process_error_reads_as_such():
    line = run_error_line({"kind": "process", "message": "process 1 failed at step 2"}, None)
    assert line.startswith("✗ process failed: process 1 failed at step 2")
