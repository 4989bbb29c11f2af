"""Text-encoder-only training keeps the UNet's activations (the loss is at the UNet output, so the text
encoder's gradient flows back through it; hunt s14/h3 finding 1), and Adafactor's factored state is
about 4/rank bytes per parameter (finding 4)."""

from __future__ import annotations

import pytest

from loratui.core.config import TrainingConfig
from loratui.core.plan import CONSTANTS, FAMILIES, GIB, estimate_vram, text_encoder_lora_params


def _cfg(family: str, *, te_only: bool = False, checkpointing: bool = False, optimizer: str = "AdamW8bit"):
    cfg = TrainingConfig()
    cfg.model.model_family = family
    cfg.dataset.resolution = (1024, 1024) if family == "sdxl" else (512, 512)
    cfg.dataset.cache_latents = True  # the VAE's scratch would hide the UNet's activations
    cfg.training.mixed_precision = "bf16"
    cfg.training.sdpa = True
    cfg.training.gradient_checkpointing = checkpointing
    cfg.optimizer.optimizer_type = optimizer
    cfg.network.network_train_text_encoder_only = te_only
    return cfg


def _part(estimate, name: str) -> int:
    return next(p.bytes for p in estimate.parts if p.name == name)


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
@pytest.mark.parametrize("checkpointing", [False, True])
def test_text_encoder_only_keeps_most_of_the_unet_activations(family, checkpointing):
    both = estimate_vram(_cfg(family, checkpointing=checkpointing))
    te_only = estimate_vram(_cfg(family, te_only=True, checkpointing=checkpointing))
    share = _part(te_only, "activations") / _part(both, "activations")
    # measured on the tiny UNets: about 0.76 (no checkpointing) to 0.85-0.97 (checkpointing: the kept unit
    # inputs do not shrink; SDXL's rebuilt unit is a resnet, which keeps all) of the UNet-trained case;
    # before the fix the UNet's part was 0 (SD1: 0.04 of 1.16 GiB)
    assert 0.7 < share <= 1.0, share
    if not checkpointing:
        assert share < 0.9
    assert "backpropagated through (text encoder only)" in next(
        p.note for p in te_only.parts if p.name == "activations")


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_checkpointing_still_cuts_text_encoder_only_activations(family):
    full = _part(estimate_vram(_cfg(family, te_only=True)), "activations")
    ckpt = _part(estimate_vram(_cfg(family, te_only=True, checkpointing=True)), "activations")
    assert ckpt < full / 2


def test_text_encoder_only_trains_no_unet_lora():
    te_only = estimate_vram(_cfg("sd1", te_only=True))
    both = estimate_vram(_cfg("sd1"))
    te_lora = sum(text_encoder_lora_params(te, TrainingConfig().network.network_dim) for te in FAMILIES["sd1"].text_encoders)
    assert _part(te_only, "LoRA weights") == te_lora * 4 < _part(both, "LoRA weights")  # fp32, no UNet LoRA
    assert "UNet" not in next(p.note for p in te_only.parts if p.name == "LoRA weights")


def test_hunt_repro_sd1_is_no_longer_30_percent_low():
    """The hunt: SD1, bf16, AdamW8bit: TE-only said 2.74 GiB against 3.98 GiB for the UNet-trained config."""
    cfg = _cfg("sd1", te_only=True)
    cfg.dataset.cache_latents = False
    assert estimate_vram(cfg).total_gib > 3.4


def test_the_share_is_a_documented_constant():
    assert 0.6 < CONSTANTS["te_only_transformer_share"] < 0.8


def test_adafactor_state_is_about_four_bytes_per_row_and_column():
    cfg = _cfg("sd1", optimizer="Adafactor")
    cfg.network.network_train_unet_only = True
    estimate = estimate_vram(cfg)
    lora_params = _part(estimate, "LoRA weights") / 4  # fp32 LoRA weights
    rank = cfg.network.network_dim
    assert _part(estimate, "optimizer state") == pytest.approx(lora_params * 4 / rank, rel=0.01)
    assert _part(estimate, "optimizer state") < 0.01 * GIB
