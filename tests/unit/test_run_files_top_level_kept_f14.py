"""Review s12/r2 item 2, fixed in f14 (no model): a resume keeps the final LoRA of the run before it as
NAME-kept-stepN.safetensors in OUTPUT_DIR itself, not in a NAME-kept-<time>/ folder; that run's checkpoint
list looked only in the folders and showed its final as gone. The copy keeps the final's file time."""

from __future__ import annotations

import os
from pathlib import Path

from loratui.core import run_files
from loratui.core.run_record import Checkpoint

ENDED = 1_800_000_000.0
BEGAN = ENDED - 600


def _write(path: Path, when: float, data: bytes = b"lora") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (when, when))
    return path


def test_a_final_kept_at_the_top_of_the_output_folder_is_found(tmp_path):
    final = _write(tmp_path / "x.safetensors", ENDED + 900)  # the resume's own final, written since
    kept = _write(tmp_path / "x-kept-step00000002.safetensors", ENDED - 1)  # the copy keeps the file time
    _write(tmp_path / "x-kept-step00000001.safetensors", ENDED - 2)  # another step: not this final
    _write(tmp_path / "x-kept-20260101-000000" / "x-000001.safetensors", BEGAN - 60)  # an older run's folder
    listed = [Checkpoint(final, "final", 2, 1, 0.1, [], run_began=BEGAN)]
    [found] = run_files.earlier_checkpoints(listed, tmp_path, "x", ENDED)
    assert found.path == kept and not found.gone


def test_kept_saves_and_states_at_the_top_are_found_and_other_steps_are_not(tmp_path):
    save = _write(tmp_path / "x-kept-step00000004.safetensors", ENDED - 5)
    state = tmp_path / "x-kept-step00000004-state"
    state.mkdir()
    os.utime(state, (ENDED - 5, ENDED - 5))
    listed = [Checkpoint(tmp_path / "x-step00000004.safetensors", "step", 4, 1, 0.1, [],
                         tmp_path / "x-step00000004-state", run_began=BEGAN),
              Checkpoint(tmp_path / "x.safetensors", "final", 6, 1, 0.1, [], run_began=BEGAN)]
    found = run_files.earlier_checkpoints(listed, tmp_path, "x", ENDED)
    assert (found[0].path, found[0].state, found[0].gone) == (save, state, False)
    assert found[1].gone  # no copy of step 6 anywhere: the step-4 copy is not taken for it


def test_a_copy_kept_aside_keeps_its_file_time(tmp_path):
    from loratui.engine.outputs import copy_whole

    source = _write(tmp_path / "x.safetensors", ENDED, b"weights")
    target = copy_whole(source, tmp_path / "x-kept-step00000002.safetensors")
    assert target.read_bytes() == b"weights" and target.stat().st_mtime == ENDED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x-kept-step00000002.safetensors", "x.safetensors"]
