"""engine.data: batches equal the calculator, sd-scripts caption/crop semantics, determinism, caches."""

from __future__ import annotations

import os
import random
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from fixtures.torch_threads import one_torch_thread  # noqa: F401 - autouse: one torch thread
from loratui.core.config import load_config
from loratui.core.errors import LoratuiError
from loratui.core.plan import compute_schedule, epoch_samples
from loratui.engine.data import TrainingData, augment_caption, crop_top_left
from loratui.engine.data_cache import cache_path
from test_train import make_project, write_images

SD1 = SimpleNamespace(family="sd1")  # enough for the pixel path (no VAE / text encoder used)


def _project(tmp_path, model_dir="unused", **overrides):
    return load_config(make_project(tmp_path, Path(model_dir), **overrides))


@pytest.fixture(scope="module")
def tiny_base(tiny_sd1_dir):
    from loratui.engine.models import load_base_model

    cfg = SimpleNamespace(pretrained_model_name_or_path=str(tiny_sd1_dir), model_family="auto",
                          v_parameterization=False, vae="")
    return load_base_model(cfg)


# ---- schedule agreement -------------------------------------------------------------------------

CASES = [
    {},
    {"training.train_batch_size": 3},
    {"training.train_batch_size": 1, "training.gradient_accumulation_steps": 3},
    {"training.train_batch_size": 2, "training.gradient_accumulation_steps": 2, "training.max_train_epochs": 3},
    {"training.max_train_epochs": None, "training.max_train_steps": 5},
]


@pytest.mark.parametrize("reg", [False, True])
@pytest.mark.parametrize("overrides", CASES)
@pytest.mark.parametrize("world", [1, 2])
def test_batches_match_the_calculator(tmp_path, overrides, reg, world):
    root = tmp_path / "p"
    write_images(root / "img" / "3_wide", n=3, size=(128, 64))  # another bucket, other repeats
    write_images(root / "img" / "1_tall", n=2, size=(48, 96))
    cfg = _project(root, reg=reg, **{"dataset.cache_latents": False, **overrides})
    schedule = compute_schedule(cfg, TrainingData(cfg, SD1).scan, world)
    seen = Counter()
    for rank in range(world):
        data = TrainingData(cfg, SD1, process_index=rank, num_processes=world)
        assert (data.steps_per_epoch, data.total_steps, data.epochs, data.batches_per_epoch) == (
            schedule.steps_per_epoch, schedule.total_steps, schedule.epochs, schedule.batches_per_epoch)
        plans = data._plans(1)
        assert len(plans) == schedule.batches_per_process
        accum = cfg.training.gradient_accumulation_steps
        assert -(-len(plans) // accum) == schedule.steps_per_epoch
        for plan in plans:
            assert len({s.assignment.bucket for s in plan.samples}) == 1
            assert len(plan.samples) <= cfg.training.train_batch_size
            seen.update((str(s.image.path), s.is_reg) for s in plan.samples)
    expected = Counter((str(s.image.path), s.is_reg) for samples in epoch_samples(data.scan, cfg.dataset).values()
                       for s in samples)
    if world == 1:
        assert seen == expected
    else:  # accelerate's even_batches repeats the first batches to fill the last round
        assert set(seen) == set(expected) and sum(seen.values()) >= sum(expected.values())


def test_batches_have_bucket_sizes_and_loss_weights(tmp_path):
    root = tmp_path / "p"
    write_images(root / "img" / "1_wide", n=2, size=(200, 90))
    cfg = _project(root, reg=True, **{"dataset.cache_latents": False, "dataset.prior_loss_weight": 0.25,
                                      "training.train_batch_size": 1})
    data = TrainingData(cfg, SD1)
    batches = list(data.epoch(1))
    assert len(batches) == data.batches_per_epoch
    for b in batches:
        sample = next(s for samples in data.groups.values() for s in samples if str(s.image.path) == b.paths[0])
        bw, bh = sample.assignment.bucket
        assert b.pixels.shape == (1, 3, bh, bw) and b.latents is None and b.time_ids is None
        assert -1.0 <= b.pixels.min() and b.pixels.max() <= 1.0
        assert b.loss_weights.tolist() == [0.25 if "reg" in b.paths[0] else 1.0]
    assert any("reg" in b.paths[0] for b in batches)


# ---- captions -----------------------------------------------------------------------------------

def _d(**kw):
    base = dict(caption_dropout_rate=0.0, caption_dropout_every_n_epochs=0, shuffle_caption=False,
                caption_tag_dropout_rate=0.0, keep_tokens=0, caption_separator=",")
    base.update(kw)
    return SimpleNamespace(**base)


def test_shuffle_keeps_the_leading_tokens():
    caption = "trigger, style, a, b, c, d, e, f"
    outs = {augment_caption(caption, _d(shuffle_caption=True, keep_tokens=2), 1, random.Random(i)) for i in range(30)}
    assert len(outs) > 5
    for out in outs:
        tags = out.split(", ")
        assert tags[:2] == ["trigger", "style"] and sorted(tags[2:]) == list("abcdef")


def test_caption_dropout_and_tag_dropout():
    caption = "trigger, a, b, c"
    assert augment_caption(caption, _d(caption_dropout_rate=1.0), 1, random.Random(0)) == ""
    assert augment_caption(caption, _d(caption_dropout_every_n_epochs=2), 2, random.Random(0)) == ""
    assert augment_caption(caption, _d(caption_dropout_every_n_epochs=2), 3, random.Random(0)) == caption
    assert augment_caption(caption, _d(caption_tag_dropout_rate=1.0, keep_tokens=1), 1, random.Random(0)) == "trigger"
    rng = random.Random(3)
    kept = [len(augment_caption(caption, _d(caption_tag_dropout_rate=0.5), 1, rng).split(", ")) for _ in range(400)]
    assert 1.5 < sum(kept) / len(kept) < 2.5  # ~half of 4 tags
    # a custom separator splits, the result is joined with ", " like sd-scripts
    assert augment_caption("x| y |z", _d(shuffle_caption=True, keep_tokens=3, caption_separator="|"), 1,
                           random.Random(0)) == "x, y, z"
    assert augment_caption(caption, _d(), 1, random.Random(0)) == caption


# ---- determinism --------------------------------------------------------------------------------

def test_epochs_are_deterministic_and_skip_batches_resumes(tmp_path):
    cfg = _project(tmp_path / "p", **{"dataset.cache_latents": False, "dataset.shuffle_caption": True,
                                      "dataset.flip_aug": True, "dataset.random_crop": True,
                                      "dataset.caption_tag_dropout_rate": 0.3, "training.train_batch_size": 1})
    data = TrainingData(cfg, SD1)

    def key(batches):
        return [(b.paths, b.captions, b.pixels.sum().item()) for b in batches]

    first = key(data.epoch(2))
    assert first == key(TrainingData(cfg, SD1).epoch(2))
    assert key(data.epoch(2, skip_batches=3)) == first[3:]
    assert key(data.epoch(1)) != first
    threaded = TrainingData(cfg, SD1)
    threaded.workers = 2
    assert key(threaded.epoch(2)) == first
    state = data.state_dict()
    other = TrainingData(cfg, SD1)
    other.load_state_dict(state)
    with pytest.raises(LoratuiError, match="processes"):
        TrainingData(cfg, SD1, num_processes=2).load_state_dict(state)


def test_random_crop_moves_the_window(tmp_path):
    root = tmp_path / "p"
    cfg = _project(root, **{"dataset.cache_latents": False, "dataset.random_crop": True,
                            "dataset.enable_bucket": False, "training.train_batch_size": 1})
    ramp = np.tile(np.linspace(0, 255, 96, dtype=np.uint8)[None, :, None], (64, 1, 3))
    for p in (root / "img" / "2_shp").glob("*.png"):  # 96x64 horizontal ramps: trimmed to 64x64
        Image.fromarray(ramp).save(p)
    data = TrainingData(cfg, SD1)
    crops = {round(b.pixels.mean().item(), 4) for e in (1, 2, 3) for b in data.epoch(e)}
    assert all(b.pixels.shape[-2:] == (64, 64) for b in data.epoch(1))
    assert len(crops) > 1


def test_sdxl_time_ids_follow_sd_scripts(tmp_path):
    root = tmp_path / "p"
    write_images(root / "img" / "1_wide", n=1, size=(200, 90))
    cfg = _project(root, **{"dataset.cache_latents": False, "dataset.flip_aug": True,
                            "training.train_batch_size": 1})
    data = TrainingData(cfg, SimpleNamespace(family="sdxl"))
    flips_seen = set()
    for e in range(1, 6):
        for plan, batch in zip(data._plans(e), data.epoch(e)):
            s, flip = plan.samples[0], plan.flips[0]
            bw, bh = s.assignment.bucket
            top, left = crop_top_left(s.assignment, flip)
            assert batch.time_ids.tolist() == [[s.image.height, s.image.width, top, left, bh, bw]]
            flips_seen.add(flip)
    assert flips_seen == {False, True}
    wide = next(s for samples in data.groups.values() for s in samples if s.image.width == 200)
    l, t, r, _ = wide.assignment.crop_ltrb()
    assert crop_top_left(wide.assignment, False) == (int(t), int(l))
    assert crop_top_left(wide.assignment, True) == (int(t), int(wide.assignment.bucket[0] - r))


def test_incompatible_settings_are_clear_errors(tmp_path):
    cfg = _project(tmp_path / "p", **{"dataset.cache_latents": True, "dataset.random_crop": True})
    with pytest.raises(LoratuiError, match="random_crop"):
        TrainingData(cfg, SD1)
    # cache_latents_to_disk turns cache_latents on (as sd-scripts does), so random_crop is refused with it too
    cfg = _project(tmp_path / "q", **{"dataset.cache_latents": False, "dataset.cache_latents_to_disk": True,
                                      "dataset.random_crop": True})
    with pytest.raises(LoratuiError, match="cache_latents_to_disk, which turns cache_latents on"):
        TrainingData(cfg, SD1)


# ---- caches -------------------------------------------------------------------------------------

def test_disk_cache_reuse_and_invalidation(tmp_path, tiny_base):
    cfg = _project(tmp_path / "p", **{"dataset.cache_latents": True, "dataset.cache_latents_to_disk": True,
                                      "dataset.flip_aug": True})
    first = TrainingData(cfg, tiny_base)
    first.prepare()
    assert first.cache_stats == {"encoded": 8, "from_disk": 0}  # 4 images, plain and mirrored
    images = sorted((tmp_path / "p" / "img" / "2_shp").glob("*.png"))
    assert all(cache_path(p).exists() for p in images)

    again = TrainingData(cfg, tiny_base)
    again.prepare()
    assert again.cache_stats == {"encoded": 0, "from_disk": 8}
    for key, latent in first.latent_cache.items():
        assert torch.equal(again.latent_cache[key], latent)
    b = next(iter(again.epoch(1)))
    assert b.pixels is None and b.latents.dtype == torch.float32 and b.latents.shape[0] == 2

    # touched, same bytes: still valid (hash); changed bytes: re-encoded
    st = images[0].stat()
    os.utime(images[0], ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    Image.new("RGB", (64, 64), (1, 2, 3)).save(images[1])
    third = TrainingData(cfg, tiny_base)
    third.prepare()
    assert third.cache_stats == {"encoded": 2, "from_disk": 6}

    # another resolution (new bucket / resized size) re-encodes everything
    cfg2 = _project(tmp_path / "p", **{"dataset.cache_latents": True, "dataset.cache_latents_to_disk": True,
                                       "dataset.resolution": [128, 128], "dataset.max_bucket_reso": 256})
    other = TrainingData(cfg2, tiny_base)
    other.prepare()
    assert other.cache_stats == {"encoded": 4, "from_disk": 0}


def test_disk_cache_notices_another_vae(tmp_path, tiny_base):
    import copy

    cfg = _project(tmp_path / "p", **{"dataset.cache_latents": True, "dataset.cache_latents_to_disk": True})
    TrainingData(cfg, tiny_base).prepare()
    other = copy.copy(tiny_base)
    other.vae = copy.deepcopy(tiny_base.vae)
    with torch.no_grad():
        next(other.vae.encoder.parameters()).add_(0.1)
    data = TrainingData(cfg, other)
    data.prepare()
    assert data.cache_stats == {"encoded": 4, "from_disk": 0}
    decoder_only = copy.copy(tiny_base)
    decoder_only.vae = copy.deepcopy(tiny_base.vae)
    with torch.no_grad():
        next(decoder_only.vae.decoder.parameters()).add_(0.1)
    TrainingData(cfg, tiny_base).prepare()
    data = TrainingData(cfg, decoder_only)
    data.prepare()
    assert data.cache_stats["from_disk"] == 4  # only the encoder makes latents


def test_text_encoder_cache(tmp_path, tiny_base):
    from loratui.engine.text import encode_text, tokenize

    cfg = _project(tmp_path / "p", **{"dataset.cache_latents": True, "training.cache_text_encoder_outputs": True,
                                      "network.network_train_unet_only": True})
    data = TrainingData(cfg, tiny_base)
    assert data.cache_text
    data.prepare()
    batch = next(iter(data.epoch(1)))
    with torch.no_grad():
        ref = encode_text(tiny_base, tokenize(tiny_base, batch.captions, 75), 1)
    torch.testing.assert_close(batch.text.hidden_states, ref.hidden_states)
    shuffled = _project(tmp_path / "q", **{"training.cache_text_encoder_outputs": True,
                                           "network.network_train_unet_only": True,
                                           "dataset.shuffle_caption": True})
    assert not TrainingData(shuffled, SD1).cache_text
