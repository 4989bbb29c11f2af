"""Aspect-ratio buckets with sd-scripts' exact semantics (our own code; the rules below were read from
kohya-ss/sd-scripts `library/model_util.py` and `library/train_util.py`).

Why exact: the training engine builds its epochs from this module and `loratui steps` counts batches
with it, so both agree with what sd-scripts would do for the same config and images.

Rules mirrored, one per piece:

* Bound adjustment (DreamBoothDataset / BaseDataset.adjust_min_max_bucket_reso_by_steps): with
  buckets on, min_bucket_reso is rounded *down* and max_bucket_reso *up* to a multiple of
  bucket_reso_steps (sd-scripts warns), then the resolution must lie inside [min, max] (sd-scripts
  asserts; we raise LoratuiError naming the keys).
* Predefined buckets (model_util.make_bucket_resolutions): max_area = width * height of the training
  resolution. First the square bucket side = floor(sqrt(max_area) / steps) * steps (added without a
  bounds check). Then for every width from min_bucket_reso up to max_bucket_reso in steps:
  height = min(max_bucket_reso, floor(floor(max_area / width) / steps) * steps); the pair and its
  transpose are added when height >= min_bucket_reso. The set is sorted as (w, h) tuples.
* Selection without bucket_no_upscale (BucketManager.select_bucket): an image whose exact size is a
  predefined bucket goes there. Otherwise the bucket whose aspect ratio w/h has the smallest absolute
  difference from the image's; on a tie the first in sorted order (smallest width) wins, as numpy's
  argmin does. The image is scaled so that it covers the bucket: if the image is wider than the
  bucket (image ratio > bucket ratio) its height is matched (scale = bucket_h / image_h), otherwise
  its width (scale = bucket_w / image_w). resized = (int(w * scale + 0.5), int(h * scale + 0.5)).
  Images may be upscaled.
* Selection with bucket_no_upscale: min/max_bucket_reso are ignored (sd-scripts warns). An image
  larger in area than max_area is shrunk keeping its ratio: rw = sqrt(max_area * ratio),
  rh = max_area / rw; then two candidates are rounded with round_to_steps(x) = int(x + 0.5) rounded
  down to a multiple of steps: one fixes the width (bw = round(rw), bh = round(bw / ratio)), one the
  height (bh = round(rh), bw = round(bh * ratio)); the candidate whose bw/bh ratio is *strictly*
  closer to the image's wins, else the height one. The resized size is then
  (bw, int(bw / ratio + 0.5)) or (int(bh * ratio + 0.5), bh). A smaller image is not resized. The
  bucket is the resized size with each side rounded down to a multiple of steps.
* enable_bucket = False (BaseDataset.make_buckets): a single predefined bucket at `resolution`; the
  same cover-scale rule gives the resized size. sd-scripts applies that resize + centre crop only
  when it caches latents; without caching (its __getitem__) an image must be exactly `resolution`, or
  larger with random_crop, which then trains a random patch at full scale (no resize). With
  random_crop and latents not cached that is done here too (``full_size_crop``: resized size = image
  size) and an image smaller than `resolution` on a side is refused, as sd-scripts stops on it
  ("image size is small"). Without random_crop loratui resizes where sd-scripts stops: the steps
  calculator and `config check` say so.
* Crop (trim_and_resize_if_required): after resizing, the excess over the bucket is trimmed; centred
  (offset = excess // 2) unless random_crop. SDXL's crop conditioning uses
  BucketManager.get_crop_ltrb, mirrored in :meth:`BucketAssignment.crop_ltrb`.
* bucket_reso_steps: sd-scripts' SD1/SD2 LoRA trainer refuses steps not divisible by 64, its SDXL
  trainer steps not divisible by 32; the VAE needs multiples of 8. See :func:`reso_steps_notes`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from loratui.core.config import config_model_family, latents_cached
from loratui.core.errors import LoratuiError

Size = tuple[int, int]


def make_bucket_resolutions(max_reso: Size, min_size: int = 256, max_size: int = 1024,
                            divisible: int = 64) -> list[Size]:
    """sd-scripts' predefined bucket list for a training resolution (sorted (w, h) tuples)."""
    max_area = max_reso[0] * max_reso[1]
    resos: set[Size] = set()
    side = int(math.sqrt(max_area) // divisible) * divisible
    resos.add((side, side))
    width = min_size
    while width <= max_size:
        height = min(max_size, int((max_area // width) // divisible) * divisible)
        if height >= min_size:
            resos.add((width, height))
            resos.add((height, width))
        width += divisible
    return sorted(resos)


def adjust_bucket_bounds(resolution: Size, min_reso: int, max_reso: int, reso_steps: int) -> tuple[int, int, list[str]]:
    """min/max bucket sides rounded to the step as sd-scripts does, with its warnings as notes.

    Raises LoratuiError when the training resolution falls outside the (adjusted) bounds, which
    sd-scripts refuses with an assertion.
    """
    notes = []
    if min_reso % reso_steps:
        adjusted = min_reso - min_reso % reso_steps
        notes.append(f"min_bucket_reso {min_reso} is not a multiple of bucket_reso_steps {reso_steps}: "
                     f"rounded down to {adjusted} (as sd-scripts does)")
        min_reso = adjusted
    if max_reso % reso_steps:
        adjusted = max_reso + reso_steps - max_reso % reso_steps
        notes.append(f"max_bucket_reso {max_reso} is not a multiple of bucket_reso_steps {reso_steps}: "
                     f"rounded up to {adjusted} (as sd-scripts does)")
        max_reso = adjusted
    if min_reso < reso_steps:
        raise LoratuiError(f"min_bucket_reso must be at least bucket_reso_steps ({reso_steps}); it rounds "
                           f"down to {min_reso}: raise min_bucket_reso or lower bucket_reso_steps in [dataset]")
    w, h = resolution
    if min(w, h) < min_reso:
        raise LoratuiError(f"resolution {w}x{h}: min_bucket_reso ({min_reso}) must not exceed the smaller "
                           f"side; lower min_bucket_reso or raise resolution in [dataset]")
    if max(w, h) > max_reso:
        raise LoratuiError(f"resolution {w}x{h}: max_bucket_reso ({max_reso}) must be at least the larger "
                           f"side; raise max_bucket_reso or lower resolution in [dataset]")
    return min_reso, max_reso, notes


def reso_steps_notes(reso_steps: int, model_family: str = "auto") -> list[str]:
    """Warnings about a bucket_reso_steps that sd-scripts would refuse or that breaks the VAE."""
    notes = []
    if reso_steps % 8:
        notes.append(f"bucket_reso_steps {reso_steps} is not a multiple of 8: bucket sides would not map "
                     f"to whole latent pixels; use 64 (or 32 for SDXL)")
    family = (model_family or "auto").lower()
    if family == "sdxl":
        if reso_steps % 32:
            notes.append(f"bucket_reso_steps {reso_steps} is not divisible by 32: sd-scripts' SDXL trainer "
                         f"refuses it")
    elif reso_steps % 64:
        which = "SD1/SD2 trainer"
        if family not in ("sd1", "sd2") and reso_steps % 32:
            which += " and its SDXL trainer"
        notes.append(f"bucket_reso_steps {reso_steps} is not divisible by 64: sd-scripts' {which} "
                     f"refuses it")
    return notes


def bucket_family(cfg) -> str:
    """The family bucket_reso_steps is judged for: model_family, or for auto the family read from the
    model's weights; "auto" (the rule of every sd-scripts trainer) when they cannot be read - a name
    guess would warn about the wrong trainer."""
    try:
        read = config_model_family(cfg)
    except LoratuiError:
        return "auto"
    return "auto" if read.guessed else read.family


@dataclass(frozen=True)
class BucketAssignment:
    """Where one image trains: its bucket, the size it is resized to, and the centred trim."""

    image_size: Size
    bucket: Size
    resized_size: Size
    ar_error: float  # bucket ratio minus image ratio (sd-scripts logs the mean of |ar_error|)
    full_size_crop: bool = False  # buckets off, random_crop, not cached: a random bucket-sized patch, no resize

    @property
    def needs_resize(self) -> bool:
        return self.resized_size != self.image_size

    @property
    def upscaled(self) -> bool:
        return self.resized_size[0] > self.image_size[0] or self.resized_size[1] > self.image_size[1]

    @property
    def needs_crop(self) -> bool:
        return self.resized_size != self.bucket

    @property
    def crop_offset(self) -> Size:
        """(left, top) of the centred trim, in resized pixels (random_crop picks another offset)."""
        return ((self.resized_size[0] - self.bucket[0]) // 2, (self.resized_size[1] - self.bucket[1]) // 2)

    @property
    def original_size(self) -> Size:
        """SDXL's original-size conditioning (w, h): the image's size; for a full-size crop the patch's, as
        sd-scripts' __getitem__ sets it after cropping."""
        return self.bucket if self.full_size_crop else self.image_size

    def crop_ltrb(self) -> tuple[float, float, float, float]:
        """sd-scripts' get_crop_ltrb: the image's box inside the bucket, for SDXL crop conditioning. A
        full-size crop has sd-scripts' (0, 0, 0, 0) (so a flipped one's left is the bucket width, as there)."""
        if self.full_size_crop:
            return 0, 0, 0, 0
        bw, bh = self.bucket
        image_ar = self.image_size[0] / self.image_size[1]
        if bw / bh > image_ar:
            rw, rh = bh * image_ar, bh
        else:
            rw, rh = bw, bw / image_ar
        left = (bw - rw) // 2
        top = (bh - rh) // 2
        return left, top, left + rw, top + rh


@dataclass
class BucketManager:
    """Assigns images to buckets for one training resolution. Build it with :func:`make_buckets`."""

    resolution: Size
    min_reso: int
    max_reso: int
    reso_steps: int
    no_upscale: bool
    enable_bucket: bool
    predefined: tuple[Size, ...]
    notes: list[str] = field(default_factory=list)
    full_size_crop: bool = False  # see make_buckets

    def __post_init__(self) -> None:
        self.max_area = self.resolution[0] * self.resolution[1]
        self._predefined_set = set(self.predefined)
        self._ratios = [w / h for w, h in self.predefined]
        self._cache: dict[Size, BucketAssignment] = {}  # datasets repeat sizes (same camera, same crop)

    def assign(self, width: int, height: int) -> BucketAssignment:
        """The bucket, resized size and aspect error for an image of this stored size."""
        cached = self._cache.get((width, height))
        if cached is not None:
            return cached
        if width < 1 or height < 1:
            raise LoratuiError(f"image size {width}x{height} is not usable")
        if self.full_size_crop:
            result = self._assign_full_size(width, height)
        elif self.no_upscale and self.enable_bucket:
            result = self._assign_no_upscale(width, height)
        else:
            result = self._assign_predefined(width, height)
        self._cache[(width, height)] = result
        return result

    def _assign_predefined(self, width: int, height: int) -> BucketAssignment:
        ratio = width / height
        if (width, height) in self._predefined_set:
            bucket = (width, height)
        else:
            best = 0
            best_err = abs(self._ratios[0] - ratio)
            for i in range(1, len(self._ratios)):
                err = abs(self._ratios[i] - ratio)
                if err < best_err:  # strict: ties keep the first (argmin)
                    best, best_err = i, err
            bucket = self.predefined[best]
        bw, bh = bucket
        scale = bh / height if ratio > bw / bh else bw / width
        resized = (int(width * scale + 0.5), int(height * scale + 0.5))
        return BucketAssignment((width, height), bucket, resized, bw / bh - ratio)

    def _assign_full_size(self, width: int, height: int) -> BucketAssignment:
        """No resize: each step crops a random resolution-sized patch (sd-scripts' non-bucket random_crop)."""
        bw, bh = self.resolution
        if width < bw or height < bh:
            raise LoratuiError(f"{width}x{height} is smaller than the resolution {bw}x{bh}: with enable_bucket = false, "
                               "random_crop = true and latents not cached each step crops the resolution from the "
                               "image at full size (sd-scripts stops on a smaller one: \"image size is small\"); "
                               "remove or upscale it, or set enable_bucket = true or cache_latents = true in [dataset]")
        return BucketAssignment((width, height), (bw, bh), (width, height), bw / bh - width / height, True)

    def _round(self, x: float) -> int:
        x = int(x + 0.5)
        return x - x % self.reso_steps

    def _assign_no_upscale(self, width: int, height: int) -> BucketAssignment:
        ratio = width / height
        if width * height > self.max_area:
            rw = math.sqrt(self.max_area * ratio)
            rh = self.max_area / rw
            bw_w = self._round(rw)
            bh_w = self._round(bw_w / ratio)
            bh_h = self._round(rh)
            bw_h = self._round(bh_h * ratio)
            if bh_w == 0 or bh_h == 0:  # sd-scripts divides by these
                raise self._too_thin(width, height)
            if abs(bw_w / bh_w - ratio) < abs(bw_h / bh_h - ratio):
                resized = (bw_w, int(bw_w / ratio + 0.5))
            else:
                resized = (int(bh_h * ratio + 0.5), bh_h)
        else:
            resized = (width, height)
        bucket = (resized[0] - resized[0] % self.reso_steps, resized[1] - resized[1] % self.reso_steps)
        if bucket[0] == 0 or bucket[1] == 0:
            raise self._too_thin(width, height)
        return BucketAssignment((width, height), bucket, resized, bucket[0] / bucket[1] - ratio)

    def _too_thin(self, width: int, height: int) -> LoratuiError:
        return LoratuiError(f"an image of {width}x{height} has a side under bucket_reso_steps "
                            f"({self.reso_steps}) after resizing: with bucket_no_upscale it gets no bucket "
                            f"(sd-scripts would crash); remove or pad it")


def make_buckets(resolution: Size = (512, 512), min_reso: int = 256, max_reso: int = 1024,
                 reso_steps: int = 64, no_upscale: bool = False, enable_bucket: bool = True, *,
                 full_size_crop: bool = False) -> BucketManager:
    """A BucketManager for these settings (sd-scripts' rules; see the module docstring). ``full_size_crop``
    (only with enable_bucket False: random_crop with latents not cached): images are cropped, not resized."""
    resolution = (int(resolution[0]), int(resolution[1]))
    if resolution[0] < 1 or resolution[1] < 1:
        raise LoratuiError(f"resolution {resolution[0]}x{resolution[1]} is not usable")
    if not enable_bucket:
        return BucketManager(resolution, min_reso, max_reso, reso_steps, False, False, (resolution,),
                             full_size_crop=full_size_crop)
    if reso_steps < 1:
        raise LoratuiError(f"bucket_reso_steps must be at least 1, not {reso_steps}")
    # compared after the rounding, as sd-scripts does: min 260 / max 250 with steps 64 are both 256
    rounded_min = min_reso - min_reso % reso_steps
    rounded_max = max_reso + (reso_steps - max_reso % reso_steps) % reso_steps
    if rounded_min > rounded_max:
        raise LoratuiError(f"min_bucket_reso ({min_reso}) is larger than max_bucket_reso ({max_reso}) in [dataset]")
    min_reso, max_reso, notes = adjust_bucket_bounds(resolution, min_reso, max_reso, reso_steps)
    if no_upscale:
        notes.append("bucket_no_upscale: min_bucket_reso and max_bucket_reso are ignored; each image's "
                     "bucket comes from its own size (as in sd-scripts)")
        return BucketManager(resolution, min_reso, max_reso, reso_steps, True, True, (), notes)
    predefined = tuple(make_bucket_resolutions(resolution, min_reso, max_reso, reso_steps))
    return BucketManager(resolution, min_reso, max_reso, reso_steps, False, True, predefined, notes)


def buckets_for_dataset(dataset_cfg) -> BucketManager:
    """make_buckets from a config's [dataset] section (a DatasetSection)."""
    d = dataset_cfg
    return make_buckets(tuple(d.resolution), d.min_bucket_reso, d.max_bucket_reso, d.bucket_reso_steps,
                        d.bucket_no_upscale, d.enable_bucket, full_size_crop=crops_at_full_size(d))


def crops_at_full_size(dataset_cfg) -> bool:
    """Buckets off, random_crop on, latents not cached (cache_latents_to_disk caches them too): sd-scripts then
    trains a random resolution-sized patch of each image at full scale, and so does loratui."""
    d = dataset_cfg
    return bool(not d.enable_bucket and d.random_crop and not latents_cached(d))


def bucket_key(bucket: Size) -> str:
    """The "WxH" spelling used in JSON and tables."""
    return f"{bucket[0]}x{bucket[1]}"
