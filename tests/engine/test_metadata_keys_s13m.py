"""ss_* / modelspec keys as sd-scripts' train_network.py writes them for the same settings (hunt h10): the
bucket bounds after its rounding, no bucket keys with buckets off, the description as ss_training_comment,
learning rates as given, modelspec.date at the save, encoder_layer for clip_skip 1, LoCon's network_args
with "dropout", ss_epoch of a step save, and the keys of features loratui does not have."""

from __future__ import annotations

import datetime
import json
from types import SimpleNamespace

import pytest

from loratui.core.config import TrainingConfig
from loratui.engine.metadata import build_metadata
from loratui.engine.run_saves import saved_epoch

# every key train_network.py's metadata dict holds (its lines 1004-1064, and 1183-1198 for a train_data_dir)
SD_SCRIPTS_KEYS = """
ss_session_id ss_training_started_at ss_output_name ss_learning_rate ss_text_encoder_lr ss_unet_lr
ss_num_train_images ss_num_validation_images ss_num_reg_images ss_num_batches_per_epoch ss_num_epochs
ss_gradient_checkpointing ss_gradient_accumulation_steps ss_max_train_steps ss_lr_warmup_steps ss_lr_scheduler
ss_network_module ss_network_dim ss_network_alpha ss_network_dropout ss_mixed_precision ss_full_fp16 ss_v2
ss_base_model_version ss_clip_skip ss_max_token_length ss_cache_latents ss_seed ss_lowram ss_noise_offset
ss_multires_noise_iterations ss_multires_noise_discount ss_adaptive_noise_scale ss_zero_terminal_snr
ss_training_comment ss_sd_scripts_commit_hash ss_optimizer ss_max_grad_norm ss_caption_dropout_rate
ss_caption_dropout_every_n_epochs ss_caption_tag_dropout_rate ss_face_crop_aug_range ss_prior_loss_weight
ss_min_snr_gamma ss_scale_weight_norms ss_ip_noise_gamma ss_debiased_estimation ss_noise_offset_random_strength
ss_ip_noise_gamma_random_strength ss_loss_type ss_huber_schedule ss_huber_scale ss_huber_c ss_fp8_base
ss_fp8_base_unet ss_validation_seed ss_validation_split ss_max_validation_steps ss_validate_every_n_epochs
ss_validate_every_n_steps ss_resize_interpolation ss_batch_size_per_device ss_total_batch_size ss_resolution
ss_color_aug ss_flip_aug ss_random_crop ss_shuffle_caption ss_enable_bucket ss_bucket_no_upscale
ss_min_bucket_reso ss_max_bucket_reso ss_keep_tokens ss_dataset_dirs ss_reg_dataset_dirs ss_tag_frequency
ss_bucket_info ss_training_finished_at ss_steps ss_epoch
""".split()

BUCKETS = {"buckets": {"0": {"resolution": [64, 192], "count": 4}}, "mean_img_ar_error": 0.0}


def _meta(cfg: TrainingConfig, **kw) -> dict[str, str]:
    args = dict(session_id=1, training_started_at=1_700_000_000.0, steps=8, epochs=1, num_train_images=4,
                num_reg_images=0, tag_frequency={}, dataset_dirs={}, bucket_info=BUCKETS,
                training_finished_at=1_700_000_600.0)
    args.update(kw)
    return build_metadata(cfg, "sd1", **args)


def _cfg(**values) -> TrainingConfig:
    cfg = TrainingConfig()
    for key, value in values.items():
        section, name = key.split("__")
        setattr(getattr(cfg, section), name, value)
    return cfg


def test_every_key_sd_scripts_writes_is_there_with_its_default_for_what_loratui_does_not_have():
    meta = _meta(_cfg())
    assert [k for k in SD_SCRIPTS_KEYS if k not in meta] == []
    assert {k: meta[k] for k in ("ss_num_validation_images", "ss_loss_type", "ss_huber_schedule", "ss_huber_scale",
                                 "ss_huber_c", "ss_multires_noise_discount", "ss_zero_terminal_snr",
                                 "ss_validation_split", "ss_resize_interpolation", "ss_fp8_base")} == {
        "ss_num_validation_images": "0", "ss_loss_type": "l2", "ss_huber_schedule": "snr", "ss_huber_scale": "1.0",
        "ss_huber_c": "0.1", "ss_multires_noise_discount": "0.3", "ss_zero_terminal_snr": "False",
        "ss_validation_split": "0.0", "ss_resize_interpolation": "None", "ss_fp8_base": "False"}


def test_bucket_bounds_are_the_ones_rounded_to_bucket_reso_steps():
    meta = _meta(_cfg(dataset__resolution=(128, 128), dataset__min_bucket_reso=96, dataset__max_bucket_reso=200,
                      dataset__bucket_reso_steps=64))
    assert (meta["ss_min_bucket_reso"], meta["ss_max_bucket_reso"]) == ("64", "256")
    assert json.loads(meta["ss_bucket_info"]) == BUCKETS


def test_buckets_off_write_no_bounds_and_no_bucket_info():
    meta = _meta(_cfg(dataset__enable_bucket=False, dataset__bucket_no_upscale=True, dataset__max_bucket_reso=250))
    assert meta["ss_enable_bucket"] == "False" and meta["ss_bucket_no_upscale"] == "False"
    assert (meta["ss_min_bucket_reso"], meta["ss_max_bucket_reso"], meta["ss_bucket_info"]) == ("None", "None", "null")


def test_the_description_is_the_training_comment_too():
    meta = _meta(_cfg(saving__metadata_description="trigger: sks dog"))
    assert meta["ss_training_comment"] == "trigger: sks dog" == meta["modelspec.description"]
    assert _meta(_cfg())["ss_training_comment"] == "None"


def test_learning_rates_are_written_as_given():
    meta = _meta(_cfg(optimizer__learning_rate=1e-4, network__network_train_unet_only=True))
    assert (meta["ss_learning_rate"], meta["ss_unet_lr"], meta["ss_text_encoder_lr"]) == ("0.0001", "None", "None")
    meta = _meta(_cfg(optimizer__unet_lr=3e-4, optimizer__text_encoder_lr=5e-5))
    assert (meta["ss_unet_lr"], meta["ss_text_encoder_lr"]) == ("0.0003", "5e-05")


def test_modelspec_date_is_the_saves_time_not_the_start():
    meta = _meta(_cfg())
    assert meta["modelspec.date"] == datetime.datetime.fromtimestamp(1_700_000_600).isoformat()
    assert meta["ss_training_started_at"] == "1700000000.0"
    unsaid = _meta(_cfg(), training_finished_at=None)  # an intermediate save: now
    assert unsaid["modelspec.date"] == datetime.datetime.fromtimestamp(int(float(
        unsaid["ss_training_finished_at"]))).isoformat()
    assert unsaid["modelspec.date"][:4] >= "2025"


@pytest.mark.parametrize("clip_skip", [1, 2])
def test_encoder_layer_is_written_for_every_clip_skip(clip_skip):
    meta = _meta(_cfg(training__clip_skip=clip_skip))
    assert meta["modelspec.encoder_layer"] == str(clip_skip) == meta["ss_clip_skip"]


def test_locon_network_args_hold_the_exported_strings_and_dropout():
    meta = _meta(_cfg(network__conv_dim=2, network__conv_alpha=1.0))
    assert json.loads(meta["ss_network_args"]) == {"conv_dim": "2", "conv_alpha": "1", "dropout": None}
    assert meta["ss_network_dropout"] == "None"  # the same as "dropout": network_dropout 0 is not given
    meta = _meta(_cfg(network__conv_dim=4, network__conv_alpha=0.5, network__network_dropout=0.1))
    assert json.loads(meta["ss_network_args"]) == {"conv_dim": "4", "conv_alpha": "0.5", "dropout": 0.1}
    assert meta["ss_network_dropout"] == "0.1"
    assert "ss_network_args" not in _meta(_cfg())


def _trainer(epoch: int, epochs: int = 3):
    return SimpleNamespace(epoch=epoch, data=SimpleNamespace(epochs=epochs))


def test_ss_epoch_of_a_save_as_sd_scripts_passes_it():
    # a step save (save_every_n_steps, a save request, a stop inside an epoch): the 0-based epoch it is in
    assert saved_epoch(_trainer(1), "step") == 0 and saved_epoch(_trainer(3), "step") == 2
    # a stop at epoch 2's end: the trainer already counts epoch 3, and 2 are done
    assert saved_epoch(_trainer(3), "step") == 2
    # an epoch save: that epoch; the final: the run's epochs (the trainer counts one past the last)
    assert saved_epoch(_trainer(2), "epoch") == 2 and saved_epoch(_trainer(4), "final") == 3
