"""Which model family the VRAM estimate models for a config: given, set, read from the weights, or
guessed from the model's name (said in the estimate's assumptions). Split from vram.py."""

from __future__ import annotations

import os

from loratui.core.config import TrainingConfig, config_model_family, family_from_name, read_model_family
from loratui.core.plan.vram_models import FAMILIES


def guess_family(model_path: str) -> str:
    """Family from the model's name: "xl" anywhere in the file/folder name means SDXL. Only the last
    resort (resolve_family reads the weights first)."""
    return family_from_name(model_path)


FAMILY_LABELS = {"sd1": "SD 1.5", "sdxl": "SDXL"}


def family_from_weights(cfg: TrainingConfig, source: str = "the config") -> str | None:
    """For model_family auto: the family read from the local model (no weights loaded; cached per file
    change: core.config.read_model_family).

    A model that is there but cannot be read is a LoratuiError saying the family cannot be told (not
    a silent SD1 estimate). None when the model is not there (not downloaded yet, a Hugging Face
    repo id, unset): the estimate then guesses from the name and says so in its assumptions."""
    from loratui.core.config import resolve_path
    from loratui.core.errors import LoratuiError

    value = cfg.model.pretrained_model_name_or_path
    path = resolve_path(cfg, value, key="pretrained_model_name_or_path") if value else ""
    if not path:
        return None
    if not os.path.exists(path):
        return None  # planning before the download: the name guess, said in the assumptions
    try:
        return read_model_family(path)
    except LoratuiError as exc:
        raise LoratuiError(f"{source}: cannot tell the model family (model_family = \"auto\"): {exc}; set "
                           "model.model_family or pass --family sd1|sd2|sdxl") from None


def missing_model_warning(cfg: TrainingConfig) -> str | None:
    """For model_family auto: the line saying the model path does not exist (yet), so the family is
    only guessed from its name (None: the model is there, unset, or a Hugging Face repo id, which the
    name guess in the assumptions already covers)."""
    from loratui.core.config import resolve_path

    value = cfg.model.pretrained_model_name_or_path
    if not value or (cfg.model.model_family or "auto") != "auto":
        return None
    path = resolve_path(cfg, value, key="pretrained_model_name_or_path")
    if path == value and not os.path.isabs(path):  # "org/name": a repo id, not a path
        return None
    if os.path.exists(path):
        return None
    return (f"pretrained_model_name_or_path: {path} does not exist (yet): model family guessed from its name "
            f"({guess_family(value)}); set model.model_family to be sure")


FAMILY_GUESS_NOTE = "model family guessed from the model name"


def resolve_family(cfg: TrainingConfig, family: str | None, assumptions: list[str]) -> str:
    """The family whose shapes the estimator counts for ``cfg`` (sd1 or sdxl; SD 2.x is counted with
    sd1's, said in ``assumptions``; `loratui vram`/`steps` still print sd2, the family set): ``family``
    when given, else model.model_family, else read from the model's weights (config_model_family,
    cached); a guess from the model's name only when the weights cannot be read, said in
    ``assumptions``."""
    read = config_model_family(cfg, family)
    fam = read.family
    if read.guessed:
        shown = cfg.model.pretrained_model_name_or_path or "(no model set)"
        assumptions.append(f"{FAMILY_GUESS_NOTE} {shown!r}: {fam} ({read.why}; "
                           "set model.model_family to be sure)")
    if fam == "sd2":
        assumptions.append("SD 2.x is estimated with SD1.5's UNet shapes (close: same channels, "
                           "1024-wide OpenCLIP-H text encoder not modelled separately)")
        fam = "sd1"
    if fam not in FAMILIES:
        from loratui.core.errors import LoratuiError
        raise LoratuiError(f"unknown model family {fam!r}: use sd1, sd2, sdxl or auto")
    return fam
