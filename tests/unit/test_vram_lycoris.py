"""LyCORIS network types in the VRAM estimate and in `loratui steps` (issue 13).

The counts themselves are checked element for element against the engine's networks in
tests/engine/test_lycoris_counts.py; here: the released models' figures hang together, and the estimate
and the steps breakdown use them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from loratui.cli import cli
from loratui.core.config import TrainingConfig, save_config
from loratui.core.errors import LoratuiError
from loratui.core.plan import (FAMILIES, LycorisOptions, count_lycoris, estimate_vram, network_size,
                               text_encoder_lora_params, unet_lora_params)


def make(family="sd1", args=None, **training):
    cfg = TrainingConfig()
    cfg.model.model_family = family
    cfg.dataset.resolution = (512, 512) if family == "sd1" else (1024, 1024)
    cfg.dataset.cache_latents = True
    cfg.network.network_dim = 16
    if args is not None:
        cfg.network.network_module = "lycoris.kohya"
        cfg.network.network_args = list(args)
    cfg.training.mixed_precision = "bf16"
    cfg.training.sdpa = True
    for key, value in training.items():
        setattr(cfg.training, key, value)
    return cfg


def part(est, name):
    return next((p.bytes for p in est.parts if p.name == name), 0)


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_released_model_counts_hang_together(family):
    arch = FAMILIES[family]
    locon = count_lycoris(LycorisOptions(algo="locon", dim=16, conv_dim=16), arch)
    loha = count_lycoris(LycorisOptions(algo="loha", dim=16, conv_dim=16), arch)
    assert loha.params == 2 * locon.params and loha.modules == locon.modules  # two LoRA pairs per layer
    lokr = count_lycoris(LycorisOptions(algo="lokr", dim=16, conv_dim=16), arch)
    assert lokr.params < locon.params / 10
    dora = count_lycoris(LycorisOptions(algo="locon", dim=16, conv_dim=16, dora=True), arch)
    assert locon.params < dora.params < locon.params * 1.05  # one magnitude per output feature
    # full trains the whole of every wrapped layer: all the UNet but its norms (and SDXL's
    # label/time embeddings, which sd-scripts' SDXL UNet does not name), every CLIP attention/MLP Linear
    full = count_lycoris(LycorisOptions(algo="full"), arch)
    assert 0.995 * arch.unet.params < full.unet_params < arch.unet.params
    assert full.wrapped_unet_weights < full.unet_params < full.wrapped_unet_weights * 1.001  # + the biases
    # the default preset trains more than kohya LoCon: the UNet's 3x3 convs and, on SD1/SD2,
    # conv_in / conv_out / the time embedding; attn-mlp trains kohya LoRA's set
    attn = count_lycoris(LycorisOptions(algo="locon", dim=16, preset="attn-mlp"), arch)
    assert attn.params == (unet_lora_params(arch.unet, 16)
                           + sum(text_encoder_lora_params(te, 16) for te in arch.text_encoders))
    kohya_locon = (unet_lora_params(arch.unet, 16, 16)
                   + sum(text_encoder_lora_params(te, 16) for te in arch.text_encoders))
    assert (locon.params > kohya_locon) == (family == "sd1")
    assert locon.params >= kohya_locon


def test_estimate_counts_lycoris_parameters_and_rebuilt_weights():
    lora = estimate_vram(make())
    locon = estimate_vram(make(args=["algo=locon"]))
    loha = estimate_vram(make(args=["algo=loha"]))
    assert part(loha, "LoRA weights") == 2 * part(locon, "LoRA weights") > part(lora, "LoRA weights")
    assert part(loha, "LoRA gradients") == part(loha, "LoRA weights")
    assert part(loha, "optimizer state") == 2 * part(locon, "optimizer state")
    assert part(lora, "LyCORIS weight rebuilds") == 0
    rebuilt = part(loha, "LyCORIS weight rebuilds")
    wrapped = count_lycoris(LycorisOptions(algo="loha", dim=16, conv_dim=16), FAMILIES["sd1"]).wrapped_unet_weights
    assert rebuilt > 2 * wrapped  # bf16: two bytes per wrapped UNet weight, plus the text encoder's
    assert any("not measured on a GPU" in a for a in loha.assumptions)
    note = next(p.note for p in loha.parts if p.name == "LoRA weights")
    assert "LoHa" in note and "preset full" in note
    # checkpointing: one unit at a time; DoRA keeps an fp32 merged weight too; LoCon in bypass mode none
    ckpt = estimate_vram(make(args=["algo=loha"], gradient_checkpointing=True))
    assert 0 < part(ckpt, "LyCORIS weight rebuilds") < rebuilt / 5
    dora = estimate_vram(make(args=["algo=locon", "dora_wd=true"]))
    assert part(dora, "LyCORIS weight rebuilds") == pytest.approx(3 * part(locon, "LyCORIS weight rebuilds"), rel=1e-6)
    assert part(estimate_vram(make(args=["algo=locon", "bypass_mode=true"])), "LyCORIS weight rebuilds") == 0
    assert loha.total_bytes > locon.total_bytes > lora.total_bytes


def test_full_swaps_frozen_weights_for_trained_ones():
    lora = estimate_vram(make("sdxl"))
    full = estimate_vram(make("sdxl", args=["algo=full"]))
    count = count_lycoris(LycorisOptions(algo="full"), FAMILIES["sdxl"])
    assert part(full, "UNet weights") == part(lora, "UNet weights") - 2 * count.unet_params
    assert part(full, "LoRA weights") == 4 * count.params
    assert part(full, "optimizer state") == 2 * count.params  # AdamW8bit (the default): 2 bytes
    assert part(full, "LyCORIS weight rebuilds") == 2 * (count.wrapped_unet_weights + count.wrapped_te_weights)
    assert full.total_gib > 40


def test_bad_network_args_are_one_line():
    with pytest.raises(LoratuiError, match="cannot estimate this network: .*algo=ia3"):
        estimate_vram(make(args=["algo=ia3"]))


def test_network_size_and_steps_show_the_count(tmp_path):
    size = network_size(make(args=["algo=lokr", "factor=8"]))
    assert size["kind"] == "LyCORIS LoKr" and size["preset"] == "full" and size["modules"] == 354
    expected = count_lycoris(LycorisOptions(algo="lokr", dim=16, conv_dim=16, factor=8), FAMILIES["sd1"])
    assert size["params"] == expected.params
    assert network_size(make())["modules"] is None

    folder = tmp_path / "img" / "2_a"
    folder.mkdir(parents=True)
    from PIL import Image
    Image.new("RGB", (64, 64)).save(folder / "a.png")
    cfg = make(args=["algo=loha"])
    cfg.dataset.train_data_dir = "img"
    cfg.dataset.resolution = (64, 64)
    cfg.dataset.min_bucket_reso = 64
    cfg.training.max_train_epochs = 2
    save_config(cfg, tmp_path / "c.toml")
    out = CliRunner().invoke(cli, ["steps", str(tmp_path / "c.toml")])
    assert out.exit_code == 0, out.output
    assert "Network: LyCORIS LoHa, preset full, 354 modules: " in out.output
    assert "trainable parameters" in out.output
    data = json.loads(CliRunner().invoke(cli, ["steps", str(tmp_path / "c.toml"), "--json"]).output)
    assert data["network"]["params"] == network_size(cfg)["params"]
