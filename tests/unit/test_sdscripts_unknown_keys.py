"""sd-scripts option names in a loratui config (hunt h4 finding 1): each says what it is here, never a "did you
mean" by spelling (token_warmup_step is no lr_warmup_steps, enable_wildcard no shuffle_caption). An option
loratui lacks gets "loratui has no such setting (what training does without it): remove the key", in `config
check` / load and in `config explain KEY`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from loratui.cli import cli
from loratui.core.config import ConfigError, explain_gui_key, loads_config
from loratui.core.config.fields import KEY_SECTIONS
from loratui.core.config.kohya_dataset import UNSUPPORTED

# every option of sd-scripts' train_network.py and sdxl_train_network.py parsers (HEAD 48d368f: setup_parser with
# add_training_arguments, add_dataset_arguments, custom_train_functions, deepspeed, logging, modelspec)
SD_SCRIPTS_ARGS = """
adaptive_noise_scale alpha_mask async_upload base_weights base_weights_multiplier bucket_no_upscale
bucket_reso_steps cache_info cache_latents cache_latents_to_disk cache_text_encoder_outputs
cache_text_encoder_outputs_to_disk caption_dropout_every_n_epochs caption_dropout_rate caption_extension
caption_extention caption_prefix caption_separator caption_suffix caption_tag_dropout_rate clip_skip color_aug
conditioning_data_dir config_file console_log_file console_log_level console_log_simple cpu_offload_checkpointing
dataset_class dataset_config dataset_repeats ddp_gradient_as_bucket_view ddp_static_graph ddp_timeout
debiased_estimation_loss debug_dataset deepspeed dim_from_weights disable_mmap_load_safetensors dynamo_backend
enable_bucket enable_wildcard face_crop_aug_range flip_aug fp16_master_weights_and_gradients fp8_base fp8_base_unet
full_bf16 full_fp16 fused_backward_pass gradient_accumulation_steps gradient_checkpointing highvram huber_c
huber_scale huber_schedule huggingface_path_in_repo huggingface_repo_id huggingface_repo_type
huggingface_repo_visibility huggingface_token in_json initial_epoch initial_step ip_noise_gamma
ip_noise_gamma_random_strength keep_tokens keep_tokens_separator learning_rate log_config log_prefix
log_tracker_config log_tracker_name log_with logging_dir loss_type lowram lr_decay_steps lr_scheduler
lr_scheduler_args lr_scheduler_min_lr_ratio lr_scheduler_num_cycles lr_scheduler_power lr_scheduler_timescale
lr_scheduler_type lr_warmup_steps masked_loss max_bucket_reso max_data_loader_n_workers max_grad_norm max_timestep
max_token_length max_train_epochs max_train_steps max_validation_steps mem_eff_attn metadata_author
metadata_description metadata_is_negative_embedding metadata_license metadata_merged_from metadata_preprocessor
metadata_tags metadata_thumbnail metadata_title metadata_trigger_phrase metadata_usage_hint min_bucket_reso
min_snr_gamma min_timestep mixed_precision multires_noise_discount multires_noise_iterations network_alpha
network_args network_dim network_dropout network_module network_train_text_encoder_only network_train_unet_only
network_weights no_half_vae no_metadata noise_offset noise_offset_random_strength offload_optimizer_device
offload_optimizer_nvme_path offload_param_device offload_param_nvme_path optimizer_args optimizer_type output_config
output_dir output_name persistent_data_loader_workers pretrained_model_name_or_path prior_loss_weight random_crop
reg_data_dir resize_interpolation resolution resume resume_from_huggingface sample_at_first sample_every_n_epochs
sample_every_n_steps sample_prompts sample_sampler save_every_n_epochs save_every_n_steps save_last_n_epochs
save_last_n_epochs_state save_last_n_steps save_last_n_steps_state save_model_as save_n_epoch_ratio save_precision
save_state save_state_on_train_end save_state_to_huggingface scale_v_pred_loss_like_noise_pred scale_weight_norms
sdpa secondary_separator seed shuffle_caption skip_cache_check skip_until_initial_step text_encoder_lr
token_warmup_min token_warmup_step tokenizer_cache_dir torch_compile train_batch_size train_data_dir
training_comment unet_lr use_8bit_adam use_lion_optimizer use_safetensors v2 v_parameterization v_pred_like_loss vae
vae_batch_size validate_every_n_epochs validate_every_n_steps validation_seed validation_split wandb_api_key
wandb_run_name weighted_captions xformers zero3_init_flag zero3_save_16bit_model zero_stage zero_terminal_snr
""".split()
# sd-scripts' dataset TOML options (library/config_util.py's schema) that are not command-line options
DATASET_TOML_ONLY = ["batch_size", "class_tokens", "custom_attributes", "image_dir", "is_reg", "metadata_file",
                     "network_multiplier", "num_repeats"]
# options loratui has no setting for, asked about in the hunt, and every dataset option the import drops
NO_SUCH_SETTING = sorted({"token_warmup_step", "token_warmup_min",
                          "enable_wildcard", "huber_c", "fp8_base_unet", "base_weights",
                          "lr_decay_steps", "deepspeed", "validation_split", "metadata_trigger_phrase"} | UNSUPPORTED)


def _problem(section: str, line: str) -> str:
    with pytest.raises(ConfigError) as info:
        loads_config(f'[model]\nmodel_family = "sd1"\n[{section}]\n{line}\n', "c.toml")
    [problem] = info.value.problems
    return problem


@pytest.mark.parametrize("name", sorted(set(SD_SCRIPTS_ARGS + DATASET_TOML_ONLY) - set(KEY_SECTIONS)))
def test_every_sd_scripts_option_says_what_it_is_not_a_spelling_guess(name):
    assert explain_gui_key(name) is not None, name
    problem = _problem("dataset", f"{name} = 1")
    assert "did you mean" not in problem and "`loratui config explain` lists every key" not in problem, problem
    assert problem.startswith(f"c.toml, line 4: {name}: unknown key in [dataset]: ")


@pytest.mark.parametrize("name", NO_SUCH_SETTING)
def test_an_option_loratui_lacks_says_what_training_does_without_it(name):
    problem = _problem("dataset", f"{name} = 1")
    head, effect = problem.split(": loratui has no such setting (", 1)
    assert head.endswith(("an sd-scripts argument", "an sd-scripts dataset option", "a kohya_ss GUI name")), problem
    assert effect.endswith(f"): remove the key (`loratui config explain {name}`)") and len(effect) > 40, problem


def test_the_hunts_keys_get_their_own_line():
    assert _problem("dataset", "token_warmup_step = 10") == (
        "c.toml, line 4: token_warmup_step: unknown key in [dataset]: an sd-scripts argument: loratui has no such "
        "setting (every caption is used whole from the first step: no token warmup): remove the key (`loratui config "
        "explain token_warmup_step`)")
    assert "stays in the caption as written" in _problem("dataset", 'enable_wildcard = true')
    with pytest.raises(ConfigError):  # a loratui key now (engine/noise.py): only a wrong value is a problem
        loads_config('[training]\nzero_terminal_snr = 1\n', "c.toml")
    assert loads_config('[training]\nzero_terminal_snr = true\n', "c.toml").training.zero_terminal_snr


@pytest.mark.parametrize("name, target", [("caption_extention", "caption_extension in [dataset]"),
                                          ("use_8bit_adam", "optimizer_type in [optimizer]"),
                                          ("batch_size", "train_batch_size in [training]")])
def test_an_sd_scripts_name_of_a_loratui_key_names_that_key(name, target):
    assert f"here it is {target}" in _problem("dataset", f"{name} = 1")


def test_a_plain_misspelling_still_gets_the_closest_key():
    assert _problem("dataset", "keep_tokenz = 1").endswith("(did you mean 'keep_tokens'?)")


@pytest.mark.parametrize("name, words", [("enable_wildcard", "no random choice"),
                                         ("token_warmup_min", "no token warmup"),
                                         ("num_repeats", "folder's name")])
def test_config_explain_knows_sd_scripts_options(name, words):
    result = CliRunner().invoke(cli, ["config", "explain", name])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # explain wraps its text at 96 columns
    assert "did you mean" not in text and "(sd-scripts " in text and words in text


def test_config_check_cli_names_the_option(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[dataset]\ntoken_warmup_step = 10\n')
    result = CliRunner().invoke(cli, ["config", "check", str(config)])
    assert result.exit_code != 0
    assert "token_warmup_step: unknown key in [dataset]: an sd-scripts argument: loratui has no such setting" in \
        result.output and "lr_warmup_steps" not in result.output
