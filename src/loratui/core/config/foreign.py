"""sd-scripts' own TOML files (a --config_file or a --dataset_config) told apart from loratui configs.

Why: such a file often sits beside the dataset (one `config export-sdscripts` wrote, or one from a
kohya_ss setup). Read as a loratui config it gives a page of "unknown section" / "must be inside
[model]" lines, and the fix those suggest (edit it into loratui's shape) breaks it for sd-scripts.
``load.loads_config`` asks here first and refuses such a file in one line that says what it is and
how to bring it in, so every command and the app say the same.

What counts (nothing with one of loratui's own sections does: that is a loratui config with problems):
- the first line `config export-sdscripts` writes (sdscripts_export.EXPORT_HEADER);
- a --dataset_config: a ``[general]`` table or ``[[datasets]]`` array of tables;
- a --config_file: sd-scripts argument names as top-level keys (``pretrained_model_name_or_path =``,
  ``train_data_dir =``, or three of loratui's keys, ...), or the kohya_ss GUI's ``[*_arguments]`` tables
  (sd-scripts flattens them).
"""

from __future__ import annotations

from typing import Any

from loratui.core.config.fields import KEY_SECTIONS
from loratui.core.config.schema import SECTIONS

CONFIG_FILE = "config_file"
DATASET_CONFIG = "dataset_config"

# The first line of a file `loratui config export-sdscripts` writes (sdscripts_export.EXPORT_HEADER; not
# imported: that module imports load.py, which imports this one). A test keeps the two equal.
EXPORT_HEADER = "# Written by `loratui config export-sdscripts`"

# sd-scripts train_network.py arguments that are no loratui key (loratui's keys mostly are sd-scripts' own
# names, KEY_SECTIONS): enough to know a flat --config_file that sets few of loratui's keys.
SDSCRIPTS_ONLY_ARGS = frozenset({
    "dataset_config", "output_config", "config_file", "logging_dir", "log_with", "log_prefix", "in_json",
    "lowram", "highvram", "persistent_data_loader_workers", "no_half_vae", "fp8_base", "huber_c", "loss_type",
    "multires_noise_iterations", "ip_noise_gamma", "scale_weight_norms", "dim_from_weights",
})


# Any --config_file names the base model, the images or where the LoRA goes: one of these at the top
# level is sd-scripts' layout; other loratui keys there count only FLAT_KEYS or more at once.
SIGNATURE_ARGS = frozenset({"pretrained_model_name_or_path", "train_data_dir", "output_dir", "network_module"})
FLAT_KEYS = 3


def sdscripts_kind(data: dict[str, Any], text: str = "") -> str | None:
    """CONFIG_FILE or DATASET_CONFIG when ``data`` (parsed TOML; ``text``: the file's text) is one of
    sd-scripts' own files rather than a loratui config; None otherwise."""
    first_line = text.removeprefix("\ufeff").lstrip().split("\n", 1)[0]
    if first_line.startswith(EXPORT_HEADER):
        return DATASET_CONFIG if "--dataset_config" in first_line else CONFIG_FILE
    if any(isinstance(data.get(section), dict) for section in SECTIONS):
        return None  # a loratui config, however wrong its keys: its own problems say what to fix
    if isinstance(data.get("datasets"), list) or isinstance(data.get("general"), dict):
        return DATASET_CONFIG
    if any(key.endswith("_arguments") and isinstance(value, dict) for key, value in data.items()):
        return CONFIG_FILE  # kohya_ss GUI: [model_arguments], [training_arguments], ...
    flat = {key for key, value in data.items() if not isinstance(value, dict)}
    if flat & (SIGNATURE_ARGS | SDSCRIPTS_ONLY_ARGS) or len(flat & KEY_SECTIONS.keys()) >= FLAT_KEYS:
        return CONFIG_FILE
    return None  # a key or two out of place (`seed = 1`): load.py names each with its section


def foreign_config_line(source: str, kind: str, text: str = "") -> str:
    """The one line that refuses ``source`` as a loratui config: what it is and what to do instead."""
    exported = text.removeprefix("\ufeff").lstrip().startswith(EXPORT_HEADER)
    what = ("an sd-scripts --dataset_config file" if kind == DATASET_CONFIG
            else "an sd-scripts --config_file (train_network.py's arguments)")
    if exported:
        return (f"{source} is {what} that `loratui config export-sdscripts` wrote, not a loratui config: open the "
                "loratui config it was exported from (`loratui CONFIG.toml`) and export again after changing it")
    if kind == DATASET_CONFIG:  # import-kohya reads it through a kohya_ss GUI JSON's dataset_config key
        return (f"{source} is {what}, not a loratui config: import the kohya_ss GUI JSON whose dataset_config "
                "names it (`loratui config import-kohya GUI.json`), or write a loratui config with `loratui config "
                "new` (it has [model], [dataset], ... sections)")
    return (f"{source} is {what}, not a loratui config (import-kohya reads kohya_ss GUI JSON, not these): write "
            "a loratui config with `loratui config new` and copy its settings over (the keys mostly keep sd-scripts' "
            "names; `loratui config explain KEY` says which section each goes in)")
