"""engine.data against sd-scripts: cache_latents_to_disk turns caching on, the resize filter rule, the
full-size random crop with buckets off, and the latent cache written by one process at a time safely."""

from __future__ import annotations

import os
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from loratui.core.config import load_config, with_resolved_paths
from loratui.core.plan import BucketAssignment
from loratui.engine import data_cache
from loratui.engine.data import TrainingData, check_data_config, crop_top_left, load_image_for_bucket
from loratui.engine.data_cache import cache_path, load_cached, store_cached
from test_train import make_project, write_images

SD1 = SimpleNamespace(family="sd1")


def _project(root: Path, **overrides):
    return load_config(make_project(root, Path("unused"), **overrides))


@pytest.fixture(scope="module")
def tiny_base(tiny_sd1_dir):
    from loratui.engine.models import load_base_model

    cfg = SimpleNamespace(pretrained_model_name_or_path=str(tiny_sd1_dir), model_family="auto",
                          v_parameterization=False, vae="")
    return load_base_model(cfg)


# ---- cache_latents_to_disk = true with cache_latents = false ---------------------------------------

def test_cache_to_disk_alone_caches_latents_as_sd_scripts_does(tmp_path, tiny_base):
    cfg = _project(tmp_path / "p", **{"dataset.cache_latents": False, "dataset.cache_latents_to_disk": True})
    check_data_config(cfg)  # refused before: "needs dataset.cache_latents = true"
    assert with_resolved_paths(cfg).dataset.cache_latents is True  # what `train` runs on
    data = TrainingData(cfg, tiny_base)
    assert data.cache_latents
    data.prepare()
    assert data.cache_stats == {"encoded": 4, "from_disk": 0}
    images = sorted((tmp_path / "p" / "img" / "2_shp").glob("*.png"))
    assert all(cache_path(p).exists() for p in images)
    batch = next(iter(data.epoch(1)))
    assert batch.pixels is None and batch.latents is not None


def test_only_process_zero_writes_the_disk_cache(tmp_path, tiny_base):
    cfg = _project(tmp_path / "p", **{"dataset.cache_latents": True, "dataset.cache_latents_to_disk": True})
    other = TrainingData(cfg, tiny_base, process_index=1, num_processes=2)
    other.prepare()
    assert other.cache_stats["encoded"] == 4 and len(other.latent_cache) == 4
    assert not list((tmp_path / "p" / "img").rglob("*" + data_cache.CACHE_SUFFIX))
    TrainingData(cfg, tiny_base, process_index=0, num_processes=2).prepare()
    again = TrainingData(cfg, tiny_base, process_index=1, num_processes=2)
    again.prepare()  # the other processes read what process 0 wrote
    assert again.cache_stats == {"encoded": 0, "from_disk": 4}


def test_two_writers_of_one_cache_file_never_share_a_temp_file(tmp_path, monkeypatch):
    """A second process storing the same image while the first is between writing and renaming (DDP: every
    process cached every image into "<cache>.tmp"): both renames work, the file is whole, no temp is left."""
    image = tmp_path / "a.png"
    Image.new("RGB", (64, 64)).save(image)
    real_replace = os.replace
    nested = []

    def replace(src, dst):
        if not nested:  # the first writer pauses at its rename; the second one writes all the way
            nested.append(str(src))
            store_cached(image, (64, 64), True, (64, 64), "vae", torch.ones(4, 8, 8))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    store_cached(image, (64, 64), False, (64, 64), "vae", torch.zeros(4, 8, 8))
    monkeypatch.setattr(os, "replace", real_replace)
    assert Path(nested[0]).parent == tmp_path and Path(nested[0]).name != cache_path(image).name + ".tmp"
    assert torch.equal(load_cached(image, (64, 64), False, (64, 64), "vae"), torch.zeros(4, 8, 8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", cache_path(image).name]


# ---- the resize filter: sd-scripts' resize_image ----------------------------------------------------

@pytest.mark.parametrize("resized, expected", [
    ((80, 40), "area"),                     # both sides shrink: area (cv2.INTER_AREA's exact mean)
    ((100, 40), "area"),                    # one side kept, one shrinks: area (width >= resized width)
    ((120, 40), Image.Resampling.LANCZOS),  # the area shrinks but the width grows: Lanczos
    ((120, 60), Image.Resampling.LANCZOS),  # both grow
])
def test_resize_filter_is_area_only_when_no_side_grows(tmp_path, monkeypatch, resized, expected):
    from loratui.engine import data

    path = tmp_path / "a.png"
    Image.new("RGB", (100, 50), (10, 20, 30)).save(path)
    used = []
    real_resize, real_area = Image.Image.resize, data.area_resize

    def resize(self, size, resample=None, *args, **kwargs):
        used.append(resample)
        return real_resize(self, size, resample, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "resize", resize)
    monkeypatch.setattr(data, "area_resize", lambda *args: used.append("area") or real_area(*args))
    assignment = BucketAssignment((100, 50), resized, resized, 0.0)
    load_image_for_bucket(str(path), assignment, random_crop=False, rng=None, flip=False)
    assert used == [expected]


# ---- buckets off, random_crop, latents not cached: a random patch at full scale -------------------

def _noise_images(folder: Path, size=(96, 80)) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = {}
    for path in sorted(folder.glob("*.png")):
        array = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(array).save(path)
        arrays[str(path)] = array
    return arrays


def _is_patch_of(patch: np.ndarray, image: np.ndarray) -> tuple[int, int] | None:
    ph, pw = patch.shape[:2]
    for top in range(image.shape[0] - ph + 1):
        for left in range(image.shape[1] - pw + 1):
            if np.array_equal(image[top:top + ph, left:left + pw], patch):
                return top, left
    return None


def test_random_crop_without_buckets_crops_at_full_scale(tmp_path):
    root = tmp_path / "p"
    cfg = _project(root, **{"dataset.cache_latents": False, "dataset.random_crop": True,
                            "dataset.enable_bucket": False, "training.train_batch_size": 1})
    originals = _noise_images(root / "img" / "2_shp")
    data = TrainingData(cfg, SD1)
    offsets = set()
    for epoch in (1, 2, 3):
        for batch in data.epoch(epoch):
            patch = ((batch.pixels[0].permute(1, 2, 0) + 1) * 127.5).round().clamp(0, 255).byte().numpy()
            found = _is_patch_of(patch, originals[batch.paths[0]])
            assert found is not None, "not an unresized patch of the image (loratui scaled it to 64 high before)"
            offsets.add(found)
    assert len(offsets) > 3  # the window moves


def test_full_size_crop_with_a_fixed_rng_is_the_same_patch(tmp_path):
    path = tmp_path / "a.png"
    array = np.random.default_rng(1).integers(0, 256, (80, 96, 3), dtype=np.uint8)
    Image.fromarray(array).save(path)
    assignment = BucketAssignment((96, 80), (64, 64), (96, 80), 0.0, True)
    one = load_image_for_bucket(str(path), assignment, random_crop=True, rng=random.Random(5), flip=False)
    two = load_image_for_bucket(str(path), assignment, random_crop=True, rng=random.Random(5), flip=False)
    assert np.array_equal(one, two) and _is_patch_of(one, array) is not None


def test_sdxl_conditioning_of_a_full_size_crop_is_sd_scripts(tmp_path):
    """sd-scripts' non-bucket path: original size = the cropped patch, crop_ltrb (0, 0, 0, 0): top-left (0, 0),
    and (0, width) when flipped (target width - crop right)."""
    root = tmp_path / "p"
    write_images(root / "img" / "1_big", n=1, size=(96, 80))
    cfg = _project(root, **{"dataset.cache_latents": False, "dataset.random_crop": True, "dataset.flip_aug": True,
                            "dataset.enable_bucket": False, "training.train_batch_size": 1})
    data = TrainingData(cfg, SimpleNamespace(family="sdxl"))
    seen = set()
    for epoch in range(1, 5):
        for plan, batch in zip(data._plans(epoch), data.epoch(epoch)):
            flip = plan.flips[0]
            assert crop_top_left(plan.samples[0].assignment, flip) == ((0, 64) if flip else (0, 0))
            assert batch.time_ids.tolist() == [[64, 64, 0, 64 if flip else 0, 64, 64]]  # 96x80 and 64x64 alike
            seen.add((plan.samples[0].image.width, flip))
    assert {96, 64} == {w for w, _ in seen} and {False, True} == {f for _, f in seen}


def test_resize_is_kept_without_random_crop_or_with_cached_latents(tmp_path):
    root = tmp_path / "p"
    cfg = _project(root, **{"dataset.cache_latents": False, "dataset.enable_bucket": False,
                            "training.train_batch_size": 1})
    _noise_images(root / "img" / "2_shp")
    sample = next(s for samples in TrainingData(cfg, SD1).groups.values() for s in samples)
    assert not sample.assignment.full_size_crop and sample.assignment.resized_size == (77, 64)
