"""The training config: one TOML file a person edits by hand, and everything read from or written to it.

Here live the typed sections and their help (schema.py), the field table that checks and coerces
values (fields.py), loading and validation with errors that name file, line and key (load.py),
rendering a fresh commented file (render.py), saving in place without touching the user's comments
and order (write.py, snapshot.py), kohya_ss GUI JSON import (kohya_import.py, with the dataset TOML it
may name: kohya_dataset.py; what becomes of each GUI key: kohya_explain.py), sd-scripts TOML export (sdscripts_export.py), what a diffusers model folder is
(base_model.py, shared with the engine), what `train` would refuse about the files a config names,
checked from headers before any model loads (preflight.py, model_check.py, prompts.py: the sample
prompt file), the optional packages a config needs (packages.py) and VRAM
presets (presets.py; what applying one would leave invalid, and its fix: preset_validity.py). It may use core.dataset (export lists the
concept folders); it knows nothing of captions' tag edits, nor of step plans and VRAM estimates
(core.plan builds on this package, not the other way round). Import from here, not from the modules.
"""

from __future__ import annotations

from loratui.core.config.fields import (
    FIELDS, KEY_SECTIONS, PATH_KEYS, ConfigError, FieldSpec, coerce_value, describe_field, field_spec,
    file_name_problem,
    optimizer_name, range_text,
)
from loratui.core.config.families import (
    CANONICAL_FAMILIES, FAMILY_SPELLINGS, ModelFamily, canonical_family, config_model_family, family_from_name,
    read_model_family,
)
from loratui.core.config.base_model import model_folder_family, model_folder_v_prediction, v_prediction_note
from loratui.core.config.device_defaults import apply_cpu_defaults, has_nvidia_gpu
from loratui.core.config.kohya_import import ImportReport, import_kohya, import_kohya_file
from loratui.core.config.kohya_explain import explain_gui_key
from loratui.core.config.packages import missing_packages
from loratui.core.config.lora_file import LoraFileInfo, describe_lora, layer_kinds, read_lora_info
from loratui.core.config.lora_alpha import ZERO_APPLIED, ZERO_READ_AS_RANK
from loratui.core.config.lora_layers import base_kind
from loratui.core.config.output_folder import output_dir_of
from loratui.core.config.vae_check import VAE_KEY_PREFIXES
from loratui.core.config.weights_check import WEIGHTS_SUFFIX, alpha_refusal, locon_refusal, rank_refusal
from loratui.core.config.model_check import detect_model_family, family_from_keys
from loratui.core.config.preflight import output_dir_problem, resume_state_problem
from loratui.core.config.prompts import SCHEDULER_CLASSES, SamplePrompt, parse_prompt_line, parse_prompts
from loratui.core.config.load import (
    cache_latents_note, check_paths, config_from_dict, config_to_dict, latents_cached, load_config, loads_config,
    resolve_path, validate, with_resolved_paths,
)
from loratui.core.config.presets import (
    PRESET_FAMILIES, FieldChange, Preset, PresetCatalog, PresetError, apply_preset, load_preset_file, load_presets,
    normalize_family, preset_changes, user_presets_dir,
)
from loratui.core.config.network_args import (
    LYCORIS, NETWORK_MODULES, algo_of, explain_arg, network_kind, network_problems,
    network_identity, sdscripts_network_kwargs, split_network_args,
)
from loratui.core.config.network_args_edit import (  # LYCORIS_ARGS: network_args.ARGS with the edit methods
    EDIT_ARGS as LYCORIS_ARGS, arg_position as network_arg_position, arg_value as network_arg_value,
    shown_value as network_arg_shown, with_arg as with_network_arg,
)
from loratui.core.config.render import dumps_config
from loratui.core.config.schema import (
    MIXED_PRECISION, MODEL_FAMILIES, OPTIMIZERS, SAMPLERS, SAVE_PRECISION, SCHEDULERS, SECTIONS, DatasetSection,
    ModelSection, NetworkSection, OptimizerSection, SamplingSection, SavingSection, TrainingConfig,
    TrainingSection, field_help, section_fields,
)
from loratui.core.config.sdscripts_export import (
    SdScriptsExport, build_sdscripts, earlier_export, export_sdscripts, find_subsets, guess_model_family,
    noise_loss_args, refuse_foreign_export_files,
)
from loratui.core.config.noise_options import noise_problems, v_prediction_problems
from loratui.core.config.write import publish_config_bytes, save_config, update_config_text, write_config
from loratui.core.config.preset_validity import (
    PresetCheck, cpu_slow_line, fixes_text, gpu_only_settings, preset_check, preset_problem_line,
)
from loratui.core.config.check import config_file_problems, config_notes, export_problems, sampling_intervals_note

__all__ = [
    "VAE_KEY_PREFIXES", "WEIGHTS_SUFFIX", "alpha_refusal", "base_kind", "locon_refusal", "output_dir_of",
    "rank_refusal",
    "PresetCheck", "cpu_slow_line", "fixes_text", "gpu_only_settings", "preset_check", "preset_problem_line",
    "config_file_problems", "config_notes", "export_problems", "explain_gui_key", "sampling_intervals_note",
    "v_prediction_note", "noise_loss_args", "noise_problems", "v_prediction_problems",
    "CANONICAL_FAMILIES", "FAMILY_SPELLINGS", "canonical_family",
    "ModelFamily", "config_model_family", "family_from_name", "read_model_family",
    "SCHEDULER_CLASSES", "SamplePrompt", "detect_model_family", "family_from_keys", "output_dir_problem",
    "parse_prompt_line", "parse_prompts", "resume_state_problem",
    "FIELDS", "KEY_SECTIONS", "MIXED_PRECISION", "MODEL_FAMILIES", "OPTIMIZERS", "PATH_KEYS", "PRESET_FAMILIES",
    "SAMPLERS", "SAVE_PRECISION", "SCHEDULERS", "SECTIONS",
    "ConfigError", "DatasetSection", "FieldChange", "FieldSpec", "ImportReport", "ModelSection",
    "NetworkSection", "OptimizerSection", "Preset", "PresetCatalog", "PresetError", "SamplingSection",
    "SavingSection", "SdScriptsExport", "TrainingConfig", "TrainingSection",
    "apply_preset", "build_sdscripts", "check_paths", "coerce_value", "config_from_dict", "config_to_dict",
    "describe_field", "dumps_config", "earlier_export", "export_sdscripts", "refuse_foreign_export_files", "field_help", "field_spec",
    "file_name_problem", "find_subsets", "guess_model_family",
    "import_kohya", "import_kohya_file", "load_config", "load_preset_file", "load_presets", "loads_config",
    "apply_cpu_defaults", "cache_latents_note", "has_nvidia_gpu", "latents_cached", "missing_packages",
    "model_folder_family", "model_folder_v_prediction",
    "normalize_family", "optimizer_name", "preset_changes", "range_text", "resolve_path", "save_config",
    "publish_config_bytes", "section_fields", "update_config_text", "user_presets_dir", "validate", "with_resolved_paths",
    "write_config",
    "LYCORIS", "LYCORIS_ARGS", "NETWORK_MODULES", "algo_of", "explain_arg", "network_kind", "network_problems",
    "network_identity", "sdscripts_network_kwargs", "split_network_args",
    "network_arg_position", "network_arg_shown", "network_arg_value", "with_network_arg",
    "LoraFileInfo", "describe_lora", "layer_kinds", "read_lora_info", "ZERO_APPLIED", "ZERO_READ_AS_RANK",
]
