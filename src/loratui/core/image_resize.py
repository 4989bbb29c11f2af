"""Shrinking an image as cv2.INTER_AREA does, with numpy only (no cv2 in our dependencies).

sd-scripts shrinks every training image with cv2.INTER_AREA (library/utils.py resize_image: area when
neither side grows) and its WD14 tagger does too; the training data (engine/data.py) and our WD14
preprocessing (captioners/wd14.py) both use ``area_resize`` so that fine texture averages out the way
it does there. Pillow's BOX filter is not this: it weighs each source pixel 0 or 1 at a cell's edge
and rounds between its two passes, so 1-pixel stripes come out as 128,255,128,0 instead of a mean.

What cv2 computes, and so this module (checked against an exact-area reference in tests):
- each output pixel is the mean of the source area it covers, partial pixels weighted by the fraction
  covered; separable (rows, then columns);
- integer factors on both axes (cv2's "fast" path): exact integer block sums; 2x2 rounds half up
  (``(sum + 2) >> 2``), other block sizes as ``float32(sum) * float32(1 / area)`` rounded half to even;
- other factors: the exact mean (integer-valued sums over coverages counted in 1/size pixel units)
  rounded half to even, as cv2's final saturate_cast rounds. cv2 itself sums in float32 and drops a
  partial coverage under 1e-3 pixel, so it can land one level off where the mean is within a
  fraction of a level of a rounding tie; nothing else differs.

Speed (4000x3000 -> 1024x768 RGB, 2 busy shared cores): about 170-250 ms against 70-130 ms for
Pillow's BOX, in blocks of output rows so the temporaries stay in the CPU cache.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


ROWS_PER_BLOCK = 16  # output rows done at a time: the float temporaries stay in the CPU cache


def area_resize(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """``pixels`` (H x W or H x W x C, uint8) shrunk to ``height`` x ``width`` (uint8), cv2.INTER_AREA.

    Neither side may grow (sd-scripts uses Lanczos then: Pillow's LANCZOS does that)."""
    src_h, src_w = pixels.shape[:2]
    if width < 1 or height < 1 or width > src_w or height > src_h:
        raise ValueError(f"area_resize shrinks only: {src_w}x{src_h} -> {width}x{height}")
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if (width, height) == (src_w, src_h):
        return pixels.copy()
    out = np.empty((height, width) + pixels.shape[2:], np.uint8)
    integer = src_w % width == 0 and src_h % height == 0
    # the exact mean is sums / denominator: row coverages are counted in 1/height pixel units (a
    # total of src_h per output row), column ones in 1/width units
    denominator = (src_h if height != src_h else 1) * (src_w if width != src_w else 1)
    for start in range(0, height, ROWS_PER_BLOCK):
        stop = min(height, start + ROWS_PER_BLOCK)
        if integer:
            out[start:stop] = _integer_factor(pixels, src_w // width, src_h // height, start, stop)
            continue
        # integer-valued sums, exact: a row sum is at most 255 * 65535 (< 2**24, exact in float32), the
        # full sum at most 255 * 65535**2 (< 2**53, float64)
        if height != src_h:
            first, cover = _coverage(src_h, height)
            rows = _weighted_sum(pixels, first[start:stop], cover[start:stop], 0, np.float32)
        else:
            rows = pixels[start:stop]
        if width != src_w:
            first, cover = _coverage(src_w, width)
            rows = _weighted_sum(rows, first, cover, 1, np.float64)
        out[start:stop] = _round_half_even(rows, denominator)
    return out


def _integer_factor(pixels: np.ndarray, kx: int, ky: int, start: int, stop: int) -> np.ndarray:
    """Output rows [start, stop) of cv2's resizeAreaFast: exact block sums, its two rounding rules
    (see the module docstring)."""
    block = pixels[start * ky:stop * ky]
    wide = np.uint16 if kx * ky <= 257 else np.uint32  # 257 * 255 is the most a uint16 holds
    sums = block[0::ky].astype(wide)
    for j in range(1, ky):
        sums += block[j::ky]
    sums = sums.reshape((stop - start, -1, kx) + pixels.shape[2:])
    total = sums[:, :, 0].copy()
    for j in range(1, kx):
        total += sums[:, :, j]
    if kx == 2 and ky == 2:
        return (total + 2) >> 2
    mean = total.astype(np.float32) * np.float32(1.0 / (kx * ky))
    return np.rint(mean, out=mean).clip(0, 255)


@lru_cache(maxsize=64)
def _coverage(n: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(first source index, [size, taps] float32 coverage, integer-valued) for ``n`` source pixels averaged into
    ``size``: output i covers [i*n/size, (i+1)*n/size), and source pixel first[i] + k lies in it by
    cover[i, k] / size pixels. In 1/size units every edge is an integer, so nothing is rounded."""
    lo = np.arange(size, dtype=np.int64)[:, None] * n
    first = lo[:, 0] // size
    index = first[:, None] + np.arange(-(-n // size) + 1)  # at most ceil(n/size) + 1 pixels meet a cell
    cover = np.minimum(lo + n, (index + 1) * size) - np.maximum(lo, index * size)
    cover = np.where(index < n, np.clip(cover, 0, None), 0)
    return first, cover.astype(np.float32)


def _weighted_sum(a: np.ndarray, first: np.ndarray, cover: np.ndarray, axis: int, dtype) -> np.ndarray:
    """sum over k of a[first + k] * cover[:, k] along ``axis`` (``dtype``): whole slices
    gathered once per tap (a clamped index past the end has coverage 0)."""
    shape = [1] * a.ndim
    shape[axis] = len(first)
    out = tmp = None
    for k in range(cover.shape[1]):
        taken = np.take(a, np.minimum(first + k, a.shape[axis] - 1), axis=axis)
        weight = cover[:, k].reshape(shape)
        if out is None:
            out = np.multiply(taken, weight, dtype=dtype)
        else:
            tmp = np.multiply(taken, weight, out=tmp, dtype=dtype)
            out += tmp
    return out


def _round_half_even(sums: np.ndarray, denominator: int) -> np.ndarray:
    """round(sums / denominator), ties to even (cv2's saturate_cast), as uint8. Exact: a true quotient
    that is no tie is at least 1 / (2 * denominator) >= 2**-33 away from one, far more than the
    float64 division's error near 256 (2**-45), and a tie x.5 divides exactly."""
    quotient = np.divide(sums, denominator, dtype=np.float64)
    return np.rint(quotient, out=quotient).clip(0, 255).astype(np.uint8)


__all__ = ["area_resize"]
