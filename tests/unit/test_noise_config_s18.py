"""The noise and loss-weight keys of [training] (h6 report (b)): validation as sd-scripts refuses them, `config
explain`, the kohya_ss GUI import as lora_gui.py passes them, the sd-scripts export and the ss_* metadata it implies,
and a config round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from loratui.cli import cli
from loratui.core.config import (
    ConfigError, TrainingConfig, build_sdscripts, dumps_config, import_kohya, loads_config, noise_loss_args, validate,
)
from loratui.core.config.kohya_explain import unsupported_effect

KEYS = ["noise_offset_random_strength", "adaptive_noise_scale", "multires_noise_iterations", "multires_noise_discount",
        "ip_noise_gamma", "ip_noise_gamma_random_strength", "zero_terminal_snr", "scale_v_pred_loss_like_noise_pred",
        "v_pred_like_loss", "debiased_estimation_loss"]
ALL = dict(noise_offset=0.05, noise_offset_random_strength=True, adaptive_noise_scale=0.02, multires_noise_iterations=6,
           multires_noise_discount=0.25, ip_noise_gamma=0.1, ip_noise_gamma_random_strength=True, zero_terminal_snr=True,
           min_snr_gamma=5.0, v_pred_like_loss=0.2, debiased_estimation_loss=True)


def _cfg(v_param: bool = False, **training) -> TrainingConfig:
    lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in training.items())
    return loads_config(f"[model]\nmodel_family = \"sd1\"\npretrained_model_name_or_path = \"runwayml/sd15\"\n"
                        f"v_parameterization = {json.dumps(v_param)}\n[dataset]\ntrain_data_dir = \"img\"\n"
                        f"[training]\n{lines}\n", "c.toml")


@pytest.mark.parametrize("training, v_param, words", [
    (dict(adaptive_noise_scale=0.05), False, "adaptive_noise_scale = 0.05 needs noise_offset"),
    (dict(noise_offset_random_strength=True), False, "noise_offset_random_strength does nothing with noise_offset = 0"),
    (dict(ip_noise_gamma_random_strength=True), False, "ip_noise_gamma_random_strength does nothing with ip_noise_gamma"),
    (dict(scale_v_pred_loss_like_noise_pred=True), False, "scale_v_pred_loss_like_noise_pred needs a v-prediction model"),
    (dict(v_pred_like_loss=0.1), True, "v_pred_like_loss = 0.1 is for noise-prediction models"),
])
def test_combinations_sd_scripts_refuses_are_one_line_naming_the_key(training, v_param, words):
    [problem] = validate(_cfg(v_param, **training))
    assert problem.startswith(words) and "\n" not in problem


def test_every_option_set_together_is_valid_and_ranges_are_checked():
    assert validate(_cfg(**ALL)) == []
    assert validate(_cfg(True, scale_v_pred_loss_like_noise_pred=True, zero_terminal_snr=True)) == []
    for line in ("multires_noise_discount = 2.0", "ip_noise_gamma = -0.1", "multires_noise_iterations = 1.5",
                 "adaptive_noise_scale = 3"):
        with pytest.raises(ConfigError, match=line.split()[0]):
            loads_config(f"[training]\n{line}\n", "c.toml")


def test_a_config_round_trips_and_every_key_is_explained():
    cfg = _cfg(**ALL)
    assert loads_config(dumps_config(cfg), "c.toml").training == cfg.training
    runner = CliRunner()
    for key in KEYS:
        assert unsupported_effect(key) is None, key  # no longer "loratui has no such setting"
        result = runner.invoke(cli, ["config", "explain", key])
        assert result.exit_code == 0 and result.output.startswith(f"[training] {key}"), result.output


def test_the_export_writes_what_is_on_and_the_metadata_follows_it(tmp_path):
    from loratui.engine.metadata import noise_metadata

    assert noise_loss_args(TrainingConfig().training) == {}
    (tmp_path / "img" / "1_x").mkdir(parents=True)
    from PIL import Image

    Image.new("RGB", (64, 64)).save(tmp_path / "img" / "1_x" / "a.png")
    cfg = _cfg(**ALL)
    cfg.dataset.train_data_dir = str(tmp_path / "img")
    args = build_sdscripts(cfg, family="sd1").train_args
    assert {k: args[k] for k in ALL} == ALL
    assert noise_metadata(cfg.training) == {
        "ss_multires_noise_iterations": 6, "ss_multires_noise_discount": 0.25, "ss_adaptive_noise_scale": 0.02,
        "ss_zero_terminal_snr": True, "ss_ip_noise_gamma": 0.1, "ss_debiased_estimation": True,
        "ss_noise_offset_random_strength": True, "ss_ip_noise_gamma_random_strength": True}
    # off: sd-scripts' argparse defaults, as it writes them when the export leaves the keys out
    assert noise_metadata(TrainingConfig().training) == {
        "ss_multires_noise_iterations": None, "ss_multires_noise_discount": 0.3, "ss_adaptive_noise_scale": None,
        "ss_zero_terminal_snr": False, "ss_ip_noise_gamma": None, "ss_debiased_estimation": False,
        "ss_noise_offset_random_strength": False, "ss_ip_noise_gamma_random_strength": False}


def _gui(**over) -> dict:
    data = json.loads((Path(__file__).parents[1] / "data" / "kohya_ss_sd15_standard.json").read_text())
    data.update(over)
    return data


def test_import_kohya_maps_the_gui_keys_as_lora_gui_passes_them():
    cfg, report = import_kohya(_gui(noise_offset_type="Original", noise_offset=0.05, noise_offset_random_strength=True,
                                    adaptive_noise_scale=0.02, multires_noise_iterations=6, ip_noise_gamma=0.1,
                                    ip_noise_gamma_random_strength=True, debiased_estimation_loss=True,
                                    v_pred_like_loss=0.2, additional_parameters="--zero_terminal_snr"))
    t = cfg.training
    assert (t.noise_offset, t.noise_offset_random_strength, t.adaptive_noise_scale, t.multires_noise_iterations) == \
        (0.05, True, 0.02, 0)
    assert (t.ip_noise_gamma, t.ip_noise_gamma_random_strength, t.debiased_estimation_loss, t.v_pred_like_loss,
            t.zero_terminal_snr) == (0.1, True, True, 0.2, True)
    assert not [w for w in report.warnings if "noise" in w or "debiased" in w]
    assert validate(cfg) == []


def test_import_kohya_leaves_out_what_sd_scripts_would_refuse_with_a_warning():
    cfg, report = import_kohya(_gui(noise_offset_type="Original", noise_offset=0, adaptive_noise_scale=0.02,
                                    scale_v_pred_loss_like_noise_pred=True, noise_offset_random_strength=True))
    t = cfg.training
    assert (t.adaptive_noise_scale, t.scale_v_pred_loss_like_noise_pred, t.noise_offset_random_strength) == \
        (None, False, False)
    assert any(w.startswith("adaptive_noise_scale 0.02 not imported") for w in report.warnings)
    assert any(w.startswith("scale_v_pred_loss_like_noise_pred not imported") for w in report.warnings)
    assert validate(cfg) == []
    cfg, report = import_kohya(_gui(v_parameterization=True, v_pred_like_loss=0.3,
                                    scale_v_pred_loss_like_noise_pred=True))
    assert cfg.training.scale_v_pred_loss_like_noise_pred and cfg.training.v_pred_like_loss == 0.0
    assert any(w.startswith("v_pred_like_loss 0.3 not imported") for w in report.warnings)
