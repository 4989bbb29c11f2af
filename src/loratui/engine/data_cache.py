"""Latents cached on disk beside each image, reused across runs while they are still valid.

One ``<image file name>.loratui-latents.safetensors`` per image (``img0.png`` ->
``img0.png.loratui-latents.safetensors``; the full name, so ``a.png`` and ``a.jpg`` do not share one).
It holds one tensor per (bucket, flip) and metadata describing what it was encoded from: the image's
size, mtime and SHA-1, the resized size and the VAE. An entry is used only when all of them still
match (a touched but unchanged file is recognised by its hash); anything else re-encodes it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from loratui.core.fsutil import atomic_write_bytes, file_digest

CACHE_SUFFIX = ".loratui-latents.safetensors"
FORMAT = "1"


def cache_path(image: str | Path) -> Path:
    image = Path(image)
    return image.with_name(image.name + CACHE_SUFFIX)


def entry_key(bucket, flip: bool) -> str:
    return f"{bucket[0]}x{bucket[1]}|{int(flip)}"


def file_sha1(path: Path) -> str:
    return file_digest(path, "sha1")


def vae_fingerprint(vae) -> str:
    """Identifies the VAE's encoder: its config, dtype and a strided sample of every encoder weight.

    Only the encoder matters for latents, so a VAE with a fine-tuned decoder (sd-vae-ft-mse) keeps the
    cache. Sampling (not hashing every weight) keeps this cheap on a GPU."""
    digest = hashlib.sha1(json.dumps(dict(vae.config), sort_keys=True, default=str).encode())
    for name, param in vae.named_parameters():
        if name.startswith(("encoder.", "quant_conv.")):
            flat = param.detach().reshape(-1)
            step = max(1, flat.numel() // 64)
            digest.update(name.encode())
            digest.update(flat[::step][:64].float().cpu().numpy().tobytes())
    digest.update(str(next(vae.parameters()).dtype).encode())
    return digest.hexdigest()[:16]


def image_meta(path: Path, resized, vae_id: str) -> dict[str, str]:
    stat = path.stat()
    return {"format": FORMAT, "size": str(stat.st_size), "mtime_ns": str(stat.st_mtime_ns),
            "resized": f"{resized[0]}x{resized[1]}", "vae": vae_id}


def _read(disk: Path):
    """(metadata, {key: tensor}) of a cache file, or ({}, {}) when it is missing or unreadable."""
    from safetensors import safe_open

    try:
        with safe_open(str(disk), "pt") as handle:
            meta = handle.metadata() or {}
            return meta, {k: handle.get_tensor(k) for k in handle.keys()}
    except Exception:  # missing, truncated or foreign: treat as no cache
        return {}, {}


def _still_valid(stored: dict, meta: dict, path: Path) -> bool:
    for key in ("format", "size", "resized", "vae"):
        if stored.get(key) != meta[key]:
            return False
    if stored.get("mtime_ns") == meta["mtime_ns"]:
        return True
    return bool(stored.get("sha1")) and stored.get("sha1") == file_sha1(path)


def load_cached(image: Path, bucket, flip: bool, resized, vae_id: str) -> torch.Tensor | None:
    disk = cache_path(image)
    if not disk.exists():
        return None
    stored, tensors = _read(disk)
    if not stored or not _still_valid(stored, image_meta(image, resized, vae_id), image):
        return None
    return tensors.get(entry_key(bucket, flip))


def store_cached(image: Path, bucket, flip: bool, resized, vae_id: str, latent: torch.Tensor) -> None:
    """Add one entry, keeping the file's other entries when they were made from the same image."""
    from safetensors.torch import save

    disk = cache_path(image)
    meta = image_meta(image, resized, vae_id)
    stored, tensors = _read(disk) if disk.exists() else ({}, {})
    if not stored or not _still_valid(stored, meta, image):
        tensors = {}
        meta["sha1"] = file_sha1(image)
    else:
        meta["sha1"] = stored.get("sha1", "")
    tensors[entry_key(bucket, flip)] = latent.detach().to("cpu", torch.float32).contiguous()
    # save() + an atomic write, not save_file (its file is 0600; everything else follows the umask). The temp
    # file's name is unique (mkstemp): two processes caching the same image (DDP, or two runs on one dataset)
    # each rename a whole file of their own; a shared "<cache>.tmp" let one rename the other's half-written one.
    atomic_write_bytes(disk, save(tensors, metadata=meta), sync_dir=False)
