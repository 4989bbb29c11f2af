"""Files the engine writes get the user's umask mode (0644 under umask 022), like every other file
loratui writes: safetensors' save_file makes its file 0600 (issue 12: the state's lora.safetensors)."""

from __future__ import annotations

import os
import stat

import torch
from PIL import Image

from loratui.engine.data_cache import cache_path, store_cached
from loratui.engine.tiny_models import make_tiny_sd1_single_file


def _expected() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def test_latent_cache_file_mode(tmp_path):
    image = tmp_path / "a.png"
    Image.new("RGB", (64, 64)).save(image)
    store_cached(image, (64, 64), False, (64, 64), "vae", torch.zeros(4, 8, 8))
    assert stat.S_IMODE(cache_path(image).stat().st_mode) == _expected()


def test_tiny_single_file_model_mode(tmp_path):
    path = make_tiny_sd1_single_file(tmp_path / "tiny.safetensors")
    assert stat.S_IMODE(path.stat().st_mode) == _expected()
