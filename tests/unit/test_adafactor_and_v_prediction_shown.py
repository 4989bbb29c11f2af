"""What `train` does that the config alone does not say is shown: Adafactor's loratui defaults in the export,
`config check` and the help; a diffusers folder's v_prediction scheduler in `config check`'s notes, the
export and the help of v_parameterization."""

from __future__ import annotations

import json

import pytest

from loratui.core.config import (
    build_sdscripts, config_file_problems, config_from_dict, export_problems, field_help, save_config,
)
from loratui.core.config.base_model import v_prediction_note
from loratui.core.config.check import config_notes

DEFAULTS = ["scale_parameter=False", "relative_step=False", "warmup_init=False"]


@pytest.fixture
def project(tmp_path):
    (tmp_path / "img" / "2_cat").mkdir(parents=True)
    (tmp_path / "img" / "2_cat" / "a.png").write_bytes(b"")
    return tmp_path


def _model_folder(root, prediction_type="v_prediction"):
    folder = root / "vbase"
    (folder / "unet").mkdir(parents=True)
    (folder / "unet" / "config.json").write_text(json.dumps({"cross_attention_dim": 768}))
    (folder / "scheduler").mkdir()
    (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps({"prediction_type": prediction_type}))
    return folder


def _cfg(project, model="m.safetensors", **optimizer):
    data = {"model": {"pretrained_model_name_or_path": str(model), "model_family": "sd1"},
            "dataset": {"train_data_dir": "img"}, "optimizer": optimizer}
    path = project / "c.toml"
    save_config(config_from_dict(data), path)
    from loratui.core.config import load_config

    return load_config(path), path


@pytest.mark.parametrize("given, written", [
    ([], DEFAULTS),
    (["relative_step=False"], ["relative_step=False", "scale_parameter=False", "warmup_init=False"]),
    (["scale_parameter = True", "clip_threshold=1.0"],
     ["scale_parameter=True", "clip_threshold=1.0", "relative_step=False", "warmup_init=False"]),
])
def test_the_export_writes_the_adafactor_args_loratui_trains_with(project, given, written):
    cfg, _ = _cfg(project, optimizer_type="Adafactor", optimizer_args=given)
    export = build_sdscripts(cfg)
    assert export.train_args["optimizer_args"] == written
    added = [item for item in written if item.split("=")[0] not in {g.split("=")[0].strip() for g in given}]
    assert [n for n in export.notes if n.startswith("optimizer_args")] == [
        f"optimizer_args {', '.join(added)} added: loratui's Adafactor defaults (a fixed learning_rate with "
        "lr_scheduler); sd-scripts' own default, relative_step=True, would train with Adafactor's internal "
        "schedule instead"]


def test_other_optimizers_are_exported_as_given_with_keys_stripped(project):
    cfg, _ = _cfg(project, optimizer_type="AdamW", optimizer_args=["weight_decay = 0.01"])
    export = build_sdscripts(cfg)
    assert export.train_args["optimizer_args"] == ["weight_decay=0.01"]  # sd-scripts strips nothing
    assert not [n for n in export.notes if n.startswith("optimizer_args")]
    cfg, _ = _cfg(project, optimizer_type="AdamW")
    assert "optimizer_args" not in build_sdscripts(cfg).train_args


def test_config_check_and_the_export_check_refuse_relative_step(project):
    cfg, path = _cfg(project, optimizer_type="Adafactor", optimizer_args=["relative_step=True"])
    _, problems = config_file_problems(path)
    line = [p for p in problems if "relative_step" in p]
    assert line == [f"{path}: optimizer_args relative_step=True (Adafactor's own learning-rate schedule, "
                    "sd-scripts' default) is not supported: remove it; loratui trains Adafactor at learning_rate "
                    "with lr_scheduler"]
    assert any("relative_step=True" in p for p in export_problems(cfg))
    _, problems = config_file_problems(path, sdscripts=False)  # Settings' check: a refusal of `train`
    assert any("relative_step=True" in p for p in problems)


def test_the_help_says_what_adafactor_and_v_parameterization_do_here():
    adafactor = field_help("optimizer", "optimizer_type")
    assert "scale_parameter, relative_step and warmup_init are False" in adafactor
    assert "sd-scripts defaults to relative_step=True" in adafactor
    v_help = field_help("model", "v_parameterization")
    assert "scheduler_config.json" in v_help and "Epsilon prediction when off" not in v_help


def test_a_v_prediction_folder_is_a_note_and_exported_as_v_parameterization(project):
    folder = _model_folder(project)
    cfg, path = _cfg(project, model=folder)
    sched = folder / "scheduler" / "scheduler_config.json"
    note = (f"{sched} says prediction_type = v_prediction: trained as v-prediction (v_parameterization), though "
            "v_parameterization = false; the sd-scripts export sets v_parameterization = true")
    assert config_notes(cfg) == [note]
    assert not [p for p in config_file_problems(path)[1] if "says prediction_type" in p]  # a note, not a problem
    assert build_sdscripts(cfg).train_args["v_parameterization"] is True
    # relative model paths are read from the config's folder, as `train` reads them
    cfg, _ = _cfg(project, model="vbase")
    assert config_notes(cfg) == [note]

    cfg.model.v_parameterization = True  # said by the config itself: nothing to note
    assert config_notes(cfg) == []


def test_no_note_for_epsilon_folders_files_and_damaged_schedulers(project):
    folder = _model_folder(project, "epsilon")
    assert v_prediction_note(folder, False) is None
    (folder / "scheduler" / "scheduler_config.json").write_text("{not json")
    assert v_prediction_note(folder, False) is None  # check_paths / train say what is wrong with it
    assert v_prediction_note(project / "m.safetensors", False) is None
    assert v_prediction_note("", False) is None
