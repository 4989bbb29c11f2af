"""What `train` would refuse about model.vae, read from headers and small JSON files only (no torch).

engine/models.py ``load_vae`` takes a diffusers VAE folder (or a model folder with vae/), or a .safetensors /
.ckpt holding the VAE in the original (ldm) or diffusers layout, optionally under ``first_stage_model.`` (a whole
checkpoint) or ``vae.`` (VAE_KEY_PREFIXES), and loads it strictly into the base model's VAE. It does so after
the base model has loaded, so a prompt file or a LoRA given as the VAE used to fail minutes in; ``check_paths``
asks here first.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from loratui.core.config.model_check import pickle_checkpoint_keys, safetensors_header
from loratui.core.errors import LoratuiError

KEY = "model.vae"
VAE_SUFFIXES = (".safetensors", ".ckpt")  # engine/models.py SINGLE_FILE_SUFFIXES: a .pt is refused there
# what from_pretrained reads without a variant (a folder holding only *.fp16.safetensors fails there)
FOLDER_WEIGHTS = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.safetensors.index.json",
                  "diffusion_pytorch_model.bin", "diffusion_pytorch_model.bin.index.json")
# the parts every SD 1.x/2.x/SDXL VAE has, in both layouts (ldm: encoder.down.0..., diffusers: encoder.down_blocks.0...)
_VAE_PARTS = ("encoder.", "decoder.", "quant_conv.", "post_quant_conv.")
# a whole checkpoint's VAE, or a diffusers-layout VAE saved under "vae.": engine/models.py load_vae strips these too
VAE_KEY_PREFIXES = ("first_stage_model.", "vae.")
LATENT_CHANNELS = 4  # SD 1.x/2.x/SDXL; SD3 and Flux VAEs have 16


def vae_problems(path: str) -> list[str]:
    """One line (naming model.vae and ``path``) when the engine would refuse the VAE at ``path`` (which exists)."""
    try:
        problem = _folder_problem(Path(path)) if os.path.isdir(path) else _file_problem(Path(path))
    except LoratuiError as exc:  # unreadable, truncated, not the format its name says
        problem = str(exc)
    return [f"{KEY}: {problem}"] if problem else []


def _file_problem(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix not in VAE_SUFFIXES:
        return (f"{path}: unsupported file type {suffix or '(none)'!r}: give the VAE as a .safetensors or .ckpt "
                "file, or a diffusers VAE folder")
    if suffix == ".safetensors":
        header = safetensors_header(path)
        return _keys_problem(path, {k: v.get("shape") for k, v in header.items() if k != "__metadata__"})
    return _keys_problem(path, dict.fromkeys(pickle_checkpoint_keys(path)))


def _keys_problem(path: Path, shapes: dict[str, list[int] | None]) -> str | None:
    """Why these tensor names (-> shapes where known) are no SD VAE, or None."""
    keys = {_unprefixed(k): shape for k, shape in shapes.items()}
    missing = [part for part in _VAE_PARTS if not any(k.startswith(part) for k in keys)]
    if missing:
        if any(k.startswith(("lora_unet_", "lora_te")) for k in shapes):
            what = "is a LoRA (lora_unet_* / lora_te* tensors), not a VAE"
        elif not shapes:
            what = "is not a VAE (no tensors)"
        else:
            what = (f"is not a VAE (no {', '.join(m + '*' for m in missing)} tensors; it has "
                    f"{next(iter(sorted(shapes)))!r}...)")
        return (f"{path} {what}: give a VAE file (encoder.*, decoder.*, quant_conv.* tensors) or leave vae empty "
                "to use the base model's own")
    shape = keys.get("decoder.conv_in.weight")
    if isinstance(shape, list) and len(shape) == 4 and shape[1] != LATENT_CHANNELS:
        return (f"{path} is a VAE with {shape[1]} latent channels (SD3 / Flux?), SD 1.x/2.x/SDXL use "
                f"{LATENT_CHANNELS}: give a VAE of this model's family, or leave vae empty")
    return None


def _unprefixed(key: str) -> str:
    for prefix in VAE_KEY_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def _folder_problem(path: Path) -> str | None:
    folder = path / "vae" if (path / "vae" / "config.json").is_file() else path
    config = folder / "config.json"
    if not config.is_file():
        return (f"{path} is a folder without config.json (nor vae/config.json): give a diffusers VAE folder, a "
                "diffusers model folder, or a .safetensors / .ckpt VAE file")
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        return f"{config}: cannot be read as JSON ({getattr(exc, 'strerror', None) or exc}): the folder is damaged"
    kind = data.get("_class_name") if isinstance(data, dict) else None
    if kind is not None and kind != "AutoencoderKL":
        return f"{config} describes a {kind}, not a VAE (AutoencoderKL): give the VAE's folder"
    weights = next((folder / name for name in FOLDER_WEIGHTS if (folder / name).is_file()), None)
    if weights is None:
        return (f"{folder}: no {FOLDER_WEIGHTS[0]} (or .bin): the VAE folder is incomplete (a *.fp16.* file alone is "
                "not read); download it again")
    if weights.name == FOLDER_WEIGHTS[0]:
        return _keys_problem(weights, {k: v.get("shape") for k, v in safetensors_header(weights).items()
                                       if k != "__metadata__"})
    return None
