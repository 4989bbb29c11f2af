"""sd-scripts metadata keys, formats and the sshs hashes."""

from __future__ import annotations

import hashlib
import json

import torch
from safetensors.torch import save

from loratui.core.config import TrainingConfig
from loratui.engine.metadata import (
    base_model_version,
    build_metadata,
    modelspec_architecture,
    safetensors_hashes,
)

REQUIRED = [
    "ss_session_id", "ss_training_started_at", "ss_output_name", "ss_learning_rate", "ss_text_encoder_lr",
    "ss_unet_lr", "ss_num_train_images", "ss_num_reg_images", "ss_num_batches_per_epoch", "ss_num_epochs",
    "ss_gradient_checkpointing", "ss_gradient_accumulation_steps", "ss_max_train_steps", "ss_lr_warmup_steps",
    "ss_lr_scheduler", "ss_network_module", "ss_network_dim", "ss_network_alpha", "ss_network_dropout",
    "ss_mixed_precision", "ss_full_fp16", "ss_v2", "ss_base_model_version", "ss_clip_skip",
    "ss_max_token_length", "ss_cache_latents", "ss_seed", "ss_noise_offset", "ss_optimizer", "ss_max_grad_norm",
    "ss_caption_dropout_rate", "ss_caption_tag_dropout_rate", "ss_prior_loss_weight", "ss_min_snr_gamma",
    "ss_batch_size_per_device", "ss_total_batch_size", "ss_resolution", "ss_flip_aug", "ss_shuffle_caption",
    "ss_enable_bucket", "ss_bucket_no_upscale", "ss_min_bucket_reso", "ss_max_bucket_reso", "ss_keep_tokens",
    "ss_dataset_dirs", "ss_reg_dataset_dirs", "ss_tag_frequency", "ss_bucket_info", "ss_training_finished_at",
    "ss_steps", "ss_epoch", "ss_sd_model_name",
    "modelspec.sai_model_spec", "modelspec.architecture", "modelspec.implementation", "modelspec.title",
    "modelspec.resolution", "modelspec.date", "modelspec.prediction_type",
]


def _cfg(tmp_path, model_file=True):
    cfg = TrainingConfig()
    if model_file:
        path = tmp_path / "base.safetensors"
        path.write_bytes(bytes(range(256)) * 5000)  # > 1 MiB + 64 KiB so the legacy hash reads real bytes
        cfg.model.pretrained_model_name_or_path = str(path)
    cfg.network.network_dim, cfg.network.network_alpha = 16, 8.0
    cfg.optimizer.optimizer_type = "AdamW8bit"
    cfg.optimizer.optimizer_args = ["weight_decay=0.1", "betas=0.9,0.99"]
    cfg.optimizer.learning_rate, cfg.optimizer.unet_lr = 1e-4, 2e-4
    cfg.dataset.resolution = (512, 768)
    cfg.saving.output_name = "mylora"
    cfg.saving.metadata_author = "me"
    cfg.training.clip_skip = 2
    return cfg


def _build(cfg, family="sd1", **kw):
    args = dict(session_id=1234, training_started_at=1700000000.5, steps=100, epochs=2, num_train_images=40,
                num_reg_images=0, tag_frequency={"10_cat": {"cat": 4, "solo": 2}},
                dataset_dirs={"10_cat": {"n_repeats": 10, "img_count": 4}},
                bucket_info={"buckets": {"0": {"resolution": [512, 512], "count": 40}}, "mean_img_ar_error": 0.0},
                num_batches_per_epoch=20, num_epochs=5, max_train_steps=100, training_finished_at=1700000100.0)
    args.update(kw)
    return build_metadata(cfg, family, **args)


def test_keys_and_formats(tmp_path):
    cfg = _cfg(tmp_path)
    meta = _build(cfg)
    assert all(isinstance(v, str) for v in meta.values())
    assert [k for k in REQUIRED if k not in meta] == []
    assert meta["ss_session_id"] == "1234"
    assert meta["ss_network_dim"] == "16" and meta["ss_network_alpha"] == "8.0"
    assert meta["ss_learning_rate"] == "0.0001" and meta["ss_unet_lr"] == "0.0002"
    assert meta["ss_text_encoder_lr"] == "None"  # unset: as sd-scripts writes it, not learning_rate
    assert meta["ss_network_module"] == "networks.lora"
    assert meta["ss_base_model_version"] == "sd_v1" and meta["ss_v2"] == "False"
    assert meta["ss_resolution"] == "(512, 768)" and meta["modelspec.resolution"] == "512x768"
    # sd-scripts' format: each value as ast.literal_eval reads it ("0.9,0.99" is a tuple)
    assert meta["ss_optimizer"] == "bitsandbytes.optim.adamw.AdamW8bit(weight_decay=0.1,betas=(0.9, 0.99))"
    assert meta["ss_steps"] == "100" and meta["ss_epoch"] == "2" and meta["ss_num_epochs"] == "5"
    assert json.loads(meta["ss_tag_frequency"]) == {"10_cat": {"cat": 4, "solo": 2}}
    assert json.loads(meta["ss_dataset_dirs"]) == {"10_cat": {"n_repeats": 10, "img_count": 4}}
    assert json.loads(meta["ss_bucket_info"])["buckets"]["0"]["count"] == 40
    assert meta["ss_gradient_checkpointing"] == "False" and meta["ss_cache_latents"] == "True"
    assert meta["ss_sd_model_name"] == "base.safetensors"
    data = (tmp_path / "base.safetensors").read_bytes()
    assert meta["ss_new_sd_model_hash"] == hashlib.sha256(data).hexdigest()
    assert meta["ss_sd_model_hash"] == hashlib.sha256(data[0x100000:0x110000]).hexdigest()[:8]
    assert meta["modelspec.architecture"] == "stable-diffusion-v1/lora"
    assert meta["modelspec.implementation"] == "diffusers"
    assert meta["modelspec.title"] == "mylora" and meta["modelspec.author"] == "me"
    assert meta["modelspec.prediction_type"] == "epsilon" and meta["modelspec.encoder_layer"] == "2"
    assert meta["modelspec.date"].startswith("2023-11-1")


def test_family_specific_values(tmp_path):
    cfg = _cfg(tmp_path, model_file=False)
    xl = _build(cfg, "sdxl")
    assert xl["ss_base_model_version"] == "sdxl_base_v1-0"
    assert xl["modelspec.architecture"] == "stable-diffusion-xl-v1-base/lora"
    assert xl["modelspec.implementation"] == "https://github.com/Stability-AI/generative-models"
    cfg.model.v_parameterization = True
    v = _build(cfg, "sd2")
    assert v["ss_v2"] == "True" and v["ss_base_model_version"] == "sd_v2_v"
    assert v["modelspec.architecture"] == "stable-diffusion-v2-768-v/lora" and v["modelspec.prediction_type"] == "v"
    assert base_model_version("sd2", False) == "sd_v2"
    assert modelspec_architecture("sd2", False) == "stable-diffusion-v2-512/lora"
    cfg.network.conv_dim, cfg.network.conv_alpha = 4, 1.0
    assert json.loads(_build(cfg, "sd1")["ss_network_args"]) == {"conv_dim": "4", "conv_alpha": "1", "dropout": None}


def test_sshs_hashes_follow_sd_scripts():
    tensors = {"a.lora_down.weight": torch.arange(300_000, dtype=torch.float32).reshape(1000, 300)}
    meta = {"ss_x": "1", "modelspec.title": "changes nothing"}
    model_hash, legacy = safetensors_hashes(tensors, meta)
    data = save(tensors, {"ss_x": "1"})
    header = int.from_bytes(data[:8], "little")
    assert model_hash == hashlib.sha256(data[8 + header:]).hexdigest()
    assert legacy == hashlib.sha256(data[0x100000:0x110000]).hexdigest()[:8]
    assert safetensors_hashes(tensors, {"ss_x": "1"}) == (model_hash, legacy)
