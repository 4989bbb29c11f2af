"""Training data: the config's dataset as batches of latents + captions, in sd-scripts' order.

The batches come from core.schedule (epoch_samples -> epoch_batches -> shard_batches), so an
epoch here has exactly the steps `loratui steps` counts. Images are handled like sd-scripts'
``trim_and_resize_if_required``: resized to the bucket assignment's resized size (its resize_image
rule: area filter when neither side grows, else Lanczos), then trimmed to the bucket (centred, or at
a random offset with ``random_crop``). With buckets off, random_crop and latents not cached, sd-scripts
crops a random patch at full scale instead (its assignment has no resize: core.plan buckets.py).
SDXL's size conditioning follows sd-scripts too: original size (h, w), crop top-left from its
``get_crop_ltrb`` (mirrored when flipped) and the bucket as target size.

Latents are cached (``cache_latents``, or ``cache_latents_to_disk``, which turns it on as in
sd-scripts) in memory, and with ``cache_latents_to_disk`` beside each image (see data_cache; under
DDP only process 0 writes there). With ``flip_aug`` both the image and its mirror are cached, as
sd-scripts does; ``random_crop`` cannot be cached (sd-scripts refuses it too). Captions are read once and augmented per use
(data_captions.py: prefix/suffix, caption dropout, shuffle after keep_tokens or keep_tokens_separator, tag
dropout, secondary_separator) from an RNG seeded with (seed, epoch), so an epoch is the same every time it
is replayed, e.g. after a resume with ``skip_batches``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from loratui.core.config import latents_cached
from loratui.core.dataset import shown_name
from loratui.core.errors import LoratuiError
from loratui.core.image_modes import high_bit_to_8bit, quiet_decompression_bomb_warnings
from loratui.core.image_resize import area_resize
from loratui.core.plan import (
    compute_schedule, epoch_batches, epoch_samples, many_repeats_lines, scan_for_config, shard_batches,
)
from loratui.engine import data_cache
from loratui.engine.data_cache import CACHE_SUFFIX  # noqa: F401  (re-exported)
from loratui.engine.data_captions import (  # noqa: F401  (augment_caption, read_caption_text: re-exported)
    DataFileError, augment_caption, fixed_caption, read_caption_text, text_cache_usable,
)
from loratui.engine.speed import to_device

Progress = Callable[[int, int, str], None]
STATE_VERSION = 1


@dataclass
class Batch:
    latents: torch.Tensor | None      # (B,4,h,w) scaled latents, float32, on the device; None = encode pixels
    pixels: torch.Tensor | None       # (B,3,H,W) in [-1, 1] when latents is None
    captions: list[str]
    loss_weights: torch.Tensor        # (B,) 1 for train images, prior_loss_weight for reg
    text: object | None               # cached TextConditioning, or None
    time_ids: torch.Tensor | None     # SDXL add_time_ids (B, 6), else None
    paths: list[str]


def check_data_config(cfg) -> None:
    """Dataset settings that cannot work together, refused before any model is loaded (config check's
    validate() says the same)."""
    d = cfg.dataset
    if latents_cached(d) and d.random_crop:
        which = "dataset.cache_latents" if d.cache_latents else \
            "dataset.cache_latents_to_disk, which turns cache_latents on"
        raise LoratuiError(f"dataset.random_crop cannot be used with {which} (a cached latent has one fixed crop; "
                           "sd-scripts refuses it too): turn one of them off")


def left_out_line(problem) -> str:
    """``/full/path/a.png: empty file (0 bytes); it is left out of training`` for a scan problem. A name
    with a line break in it is quoted (repr), as the scan quotes it, so one problem stays one line."""
    rel = f"{shown_name(problem.path.parent.name)}/{shown_name(problem.path.name)}"
    message = problem.message
    path = shown_name(str(problem.path))
    return path + message[len(rel):] if message.startswith(rel) else f"{path}: {message}"


def crop_top_left(assignment, flip: bool) -> tuple[int, int]:
    """SDXL's crop conditioning (top, left) as sd-scripts computes it (get_crop_ltrb, mirrored on flip)."""
    left, top, right, _bottom = assignment.crop_ltrb()
    if flip:
        left = assignment.bucket[0] - right
    return int(top), int(left)


def load_image_for_bucket(path: str, assignment, *, random_crop: bool, rng: random.Random | None,
                          flip: bool) -> np.ndarray:
    """HWC uint8 RGB array of exactly the bucket's size: resize, trim (centre or random), mirror.

    Loaded as sd-scripts' load_image: ``convert("RGB")`` of the stored pixels (no EXIF rotation; the
    colour under transparent pixels; the scan names both). Images over Pillow's warning size (89 MP)
    load as there; over twice that Pillow refuses them, one line naming the image."""
    from PIL import Image

    quiet_decompression_bomb_warnings()
    try:
        with Image.open(path) as img:
            # 16/32-bit grey is scaled to 8 bits (convert("RGB") alone clips it: mid grey trained as white)
            img = (high_bit_to_8bit(img) or img).convert("RGB")
            w, h = assignment.resized_size
            if (img.width, img.height) == (w, h):
                array = np.asarray(img, dtype=np.uint8)
            elif img.width >= w and img.height >= h:
                # sd-scripts' resize_image: cv2.INTER_AREA when neither side grows (an exact area mean;
                # Pillow's BOX is not one: fine texture turned to moire)
                array = area_resize(np.asarray(img, dtype=np.uint8), w, h)
            else:
                array = np.asarray(img.resize((w, h), Image.Resampling.LANCZOS), dtype=np.uint8)
    except Image.DecompressionBombError:
        raise DataFileError(f"{path}: over Pillow's decompression-bomb limit of {2 * Image.MAX_IMAGE_PIXELS:,} "
                           "pixels, which neither loratui nor sd-scripts opens: downscale it (see `loratui "
                           "dataset scan`)") from None
    except FileNotFoundError:
        # the scan listed it at the start: moved, renamed (a balance) or deleted since (run_error_ends.py)
        raise DataFileError(f"{path}: the image is gone: it was moved, renamed or deleted after the run started "
                           "(a run reads its image list once, at its start, as sd-scripts does)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise DataFileError(f"{path}: cannot read the image ({exc}); fix or remove it (see `loratui dataset scan`)") \
            from None
    return _trim_to_bucket(array, assignment.bucket, random_crop=random_crop, rng=rng, flip=flip)


def _trim_to_bucket(array: np.ndarray, bucket: tuple[int, int], *, random_crop: bool, rng: random.Random | None,
                    flip: bool) -> np.ndarray:
    """sd-scripts' trim: the bucket-sized part of the resized image (centred, or at a random offset)."""
    h, w = array.shape[:2]
    bw, bh = bucket
    left = top = 0
    if w > bw:
        left = rng.randint(0, w - bw) if random_crop and rng else (w - bw) // 2
    if h > bh:
        top = rng.randint(0, h - bh) if random_crop and rng else (h - bh) // 2
    if (w, h) != (bw, bh):
        # a resized size below the bucket (never produced by the bucket rules) pads with black
        part = array[top:top + bh, left:left + bw]
        array = np.zeros((bh, bw, 3), np.uint8)
        array[:part.shape[0], :part.shape[1]] = part
    if flip:
        array = array[:, ::-1]
    return np.ascontiguousarray(array)


def to_pixels(arrays: list[np.ndarray]) -> torch.Tensor:
    batch = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float()
    return batch / 127.5 - 1.0


def pixels_to_device(arrays: list[np.ndarray], device: torch.device, *, pinned: bool = False) -> torch.Tensor:
    """``to_pixels`` on the device. The scaling stays on the host either way: CUDA divides by a
    scalar through its reciprocal, which changes 111 of the 256 pixel values in the last bit. With
    pinned transfers the scaled batch is staged in page-locked memory of the same layout (strides)."""
    pixels = to_pixels(arrays)
    if not (pinned and device.type == "cuda"):
        return pixels.to(device)
    staged = torch.empty_like(pixels, pin_memory=True)  # empty_like keeps the strides: the same layout lands
    staged.copy_(pixels)
    return staged.to(device, non_blocking=True)


@torch.no_grad()
def encode_pixels(base, pixels: torch.Tensor) -> torch.Tensor:
    """Scaled VAE latents (float32) of (B,3,H,W) pixels in [-1, 1] (a sample of the latent distribution,
    like sd-scripts)."""
    vae = base.vae
    dist = vae.encode(pixels.to(vae.device, vae.dtype)).latent_dist
    return (dist.sample() * vae.config.scaling_factor).float()


@dataclass
class _Plan:
    """One batch decided up front (order, flips, captions, crop seeds), loaded later."""

    samples: list
    flips: list[bool]
    captions: list[str]
    crop_seeds: list[int] | None


class TrainingData:
    """The batches of a run, per epoch and per process (see the module docstring)."""

    def __init__(self, cfg, base, *, device="cpu", weight_dtype=torch.float32, process_index: int = 0,
                 num_processes: int = 1, progress: Progress | None = None):
        check_data_config(cfg)
        self.cfg, self.base, self.device = cfg, base, torch.device(device)
        self.weight_dtype = weight_dtype
        self.rank, self.world = process_index, num_processes
        self.progress = progress
        self.scan = scan_for_config(cfg)
        # image files the scan left out, one line each naming the file and why: the run warns about
        # each (a `warning` event and a stderr line) and counts them in its summary
        self.skipped: list[str] = [left_out_line(p) for p in self.scan.left_out]
        self.schedule = compute_schedule(cfg, self.scan, num_processes)
        self.groups = epoch_samples(self.scan, cfg.dataset)
        self.steps_per_epoch = self.schedule.steps_per_epoch
        self.batches_per_epoch = self.schedule.batches_per_epoch
        self.total_steps = self.schedule.total_steps
        self.epochs = self.schedule.epochs
        d = cfg.dataset
        self.captions: dict[str, str] = {}
        # lines the run warns with (run.py): first each folder with very many repeats (named with the run's
        # total steps, as `loratui steps` notes it), then each caption read with a caveat
        self.caption_notes: list[str] = many_repeats_lines(self.schedule)
        self._tag_frequency: dict | None = None  # ss_tag_frequency, counted at the first save
        for sample in self._unique_images():
            self.captions[str(sample.image.path)] = read_caption_text(sample.image, sample.subset, d.caption_extension,
                                                                      self.caption_notes)
        self.cache_latents = latents_cached(d)
        self.latent_cache: dict[tuple[str, bool], torch.Tensor] = {}
        self.text_cache: dict[str, tuple[torch.Tensor, torch.Tensor | None]] = {}
        self.cache_text = text_cache_usable(cfg)
        self._vae_id: str | None = None
        self.cache_stats = {"encoded": 0, "from_disk": 0}
        self.workers = max(0, int(d.max_data_loader_n_workers or 0))
        self.pinned = False  # set from the run's SpeedPlan (pinned_transfers)

    # ---- caches ---------------------------------------------------------------------------------

    def _unique_images(self):
        seen = {}
        for samples in self.groups.values():
            for s in samples:
                seen.setdefault(str(s.image.path), s)
        return list(seen.values())

    def prepare(self, progress: Progress | None = None) -> None:
        """Encode and cache latents (and text-encoder outputs) as the config asks."""
        progress = progress or self.progress
        d = self.cfg.dataset
        if self.cache_latents:
            flips = (False, True) if d.flip_aug else (False,)
            samples = self._unique_images()
            for index, sample in enumerate(samples, 1):
                for flip in flips:
                    self._latent(sample, flip)
                if progress:
                    progress(index, len(samples), "caching latents")
        if self.cache_text:
            self._cache_text(progress)

    def _latent(self, sample, flip: bool) -> torch.Tensor:
        key = (str(sample.image.path), flip)
        latent = self.latent_cache.get(key)
        if latent is not None:
            return latent
        a, path = sample.assignment, Path(sample.image.path)
        to_disk = self.cfg.dataset.cache_latents_to_disk
        if to_disk:
            if self._vae_id is None:
                self._vae_id = data_cache.vae_fingerprint(self.base.vae)
            latent = data_cache.load_cached(path, a.bucket, flip, a.resized_size, self._vae_id)
            if latent is not None:
                self.cache_stats["from_disk"] += 1
        if latent is None:
            array = load_image_for_bucket(str(path), a, random_crop=False, rng=None, flip=flip)
            latent = encode_pixels(self.base, to_pixels([array]))[0].cpu()
            self.cache_stats["encoded"] += 1
            if to_disk and self.rank == 0:  # one writer under DDP: every process encodes the same images
                data_cache.store_cached(path, a.bucket, flip, a.resized_size, self._vae_id, latent)
        self.latent_cache[key] = latent
        return latent

    def _cache_text(self, progress: Progress | None) -> None:
        from loratui.engine.text import encode_text, tokenize

        d = self.cfg.dataset  # keyed by the text trained on: prefix, suffix and separators applied
        texts = sorted({fixed_caption(c, d) for c in self.captions.values()} - set(self.text_cache))
        for start in range(0, len(texts), 16):
            chunk = texts[start:start + 16]
            with torch.no_grad():
                cond = encode_text(self.base, tokenize(self.base, chunk, self.cfg.training.max_token_length),
                                   self.cfg.training.clip_skip)
            for i, text in enumerate(chunk):
                pooled = cond.pooled[i:i + 1].cpu() if cond.pooled is not None else None
                self.text_cache[text] = (cond.hidden_states[i:i + 1].cpu(), pooled)
            if progress:
                progress(min(start + 16, len(texts)), len(texts), "caching text-encoder outputs")

    # ---- epochs ---------------------------------------------------------------------------------

    def batch_plan(self, epoch: int) -> list:
        """This process's (bucket, samples) batches of ``epoch`` (1-based), in training order."""
        rng = random.Random(self.cfg.training.seed + epoch)
        batches = epoch_batches(self.groups, self.cfg.training.train_batch_size, rng)
        return shard_batches(batches, self.world, self.rank)

    def _plans(self, epoch: int) -> list[_Plan]:
        """Every batch of the epoch with its random choices, drawn in order from one (seed, epoch) RNG:
        skipping batches (resume) therefore never changes the ones that follow."""
        d = self.cfg.dataset
        aug_rng = random.Random(f"{self.cfg.training.seed}:{epoch}:augment")
        plans = []
        for _bucket, samples in self.batch_plan(epoch):
            flips = [bool(d.flip_aug) and aug_rng.random() < 0.5 for _ in samples]
            captions = [augment_caption(self.captions[str(s.image.path)], d, epoch, aug_rng) for s in samples]
            seeds = [aug_rng.getrandbits(32) for _ in samples] if d.random_crop else None
            plans.append(_Plan(list(samples), flips, captions, seeds))
        return plans

    def epoch(self, epoch: int, *, skip_batches: int = 0) -> Iterator[Batch]:
        plans = self._plans(epoch)[skip_batches:]
        if self.cache_latents or self.workers == 0 or len(plans) < 2:
            for plan in plans:
                yield self._make_batch(plan, None)
            return
        # Images decode and resize in threads (Pillow releases the GIL) one batch ahead of the step.
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="loratui-data") as pool:
            pending = pool.submit(self._load_arrays, plans[0])
            for i, plan in enumerate(plans):
                arrays = pending.result()
                if i + 1 < len(plans):
                    pending = pool.submit(self._load_arrays, plans[i + 1])
                yield self._make_batch(plan, arrays)

    def _load_arrays(self, plan: _Plan) -> list[np.ndarray]:
        arrays = []
        for i, (s, flip) in enumerate(zip(plan.samples, plan.flips)):
            rng = random.Random(plan.crop_seeds[i]) if plan.crop_seeds else None
            arrays.append(load_image_for_bucket(str(s.image.path), s.assignment, random_crop=rng is not None,
                                                rng=rng, flip=flip))
        return arrays

    def _make_batch(self, plan: _Plan, arrays: list[np.ndarray] | None) -> Batch:
        """The batch on the device: each kind of tensor goes over in one copy (speed.to_device)."""
        d, device, pinned = self.cfg.dataset, self.device, self.pinned
        samples, flips, captions = plan.samples, plan.flips, plan.captions
        weights = to_device([torch.tensor([float(d.prior_loss_weight) if s.is_reg else 1.0 for s in samples],
                                          dtype=torch.float32)], device, pinned=pinned, stack=False)
        latents = pixels = None
        if self.cache_latents:
            latents = to_device([self._latent(s, f) for s, f in zip(samples, flips)], device, pinned=pinned)
        else:
            pixels = pixels_to_device(arrays if arrays is not None else self._load_arrays(plan), device,
                                      pinned=pinned)
        text = None
        if self.cache_text:
            from loratui.engine.text import TextConditioning

            if any(c not in self.text_cache for c in captions):
                self._cache_text(None)
            hidden = to_device([self.text_cache[c][0] for c in captions], device, pinned=pinned, stack=False)
            pooled = None
            if self.text_cache[captions[0]][1] is not None:
                pooled = to_device([self.text_cache[c][1] for c in captions], device, pinned=pinned, stack=False)
            text = TextConditioning(hidden, pooled)
        time_ids = None
        if self.base.family == "sdxl":
            rows = []
            for s, flip in zip(samples, flips):
                bw, bh = s.assignment.bucket
                top, left = crop_top_left(s.assignment, flip)
                ow, oh = s.assignment.original_size
                rows.append([oh, ow, top, left, bh, bw])
            time_ids = to_device([torch.tensor(rows, dtype=torch.float32)], device, pinned=pinned, stack=False)
        return Batch(latents, pixels, list(captions), weights, text, time_ids, [str(s.image.path) for s in samples])

    # ---- resume ---------------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Every random choice is derived from (seed, epoch), so the seed and the data are all a resume
        needs to check; the step/epoch/batches_done position is the loop's."""
        return {"version": STATE_VERSION, "seed": int(self.cfg.training.seed),
                "batches_per_epoch": self.batches_per_epoch, "num_processes": self.world}

    def load_state_dict(self, state: dict) -> None:
        if not state:
            return
        if state.get("version") != STATE_VERSION:
            raise LoratuiError(f"the saved data state has version {state.get('version')}, this loratui reads "
                               f"{STATE_VERSION}: resume with the loratui that saved it")
        # a changed seed is the config digest's warning (run.py); a changed batch count or process count
        # would make the saved position point at other batches, so it is refused
        if (state.get("batches_per_epoch"), state.get("num_processes")) != (self.batches_per_epoch, self.world):
            raise LoratuiError(f"the saved state had {state.get('batches_per_epoch')} batches per epoch on "
                               f"{state.get('num_processes')} process(es), this run has {self.batches_per_epoch} "
                               f"on {self.world}: resume with the same images, config and number of processes")

    def tag_frequency(self) -> dict:
        """Per folder {tag: count}, for the LoRA's ss_tag_frequency, as sd-scripts' set_tag_frequency counts:
        every image of each folder once (reg images an epoch never uses too; repeats do not count), the
        caption split at "," whatever caption_separator is, tags stripped and lowercased, folders of the
        same name (a train and a reg folder) added together. Captions are read once per run."""
        if self._tag_frequency is None:
            result: dict[str, dict[str, int]] = {}
            ext = self.cfg.dataset.caption_extension
            for subset in self.scan.subsets:
                counts = result.setdefault(subset.name, {})
                for image in subset.images:
                    caption = self.captions.get(str(image.path))
                    if caption is None:  # an image no epoch uses (reg images beyond the train count)
                        try:
                            caption = read_caption_text(image, subset, ext)
                        except LoratuiError:  # unreadable now: a save must not fail over its metadata
                            caption = subset.class_tokens
                    for tag in caption.split(","):
                        tag = tag.strip().lower()
                        if tag:
                            counts[tag] = counts.get(tag, 0) + 1
            self._tag_frequency = result
        return self._tag_frequency
