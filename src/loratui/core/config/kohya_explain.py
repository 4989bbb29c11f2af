"""`loratui config explain` for a kohya_ss GUI key or sd-scripts option that is not a loratui key: where `config
import-kohya` puts it (and how its value changes on the way), or why it has no place here, and for an option loratui
lacks what training does without it. The same tables as the import's (kohya_keys.py, kohya_dropped.py), so the
explanation cannot drift from what the import does; load.py's unknown-key line reads them too, so an sd-scripts
name never gets a "did you mean" by spelling (token_warmup_step is no lr_warmup_steps)."""

from __future__ import annotations

from loratui.core.config.kohya_dropped import EFFECTS
from loratui.core.config.kohya_keys import REASONS

# GUI key -> (the loratui key(s) it becomes, as section.key; how the value is read)
GUI_KEYS: dict[str, tuple[str, str]] = {
    "lr_warmup": ("optimizer.lr_warmup_steps",
                  "a percent of the total steps in kohya_ss: 10 there is lr_warmup_steps = 0.1 here (a fraction "
                  "below 1 is a ratio of the steps, 1 or more a step count); a non-zero kohya_ss lr_warmup_steps "
                  "is a step count and wins"),
    "epoch": ("training.max_train_epochs",
              "the GUI's epoch count (kohya_ss turns it into max_train_steps when that is 0): imported as "
              "max_train_epochs unless max_train_epochs or max_train_steps is set, which win"),
    "sdxl": ("model.model_family", "checked: model_family = \"sdxl\" (sdxl_train_network.py in the export)"),
    "v2": ("model.model_family", "checked: model_family = \"sd2\" (v2 = true in the export)"),
    "sdxl_no_half_vae": ("no key: always on", REASONS["sdxl_no_half_vae"]),
    "sdxl_cache_text_encoder_outputs": ("training.cache_text_encoder_outputs", "used with sdxl only"),
    "LoRA_type": ("network.network_module",
                  "Standard: networks.lora; Kohya LoCon: networks.lora with conv_dim / conv_alpha; LoCon and the "
                  "LyCORIS types (LoCon, LoHa, LoKr, Native Fine-Tuning): lycoris.kohya with network_args "
                  "(algo=...) as kohya_ss builds them; other types only with --as-lora, as a plain LoRA"),
    "lora_network_weights": ("network.network_weights", "the LoRA to continue from"),
    "optimizer": ("optimizer.optimizer_type",
                  "DAdaptation optimizers become Prodigy, paged ones their unpaged versions, SGDNesterov SGD with "
                  "momentum 0.9 and nesterov"),
    "max_resolution": ("dataset.resolution", "\"512,512\" becomes 512 (width,height when they differ)"),
    "xformers": ("training.xformers or training.sdpa",
                 "\"xformers\" (sdpa when the xformers package is missing), \"sdpa\" or \"none\""),
    "mem_eff_attn": ("training.sdpa", "with xformers \"none\": sdpa's memory-efficient kernels"),
    "sample_prompts": ("sampling.sample_prompts",
                       "prompt text in the GUI, a prompts file here: the import writes NAME.prompts.txt"),
    "training_comment": ("saving.metadata_description",
                         "sd-scripts saves it as ss_training_comment; loratui as the LoRA's description (when "
                         "metadata_description is empty)"),
    "dataset_config": ("the [dataset] keys", "the sd-scripts dataset TOML is read; its values win over the GUI's "
                                             "dataset keys"),
    "LyCORIS_preset": ("network.network_args",
                       "preset=... for the LyCORIS LoRA_types (LoCon, LyCORIS/LoCon, LoHa, LoKr, Native Fine-Tuning), "
                       "which import as network_module = \"lycoris.kohya\" as kohya_ss passes it; not used by the "
                       "other types (`loratui config explain preset` lists the presets)"),
    "noise_offset_type": ("training.noise_offset or training.multires_noise_iterations",
                          "Original: noise_offset, noise_offset_random_strength and adaptive_noise_scale are imported; "
                          "Multires: multires_noise_iterations and multires_noise_discount (as kohya_ss passes them)"),
}


# sd-scripts train_network.py arguments (foreign.SDSCRIPTS_ONLY_ARGS and kin) and dataset TOML options that are neither
# a loratui key nor a kohya_ss GUI key above, with an equivalent of another shape here: what they are, so `config
# explain` and a config's unknown-key line can say it
SDSCRIPTS_ARGS: dict[str, str] = {
    "no_half_vae": "always on: loratui runs the VAE in fp32, and `config export-sdscripts` writes no_half_vae = true "
                   "whenever mixed_precision is fp16 or bf16",
    "lowram": "not needed: loratui loads the model its own way",
    "highvram": "not needed: loratui keeps what it can on the GPU",
    "in_json": "fine-tuning metadata (sd-scripts' fine_tune.py) is not read: the dataset is the N_concept folders of "
               "train_data_dir",
    "output_config": "sd-scripts' own config output: loratui's config is this file",
    "config_file": "sd-scripts' --config_file: loratui's config is this file",
    "debug_dataset": "sd-scripts' dataset viewer, which trains nothing: `loratui steps CONFIG` and the Dataset screen "
                     "show the dataset",
    "dataset_class": "a custom dataset class is not loaded: the dataset is the N_concept folders of train_data_dir",
    "dataset_repeats": "repeats of a fine-tuning (in_json) dataset: here each concept folder's name gives its repeats "
                       "(10_dog: 10)",
    "conditioning_data_dir": "ControlNet conditioning images: loratui trains LoRAs from images and captions only",
    "image_dir": "train_data_dir in [dataset] names the folder holding the N_concept folders (each one a subset)",
    "num_repeats": "each concept folder's name gives its repeats (10_dog: 10)",
    "class_tokens": "each concept folder's name gives its class tokens (10_dog: dog), the caption of an image "
                    "without a caption file",
    "is_reg": "regularisation images are the N_concept folders of reg_data_dir in [dataset]",
    "metadata_file": "fine-tuning metadata is not read: the dataset is the N_concept folders of train_data_dir",
}
# sd-scripts names of a loratui key: (the key, as section.key; how the value carries over)
SDSCRIPTS_RENAMED: dict[str, tuple[str, str]] = {
    "caption_extention": ("dataset.caption_extension", "sd-scripts' old misspelling of caption_extension"),
    "use_8bit_adam": ("optimizer.optimizer_type", "sd-scripts' old switch for optimizer_type = \"AdamW8bit\""),
    "use_lion_optimizer": ("optimizer.optimizer_type", "sd-scripts' old switch for optimizer_type = \"Lion\""),
    "batch_size": ("training.train_batch_size", "the dataset TOML's name of train_batch_size"),
}

_NO_WARMUP = "every caption is used whole from the first step: no token warmup"
_NO_VALIDATION = "no images are held out for a validation loss: all of them train"
_DEEPSPEED = "training runs without DeepSpeed, on one GPU or on several with DDP under torchrun"
_DDP = "runs on several GPUs use torch DDP's defaults"
_START = "training starts at step 0, epoch 1; resume continues from a saved state"
_MODELSPEC = ("the LoRA's metadata has no modelspec.{}; metadata_title, _author, _description, _license and _tags are "
              "written")
_HUBER = "the loss is plain MSE (l2): there is no Huber loss to shape"
_STATES = "saved states are kept as long as the LoRA saves they belong to, by save_last_n_steps / save_last_n_epochs"
_LOG = "the run logs to the terminal and to its events file in output_dir"
# sd-scripts training and dataset options (train_network.py / sdxl_train_network.py argparse, config_util's dataset
# schema) that loratui has no setting for and that EFFECTS does not list: what training does without each. A test
# checks every option of sd-scripts' parser is a loratui key or explained here.
SDSCRIPTS_UNSUPPORTED: dict[str, str] = {
    "enable_wildcard": "{a|b} stays in the caption as written, with no random choice, and only a caption file's "
                       "first line is used",
    "token_warmup_min": _NO_WARMUP, "token_warmup_step": _NO_WARMUP,
    "cache_info": "image sizes and captions are read from the files each run, with no metadata_cache.json; "
                  "training is the same",
    "alpha_mask": "the loss covers the whole image; alpha channels are not used as loss masks",
    "resize_interpolation": "images are resized as sd-scripts does by default: area when shrinking, Lanczos when "
                            "enlarging",
    "network_multiplier": "the LoRA trains at multiplier 1.0 on every image",
    "custom_attributes": "training is the same: train_network.py reads none of them",
    **dict.fromkeys(["validation_seed", "validation_split", "validate_every_n_steps", "validate_every_n_epochs",
                     "max_validation_steps"], _NO_VALIDATION),
    "fp8_base_unet": "the UNet is held in the mixed precision, not fp8, which takes more VRAM",
    **dict.fromkeys(["base_weights", "base_weights_multiplier"],
                    "no LoRA is merged into the base model before training; network_weights continues a LoRA"),
    **dict.fromkeys(["initial_step", "initial_epoch", "skip_until_initial_step"], _START),
    "lr_decay_steps": "the learning rate follows lr_scheduler, which has no separate decay phase; sd-scripts uses it "
                      "for warmup_stable_decay, which loratui lacks",
    "lr_scheduler_timescale": "the learning rate follows lr_scheduler; sd-scripts uses the timescale for inverse_sqrt, "
                              "which loratui lacks",
    "lr_scheduler_min_lr_ratio": "the learning rate follows lr_scheduler's own schedule; sd-scripts uses this minimum "
                                 "for cosine_with_min_lr and warmup_stable_decay, which loratui lacks",
    "save_n_epoch_ratio": "LoRAs are saved every save_every_n_epochs; set that for saves along the way",
    **dict.fromkeys(["ddp_timeout", "ddp_gradient_as_bucket_view", "ddp_static_graph"], _DDP),
    **dict.fromkeys(["deepspeed", "zero_stage", "offload_optimizer_device", "offload_optimizer_nvme_path",
                     "offload_param_device", "offload_param_nvme_path", "zero3_init_flag", "zero3_save_16bit_model",
                     "fp16_master_weights_and_gradients"], _DEEPSPEED),
    "cache_text_encoder_outputs_to_disk": "text encoder outputs are cached in memory only, by "
                                          "cache_text_encoder_outputs, and computed again each run",
    **{f"metadata_{part}": _MODELSPEC.format(part) for part in ("usage_hint", "thumbnail", "merged_from",
                                                                 "trigger_phrase", "preprocessor",
                                                                 "is_negative_embedding")},
    "tokenizer_cache_dir": "the tokenizer is read from the base model, offline: nothing to cache",
    "use_safetensors": "LoRAs are always saved as .safetensors",
    "no_metadata": "the LoRA always carries its ss_* training metadata",
    **dict.fromkeys(["console_log_level", "console_log_file", "console_log_simple"], _LOG),
    # also kohya_ss GUI keys (kohya_keys.REASONS says why the import drops them); here what training does without them
    **dict.fromkeys(["huber_c", "huber_schedule", "huber_scale"], _HUBER),
    **dict.fromkeys(["save_last_n_steps_state", "save_last_n_epochs_state"], _STATES),
    "vae_batch_size": "latents are encoded in loratui's own batches, to the same latents",
    "fused_backward_pass": "the optimizer steps after the whole backward pass: more VRAM, the same training",
    "cpu_offload_checkpointing": "gradient checkpoints stay on the GPU, which takes more VRAM",
    "skip_cache_check": "cached latents on disk are checked against their image before use",
    "disable_mmap_load_safetensors": "the model file is read loratui's way; only how it is read changes, "
                                     "not training",
}
# options of sd-scripts' dataset TOML only (config_util's schema), not of its command line
DATASET_ONLY = {"image_dir", "num_repeats", "class_tokens", "is_reg", "metadata_file", "batch_size",
                "network_multiplier", "custom_attributes"}


def unsupported_effect(name: str) -> str | None:
    """What training does without ``name``, a kohya_ss GUI or sd-scripts option loratui has no setting for; None
    for any other name."""
    if name in EFFECTS:
        return EFFECTS[name][1]
    return SDSCRIPTS_UNSUPPORTED.get(name)


def explain_gui_key(name: str) -> tuple[str, str, str] | None:
    """(a head line, the explanation, the section.key it becomes or "") for kohya_ss GUI key ``name`` (or an
    sd-scripts argument or dataset option: SDSCRIPTS_ARGS, SDSCRIPTS_RENAMED, SDSCRIPTS_UNSUPPORTED), or None when
    neither has such a key. The head names its origin in parentheses: "(kohya_ss GUI)", "(sd-scripts argument)" or
    "(sd-scripts dataset option)"."""
    if name in GUI_KEYS:
        target, how = GUI_KEYS[name]
        return f"{name} (kohya_ss GUI) -> {target}", how, target
    if name in EFFECTS:
        off, effect = EFFECTS[name]
        offs = " or ".join(repr(o) if isinstance(o, str) else str(o).lower() for o in off)
        return (f"{name} (kohya_ss GUI) -> not imported: loratui has no such setting",
                f"at its off value ({offs}) nothing changes; set, `config import-kohya` warns that it is not "
                f"applied: {effect}", "")
    origin = "sd-scripts dataset option" if name in DATASET_ONLY else "sd-scripts argument"
    if name in SDSCRIPTS_ARGS:
        return f"{name} ({origin}) -> no loratui key", SDSCRIPTS_ARGS[name], ""
    if name in SDSCRIPTS_RENAMED:
        target, how = SDSCRIPTS_RENAMED[name]
        return f"{name} ({origin}) -> {target}", how, target
    if name in SDSCRIPTS_UNSUPPORTED:
        gui = "; `config import-kohya` does not import the kohya_ss GUI key of this name" if name in REASONS else ""
        return (f"{name} ({origin}) -> no loratui key: loratui has no such setting",
                f"training without it: {SDSCRIPTS_UNSUPPORTED[name]}; remove the key from a loratui config{gui}", "")
    reason = REASONS.get(name) or next((r for p, r in REASONS.items() if name.startswith(p) and p.endswith("_")), None)
    if reason is None:
        return None
    return f"{name} (kohya_ss GUI) -> not imported", reason, ""
