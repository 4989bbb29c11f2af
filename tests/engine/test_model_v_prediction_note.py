"""A diffusers folder whose scheduler says v_prediction trains v-prediction with v_parameterization off,
and the loaded model carries the line the run prints at its start: the words `config check` prints."""

from __future__ import annotations

import json
import shutil

from loratui.core.config import ModelSection
from loratui.core.config.base_model import v_prediction_note
from loratui.engine.models import load_base_model


def _with_prediction(src, dst, prediction_type):
    shutil.copytree(src, dst)
    sched = dst / "scheduler" / "scheduler_config.json"
    data = json.loads(sched.read_text())
    data["prediction_type"] = prediction_type
    sched.write_text(json.dumps(data))
    return dst


def test_the_folders_v_prediction_is_trained_and_noted(tiny_sd1_dir, tmp_path):
    folder = _with_prediction(tiny_sd1_dir, tmp_path / "vbase", "v_prediction")
    base = load_base_model(ModelSection(pretrained_model_name_or_path=str(folder)))
    assert base.v_prediction and base.noise_scheduler.config.prediction_type == "v_prediction"
    assert base.notes == [v_prediction_note(folder, False)]
    assert "says prediction_type = v_prediction: trained as v-prediction (v_parameterization)" in base.notes[0]

    said = load_base_model(ModelSection(pretrained_model_name_or_path=str(folder), v_parameterization=True))
    assert said.v_prediction and said.notes == []  # the config says it: nothing to note


def test_an_epsilon_folder_has_no_note(tiny_sd1_dir):
    base = load_base_model(ModelSection(pretrained_model_name_or_path=str(tiny_sd1_dir)))
    assert not base.v_prediction and base.notes == []
