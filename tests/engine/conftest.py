"""Session-cached tiny models for the engine tests."""

from __future__ import annotations

import pytest

from fixtures.tiny_models import make_tiny_sd1, make_tiny_sd1_single_file, make_tiny_sdxl


@pytest.fixture(scope="session")
def tiny_sd1_dir(tmp_path_factory):
    """A tiny SD1-shaped diffusers folder (read-only: copy it before changing anything)."""
    return make_tiny_sd1(tmp_path_factory.mktemp("tiny_sd1") / "model")


@pytest.fixture(scope="session")
def tiny_sdxl_dir(tmp_path_factory):
    """A tiny SDXL-shaped diffusers folder (read-only)."""
    return make_tiny_sdxl(tmp_path_factory.mktemp("tiny_sdxl") / "model")


@pytest.fixture(scope="session")
def tiny_sd1_single_file(tmp_path_factory):
    """A tiny SD1 original-layout .safetensors; its diffusers config folder is ``path.with_suffix('.config')``."""
    return make_tiny_sd1_single_file(tmp_path_factory.mktemp("tiny_sd1_file") / "tiny_sd1.safetensors")


@pytest.fixture(scope="session", autouse=True)
def _loratui_cache_dir(tmp_path_factory):
    """Keep the shipped-config cache (model_configs) out of the user's home during tests."""
    import os

    old = os.environ.get("LORATUI_CACHE_DIR")
    os.environ["LORATUI_CACHE_DIR"] = str(tmp_path_factory.mktemp("loratui_cache"))
    yield
    if old is None:
        os.environ.pop("LORATUI_CACHE_DIR", None)
    else:
        os.environ["LORATUI_CACHE_DIR"] = old
