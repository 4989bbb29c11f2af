"""kohya_ss import: a dropped setting that is on is a warning (off ones stay quiet), relative paths are
placed for the config's folder, training_comment and sdxl_no_half_vae say where they went, and
`config explain` knows the GUI's own names."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from loratui.cli import cli
from loratui.core.config import explain_gui_key, import_kohya, import_kohya_file


@pytest.fixture(autouse=True)
def no_xformers(monkeypatch):
    monkeypatch.setattr("loratui.core.config.packages.installed", lambda name: name != "xformers")


def _std(**over):
    data = {"LoRA_type": "Standard", "pretrained_model_name_or_path": "/models/sd15.safetensors",
            "train_data_dir": "/data/img", "output_dir": "/data/out", "optimizer": "AdamW", "lr_scheduler": "cosine"}
    data.update(over)
    return data


SET = {"loraplus_lr_ratio": 16, "loss_type": "huber", "scale_weight_norms": 1.0,
       "max_timestep": 700, "weighted_captions": True, "color_aug": "True", "fp8_base": True}
OFF = {"loraplus_lr_ratio": 0, "loss_type": "l2", "scale_weight_norms": "0",
       "max_timestep": 1000, "weighted_captions": False, "color_aug": "false", "fp8_base": False}


def test_each_dropped_setting_that_is_on_gets_one_warning_naming_its_value():
    _, report = import_kohya(_std(**SET))
    warned = [w for w in report.warnings if "not applied (loratui has no such setting)" in w]
    assert len(warned) == len(SET)
    assert "loraplus_lr_ratio 16 not applied (loratui has no such setting): lora_up trains at the same learning " \
           "rate as lora_down (no LoRA+)" in warned
    assert any(w.startswith("loss_type huber not applied") and "MSE" in w for w in warned)
    assert any(w.startswith("max_timestep 700 not applied") for w in warned)
    assert any(w.startswith("color_aug true not applied") for w in warned)
    ignored = dict(report.ignored)
    assert all(ignored[key] == "set in the file, not applied (see the warning)" for key in SET)


def test_dropped_settings_at_their_off_value_stay_quiet():
    _, report = import_kohya(_std(**OFF))
    assert not [w for w in report.warnings if "not applied" in w]
    ignored = dict(report.ignored)
    assert all(ignored[key] == "off in the file (loratui has no such setting)" for key in OFF)


def test_multires_noise_is_imported_only_when_kohya_ss_would_pass_it():
    cfg, report = import_kohya(_std(noise_offset_type="Multires", multires_noise_iterations=6,
                                    multires_noise_discount=0.3, noise_offset=0.05, adaptive_noise_scale=0.01))
    assert not [w for w in report.warnings if "noise" in w]
    t = cfg.training
    assert (t.multires_noise_iterations, t.multires_noise_discount, t.noise_offset, t.adaptive_noise_scale) == \
        (6, 0.3, 0.0, None)
    ignored = dict(report.ignored)
    assert "Original" in ignored["adaptive_noise_scale"]  # kohya_ss does not pass it with Multires
    cfg, report = import_kohya(_std(noise_offset_type="Original", multires_noise_iterations=6, noise_offset=0.05))
    assert not [w for w in report.warnings if "noise" in w] and cfg.training.multires_noise_iterations == 0
    assert dict(report.ignored)["multires_noise_iterations"] == ("kohya_ss uses it only with noise_offset_type "
                                                                 "Multires (this file: Original)")


def test_cli_exit_code_stays_0_with_dropped_settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "k.json").write_text(json.dumps(_std(**SET)))
    result = CliRunner().invoke(cli, ["config", "import-kohya", "k.json"])
    assert result.exit_code == 0, result.output
    assert "warning: weighted_captions true not applied" in result.output


def test_training_comment_becomes_the_description_unless_one_is_set():
    cfg, report = import_kohya(_std(training_comment="trigger: ohwx"))
    assert cfg.saving.metadata_description == "trigger: ohwx"
    assert [(k, ours) for k, ours, _ in report.mapped if k == "training_comment"] == [
        ("training_comment", "saving.metadata_description")]
    cfg, report = import_kohya(_std(training_comment="trigger: ohwx", metadata_description="mine"))
    assert cfg.saving.metadata_description == "mine"
    assert "metadata_description is set too" in dict(report.ignored)["training_comment"]
    _, report = import_kohya(_std(training_comment=""))
    assert dict(report.ignored)["training_comment"] == "empty"


def test_sdxl_no_half_vae_says_what_the_engine_and_the_export_do():
    _, report = import_kohya(_std(sdxl=True, sdxl_no_half_vae=True, mixed_precision="fp16"))
    reason = dict(report.ignored)["sdxl_no_half_vae"]
    assert "fp32" in reason and "no_half_vae = true" in reason and "engine chooses" not in reason


@pytest.fixture
def kohya_folder(tmp_path, monkeypatch):
    """kohya_ss's folder (the current one) with ds/img, ds/reg and a JSON naming them relatively."""
    root = tmp_path / "kohya"
    for sub in ("ds/img/10_a", "ds/reg/1_b", "sub"):
        (root / sub).mkdir(parents=True)
    (root / "k.json").write_text(json.dumps(_std(train_data_dir="ds/img", reg_data_dir="ds/reg", output_dir="out",
                                                 vae="missing/vae.safetensors")))
    monkeypatch.chdir(root)
    return root


def test_relative_paths_are_rewritten_for_the_output_folder(kohya_folder):
    result = CliRunner().invoke(cli, ["config", "import-kohya", "k.json", "-o", "sub/x.toml"])
    assert result.exit_code == 0, result.output
    text = (kohya_folder / "sub" / "x.toml").read_text()
    assert 'train_data_dir = "../ds/img"' in text and 'reg_data_dir = "../ds/reg"' in text
    assert 'output_dir = "../out"' in text  # need not exist: placed where kohya_ss would have made it
    assert "ds/img found from the current folder: written as ../ds/img, relative to the config's folder" \
        in result.output
    assert "check it" not in result.output
    [warning] = [line for line in result.output.splitlines() if line.startswith("warning:") and "vae" in line]
    assert "missing/vae.safetensors" in warning and "is not found from the current folder" in warning


def test_paths_that_resolve_from_the_current_folder_give_no_warning_without_o(kohya_folder):
    result = CliRunner().invoke(cli, ["config", "import-kohya", "k.json"])
    assert result.exit_code == 0
    assert not [line for line in result.output.splitlines() if line.startswith("warning:") and "_dir" in line]


def test_the_current_folder_wins_over_the_jsons(kohya_folder, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "ds" / "img").mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    cfg, report = import_kohya_file(kohya_folder / "k.json", config_dir=elsewhere)
    assert cfg.dataset.train_data_dir == "ds/img"  # found from the current folder: unchanged
    assert cfg.dataset.reg_data_dir == os.path.relpath(kohya_folder / "ds" / "reg", elsewhere)  # the JSON's folder
    assert any("the JSON's folder" in note for _, ours, note in report.mapped if ours == "dataset.reg_data_dir")


def test_far_away_paths_are_written_absolute(kohya_folder, tmp_path):
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    cfg, _ = import_kohya_file(kohya_folder / "k.json", config_dir=deep)
    assert cfg.dataset.train_data_dir == str(kohya_folder / "ds" / "img")


@pytest.mark.parametrize("key, target", [("lr_warmup", "optimizer.lr_warmup_steps"), ("epoch", "training.max_train_epochs"),
                                         ("training_comment", "saving.metadata_description")])
def test_explain_maps_gui_names(key, target):
    head, text, found = explain_gui_key(key)
    assert found == target and key in head
    result = CliRunner().invoke(cli, ["config", "explain", key])
    assert result.exit_code == 0 and "did you mean" not in result.output
    assert target.split(".")[1] in result.output


def test_explain_lr_warmup_says_it_is_a_percentage():
    output = CliRunner().invoke(cli, ["config", "explain", "lr_warmup"]).output
    assert "percent" in output and "0.1" in output


@pytest.mark.parametrize("key, words", [("sdxl_no_half_vae", "fp32"), ("loraplus_lr_ratio", "LoRA+"),
                                        ("logging_dir", "events file")])
def test_explain_gui_keys_loratui_does_not_import(key, words):
    result = CliRunner().invoke(cli, ["config", "explain", key])
    assert result.exit_code == 0 and words in result.output and "(kohya_ss GUI)" in result.output


def test_explain_still_refuses_unknown_keys():
    result = CliRunner().invoke(cli, ["config", "explain", "no_such_thing_at_all"])
    assert result.exit_code != 0 and explain_gui_key("no_such_thing_at_all") is None
