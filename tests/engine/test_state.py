"""Save / resume: a run stopped mid-epoch and resumed from its state ends with exactly the weights of an
uninterrupted run (CPU), with shuffled captions, flips, dropout, noise offset, accumulation and warmup."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from loratui.core.errors import LoratuiError
from test_train import make_project, of, run

OPTIONS = {
    "training.max_train_epochs": 4, "training.gradient_accumulation_steps": 2, "dataset.flip_aug": True,
    "dataset.shuffle_caption": True, "dataset.caption_tag_dropout_rate": 0.2, "network.network_dropout": 0.1,
    "training.noise_offset": 0.1, "optimizer.lr_scheduler": "cosine", "optimizer.lr_warmup_steps": 2,
    "saving.save_precision": "float",
}


def test_resume_is_identical_to_an_uninterrupted_run(tiny_sd1_dir, tmp_path, monkeypatch):
    from loratui.engine import run as run_module

    full = make_project(tmp_path / "full", tiny_sd1_dir, **OPTIONS)
    code, events = run(full)
    assert code == 0 and len(of(events, "step")) == 8

    # the same run, stopped after step 3 (the middle of epoch 2) as a signal would stop it
    parted = make_project(tmp_path / "parted", tiny_sd1_dir, **OPTIONS)
    on_step = run_module.Reporter.on_step

    def stop_at_3(self, tr, **kw):
        on_step(self, tr, **kw)
        if tr.step == 3:
            tr.stop_requested = True

    monkeypatch.setattr(run_module.Reporter, "on_step", stop_at_3)
    code, events = run(parted)
    monkeypatch.setattr(run_module.Reporter, "on_step", on_step)
    assert code == 0
    assert of(events, "finished")[-1]["reason"] == "stopped"
    state = tmp_path / "parted" / "out" / "tiny-state"
    assert (state / "state.json").is_file()
    assert {e["kind"] for e in of(events, "checkpoint_saved")} == {"step", "state"}

    code, events = run(parted, resume=str(state))
    assert code == 0
    resumed = of(events, "run_started")[-1]
    assert resumed["resumed_from"] == str(state)
    assert [e["step"] for e in of(events, "step")] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert of(events, "finished")[-1]["reason"] == "completed"
    a = load_file(str(tmp_path / "full" / "out" / "tiny.safetensors"))
    b = load_file(str(tmp_path / "parted" / "out" / "tiny.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_resume_from_a_folder_that_is_not_a_state(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir)
    with pytest.raises(LoratuiError, match="not a loratui state folder"):
        run(config, resume=str(tmp_path))
