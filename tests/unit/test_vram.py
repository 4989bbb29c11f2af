"""The VRAM estimator: shape tables, calibration, and how each setting moves the estimate."""

from __future__ import annotations

import json

import pytest

from loratui.core.plan import CONSTANTS
from loratui.core.config import TrainingConfig
from loratui.core.errors import LoratuiError
from loratui.core.plan import GIB, calibration_points, calibration_report, estimate_vram, fit_activation_scales
from loratui.core.plan import (CLIP_L, FAMILIES, OPENCLIP_BIGG, SD1_UNET, SDXL_UNET,
                                      text_encoder_lora_params, unet_layout, unet_lora_params)


def make(family="sd1", res=512, batch=1, rank=16, **training):
    cfg = TrainingConfig()
    cfg.model.model_family = family
    cfg.dataset.resolution = (res, res)
    cfg.training.train_batch_size = batch
    cfg.network.network_dim = rank
    for key, value in training.items():
        setattr(cfg.training, key, value)
    return cfg


def part(est, name):
    return next((p.bytes for p in est.parts if p.name == name), 0)


# ---- shape tables (figures checked against diffusers/transformers models on the meta device) ----

def test_published_parameter_counts():
    assert SD1_UNET.params == pytest.approx(859.5e6, rel=1e-3)
    assert SDXL_UNET.params == pytest.approx(2.567e9, rel=1e-3)
    assert CLIP_L.params == pytest.approx(123.1e6, rel=1e-3)
    assert OPENCLIP_BIGG.params == pytest.approx(694.7e6, rel=1e-3)
    assert FAMILIES["sd1"].vae_params == pytest.approx(83.7e6, rel=1e-3)
    assert FAMILIES["sd1"].vae_encoder_params == pytest.approx(34.2e6, rel=2e-3)


def test_layouts_have_the_real_block_counts():
    sd1, sdxl = unet_layout(SD1_UNET), unet_layout(SDXL_UNET)
    assert (len(sd1.resnets), len(sd1.transformers), len(sd1.resamplers)) == (22, 16, 6)
    assert (len(sdxl.resnets), len(sdxl.transformers), len(sdxl.resamplers)) == (17, 11, 4)
    assert sum(t.depth for t in sdxl.transformers) == 70  # 2*5 at 640 channels + 10*6 at 1280


@pytest.mark.parametrize("arch,rank,conv,expected", [
    (SD1_UNET, 1, 0, 423_936), (SD1_UNET, 16, 0, 6_782_976), (SD1_UNET, 16, 8, 12_461_056),
    (SDXL_UNET, 1, 0, 2_659_840), (SDXL_UNET, 16, 0, 42_557_440), (SDXL_UNET, 16, 8, 46_341_120),
])
def test_unet_lora_counts_match_kohya_targets(arch, rank, conv, expected):
    assert unet_lora_params(arch, rank, conv) == expected


def test_text_encoder_lora_counts():
    assert text_encoder_lora_params(CLIP_L, 16) == 2_654_208
    assert text_encoder_lora_params(OPENCLIP_BIGG, 16) == 11_796_480


def test_sd15_rank32_lora_file_size_is_the_familiar_37_mb():
    params = unet_lora_params(SD1_UNET, 32) + text_encoder_lora_params(CLIP_L, 32)
    assert params * 2 / 1e6 == pytest.approx(37.7, abs=0.2)  # fp16 file, alphas aside


# ---- calibration ------------------------------------------------------------------------------

@pytest.mark.parametrize("index", range(len(calibration_points())))
def test_calibration_points_within_ten_percent(index):
    """Published (SimpleTuner) and measured (H100, bench/vram_peaks.py) peaks."""
    label, ref, est, err = calibration_report()[index]
    assert abs(err) < 0.10, f"{label}: estimate {est:.2f} GiB vs reference {ref:.2f} GiB"


def test_refit_reproduces_the_table_and_leaves_it_alone():
    before = dict(CONSTANTS)
    fitted = fit_activation_scales()
    assert CONSTANTS == before
    assert fitted["act_scale_full"] == pytest.approx(before["act_scale_full"], abs=0.02)
    assert fitted["act_scale_ckpt"] == pytest.approx(before["act_scale_ckpt"], abs=0.02)


def test_refit_follows_a_measured_point():
    point = calibration_points()[3]
    point.gib = 8.0  # pretend the GPU measured more
    fitted = fit_activation_scales([point])
    assert fitted["act_scale_ckpt"] > CONSTANTS["act_scale_ckpt"] * 1.5
    assert "act_scale_full" not in fitted


# ---- behaviour --------------------------------------------------------------------------------

def test_total_is_the_sum_of_parts_and_json_ready():
    est = estimate_vram(make())
    assert est.total_bytes == sum(p.bytes for p in est.parts)
    assert est.allocated_bytes == est.total_bytes - part(est, "CUDA context")
    data = json.loads(json.dumps(est.to_dict()))
    assert data["total_bytes"] == est.total_bytes and data["parts"][0]["name"] == "UNet weights"


@pytest.mark.parametrize("change", [
    {"res": 768}, {"batch": 2}, {"rank": 64}, {"sdpa": False}, {"mixed_precision": "no"},
])
def test_bigger_settings_need_more(change):
    assert estimate_vram(make(**change)).total_bytes > estimate_vram(make()).total_bytes


def test_checkpointing_cuts_activations_several_fold():
    full = part(estimate_vram(make("sdxl", 1024)), "activations")
    ckpt = part(estimate_vram(make("sdxl", 1024, gradient_checkpointing=True)), "activations")
    assert ckpt < full / 5


def test_activations_linear_in_tokens_with_sdpa_quadratic_without():
    def act(res, sdpa):
        return part(estimate_vram(make(res=res, sdpa=sdpa)), "activations")
    assert act(1024, True) / act(512, True) == pytest.approx(4.0, rel=0.05)
    assert act(1024, False) / act(512, False) > 8.0
    assert act(512, False) > act(512, True) * 2  # the 4096x4096 matrices at the top level


def test_activations_scale_with_batch():
    one = part(estimate_vram(make(batch=1)), "activations")
    assert part(estimate_vram(make(batch=4)), "activations") == pytest.approx(4 * one, rel=1e-6)


def test_xformers_counts_as_memory_efficient_attention():
    assert estimate_vram(make(sdpa=False, xformers=True)).total_bytes == estimate_vram(make()).total_bytes


def test_cached_latents_drop_the_vae_and_uncached_add_it():
    cached = estimate_vram(make())
    uncached_cfg = make()
    uncached_cfg.dataset.cache_latents = False
    uncached = estimate_vram(uncached_cfg)
    assert part(cached, "VAE weights") == 0
    assert part(uncached, "VAE weights") == FAMILIES["sd1"].vae_params * 2


def test_text_encoder_cache_only_when_not_trained():
    cfg = make("sdxl", 1024, cache_text_encoder_outputs=True)
    est = estimate_vram(cfg)  # text encoder still trained: cache ignored
    assert part(est, "text encoder weights") == (CLIP_L.params + OPENCLIP_BIGG.params) * 2
    assert any("ignored" in a for a in est.assumptions)
    cfg.network.network_train_unet_only = True
    assert part(estimate_vram(cfg), "text encoder weights") == 0


def test_optimizer_and_lora_precision():
    adamw = make(rank=32)
    adamw.optimizer.optimizer_type = "AdamW"
    eight = make(rank=32)
    eight.optimizer.optimizer_type = "AdamW8bit"
    assert part(estimate_vram(adamw), "optimizer state") == 4 * part(estimate_vram(eight), "optimizer state")
    bf16 = make(rank=32, full_bf16=True)
    assert part(estimate_vram(bf16), "LoRA weights") * 2 == part(estimate_vram(make(rank=32)), "LoRA weights")


def test_conv_dim_adds_parameters():
    cfg = make()
    base = part(estimate_vram(cfg), "LoRA weights")
    cfg.network.conv_dim = 8
    assert part(estimate_vram(cfg), "LoRA weights") > base


@pytest.mark.parametrize("path,family", [
    ("models/sd_xl_base_1.0.safetensors", "sdxl"), ("/m/ponyDiffusionXL", "sdxl"),
    ("v1-5-pruned-emaonly.safetensors", "sd1"), ("", "sd1"),
])
def test_auto_family_is_guessed_and_said(path, family):
    cfg = make("auto")
    cfg.model.pretrained_model_name_or_path = path
    est = estimate_vram(cfg)
    assert est.family == family
    assert any("guessed" in a for a in est.assumptions)


def test_family_argument_overrides_config():
    assert estimate_vram(make("sd1"), family="sdxl").family == "sdxl"
    assert not any("guessed" in a for a in estimate_vram(make("sd1")).assumptions)


def test_unknown_family_is_a_clear_error():
    with pytest.raises(LoratuiError, match="unknown model family"):
        estimate_vram(make(), family="flux")


def test_fitting_tiers():
    est = estimate_vram(make("sdxl", 1024))  # text encoders trained, no checkpointing: about 16.4 GiB
    assert est.fitting_tiers() == [24, 48]
    assert est.fits(24) and not est.fits(16)
    assert est.total_bytes > 16 * GIB
