"""The kohya_ss GUI JSON keys as kohya_import.py reads them: which map directly, why the others are
ignored, which hold booleans, and the sd-scripts defaults the import falls back to."""

from __future__ import annotations

from loratui.core.config.fields import FIELDS, KEY_SECTIONS

# kohya key -> loratui key, for keys whose value means the same thing (after type conversion)
DIRECT = [
    "pretrained_model_name_or_path", "v_parameterization", "vae", "train_data_dir", "reg_data_dir",
    "enable_bucket", "min_bucket_reso", "max_bucket_reso", "bucket_reso_steps", "bucket_no_upscale",
    "shuffle_caption", "keep_tokens", "caption_dropout_rate", "caption_dropout_every_n_epochs",
    "caption_tag_dropout_rate", "flip_aug", "random_crop", "cache_latents", "cache_latents_to_disk",
    "prior_loss_weight", "max_data_loader_n_workers", "network_dim", "network_alpha", "network_dropout",
    "learning_rate", "lr_scheduler_num_cycles", "lr_scheduler_power", "max_grad_norm",
    "train_batch_size", "gradient_accumulation_steps", "mixed_precision", "full_bf16", "full_fp16",
    "gradient_checkpointing", "clip_skip", "max_token_length", "seed", "output_dir", "output_name",
    "save_precision", "save_state", "save_state_on_train_end", "resume", "metadata_title",
    "metadata_author", "metadata_description", "metadata_license", "metadata_tags",
    "sample_every_n_epochs", "sample_every_n_steps", "save_every_n_epochs", "save_every_n_steps",
    "save_last_n_epochs", "save_last_n_steps", "max_train_steps", "network_weights",
    "keep_tokens_separator", "secondary_separator", "caption_prefix", "caption_suffix",
]
# counters where kohya writes 0 for "off" and loratui uses unset
ZERO_IS_UNSET = {"sample_every_n_epochs", "sample_every_n_steps", "save_every_n_epochs",
                 "save_every_n_steps", "save_last_n_epochs", "save_last_n_steps", "max_train_steps",
                 "max_train_epochs", "min_snr_gamma"}

_LAUNCH = "accelerate launcher setting: not used (loratui starts its own processes)"
# several GPUs: README "On a GPU box over SSH, in tmux, on several GPUs"; num_processes > 1 gets the command with
# its own count (kohya_import._launcher)
MULTI_GPU_HOW = "`loratui train CONFIG --processes N`, or processes > 1 on the Train screen"
_GPUS = f"launcher setting: `loratui train` uses one GPU; for several: {MULTI_GPU_HOW}"
_LOG = "loratui logs to its own events file in output_dir (no tensorboard/wandb)"
# the LyCORIS options kohya_ss passes (lora_gui.py) for its LyCORIS types, which the import puts in network_args
_LYCO = ("LyCORIS option: the LyCORIS LoRA_types (LoCon, LyCORIS/LoCon, LoHa, LoKr, Native Fine-Tuning) import it into "
         "network.network_args as kohya_ss passes it; the other types do not use it")
_LYCO_OTHER = "LyCORIS option of types loratui does not train (Diag-OFT, BOFT, IA3): not used"
_BLOCK = "block-wise dims / learning rates are not supported"
_NOT = "not supported by loratui"
REASONS: dict[str, str] = {
    **dict.fromkeys(["multi_gpu", "num_processes", "num_machines"], _GPUS),
    "gpu_ids": "launcher setting: pick the GPUs with CUDA_VISIBLE_DEVICES when starting `loratui train` (or torchrun)",
    **dict.fromkeys(["num_cpu_threads_per_process", "main_process_port", "extra_accelerate_launch_args",
                     "dynamo_backend", "dynamo_mode", "dynamo_use_dynamic", "dynamo_use_fullgraph"], _LAUNCH),
    **dict.fromkeys(["logging_dir", "log_with", "log_tracker_name", "log_tracker_config", "log_config",
                     "use_wandb", "wandb_api_key", "wandb_run_name", "log_prefix"], _LOG),
    **dict.fromkeys(["LyCORIS_preset", "factor", "use_cp", "use_tucker", "use_scalar", "rank_dropout_scale",
                     "train_norm", "decompose_both", "bypass_mode", "dora_wd"], _LYCO),
    **dict.fromkeys(["constrain", "rescaled", "train_on_input"], _LYCO_OTHER),
    "unit": "DyLoRA option: not used by this LoRA_type",
    **dict.fromkeys(["block_dims", "block_alphas", "conv_block_dims", "conv_block_alphas", "down_lr_weight",
                     "mid_lr_weight", "up_lr_weight", "block_lr_zero_threshold"], _BLOCK),
    **dict.fromkeys(["huggingface_repo_id", "huggingface_token", "huggingface_repo_type",
                     "huggingface_repo_visibility", "huggingface_path_in_repo", "save_state_to_huggingface",
                     "resume_from_huggingface", "async_upload"], "uploading to Hugging Face is not supported"),
    **dict.fromkeys(["rank_dropout", "module_dropout"], "with LoRA_type Standard or Kohya LoCon: not supported "
                    "(network_dropout is); the LyCORIS types import it into network.network_args"),
    **dict.fromkeys(["min_timestep", "max_timestep", "loss_type", "huber_c", "huber_schedule", "huber_scale",
                     "masked_loss", "weighted_captions", "fp8_base", "scale_weight_norms", "dim_from_weights",
                     "vae_batch_size", "color_aug", "no_token_padding", "lr_scheduler_args",
                     "lr_scheduler_type", "save_last_n_steps_state", "save_last_n_epochs_state",
                     "mem_eff_save", "fused_backward_pass", "fused_optimizer_groups", "skip_cache_check",
                     "disable_mmap_load_safetensors", "save_as_bool",
                     "blocks_to_swap", "cpu_offload_checkpointing", "blockwise_fused_optimizers"], _NOT),
    "model_list": "GUI model dropdown only (pretrained_model_name_or_path is used)",
    "persistent_data_loader_workers": "loratui manages data-loader worker lifetime itself",
    "lowvram": "GUI option only", "save_model_as": "loratui always saves .safetensors",
    "stop_text_encoder_training": "the kohya_ss GUI itself ignores it",
    "stop_text_encoder_training_pct": "the kohya_ss GUI itself ignores it",
    "sdxl_no_half_vae": "loratui always runs the VAE in fp32 (what no_half_vae does), and its sd-scripts export "
                        "writes no_half_vae = true whenever mixed_precision is fp16 or bf16",
    "dataset_config": "empty: the N_concept folders of train_data_dir are used",
    "additional_parameters": "extra sd-scripts arguments are not applied: set their loratui keys by hand",
    "learning_rate_te": _NOT, "learning_rate_te1": _NOT, "learning_rate_te2": _NOT,
    "mem_eff_attn": "loratui uses sdpa or xformers attention",
}
# kohya keys holding a boolean that the import reads (strings such as "True" are converted, with a note)
BOOL_KEYS = {k for k in DIRECT if FIELDS[(KEY_SECTIONS[k], k)].kind == "bool"} | {
    "sdxl", "v2", "flux1_checkbox", "sd3_checkbox", "sdxl_cache_text_encoder_outputs", "mem_eff_attn",
    "network_train_unet_only", "network_train_text_encoder_only"}
# options of the LyCORIS types (and DyLoRA's unit): the reason names the LoRA_type when it does not use them
LYCORIS_OPTION_KEYS = ("LyCORIS_preset", "factor", "use_cp", "use_tucker", "use_scalar", "rank_dropout_scale",
                       "constrain", "rescaled", "train_norm", "decompose_both", "train_on_input", "bypass_mode",
                       "dora_wd", "unit")
TRUE_WORDS, FALSE_WORDS = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}
SD_SCRIPTS_DEFAULT_STEPS = 1600  # train_util: max_train_steps when neither it nor max_train_epochs is given
# sd-scripts' command-line defaults of the dataset options (the fallback after a dataset TOML and the JSON)
SD_SCRIPTS_DATASET_DEFAULTS = {
    "shuffle_caption": False, "keep_tokens": 0, "caption_extension": ".caption", "caption_separator": ",",
    "flip_aug": False, "random_crop": False, "caption_dropout_rate": 0.0, "caption_dropout_every_n_epochs": 0,
    "caption_tag_dropout_rate": 0.0, "resolution": None, "batch_size": 1, "enable_bucket": False,
    "min_bucket_reso": 256, "max_bucket_reso": 1024, "bucket_reso_steps": 64, "bucket_no_upscale": False,
    "keep_tokens_separator": "", "secondary_separator": "", "caption_prefix": "", "caption_suffix": ""}
for _prefix in ("flux1_", "sd3_", "t5xxl", "clip_l", "clip_g", "ae", "guidance_scale", "discrete_flow_shift",
                "timestep_sampling", "model_prediction_type", "apply_t5_attn_mask", "split_mode", "train_blocks",
                "double_blocks_to_swap", "single_blocks_to_swap", "weighting_scheme", "logit_", "mode_scale",
                "save_clip", "save_t5xxl"):
    REASONS.setdefault(_prefix, "FLUX/SD3 setting: only SD 1.x, 2.x and SDXL are supported")

EXACT_TYPES = {"Standard": 0, "Kohya LoCon": 1, "LyCORIS/LoCon": 1, "LoCon": 1}
# kohya_ss LoRA types that run lycoris.kohya, and the network_args its lora_gui.py writes for each (in its
# order; algo and train_norm follow); GUI defaults for keys a JSON lacks. lora_gui.py writes use_tucker twice
# for LoCon and LoHa (same value): it is written once here.
LYCORIS_TYPES = {"LoCon": "locon", "LyCORIS/LoCon": "locon", "LyCORIS/LoHa": "loha", "LyCORIS/LoKr": "lokr",
                 "LyCORIS/Native Fine-Tuning": "full"}
_RANKED = ["preset", "conv_dim", "conv_alpha", "use_tucker", "rank_dropout", "bypass_mode", "dora_wd",
           "module_dropout"]
LYCORIS_ARG_ORDER = {
    "locon": _RANKED + ["use_scalar", "rank_dropout_scale"],
    "loha": _RANKED + ["use_scalar", "rank_dropout_scale"],
    "lokr": _RANKED + ["factor", "use_cp", "use_scalar", "decompose_both", "rank_dropout_scale"],
    "full": ["preset", "rank_dropout", "module_dropout", "rank_dropout_scale"],
}
LYCORIS_GUI_DEFAULTS = {"LyCORIS_preset": "full", "conv_dim": 1, "conv_alpha": 1, "use_tucker": False,
                        "rank_dropout": 0, "bypass_mode": False, "dora_wd": False, "module_dropout": 0,
                        "use_scalar": False, "rank_dropout_scale": False, "factor": -1, "use_cp": False,
                        "decompose_both": False, "train_norm": False}
SAMPLER_ALIASES = {"k_lms": "lms", "k_euler": "euler", "k_euler_a": "euler_a", "k_dpm_2": "dpm_2",
                   "k_dpm_2_a": "dpm_2_a"}
