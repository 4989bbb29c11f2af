"""Model family names: one canonical spelling (sd1, sd2, sdxl: what a config stores) and the other
spellings people type (sd15, sd1.5, sd21, ...), accepted by the config file, every command's
--family and the presets alike. Preset ids and files keep their own `sd15-*` / `sdxl-*` names.

``config_model_family`` says which family a config's base model is, the one answer every part of
loratui uses (VRAM estimate, presets, advice, bucket notes, `config new`): model_family when set, else
read from the model's files (cached per file change), and only when those cannot be read a guess from
the model's name that says it is one."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

CANONICAL_FAMILIES = ("sd1", "sd2", "sdxl")
FAMILY_ALIASES = {
    "sd1": "sd1", "sd15": "sd1", "sd1.5": "sd1", "sd1.x": "sd1", "sd": "sd1",
    "sd2": "sd2", "sd21": "sd2", "sd2.1": "sd2", "sd2.x": "sd2", "sd20": "sd2", "sd2.0": "sd2",
    "sdxl": "sdxl", "sd-xl": "sdxl", "sdxl1.0": "sdxl",
}
# what --help shows: the canonical names and the one alias everybody uses
FAMILY_SPELLINGS = ("sd1", "sd15", "sd2", "sdxl")


def canonical_family(name: str, *, allow_auto: bool = False) -> str | None:
    """``sd15`` -> ``sd1`` and so on (any case, surrounding blanks ignored); None when unknown."""
    value = name.strip().lower().replace("_", "").replace(" ", "")
    if allow_auto and value == "auto":
        return "auto"
    return FAMILY_ALIASES.get(value)


# ---- which family a config's base model is ------------------------------------------------------

# (path, stats) -> (family, None) or (None, error line): a 6 GB checkpoint's header is read once per
# change of the file, not on every keystroke of the Settings form
_READ_CACHE: dict[tuple, tuple[str | None, str | None]] = {}
_READ_CACHE_SIZE = 64
_READ_LOCK = threading.Lock()


def family_from_name(model_path: str) -> str:
    """The last-resort guess: "xl" anywhere in the file/folder name means SDXL, else SD 1.5."""
    name = os.path.basename(os.path.normpath(model_path or "")).lower()
    return "sdxl" if "xl" in name else "sd1"


def _stat_key(path: Path) -> tuple:
    """What says the model changed: the file's mtime and size; for a diffusers folder also the config
    files its family is read from (a folder's own mtime does not change when a file inside does)."""
    st = path.stat()
    key: list = [str(path), st.st_mtime_ns, st.st_size]
    if path.is_dir():
        for rel in ("model_index.json", "unet/config.json", "text_encoder/config.json"):
            try:
                sub = (path / rel).stat()
                key += [rel, sub.st_mtime_ns, sub.st_size]
            except OSError:
                key += [rel, None]
    return tuple(key)


def read_model_family(path: str | os.PathLike) -> str:
    """sd1, sd2 or sdxl read from a local base model: a diffusers folder's model_index/unet config, or a
    single file's key names (a .safetensors header, a .ckpt's pickle; no weights loaded). Cached per
    (path, mtime, size). LoratuiError (one line naming the path) when the family cannot be read."""
    from loratui.core.config.base_model import model_folder_family
    from loratui.core.config.model_check import detect_model_family
    from loratui.core.errors import LoratuiError

    path = Path(path)
    try:
        key = _stat_key(path)
    except OSError as exc:
        raise LoratuiError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with _READ_LOCK:
        cached = _READ_CACHE.get(key)
    if cached is None:
        try:  # a folder's family is in its config files; whether its weights are complete is check_paths'
            cached = (model_folder_family(path) if path.is_dir() else detect_model_family(path), None)
        except LoratuiError as exc:
            cached = (None, str(exc))
        with _READ_LOCK:
            if len(_READ_CACHE) >= _READ_CACHE_SIZE:
                _READ_CACHE.clear()
            _READ_CACHE[key] = cached
    family, error = cached
    if family is None:
        raise LoratuiError(error or f"{path}: cannot tell the model family")
    return family


@dataclass(frozen=True)
class ModelFamily:
    """A config's model family and where it came from.

    ``source``: "given" (an explicit --family), "config" (model.model_family set), "weights" (auto, read
    from the model's files) or "name" (auto, guessed from the model's name because the files cannot be
    read: ``why`` says why, in a phrase)."""

    family: str
    source: str
    why: str = ""

    @property
    def guessed(self) -> bool:
        return self.source == "name"

    def describe(self) -> str:
        """One phrase: "sdxl, read from the model's weights", "sd1, guessed from the model name ..."."""
        if self.source == "weights":
            return f"{self.family}, read from the model's weights"
        if self.source == "name":
            return (f"{self.family}, guessed from the model name ({self.why}): set model.model_family to be "
                    "sure")
        return f"{self.family}, set in model.model_family" if self.source == "config" else self.family


def config_model_family(cfg, family: str | None = None) -> ModelFamily:
    """The family of ``cfg``'s base model: ``family`` when given (not "auto"), else model.model_family
    when set, else read from the model's files (read_model_family, cached); the name guess only when
    those cannot be read (not downloaded yet, a Hugging Face repo id, unreadable), saying why."""
    from loratui.core.config.load import resolve_path
    from loratui.core.errors import LoratuiError

    for value, source in ((family, "given"), (cfg.model.model_family, "config")):
        if value and value.lower() != "auto":
            name = canonical_family(value)
            if name is None:
                raise LoratuiError(f"unknown model family {value!r}: use sd1, sd2, sdxl or auto")
            return ModelFamily(name, source)
    model = cfg.model.pretrained_model_name_or_path
    if not model:
        return ModelFamily("sd1", "name", "no model set")
    path = resolve_path(cfg, model, key="pretrained_model_name_or_path")
    if path == model and not os.path.isabs(path) and not os.path.exists(path):
        return ModelFamily(family_from_name(model), "name", f"{model!r} is a Hugging Face repo id, not read")
    if not os.path.exists(path):
        return ModelFamily(family_from_name(model), "name", f"{path} does not exist (yet)")
    try:
        return ModelFamily(read_model_family(path), "weights")
    except LoratuiError as exc:
        return ModelFamily(family_from_name(model), "name", f"its weights cannot be read: {exc}")
