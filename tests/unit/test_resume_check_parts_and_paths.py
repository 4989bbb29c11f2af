"""engine/resume_check.py without a model: a learning rate to or from 0 (which parts train) and a
--resume path that is no state folder, each one line before anything loads."""

from __future__ import annotations

import json
from pathlib import Path

from loratui.core.config import TrainingConfig
from loratui.engine.resume_check import resume_path_problem, trained_parts_problem


def _config(**optimizer) -> dict:
    base = {"learning_rate": 1e-4, "unet_lr": None, "text_encoder_lr": None}
    return {"optimizer": {**base, **optimizer}, "network": {"network_train_unet_only": False,
                                                            "network_train_text_encoder_only": False}}


def _problem(saved, current):
    return trained_parts_problem(saved, current, state="out/x-state", lora="out/x-state/lora.safetensors")


def test_a_learning_rate_to_or_from_0_names_the_field_old_to_new():
    line = _problem(_config(unet_lr=2e-4), _config(unet_lr=0.0))
    assert line.startswith("--resume out/x-state: optimizer.unet_lr 0.0002 -> 0.0 since the state was saved "
                           "freezes the U-Net LoRA")
    assert "set optimizer.unet_lr back to 0.0002" in line and "start a new run without --resume" in line
    assert 'network_weights = "out/x-state/lora.safetensors"' in line and "\n" not in line
    line = _problem(_config(text_encoder_lr=0.0), _config())
    assert "optimizer.text_encoder_lr 0.0 -> unset" in line and "trains the text encoder LoRA, which was frozen" in line
    # both unset: learning_rate decides, and is the field named
    line = _problem(_config(), _config(learning_rate=0.0))
    assert "optimizer.learning_rate 0.0001 -> 0.0" in line


def test_learning_rates_that_train_the_same_parts_pass():
    assert _problem(_config(), _config(unet_lr=5e-4, text_encoder_lr=1e-5)) is None
    assert _problem(_config(unet_lr=0.0), _config(unet_lr=0.0, learning_rate=3e-4)) is None
    unet_only = _config(text_encoder_lr=1e-5)
    unet_only["network"]["network_train_unet_only"] = True
    changed = _config(text_encoder_lr=0.0)
    changed["network"]["network_train_unet_only"] = True
    assert _problem(unet_only, changed) is None  # no text-encoder LoRA either way
    assert _problem(None, _config(unet_lr=0.0)) is None  # an old state without its config: load_state says it


def _cfg(tmp_path: Path) -> TrainingConfig:
    cfg = TrainingConfig()
    cfg.config_dir = str(tmp_path)
    cfg.saving.output_dir = str(tmp_path / "out")
    cfg.saving.output_name = "x"
    return cfg


def test_a_resume_path_that_is_no_state_folder_is_one_line_listing_the_states(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = _cfg(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    none_yet = "out holds no state folder"
    for given, start in ((".", f"--resume: . ({tmp_path}) is not a loratui state folder (no state.json)"),
                         ("out", "--resume: out is not a loratui state folder"),
                         ("notes.txt", "--resume: notes.txt is a file, not a loratui state folder"),
                         ("/", "--resume: / is not a loratui state folder"),
                         ("missing-state", "--resume: missing-state does not exist")):
        line = resume_path_problem(given, cfg)
        assert line.startswith(start) and none_yet in line and "\n" not in line, line
    state = tmp_path / "out" / "x-state"
    state.mkdir()
    (state / "state.json").write_text(json.dumps({"format": 1}))
    line = resume_path_problem("out", cfg)
    assert "state.json, lora.safetensors, optimizer.pt and rng.pt" in line
    assert "the state folders in out: out/x-state" in line
    assert resume_path_problem("out/x-state", cfg) is None  # a state folder: the other checks go on
    monkeypatch.chdir(state)
    assert resume_path_problem(".", cfg) is None
