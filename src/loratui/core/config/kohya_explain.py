"""`loratui config explain` for a kohya_ss GUI key that is not a loratui key: where `config import-kohya`
puts it (and how its value changes on the way), or why it has no place here. The same tables as the
import's (kohya_keys.py, kohya_dropped.py), so the explanation cannot drift from what the import does."""

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
    "noise_offset_type": ("training.noise_offset", "Original: noise_offset is used; Multires is not supported "
                                                   "(a warning on import when its iterations are above 0)"),
}


# sd-scripts train_network.py arguments (foreign.SDSCRIPTS_ONLY_ARGS and kin) that are neither a loratui key nor a
# kohya_ss GUI key above: what they are here, so `config explain` and a config's unknown-key line can say it
SDSCRIPTS_ARGS: dict[str, str] = {
    "no_half_vae": "always on: loratui runs the VAE in fp32, and `config export-sdscripts` writes no_half_vae = true "
                   "whenever mixed_precision is fp16 or bf16",
    "lowram": "not needed: loratui loads the model its own way",
    "highvram": "not needed: loratui keeps what it can on the GPU",
    "in_json": "fine-tuning metadata (sd-scripts' fine_tune.py) is not read: the dataset is the N_concept folders of "
               "train_data_dir",
    "output_config": "sd-scripts' own config output: loratui's config is this file",
    "config_file": "sd-scripts' --config_file: loratui's config is this file",
}


def explain_gui_key(name: str) -> tuple[str, str, str] | None:
    """(a head line, the explanation, the section.key it becomes or "") for kohya_ss GUI key ``name`` (or an
    sd-scripts argument in SDSCRIPTS_ARGS), or None when neither has such a key."""
    if name in GUI_KEYS:
        target, how = GUI_KEYS[name]
        return f"{name} (kohya_ss GUI) -> {target}", how, target
    if name in EFFECTS:
        off, effect = EFFECTS[name]
        offs = " or ".join(repr(o) if isinstance(o, str) else str(o).lower() for o in off)
        return (f"{name} (kohya_ss GUI) -> not imported: loratui has no such setting",
                f"at its off value ({offs}) nothing changes; set, `config import-kohya` warns that it is not "
                f"applied: {effect}", "")
    if name in SDSCRIPTS_ARGS:
        return f"{name} (sd-scripts argument) -> no loratui key", SDSCRIPTS_ARGS[name], ""
    reason = REASONS.get(name) or next((r for p, r in REASONS.items() if name.startswith(p) and p.endswith("_")), None)
    if reason is None:
        return None
    return f"{name} (kohya_ss GUI) -> not imported", reason, ""
