"""cache_latents_to_disk alone caches latents (core.config.latents_cached), but the VRAM estimate counted the
VAE, the fixes offered "cache latents" and the run-speed match told the two apart (f12 #5)."""

from __future__ import annotations

from loratui.core.config import TrainingConfig, cache_latents_note, latents_cached
from loratui.core.plan import estimate_vram, vram_fixes
from loratui.tui.services.run_speed import speed_key


def _config(cache_latents: bool, to_disk: bool) -> TrainingConfig:
    cfg = TrainingConfig()
    cfg.model.model_family = "sdxl"
    cfg.dataset.resolution = (1024, 1024)
    cfg.training.train_batch_size = 4
    cfg.dataset.cache_latents, cfg.dataset.cache_latents_to_disk = cache_latents, to_disk
    return cfg


def test_the_public_face_exports_both():
    disk_only = _config(False, True)
    assert latents_cached(disk_only.dataset) and not latents_cached(_config(False, False).dataset)
    assert "cache_latents_to_disk = true turns dataset.cache_latents on" in cache_latents_note(disk_only)


def test_the_vram_estimate_leaves_the_vae_out_when_only_the_disk_cache_is_on():
    disk_only, cached = estimate_vram(_config(False, True)), estimate_vram(_config(True, False))
    assert "VAE weights" not in [p.name for p in disk_only.parts]
    assert disk_only.total_bytes == cached.total_bytes
    assert "VAE weights" in [p.name for p in estimate_vram(_config(False, False)).parts]


def test_the_fixes_never_offer_cache_latents_to_a_config_that_caches_on_disk():
    offered = [label for fix in vram_fixes(_config(False, True), 4.0, limit=10) for label in fix.labels]
    assert offered and not any(label.startswith("cache latents") for label in offered)
    assert any(label.startswith("cache latents")
               for fix in vram_fixes(_config(False, False), 4.0, limit=10) for label in fix.labels)


def test_run_speed_counts_both_spellings_as_cached():
    assert speed_key(_config(False, True)) == speed_key(_config(True, False)) != speed_key(_config(False, False))
