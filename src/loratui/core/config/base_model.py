"""What a diffusers model folder is, read from its small JSON files only (no torch, no diffusers).

`loratui train` (engine/models.py) and `loratui config export-sdscripts` both ask these questions,
so an exported sd-scripts config trains what `train` would: the same family (v2 or not) and the same
objective (v_parameterization when the folder's scheduler predicts v).
"""

from __future__ import annotations

import json
from pathlib import Path

from loratui.core.errors import LoratuiError


def _json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise LoratuiError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    except (ValueError, RecursionError) as exc:
        raise LoratuiError(f"{path}: not valid JSON ({exc}): the model folder is damaged; download it again") from None
    if not isinstance(data, dict):
        raise LoratuiError(f"{path}: not a model config (a JSON object)")
    return data


def model_folder_family(folder: str | Path) -> str:
    """sd1, sd2 or sdxl for a diffusers folder; LoratuiError for the SDXL refiner or a non-model folder."""
    folder = Path(folder)
    index = folder / "model_index.json"
    if index.is_file():
        data = _json(index)
        if "XL" in str(data.get("_class_name", "")) or "text_encoder_2" in data:
            if not data.get("text_encoder"):
                raise LoratuiError(f"{folder} looks like the SDXL refiner, which loratui cannot train")
            return "sdxl"
    elif (folder / "text_encoder_2").is_dir():
        return "sdxl"
    unet_cfg = folder / "unet" / "config.json"
    if not unet_cfg.is_file():
        raise LoratuiError(f"{folder} is not a diffusers model folder (no unet/config.json)")
    ucfg = _json(unet_cfg)
    if ucfg.get("addition_embed_type") == "text_time":
        return "sdxl"
    te_cfg = folder / "text_encoder" / "config.json"
    te = _json(te_cfg) if te_cfg.is_file() else {}
    # SD2's OpenCLIP text encoder (width 1024, gelu) feeds a linear-projection UNet with 1024-wide
    # cross-attention; SD1 has CLIP ViT-L (768, quick_gelu).
    if ucfg.get("cross_attention_dim") == 1024 or te.get("hidden_size") == 1024 or \
            (ucfg.get("use_linear_projection") and te.get("hidden_act") == "gelu"):
        return "sd2"
    return "sd1"


def model_folder_v_prediction(folder: str | Path) -> bool:
    """True when the folder's scheduler/scheduler_config.json says prediction_type = v_prediction."""
    sched = Path(folder) / "scheduler" / "scheduler_config.json"
    return sched.is_file() and _json(sched).get("prediction_type") == "v_prediction"


def v_prediction_note(model: str | Path, v_parameterization: bool) -> str | None:
    """The line `config check` and the run's start show when ``model`` is a diffusers folder whose
    scheduler makes `train` use v-prediction though v_parameterization is off (sd-scripts does not read
    that file: the export sets v_parameterization = true); None otherwise, and when the file cannot be
    read (check_paths says that)."""
    folder = Path(model) if model else None
    if v_parameterization or folder is None or not folder.is_dir():
        return None
    try:
        if not model_folder_v_prediction(folder):
            return None
    except LoratuiError:
        return None
    return v_prediction_line(folder / "scheduler" / "scheduler_config.json")


def v_prediction_line(scheduler_file: str | Path) -> str:
    # engine/models.py says the same words at the run's start (BaseModel.notes)
    return (f"{scheduler_file} says prediction_type = v_prediction: trained as v-prediction (v_parameterization), "
            "though v_parameterization = false; the sd-scripts export sets v_parameterization = true")
