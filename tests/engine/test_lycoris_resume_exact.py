"""A resumed LyCORIS run is bit-identical to a straight one, also where the kohya file rounds: algo=full
keeps ``weight - org`` (rebuilt as ``org + diff``), use_scalar folds its scalar into w1. The state keeps
those tensors as trained (params.safetensors); a state without that file (older) still resumes."""

from __future__ import annotations

import shutil

import pytest
import torch
from safetensors.torch import load_file

from test_lycoris import _train
from test_train import run


@pytest.mark.parametrize("args", [["algo=full", "preset=attn-only"],
                                  ["algo=lokr", "use_scalar=true", "preset=attn-only"]])
def test_resume_is_bit_identical(args, tiny_sd1_dir, tmp_path):
    config, _ = _train(tmp_path, tiny_sd1_dir, args, **{"saving.save_precision": "float"})
    out = tmp_path / "out"
    state = out / "tiny-step00000002-state"
    assert (state / "params.safetensors").is_file()
    (out / "tiny.safetensors").rename(out / "straight.safetensors")
    code, _ = run(config, resume=str(state))
    assert code == 0
    a, b = load_file(str(out / "straight.safetensors")), load_file(str(out / "tiny.safetensors"))
    assert set(a) == set(b)
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])][:3]


def test_a_state_without_params_file_still_resumes(tiny_sd1_dir, tmp_path):
    config, _ = _train(tmp_path, tiny_sd1_dir, ["algo=full", "preset=attn-only"])
    state = tmp_path / "out" / "tiny-step00000002-state"
    (state / "params.safetensors").unlink()  # as states were written before
    code, events = run(config, resume=str(state))
    assert code == 0, [e for e in events if e["event"] == "error"]
