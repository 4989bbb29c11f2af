"""Small rules behind the settings screen's file actions (config_actions.py), kept here because the CLI
keeps them inside its commands (candidates for core): ``starter_config`` is `loratui config new`'s
defaults, ``rebase_paths`` keeps relative paths pointing at the same place when a config is saved into
another folder, ``family_line`` says which model family the base model is (read from the weights,
else guessed from its name as `loratui vram` does); and what training would refuse about a saved file,
said briefly for a save message. No widgets here.
"""

from __future__ import annotations

import os
from pathlib import Path

from loratui.core.config import (
    PATH_KEYS, TrainingConfig, apply_cpu_defaults, check_paths, config_file_problems, file_name_problem,
    guess_model_family, missing_packages, resolve_path,
)
from loratui.core.dataset import DatasetLocation

FAMILY_LABELS = {"sd1": "SD1", "sd2": "SD2", "sdxl": "SDXL"}


def starter_config(target: Path, location: DatasetLocation) -> TrainingConfig:
    """The config `loratui config new TARGET` writes beside this dataset (not saved)."""
    folder = target.parent
    cfg = TrainingConfig()
    cfg.training.max_train_epochs = 10
    cfg.saving.save_every_n_epochs = 1
    cfg.saving.output_name = target.stem
    if location.is_reg:  # opened on a reg folder: the config trains its training folder, with this as reg
        cfg.dataset.train_data_dir = Path(os.path.relpath(location.reg_of, folder)).as_posix()
        cfg.dataset.reg_data_dir = Path(os.path.relpath(location.train_dir, folder)).as_posix()
    else:
        cfg.dataset.train_data_dir = Path(os.path.relpath(location.train_dir, folder)).as_posix()
        reg = folder / "reg"
        if reg.is_dir() and any(reg.iterdir()):
            cfg.dataset.reg_data_dir = "reg"
    if (folder / "model").is_dir():
        cfg.saving.output_dir = "model"
    apply_cpu_defaults(cfg)  # no GPU here: AdamW and fp32, as config new does
    cfg.config_dir = folder.resolve()
    return cfg


def suggested_path(location: DatasetLocation) -> Path:
    """Where a new config for this dataset goes: the project folder, named after it. Absolute (symlinks
    kept), as the path of a loaded config is: a folder given relative to the working directory
    (`loratui bob`) must not be read again against the project folder (bob/bob/bob.toml)."""
    folder = (location.project_dir or location.train_dir.parent).absolute()
    name = folder.resolve().name
    if file_name_problem(name) or not name:
        name = "lora"
    return folder / f"{name}.toml"


def rebase_paths(cfg: TrainingConfig, folder: Path) -> TrainingConfig:
    """``cfg`` with its relative paths rewritten relative to ``folder`` (same places on disk)."""
    import copy

    old = cfg.config_dir
    out = copy.copy(cfg)
    for section in ("model", "dataset", "network", "saving", "sampling"):
        setattr(out, section, copy.copy(getattr(cfg, section)))
    for section, key in PATH_KEYS:
        value = getattr(getattr(cfg, section), key)
        if not value or os.path.isabs(os.path.expanduser(value)) or old is None:
            continue
        resolved = resolve_path(cfg, value, key=key)
        if resolved == value:  # a Hugging Face repo id
            continue
        setattr(getattr(out, section), key, Path(os.path.relpath(resolved, folder.resolve())).as_posix())
    out.config_dir = folder.resolve()
    return out


def family_line(cfg: TrainingConfig) -> tuple[str, str]:
    """(short label, one line) for the base model's family; reads a .safetensors header at most."""
    model, forced = cfg.model.pretrained_model_name_or_path, cfg.model.model_family
    if not model:
        if forced != "auto":
            return FAMILY_LABELS[forced], f"family: {FAMILY_LABELS[forced]} (set in model_family)"
        return "?", "family: unknown (no base model yet)"
    path = resolve_path(cfg, model, key="pretrained_model_name_or_path")
    read = guess_model_family(path)
    if forced != "auto":
        label = FAMILY_LABELS[forced]
        if read and read != forced:
            return label, (f"family: {label} (set in model_family), but the file looks like "
                           f"{FAMILY_LABELS[read]}: check model_family")
        return label, f"family: {label} (set in model_family)"
    if read:
        return FAMILY_LABELS[read], f"family: {FAMILY_LABELS[read]} (read from the model's weights)"
    from loratui.core.plan import guess_family

    guess = FAMILY_LABELS[guess_family(model)]
    why = "" if os.path.exists(path) or path == model else f" ({path} does not exist)"
    return guess + "?", (f"family: {guess}? guessed from the name{why}, as `loratui vram` does: "
                         "set model_family to be sure")


def saved_problems(path: Path) -> list[str]:
    """What `loratui config check PATH` reports (training refuses the file then), without the file name."""
    _, problems = config_file_problems(path, sdscripts=False)
    prefix = f"{path}: "
    return [p[len(prefix):] if p.startswith(prefix) else p for p in problems]


def problems_note(problems: list[str]) -> str:
    """", with N problem(s) training will refuse: the first two, up to their first ';' ..." for a save
    message (each field shows its own in full)."""
    if not problems:
        return ""
    shown = "; ".join(p.split("; ", 1)[0] for p in problems[:2])
    more = f"; and {len(problems) - 2} more" if len(problems) > 2 else ""
    return (f", with {len(problems)} problem(s) training will refuse: {shown}{more} "
            "(in full under the fields, as `loratui config check` says)")


def file_problems(cfg: TrainingConfig) -> list[str]:
    """What training would refuse about the files and packages ``cfg`` names (check_paths, missing
    packages): what `loratui config check` adds to the fields' own checks. Reads headers, lists folders."""
    return check_paths(cfg) + missing_packages(cfg)
