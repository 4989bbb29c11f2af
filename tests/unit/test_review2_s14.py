"""The r2 review's core findings: a damaged or NaN-alpha network_weights file is said to be damaged (not
"set network_alpha = nan"), the .safetensors suffix rule is the engine's, a VAE under "vae." passes the check
and the engine strips the same prefixes, the CPU note says what to set, and the shared path helpers."""

from __future__ import annotations

import os

import numpy as np
from safetensors.numpy import save_file

from loratui.core.config import (
    VAE_KEY_PREFIXES, TrainingConfig, check_paths, config_from_dict, cpu_slow_line, gpu_only_settings,
    output_dir_of, save_config,
)
from loratui.core.termline import shell_path

UNET_ATTN = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q"


def _weights_problems(tmp_path, tensors: dict, name: str = "w.safetensors", **network) -> list[str]:
    save_file(tensors, str(tmp_path / name))
    cfg = config_from_dict({"network": {"network_weights": name, "network_dim": 8, "network_alpha": 4, **network}})
    cfg.config_dir = tmp_path
    return [p for p in check_paths(cfg) if p.startswith("network.network_weights")]


def _layer(alpha: float) -> dict[str, np.ndarray]:
    return {f"{UNET_ATTN}.lora_down.weight": np.zeros((8, 32), np.float16),
            f"{UNET_ATTN}.lora_up.weight": np.zeros((32, 8), np.float16),
            f"{UNET_ATTN}.alpha": np.array(alpha, np.float32)}


def test_a_layer_with_lora_down_only_is_a_damaged_file(tmp_path):
    half = {k: v for k, v in _layer(4).items() if ".lora_up." not in k}
    [line] = _weights_problems(tmp_path, half)
    assert line.startswith(f"network.network_weights: {tmp_path / 'w.safetensors'}: the file is damaged or "
                           "incomplete, 1 damaged layer(s): ")
    assert UNET_ATTN in line and line.endswith("get a complete copy (download or export it again)")


def test_a_nan_alpha_says_the_file_is_damaged_not_a_value_to_set(tmp_path):
    [line] = _weights_problems(tmp_path, _layer(float("nan")))
    assert line == (f"network.network_weights ({tmp_path / 'w.safetensors'}): {UNET_ATTN}: alpha is NaN/inf: "
                    "the file is damaged: get a complete copy (download or export it again)")
    assert "set network_alpha" not in line


def test_an_upper_case_suffix_is_refused_as_train_refuses_it(tmp_path):
    [line] = _weights_problems(tmp_path, _layer(4), name="W.SAFETENSORS")
    assert line == (f"network.network_weights: {tmp_path / 'W.SAFETENSORS'}: train reads only a lower-case "
                    ".safetensors suffix: rename the file to end in .safetensors")


def test_a_diffusers_vae_stored_under_vae_prefix_passes(tmp_path):
    assert VAE_KEY_PREFIXES == ("first_stage_model.", "vae.")
    tensors = {f"vae.{part}weight": np.zeros((8, 4, 3, 3), np.float32)
               for part in ("encoder.down_blocks.0.", "decoder.conv_in.", "quant_conv.", "post_quant_conv.")}
    save_file(tensors, str(tmp_path / "v.safetensors"))
    cfg = config_from_dict({"model": {"vae": "v.safetensors"}})
    cfg.config_dir = tmp_path
    assert [p for p in check_paths(cfg) if p.startswith("model.vae")] == []


def test_the_cpu_note_names_the_settings_and_what_to_set():
    before, after = TrainingConfig(), TrainingConfig()
    before.optimizer.optimizer_type, before.training.mixed_precision = "AdamW", "no"
    after.optimizer.optimizer_type, after.training.mixed_precision = "AdamW8bit", "bf16"
    assert cpu_slow_line(before, after) == ('no CUDA GPU here: AdamW8bit and bf16 run about 10x slower on a CPU: '
                                            'set optimizer_type = "AdamW" and mixed_precision = "no"')
    after.optimizer.optimizer_type = "Lion8bit"
    assert cpu_slow_line(before, after).endswith('set optimizer_type = "Lion" and mixed_precision = "no"')
    assert gpu_only_settings(before, after) == ['optimizer_type = "Lion8bit"', 'mixed_precision = "bf16"']
    assert cpu_slow_line(after, after) is None  # the config had them already: nothing new to say


def test_output_dir_of_resolves_against_the_configs_folder(tmp_path):
    cfg = TrainingConfig()
    cfg.saving.output_dir = "model"
    save_config(cfg, tmp_path / "c.toml")
    assert output_dir_of(tmp_path / "c.toml") == tmp_path / "model"
    cfg.saving.output_dir = ""
    save_config(cfg, tmp_path / "c.toml")
    assert output_dir_of(tmp_path / "c.toml") == tmp_path


def test_shell_path_is_relative_below_here_and_quoted(tmp_path, monkeypatch):
    (tmp_path / "my model").mkdir()
    monkeypatch.chdir(tmp_path)
    assert shell_path(tmp_path / "my model") == "'my model'"
    assert shell_path(tmp_path / "my model", folder=True) == "'my model'/"
    assert shell_path(tmp_path, folder=True) == "./" and shell_path(tmp_path) == "."
    assert shell_path("/") == "/"
    assert shell_path(os.path.join(os.sep, "a b")) == "'/a b'"
