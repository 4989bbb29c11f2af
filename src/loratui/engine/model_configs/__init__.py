"""Shipped configs for the single-file loader and random real-size models.

One JSON per variant (sd1, sd2, sd2-v, sdxl) holds the diffusers configs of every part; the CLIP BPE
merges ship gzipped (vocab.json is derived from them). ``config_folder(variant)`` assembles a
diffusers-layout folder (model_index.json, unet/, vae/, text_encoder*/, tokenizer*/, scheduler/) in
the user's cache on first use, so ``from_single_file(config=...)`` never needs the network.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path

from loratui.engine.clip_vocab import write_clip_tokenizer

HERE = Path(__file__).resolve().parent
VARIANTS = ("sd1", "sd2", "sd2-v", "sdxl")


def variant_config(variant: str) -> dict:
    """The parsed JSON of one variant."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown model variant {variant!r}")
    return json.loads((HERE / f"{variant}.json").read_text(encoding="utf-8"))


@cache
def clip_merges() -> list[tuple[str, str]]:
    with gzip.open(HERE / "clip_merges.txt.gz", "rt", encoding="utf-8") as fh:
        lines = fh.read().split("\n")[1:]
    return [tuple(line.split(" ")) for line in lines if line]  # type: ignore[misc]


def cache_root() -> Path:
    """loratui's cache folder (LORATUI_CACHE_DIR, else $XDG_CACHE_HOME/loratui, else ~/.cache/loratui)."""
    env = os.environ.get("LORATUI_CACHE_DIR")
    if env:
        return Path(env)
    from loratui.core.userdirs import user_cache_dir

    return user_cache_dir()


def config_folder(variant: str) -> Path:
    """Return (creating it once) the diffusers-layout config folder of ``variant``."""
    cfg = variant_config(variant)
    digest = hashlib.sha256(
        (HERE / f"{variant}.json").read_bytes() + (HERE / "clip_merges.txt.gz").read_bytes()
    ).hexdigest()[:12]
    target = cache_root() / "model_configs" / f"{variant}-{digest}"
    if (target / "model_index.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{variant}-", dir=target.parent))
    try:
        _write_folder(tmp, cfg)
        try:
            tmp.rename(target)
        except OSError:  # another process won the race: theirs is identical
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _write_folder(folder: Path, cfg: dict) -> None:
    index = {"_class_name": cfg["pipeline"], "_diffusers_version": "0.42.1",
             "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
             "scheduler": ["diffusers", "DDPMScheduler"]}
    for part in ("unet", "vae", "text_encoder", "text_encoder_2"):
        if part in cfg:
            (folder / part).mkdir()
            body = dict(cfg[part])
            (folder / part / "config.json").write_text(json.dumps(body, indent=1), encoding="utf-8")
            if part.startswith("text_encoder"):
                index[part] = ["transformers", body["architectures"][0]]
    (folder / "scheduler").mkdir()
    (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps(cfg["scheduler"]), encoding="utf-8")
    for name, pad in cfg["tokenizers"].items():
        write_clip_tokenizer(folder / name, clip_merges(), pad_token=pad)
        index[name] = ["transformers", "CLIPTokenizer"]
    if cfg["pipeline"] == "StableDiffusionPipeline":
        index.update(safety_checker=[None, None], feature_extractor=[None, None], requires_safety_checker=False)
    else:
        index.update(force_zeros_for_empty_prompt=True)
    (folder / "model_index.json").write_text(json.dumps(index, indent=1), encoding="utf-8")
