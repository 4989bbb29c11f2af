"""sd-scripts-compatible LoRA metadata: the ``ss_*`` training keys, ``modelspec.*`` and the sshs hashes.

Values are strings formatted the way sd-scripts formats them (``str()`` of the Python value, JSON for
the nested dataset info), so tools that read kohya metadata (A1111 / Forge, additional-networks, civitai)
show loratui LoRAs the same way.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import time
from io import BytesIO

from loratui.core.fsutil import file_digest

BASE_MODEL_VERSION = {"sdxl": "sdxl_base_v1-0"}
OPTIMIZER_CLASSES = {
    "adamw": "torch.optim.adamw.AdamW",
    "adamw8bit": "bitsandbytes.optim.adamw.AdamW8bit",
    "lion": "lion_pytorch.lion_pytorch.Lion",
    "lion8bit": "bitsandbytes.optim.lion.Lion8bit",
    "adafactor": "transformers.optimization.Adafactor",
    "prodigy": "prodigyopt.prodigy.Prodigy",
    "sgd": "torch.optim.sgd.SGD",
}
IMPL_DIFFUSERS = "diffusers"
IMPL_STABILITY_AI = "https://github.com/Stability-AI/generative-models"
# Keys sd-scripts' train_network.py writes (its lines 1011-1064) for features loratui does not have: the
# values its argparse defaults give (train_util.py / train_network.py add_argument), i.e. what it writes
# when they are off. No validation set: 0 validation images.
SD_SCRIPTS_FIXED = {
    "ss_num_validation_images": 0,
    "ss_scale_weight_norms": None,
    "ss_loss_type": "l2",
    "ss_huber_schedule": "snr",
    "ss_huber_scale": 1.0,
    "ss_huber_c": 0.1,
    "ss_fp8_base": False,
    "ss_fp8_base_unet": False,
    "ss_validation_seed": None,
    "ss_validation_split": 0.0,
    "ss_max_validation_steps": None,
    "ss_validate_every_n_epochs": None,
    "ss_validate_every_n_steps": None,
    "ss_resize_interpolation": None,
}


def base_model_version(family: str, v_prediction: bool) -> str:
    """ss_base_model_version: sd_v1 / sd_v2 (+ "_v" for v-prediction) / sdxl_base_v1-0."""
    if family == "sdxl":
        return BASE_MODEL_VERSION["sdxl"]
    return ("sd_v2" if family == "sd2" else "sd_v1") + ("_v" if v_prediction else "")


def modelspec_architecture(family: str, v_prediction: bool) -> str:
    if family == "sdxl":
        arch = "stable-diffusion-xl-v1-base"
    elif family == "sd2":
        arch = "stable-diffusion-v2-768-v" if v_prediction else "stable-diffusion-v2-512"
    else:
        arch = "stable-diffusion-v1"
    return arch + "/lora"


def model_hash_legacy(path: str) -> str:
    """A1111's old 8-hex model hash: sha256 of 64 KiB at offset 1 MiB."""
    with open(path, "rb") as fh:
        fh.seek(0x100000)
        return hashlib.sha256(fh.read(0x10000)).hexdigest()[:8]


def sha256_file(path: str) -> str:
    return file_digest(path, "sha256")


def safetensors_hashes(tensors: dict, metadata: dict[str, str]) -> tuple[str, str]:
    """(sshs_model_hash, sshs_legacy_hash) as sd-scripts precomputes them for additional-networks.

    The file is serialised with only the ``ss_*`` metadata (user-editable keys must not change the
    hash); the model hash is sha256 of everything after the header, the legacy hash sha256 of 64 KiB
    at offset 1 MiB, first 8 hex digits.
    """
    from safetensors.torch import save

    data = save(tensors, {k: v for k, v in metadata.items() if k.startswith("ss_")})
    buf = BytesIO(data)
    header_len = int.from_bytes(buf.read(8), "little")
    model_hash = hashlib.sha256(data[8 + header_len:]).hexdigest()
    legacy = hashlib.sha256(data[0x100000:0x100000 + 0x10000]).hexdigest()[:8]
    return model_hash, legacy


def _optimizer_name(opt) -> str:
    """ss_optimizer as sd-scripts writes it: the class, then the keyword arguments the optimizer got, read
    as sd-scripts reads them (``k=v`` of the literal values), so loratui's Adafactor defaults show too."""
    from loratui.engine.optim import parse_optimizer_args

    name = OPTIMIZER_CLASSES.get(str(opt.optimizer_type).lower(), str(opt.optimizer_type))
    kwargs = parse_optimizer_args(opt.effective_optimizer_args())
    args = ",".join(f"{key}={value}" for key, value in kwargs.items())
    return name + (f"({args})" if args else "")


def _loratui_version() -> str:
    try:
        from importlib.metadata import version

        return version("loratui")
    except Exception:
        return "unknown"


def build_metadata(cfg, family: str, *, session_id: int, training_started_at: float, steps: int, epochs: int,
                   num_train_images: int, num_reg_images: int, tag_frequency: dict, dataset_dirs: dict,
                   bucket_info: dict | None = None, reg_dataset_dirs: dict | None = None,
                   num_batches_per_epoch: int | None = None, num_epochs: int | None = None,
                   max_train_steps: int | None = None, total_batch_size: int | None = None,
                   training_finished_at: float | None = None, v_prediction: bool | None = None,
                   hash_base_model: bool = True) -> dict[str, str]:
    """All metadata of a saved LoRA (cfg is the TrainingConfig), every value a string.

    ``steps``/``epochs`` are the progress at save time (ss_steps, ss_epoch); ``num_epochs`` and
    ``max_train_steps`` the planned totals. ``dataset_dirs`` maps a folder's base name to
    ``{"n_repeats": N, "img_count": M}``; ``tag_frequency`` maps it to ``{tag: count}``.
    ``training_finished_at`` is the save's time (now when None): ss_training_finished_at and
    modelspec.date, which sd-scripts both stamps at every save (train_network.py save_model).
    Settings are written as sd-scripts gets them from ``loratui config export-sdscripts``: a key the export
    leaves out (unset unet_lr, network_dropout 0, max_token_length 75, clip_skip for SDXL) is "None", as
    sd-scripts writes an argument not given.
    """
    m, d, n, o, t, s = cfg.model, cfg.dataset, cfg.network, cfg.optimizer, cfg.training, cfg.saving
    v_pred = bool(m.v_parameterization) if v_prediction is None else bool(v_prediction)
    batch = t.train_batch_size
    resolution = tuple(d.resolution) if isinstance(d.resolution, (list, tuple)) else (d.resolution, d.resolution)
    saved_at = training_finished_at if training_finished_at is not None else time.time()
    buckets = _bucket_keys(d, resolution, bucket_info)
    meta: dict[str, object] = {
        "ss_session_id": session_id,
        "ss_training_started_at": training_started_at,
        "ss_output_name": s.output_name,
        "ss_learning_rate": o.learning_rate,
        # as given, "None" when unset (not learning_rate, which the optimizer falls back to)
        "ss_text_encoder_lr": o.text_encoder_lr,
        "ss_unet_lr": o.unet_lr,
        "ss_num_train_images": num_train_images,
        "ss_num_reg_images": num_reg_images,
        "ss_num_batches_per_epoch": num_batches_per_epoch,
        "ss_num_epochs": num_epochs if num_epochs is not None else t.max_train_epochs,
        "ss_gradient_checkpointing": bool(t.gradient_checkpointing),
        "ss_gradient_accumulation_steps": t.gradient_accumulation_steps,
        "ss_max_train_steps": max_train_steps if max_train_steps is not None else t.max_train_steps,
        "ss_lr_warmup_steps": o.lr_warmup_steps,
        "ss_lr_scheduler": o.lr_scheduler,
        "ss_network_module": getattr(n, "network_module", "networks.lora"),
        "ss_network_dim": n.network_dim,
        "ss_network_alpha": n.network_alpha,
        "ss_network_dropout": n.network_dropout or None,  # the export leaves 0 out: sd-scripts' default None
        "ss_mixed_precision": t.mixed_precision,
        "ss_full_fp16": bool(t.full_fp16),
        "ss_v2": family == "sd2",
        "ss_base_model_version": base_model_version(family, v_pred),
        "ss_clip_skip": exported_clip_skip(t, family),
        # the export leaves 75 out (sd-scripts' "not given" is 75 tokens): None, not 75
        "ss_max_token_length": t.max_token_length if t.max_token_length != 75 else None,
        "ss_cache_latents": bool(d.cache_latents),
        "ss_seed": t.seed,
        "ss_lowram": False,
        "ss_noise_offset": t.noise_offset or None,
        # kohya_ss' training_comment is imported as metadata_description: where its readers look for it
        "ss_training_comment": s.metadata_description or None,
        "ss_sd_scripts_commit_hash": f"loratui {_loratui_version()}",
        "ss_optimizer": _optimizer_name(o),
        "ss_max_grad_norm": o.max_grad_norm,
        "ss_caption_dropout_rate": d.caption_dropout_rate,
        "ss_caption_dropout_every_n_epochs": d.caption_dropout_every_n_epochs,
        "ss_caption_tag_dropout_rate": d.caption_tag_dropout_rate,
        "ss_face_crop_aug_range": None,
        "ss_prior_loss_weight": d.prior_loss_weight,
        "ss_min_snr_gamma": t.min_snr_gamma,
        **noise_metadata(t),
        "ss_batch_size_per_device": batch,
        "ss_total_batch_size": total_batch_size if total_batch_size is not None
        else batch * t.gradient_accumulation_steps,
        "ss_resolution": resolution,
        "ss_color_aug": False,
        "ss_flip_aug": bool(d.flip_aug),
        "ss_random_crop": bool(d.random_crop),
        "ss_shuffle_caption": bool(d.shuffle_caption),
        **buckets,
        "ss_keep_tokens": d.keep_tokens,
        "ss_dataset_dirs": json.dumps(dataset_dirs),
        "ss_reg_dataset_dirs": json.dumps(reg_dataset_dirs or {}),
        "ss_tag_frequency": json.dumps(tag_frequency),
        "ss_training_finished_at": saved_at,
        "ss_steps": steps,
        "ss_epoch": epochs,
        **SD_SCRIPTS_FIXED,
    }
    if getattr(n, "network_module", "networks.lora") == "lycoris.kohya":
        from loratui.core.config import sdscripts_network_kwargs

        # sd-scripts writes json.dumps(net_kwargs): the network_args strings plus its float "dropout"
        meta["ss_network_args"] = json.dumps(sdscripts_network_kwargs(n))
    elif n.conv_dim:
        # the export's network_args strings ("conv_alpha=1", not "1.0"), plus the "dropout" that sd-scripts adds
        # for every network module (train_network.py:674, None when network_dropout is not given)
        meta["ss_network_args"] = json.dumps({"conv_dim": str(int(n.conv_dim)), "conv_alpha": _arg_number(n.conv_alpha),
                                              "dropout": float(n.network_dropout) if n.network_dropout else None})
    for key, value in (("sd_model", m.pretrained_model_name_or_path), ("vae", m.vae)):
        if not value:
            continue
        if os.path.isfile(value) and hash_base_model:
            meta[f"ss_{key}_hash"] = model_hash_legacy(value)
            meta[f"ss_new_{key}_hash"] = sha256_file(value)
        meta[f"ss_{key}_name"] = os.path.basename(os.path.normpath(value)) if os.path.exists(value) else value
    out = {k: str(v) for k, v in meta.items()}
    out.update(modelspec(cfg, family, v_pred, saved_at, resolution))
    return out


def noise_metadata(t) -> dict[str, object]:
    """The noise options' ss_* keys as sd-scripts writes them from what the export gives it (sdscripts_export
    noise_loss_args): an option left out is its argparse default (None, False, discount 0.3)."""
    from loratui.core.config import noise_loss_args

    a = noise_loss_args(t)
    return {
        "ss_multires_noise_iterations": a.get("multires_noise_iterations"),
        "ss_multires_noise_discount": a.get("multires_noise_discount", 0.3),
        "ss_adaptive_noise_scale": a.get("adaptive_noise_scale"),
        "ss_zero_terminal_snr": bool(a.get("zero_terminal_snr")),
        "ss_ip_noise_gamma": a.get("ip_noise_gamma"),
        "ss_debiased_estimation": bool(a.get("debiased_estimation_loss")),
        "ss_noise_offset_random_strength": bool(a.get("noise_offset_random_strength")),
        "ss_ip_noise_gamma_random_strength": bool(a.get("ip_noise_gamma_random_strength")),
    }


def exported_clip_skip(training, family: str) -> int | None:
    """clip_skip as sd-scripts gets it from the export: given for SD 1.x/2.x (1 included, as kohya_ss passes it),
    left out for SDXL (sdxl_train_network.py does not use it, nor does loratui's SDXL training)."""
    return None if family == "sdxl" else training.clip_skip


def _arg_number(value: float) -> str:
    """A number as the sd-scripts export writes it into network_args: 1, not 1.0."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _bucket_keys(d, resolution: tuple[int, int], bucket_info: dict | None) -> dict[str, object]:
    """The bucket keys as sd-scripts' dataset holds them (train_util.py:1931-1944): with buckets off no
    bounds ("None"), no upscale flag and no bucket_info ("null"); with them on the bounds after its rounding
    to bucket_reso_steps (adjust_min_max_bucket_reso_by_steps), which are the ones the buckets came from."""
    if not d.enable_bucket:
        return {"ss_enable_bucket": False, "ss_bucket_no_upscale": False, "ss_min_bucket_reso": None,
                "ss_max_bucket_reso": None, "ss_bucket_info": json.dumps(None)}
    from loratui.core.errors import LoratuiError
    from loratui.core.plan import adjust_bucket_bounds

    try:
        low, high, _ = adjust_bucket_bounds(resolution, d.min_bucket_reso, d.max_bucket_reso, d.bucket_reso_steps)
    except LoratuiError:  # bounds no run accepts (a run refuses them first): as typed
        low, high = d.min_bucket_reso, d.max_bucket_reso
    return {"ss_enable_bucket": True, "ss_bucket_no_upscale": bool(d.bucket_no_upscale), "ss_min_bucket_reso": low,
            "ss_max_bucket_reso": high, "ss_bucket_info": json.dumps(bucket_info)}


def modelspec(cfg, family: str, v_prediction: bool, timestamp: float, resolution: tuple[int, int]) -> dict[str, str]:
    """The Stability AI ModelSpec keys sd-scripts writes into LoRAs; ``timestamp`` is the save's time."""
    s = cfg.saving
    spec = {
        "modelspec.sai_model_spec": "1.0.1",
        "modelspec.architecture": modelspec_architecture(family, v_prediction),
        "modelspec.implementation": IMPL_STABILITY_AI if family == "sdxl" else IMPL_DIFFUSERS,
        "modelspec.title": s.metadata_title or s.output_name,
        "modelspec.resolution": f"{resolution[0]}x{resolution[1]}",
        "modelspec.date": datetime.datetime.fromtimestamp(int(timestamp)).isoformat(),
        "modelspec.prediction_type": "v" if v_prediction else "epsilon",
        "modelspec.implementation_version": f"loratui/{_loratui_version()}",
    }
    clip_skip = exported_clip_skip(cfg.training, family)
    if clip_skip is not None:  # sai_model_spec.py:452: whenever clip_skip is given, 1 included
        spec["modelspec.encoder_layer"] = str(clip_skip)
    for field in ("author", "description", "license", "tags"):
        value = getattr(s, f"metadata_{field}", "")
        if value:
            spec[f"modelspec.{field}"] = value
    return spec
