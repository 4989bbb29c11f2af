"""Review s12/r2 item 1, fixed in f14 (no model): a resume keeps the final LoRA there under its save point's
name once; when that save already holds other bytes the final is another run's, kept as NAME-kept-stepN
and not announced as one of this run's checkpoints (the list showed step N twice)."""

from __future__ import annotations

import json
from pathlib import Path

from loratui.engine.run_resume import RunResume


def _lora(path: Path, steps: int, payload: bytes) -> bytes:
    header = json.dumps({"__metadata__": {"ss_steps": str(steps)}}).encode()
    data = len(header).to_bytes(8, "little") + header + payload
    path.write_bytes(data)
    return data


class _Resume(RunResume):
    def __init__(self, out: Path):
        self.output_dir, self.name, self.events, self.warnings = out, "x", [], []

    def emit(self, event, **fields):
        self.events.append((event, fields))

    def warn(self, message):
        self.warnings.append(message)


MID_EPOCH_STATE = {"step": 2, "epoch": 1, "batches_done": 4}


def test_the_final_is_kept_under_its_save_points_name_when_none_holds_it(tmp_path):
    final = _lora(tmp_path / "x.safetensors", 2, b"run one")
    resume = _Resume(tmp_path)
    resume._keep_previous_final(MID_EPOCH_STATE)
    assert (tmp_path / "x-step00000002.safetensors").read_bytes() == final
    assert [(e, f["kind"], f["step"]) for e, f in resume.events] == [("checkpoint_saved", "step", 2)]


def test_a_save_of_that_step_with_the_same_bytes_is_listed_already(tmp_path):
    final = _lora(tmp_path / "x.safetensors", 2, b"run one")
    (tmp_path / "x-step00000002.safetensors").write_bytes(final)
    resume = _Resume(tmp_path)
    resume._keep_previous_final(MID_EPOCH_STATE)
    assert resume.events == [] and resume.warnings == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x-step00000002.safetensors", "x.safetensors"]


def test_a_save_of_that_step_with_other_bytes_makes_the_final_another_runs(tmp_path):
    save = _lora(tmp_path / "x-step00000002.safetensors", 2, b"this run's save")
    final = _lora(tmp_path / "x.safetensors", 2, b"a fresh run's final at the same step")
    resume = _Resume(tmp_path)
    resume._keep_previous_final(MID_EPOCH_STATE)
    assert (tmp_path / "x-step00000002.safetensors").read_bytes() == save  # untouched
    assert (tmp_path / "x-kept-step00000002.safetensors").read_bytes() == final
    assert resume.events == []  # not a second step-2 entry in the checkpoint list
    [warning] = resume.warnings
    assert "x.safetensors" in warning and "x-kept-step00000002.safetensors" in warning
    assert "another run's final" in warning and "kept the LoRA this run had" not in warning


def test_an_epoch_save_with_other_bytes_is_left_alone_too(tmp_path):
    _lora(tmp_path / "x-000001.safetensors", 4, b"epoch one of this run")
    final = _lora(tmp_path / "x.safetensors", 4, b"another run's epoch one")
    resume = _Resume(tmp_path)
    resume._keep_previous_final({"step": 4, "epoch": 2, "batches_done": 0})
    assert (tmp_path / "x-kept-step00000004.safetensors").read_bytes() == final
    assert resume.events == [] and "another run's final" in resume.warnings[0]
