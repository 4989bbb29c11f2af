"""Load a base model (diffusers folder or single checkpoint) offline, and say what it is.

Single files are always loaded with a shipped config folder (``model_configs``), so diffusers never
guesses a hub repo; ``.ckpt`` pickles are only read through ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from loratui.core.errors import LoratuiError

FAMILY_NAMES = {"sd1": "SD 1.x", "sd2": "SD 2.x", "sdxl": "SDXL"}
SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt")


@dataclass
class BaseModel:
    family: str  # "sd1" | "sd2" | "sdxl"
    v_prediction: bool
    unet: Any
    vae: Any
    text_encoders: list
    tokenizers: list
    noise_scheduler: Any
    source_description: str
    extra: dict = field(default_factory=dict)
    # lines the run prints at its start: what was read from the model's own files, not the config
    notes: list[str] = field(default_factory=list)


def make_noise_scheduler(v_prediction: bool):
    """DDPM with SD's training betas, as sd-scripts configures it."""
    from diffusers import DDPMScheduler

    return DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                         num_train_timesteps=1000, clip_sample=False,
                         prediction_type="v_prediction" if v_prediction else "epsilon")


def detect_family(state_dict_keys) -> str:
    """Family of an original-layout (or diffusers-layout) checkpoint, from its key names: the rules
    `loratui config check` applies to the file's header (core/config/model_check.py)."""
    from loratui.core.config import family_from_keys

    return family_from_keys(state_dict_keys)


def _read_keys(path: Path) -> tuple[list[str], dict | None]:
    """Key names of a single file (and the loaded dict for .ckpt, which cannot be read lazily)."""
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as fh:
                return list(fh.keys()), None
        except Exception as exc:  # corrupt / truncated file
            raise LoratuiError(f"cannot read {path}: not a valid .safetensors file ({exc})") from None
    try:
        try:
            data = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise
            data = torch.load(str(path), map_location="cpu", weights_only=True)  # legacy (non-zip) format
    except Exception as exc:
        raise LoratuiError(f"cannot read {path} with torch.load(weights_only=True): {str(exc).splitlines()[0]}; "
                           "convert it to .safetensors") from None
    sd = data.get("state_dict", data) if isinstance(data, dict) else None
    if not isinstance(sd, dict):
        raise LoratuiError(f"{path} does not hold a state dict")
    return list(sd), sd


def _check_family(requested: str, detected: str, where: str) -> None:
    if requested not in ("", "auto") and requested != detected:
        raise LoratuiError(
            f"model.model_family is {requested!r} but {where} is an {FAMILY_NAMES[detected]} model; "
            f"set model_family = \"auto\" or \"{detected}\"")


def load_base_model(model_cfg, *, dtype=torch.float32, device="cpu", config_dir: str | Path | None = None) -> BaseModel:
    """Load the model named by ``model_cfg`` (a ModelSection).

    ``config_dir`` overrides the shipped config folder used for single files (tests use the tiny
    model's folder).
    """
    raw = (model_cfg.pretrained_model_name_or_path or "").strip()
    if not raw:
        raise LoratuiError("model.pretrained_model_name_or_path is empty: set it to a diffusers folder or a "
                           ".safetensors checkpoint")
    path = Path(os.path.expanduser(raw))
    if path.is_dir():
        base = _load_folder(path, model_cfg, dtype)
    elif path.is_file():
        if path.suffix.lower() not in SINGLE_FILE_SUFFIXES:
            raise LoratuiError(f"{path}: unsupported model file type {path.suffix!r}; use .safetensors or .ckpt")
        base = _load_single_file(path, model_cfg, dtype, config_dir)
    else:
        raise LoratuiError(f"model.pretrained_model_name_or_path: {path} does not exist (give a diffusers folder or "
                           "a .safetensors file)")
    if (model_cfg.vae or "").strip():
        base.vae = load_vae(Path(os.path.expanduser(model_cfg.vae.strip())), base, dtype)
        base.source_description += f", VAE from {model_cfg.vae.strip()}"
    for part in [base.unet, base.vae, *base.text_encoders]:
        _place(part, device, dtype)
    return base


def _place(part, device, dtype) -> None:
    """Freeze and move a model part (only casting when needed: diffusers warns on a no-op cast)."""
    part.requires_grad_(False)
    if next(part.parameters()).dtype != dtype:
        part.to(dtype=dtype)
    part.to(device=device)


def _family_from_folder(folder: Path) -> str:
    from loratui.core.config import model_folder_family

    return model_folder_family(folder)  # shared with `config export-sdscripts`


def _load_folder(folder: Path, model_cfg, dtype) -> BaseModel:
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    family = _family_from_folder(folder)
    _check_family(model_cfg.model_family, family, str(folder))
    from loratui.core.config import model_folder_v_prediction, v_prediction_note

    v_pred = bool(model_cfg.v_parameterization) or model_folder_v_prediction(folder)  # as export-sdscripts
    try:
        unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet", torch_dtype=dtype, local_files_only=True)
        vae = AutoencoderKL.from_pretrained(folder, subfolder="vae", torch_dtype=dtype, local_files_only=True)
        tes = [_text_encoder(CLIPTextModel, folder, "text_encoder", dtype)]
        toks = [CLIPTokenizer.from_pretrained(folder, subfolder="tokenizer", local_files_only=True)]
        if family == "sdxl":
            tes.append(_text_encoder(CLIPTextModelWithProjection, folder, "text_encoder_2", dtype))
            toks.append(CLIPTokenizer.from_pretrained(folder, subfolder="tokenizer_2", local_files_only=True))
    except (OSError, ValueError) as exc:
        raise LoratuiError(f"cannot load the diffusers folder {folder}: {str(exc).splitlines()[0]}") from None
    desc = f"{FAMILY_NAMES[family]}{' v-prediction' if v_pred else ''} (diffusers folder {folder})"
    base = BaseModel(family, v_pred, unet, vae, tes, toks, make_noise_scheduler(v_pred), desc)
    note = v_prediction_note(folder, bool(model_cfg.v_parameterization)) if v_pred else None
    if note:  # the line `config check` prints
        base.notes.append(note)
    return base


def _text_encoder(cls, folder: Path, subfolder: str, dtype):
    """Load one text encoder; tensors missing from its weights are an error (transformers would
    start them random with only a log line, which loratui keeps quiet)."""
    model, info = cls.from_pretrained(folder, subfolder=subfolder, dtype=dtype, local_files_only=True,
                                      output_loading_info=True)
    missing = sorted(info.get("missing_keys") or [])
    if missing:
        raise LoratuiError(f"{folder / subfolder}: {len(missing)} tensor(s) missing from the weights (e.g. "
                           f"{missing[0]}): the model folder is incomplete or damaged; download it again")
    return model


def _variant(family: str, v_pred: bool) -> str:
    return "sd2-v" if family == "sd2" and v_pred else family


def _load_single_file(path: Path, model_cfg, dtype, config_dir) -> BaseModel:
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    from loratui.engine.model_configs import config_folder

    keys, ckpt_sd = _read_keys(path)
    family = detect_family(keys)
    del ckpt_sd  # diffusers reads it again itself (also with weights_only=True)
    _check_family(model_cfg.model_family, family, str(path))
    v_pred = bool(model_cfg.v_parameterization)
    config = Path(config_dir) if config_dir else config_folder(_variant(family, v_pred))
    cls = StableDiffusionXLPipeline if family == "sdxl" else StableDiffusionPipeline
    kwargs = {} if family == "sdxl" else {"safety_checker": None, "feature_extractor": None,
                                           "requires_safety_checker": False}
    try:
        pipe = cls.from_single_file(str(path), config=str(config), local_files_only=True, torch_dtype=dtype,
                                    **kwargs)
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LoratuiError(f"cannot load {path} as an {FAMILY_NAMES[family]} checkpoint: {msg}") from None
    tes = [pipe.text_encoder] + ([pipe.text_encoder_2] if family == "sdxl" else [])
    toks = [pipe.tokenizer] + ([pipe.tokenizer_2] if family == "sdxl" else [])
    for part_name, part in (("unet", pipe.unet), ("vae", pipe.vae), *((f"text encoder {i + 1}", te)
                                                                      for i, te in enumerate(tes))):
        missing = [n for n, t in [*part.named_parameters(), *part.named_buffers()] if t.is_meta]
        if missing:  # a tensor the file lacks stays on the meta device (no data): fail now, in one line
            raise LoratuiError(f"{path}: {len(missing)} tensor(s) of the {part_name} are missing from the checkpoint "
                               f"(e.g. {missing[0]}): the file is incomplete or damaged; download it again")
    desc = f"{FAMILY_NAMES[family]}{' v-prediction' if v_pred else ''} (single file {path.name}, detected from its keys)"
    return BaseModel(family, v_pred, pipe.unet, pipe.vae, tes, toks, make_noise_scheduler(v_pred), desc)


def load_vae(path: Path, base: BaseModel, dtype):
    """A separate VAE: a diffusers folder, or a .safetensors/.ckpt in original or diffusers layout."""
    from diffusers import AutoencoderKL

    if path.is_dir():
        sub = "vae" if (path / "vae" / "config.json").is_file() else None
        try:
            return AutoencoderKL.from_pretrained(path, subfolder=sub, torch_dtype=dtype, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise LoratuiError(f"model.vae: cannot load the VAE folder {path}: {str(exc).splitlines()[0]}") from None
    if not path.is_file():
        raise LoratuiError(f"model.vae: {path} does not exist")
    if path.suffix.lower() not in SINGLE_FILE_SUFFIXES:
        raise LoratuiError(f"model.vae: unsupported file type {path.suffix!r}; use .safetensors or .ckpt")
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file

        sd = load_file(str(path))
    else:
        sd = _read_keys(path)[1]
    from loratui.core.config import VAE_KEY_PREFIXES

    sd = {_unprefixed_vae_key(k, VAE_KEY_PREFIXES): v for k, v in sd.items()}
    vae = AutoencoderKL.from_config(base.vae.config)
    if any(k.startswith("encoder.down_blocks.") for k in sd):
        target = sd  # already diffusers layout
    else:
        from diffusers.loaders.single_file_utils import convert_ldm_vae_checkpoint

        try:
            target = convert_ldm_vae_checkpoint(sd, vae.config)
        except Exception as exc:
            raise LoratuiError(f"model.vae: {path} is not a VAE this model can use ({exc})") from None
    missing, unexpected = vae.load_state_dict(target, strict=False)
    if missing or unexpected:
        raise LoratuiError(f"model.vae: {path} does not match the model's VAE "
                           f"({len(missing)} missing, {len(unexpected)} unexpected keys)")
    return vae.to(dtype)


def _unprefixed_vae_key(key: str, prefixes: tuple[str, ...]) -> str:
    """The key without the first of ``prefixes`` it starts with (the same rule as core's vae check)."""
    for prefix in prefixes:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def build_random_base_model(family: str, *, device="cpu", dtype=torch.float32, v_prediction: bool = False) -> BaseModel:
    """Real-size SD1.5 / SD2 / SDXL architecture with random weights (for throughput benchmarks)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    from loratui.engine.model_configs import config_folder, variant_config

    aliases = {"sd15": "sd1", "sd1": "sd1", "sd2": "sd2", "sd21": "sd2", "sdxl": "sdxl"}
    if family not in aliases:
        raise LoratuiError(f"unknown architecture {family!r}: use sd15, sd2 or sdxl")
    family = aliases[family]
    variant = _variant(family, v_prediction)
    cfg = variant_config(variant)
    folder = config_folder(variant)

    def te(part: str):
        body = {k: v for k, v in cfg[part].items() if k not in ("architectures", "model_type")}
        cls = CLIPTextModelWithProjection if cfg[part]["architectures"][0].endswith("Projection") else CLIPTextModel
        return cls(CLIPTextConfig(**body))

    with torch.device(device):
        unet = UNet2DConditionModel.from_config(cfg["unet"])
        vae = AutoencoderKL.from_config(cfg["vae"])
        tes = [te("text_encoder")] + ([te("text_encoder_2")] if family == "sdxl" else [])
    toks = [CLIPTokenizer.from_pretrained(folder / "tokenizer")]
    if family == "sdxl":
        toks.append(CLIPTokenizer.from_pretrained(folder / "tokenizer_2"))
    for part in [unet, vae, *tes]:
        _place(part, device, dtype)
    desc = f"{FAMILY_NAMES[family]} architecture with random weights"
    return BaseModel(family, v_prediction, unet, vae, tes, toks, make_noise_scheduler(v_prediction), desc)
