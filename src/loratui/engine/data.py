"""Training data: the config's dataset as batches of latents + captions, in sd-scripts' order.

The batches come from core.schedule (epoch_samples -> epoch_batches -> shard_batches), so an
epoch here has exactly the steps `loratui steps` counts. Every image is resized to its bucket's
resized size and centre-cropped (random crop with ``random_crop``) to the bucket, like sd-scripts.

Latents are cached (``cache_latents``) in memory, and with ``cache_latents_to_disk`` in one
``<image stem>.loratui-latents.safetensors`` beside each image: reused across runs and recomputed
when the image file (size, mtime), the bucket, the flip or the VAE changes. Captions are
augmented per use (shuffle with keep_tokens, tag dropout, caption dropout) from an RNG seeded with
(seed, epoch), so an epoch is the same every time it is replayed (resume).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from loratui.core.errors import LoratuiError
from loratui.core.schedule import compute_schedule, epoch_batches, epoch_samples, scan_for_config, shard_batches

Progress = Callable[[int, int, str], None]
CACHE_SUFFIX = ".loratui-latents.safetensors"


@dataclass
class Batch:
    latents: torch.Tensor | None      # (B,4,h,w) scaled latents, float32, on the device; None = encode pixels
    pixels: torch.Tensor | None       # (B,3,H,W) in [-1, 1] when latents is None
    captions: list[str]
    loss_weights: torch.Tensor        # (B,) 1 for train images, prior_loss_weight for reg
    text: object | None               # cached TextConditioning, or None
    time_ids: torch.Tensor | None     # SDXL add_time_ids (B, 6), else None
    paths: list[str]


def read_caption_text(image, subset, caption_extension: str) -> str:
    """The first line of the image's caption file; the folder's class tokens when there is none."""
    path = image.caption_path or Path(image.path).with_suffix(caption_extension)
    try:
        text = Path(path).read_text(encoding="utf-8-sig").splitlines()
        line = text[0].strip() if text else ""
    except (FileNotFoundError, TypeError):
        line = ""
    except UnicodeDecodeError:
        line = Path(path).read_bytes().decode("latin-1").splitlines()[0].strip()
    return line or subset.class_tokens


def load_image_for_bucket(path: str, assignment, *, random_crop: bool, rng: random.Random | None,
                          flip: bool) -> tuple[np.ndarray, tuple[int, int]]:
    """(HWC uint8 RGB array of the bucket's size, (crop_top, crop_left)) like sd-scripts."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            w, h = assignment.resized_size
            if (img.width, img.height) != (w, h):
                shrinking = w * h < img.width * img.height
                img = img.resize((w, h), Image.Resampling.BOX if shrinking else Image.Resampling.LANCZOS)
            bw, bh = assignment.bucket
            if random_crop and rng is not None:
                left, top = rng.randint(0, w - bw), rng.randint(0, h - bh)
            else:
                left, top = (w - bw) // 2, (h - bh) // 2
            img = img.crop((left, top, left + bw, top + bh))
            if flip:
                img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            return np.asarray(img, dtype=np.uint8), (top, left)
    except OSError as exc:
        raise LoratuiError(f"{path}: cannot read the image ({exc}); fix or remove it (see `loratui dataset scan`)") \
            from None


def to_pixels(arrays: list[np.ndarray]) -> torch.Tensor:
    batch = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float()
    return batch / 127.5 - 1.0


@torch.no_grad()
def encode_pixels(base, pixels: torch.Tensor) -> torch.Tensor:
    """Scaled VAE latents (float32) of (B,3,H,W) pixels in [-1, 1]."""
    vae = base.vae
    dist = vae.encode(pixels.to(vae.device, vae.dtype)).latent_dist
    return (dist.sample() * vae.config.scaling_factor).float()


def augment_caption(caption: str, d, epoch: int, rng: random.Random) -> str:
    """sd-scripts' caption processing: dropout, then shuffle / tag dropout after keep_tokens."""
    if d.caption_dropout_every_n_epochs and epoch % d.caption_dropout_every_n_epochs == 0:
        return ""
    if d.caption_dropout_rate and rng.random() < d.caption_dropout_rate:
        return ""
    if not (d.shuffle_caption or d.caption_tag_dropout_rate):
        return caption
    sep = d.caption_separator or ","
    tokens = [t.strip() for t in caption.split(sep) if t.strip()]
    keep = max(0, d.keep_tokens)
    fixed, rest = tokens[:keep], tokens[keep:]
    if d.caption_tag_dropout_rate:
        rest = [t for t in rest if rng.random() >= d.caption_tag_dropout_rate]
    if d.shuffle_caption:
        rng.shuffle(rest)
    return (sep + " ").join(fixed + rest)


def _vae_id(base) -> str:
    cfg = dict(base.vae.config)
    digest = hashlib.sha1(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()[:12]
    first = next(base.vae.parameters())
    return f"{digest}:{float(first.detach().float().flatten()[:8].sum()):.6e}"


class TrainingData:
    """The batches of a run, per epoch and per process (see the module docstring)."""

    def __init__(self, cfg, base, *, device="cpu", weight_dtype=torch.float32, process_index: int = 0,
                 num_processes: int = 1):
        self.cfg, self.base, self.device = cfg, base, torch.device(device)
        self.weight_dtype = weight_dtype
        self.rank, self.world = process_index, num_processes
        self.scan = scan_for_config(cfg)
        self.schedule = compute_schedule(cfg, self.scan, num_processes)
        self.groups = epoch_samples(self.scan, cfg.dataset)
        self.steps_per_epoch = self.schedule.steps_per_epoch
        self.batches_per_epoch = self.schedule.batches_per_epoch
        self.total_steps = self.schedule.total_steps
        self.epochs = self.schedule.epochs
        d = cfg.dataset
        self.captions: dict[str, str] = {}
        for samples in self.groups.values():
            for s in samples:
                key = str(s.image.path)
                if key not in self.captions:
                    self.captions[key] = read_caption_text(s.image, s.subset, d.caption_extension)
        self.latent_cache: dict[tuple[str, bool], torch.Tensor] = {}
        self.text_cache: dict[str, object] = {}
        self.cache_text = bool(cfg.training.cache_text_encoder_outputs and cfg.network.network_train_unet_only
                               and not (d.shuffle_caption or d.caption_dropout_rate or d.caption_tag_dropout_rate
                                        or d.caption_dropout_every_n_epochs))

    # ---- caches ---------------------------------------------------------------------------------

    def _unique_images(self):
        seen = {}
        for samples in self.groups.values():
            for s in samples:
                seen.setdefault(str(s.image.path), s)
        return list(seen.values())

    def prepare(self, progress: Progress | None = None) -> None:
        """Encode and cache latents (and text-encoder outputs) as the config asks."""
        d = self.cfg.dataset
        if d.cache_latents:
            flips = (False, True) if d.flip_aug else (False,)
            samples = self._unique_images()
            vae_id = _vae_id(self.base) if d.cache_latents_to_disk else ""
            for index, sample in enumerate(samples, 1):
                for flip in flips:
                    self.latent_cache[(str(sample.image.path), flip)] = self._cached_latent(sample, flip, vae_id)
                if progress:
                    progress(index, len(samples), "caching latents")
        if self.cache_text:
            from loratui.engine.text import encode_text, tokenize

            texts = sorted(set(self.captions.values()))
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

    def _cached_latent(self, sample, flip: bool, vae_id: str) -> torch.Tensor:
        d = self.cfg.dataset
        path = Path(sample.image.path)
        stat = path.stat()
        key = f"{sample.assignment.bucket[0]}x{sample.assignment.bucket[1]}|{int(flip)}"
        meta = {"size": str(stat.st_size), "mtime_ns": str(stat.st_mtime_ns), "vae": vae_id,
                "resized": f"{sample.assignment.resized_size[0]}x{sample.assignment.resized_size[1]}"}
        disk = path.with_name(path.stem + CACHE_SUFFIX)
        if d.cache_latents_to_disk and disk.exists():
            from safetensors import safe_open

            try:
                with safe_open(str(disk), "pt") as handle:
                    stored = handle.metadata() or {}
                    if all(stored.get(k) == v for k, v in meta.items()) and key in handle.keys():
                        return handle.get_tensor(key)
            except Exception:  # unreadable cache: recompute it
                pass
        array, _ = load_image_for_bucket(str(path), sample.assignment, random_crop=False, rng=None, flip=flip)
        latent = encode_pixels(self.base, to_pixels([array]))[0].cpu()
        if d.cache_latents_to_disk:
            self._write_disk_cache(disk, key, latent, meta)
        return latent

    @staticmethod
    def _write_disk_cache(disk: Path, key: str, latent: torch.Tensor, meta: dict) -> None:
        from safetensors import safe_open
        from safetensors.torch import save_file

        tensors = {}
        if disk.exists():
            try:
                with safe_open(str(disk), "pt") as handle:
                    if all((handle.metadata() or {}).get(k) == v for k, v in meta.items()):
                        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
            except Exception:
                tensors = {}
        tensors[key] = latent.contiguous()
        tmp = disk.with_name(disk.name + ".tmp")
        save_file(tensors, str(tmp), metadata=meta)
        tmp.replace(disk)

    # ---- epochs ---------------------------------------------------------------------------------

    def batch_plan(self, epoch: int) -> list:
        """This process's (bucket, samples) batches of ``epoch`` (1-based), in training order."""
        rng = random.Random(self.cfg.training.seed + epoch)
        batches = epoch_batches(self.groups, self.cfg.training.train_batch_size, rng)
        return shard_batches(batches, self.world, self.rank)

    def epoch(self, epoch: int, *, skip_batches: int = 0) -> Iterator[Batch]:
        d = self.cfg.dataset
        aug_rng = random.Random(f"{self.cfg.training.seed}:{epoch}:augment")
        for index, (_bucket, samples) in enumerate(self.batch_plan(epoch)):
            flips = [bool(d.flip_aug and aug_rng.random() < 0.5) for _ in samples]
            captions = [augment_caption(self.captions[str(s.image.path)], d, epoch, aug_rng) for s in samples]
            crops = [(aug_rng.random(), aug_rng.random()) for _ in samples] if d.random_crop else None
            if index < skip_batches:
                continue
            yield self._make_batch(samples, flips, captions, crops)

    def _make_batch(self, samples, flips, captions, crops) -> Batch:
        d = self.cfg.dataset
        reg_weight = float(d.prior_loss_weight)
        weights = torch.tensor([reg_weight if s.is_reg else 1.0 for s in samples], dtype=torch.float32)
        latents = pixels = None
        tops_lefts = []
        if d.cache_latents:
            latents = torch.stack([self.latent_cache[(str(s.image.path), f)] for s, f in zip(samples, flips)])
            for s in samples:
                (w, h), (bw, bh) = s.assignment.resized_size, s.assignment.bucket
                tops_lefts.append(((h - bh) // 2, (w - bw) // 2))
            latents = latents.to(self.device)
        else:
            arrays = []
            for i, (s, f) in enumerate(zip(samples, flips)):
                rng = random.Random(int(crops[i][0] * 2**31)) if crops else None
                array, crop = load_image_for_bucket(str(s.image.path), s.assignment, random_crop=bool(crops),
                                                    rng=rng, flip=f)
                arrays.append(array)
                tops_lefts.append(crop)
            pixels = to_pixels(arrays).to(self.device)
        text = None
        if self.cache_text:
            from loratui.engine.text import TextConditioning

            hidden = torch.cat([self.text_cache[c][0] for c in captions]).to(self.device)
            pooled = None
            if self.text_cache[captions[0]][1] is not None:
                pooled = torch.cat([self.text_cache[c][1] for c in captions]).to(self.device)
            text = TextConditioning(hidden, pooled)
        time_ids = None
        if self.base.family == "sdxl":
            rows = []
            for s, (top, left) in zip(samples, tops_lefts):
                bw, bh = s.assignment.bucket
                rows.append([s.image.height, s.image.width, top, left, bh, bw])
            time_ids = torch.tensor(rows, dtype=torch.float32, device=self.device)
        return Batch(latents, pixels, captions, weights.to(self.device), text, time_ids,
                     [str(s.image.path) for s in samples])

    def tag_frequency(self) -> dict:
        """Per folder {tag: count}, for the LoRA's ss_tag_frequency."""
        result: dict[str, dict[str, int]] = {}
        for subset in self.scan.subsets:
            counts: dict[str, int] = {}
            for image in subset.images:
                caption = self.captions.get(str(image.path), "")
                for tag in caption.split(self.cfg.dataset.caption_separator or ","):
                    tag = tag.strip()
                    if tag:
                        counts[tag] = counts.get(tag, 0) + 1
            result[subset.name] = counts
        return result
