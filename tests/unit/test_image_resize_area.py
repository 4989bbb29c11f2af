"""core.image_resize.area_resize is cv2.INTER_AREA: the exact area mean, with cv2's rounding (h2 finding 1).

cv2 is not installed: the reference here is an independent exact computation with Fractions (each
output pixel the mean of the source area it covers, partial pixels by the fraction covered)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from loratui.core.image_resize import area_resize


def exact_area(a: np.ndarray, width: int, height: int) -> np.ndarray:
    """Exact area mean, rounded half to even (Python's round on a Fraction is exact)."""
    src_h, src_w = a.shape[:2]
    sy, sx = Fraction(src_h, height), Fraction(src_w, width)

    def covers(i: int, scale: Fraction, n: int) -> list[tuple[int, Fraction]]:
        lo, hi = i * scale, (i + 1) * scale
        found = []
        for j in range(int(lo), min(n, int(hi) + 1)):
            part = min(hi, j + 1) - max(lo, j)
            if part > 0:
                found.append((j, part))
        return found

    out = np.zeros((height, width, a.shape[2]), np.int64)
    for y in range(height):
        rows = covers(y, sy, src_h)
        for x in range(width):
            cols = covers(x, sx, src_w)
            for c in range(a.shape[2]):
                total = sum(py * px * int(a[j, i, c]) for j, py in rows for i, px in cols)
                out[y, x, c] = round(total / (sy * sx))
    return out


@pytest.mark.parametrize("src, dst", [
    ((50, 40), (50, 13)),   # one axis only, a factor with exact ties (40/13)
    ((50, 40), (7, 40)),
    ((30, 20), (19, 13)),   # both axes, non-integer
    ((16, 12), (12, 9)),    # 4/3: many exact x.5 means (ties to even)
    ((37, 3), (5, 1)),
    ((12, 9), (1, 1)),
])
def test_non_integer_factors_are_the_exact_area_mean(src, dst):
    a = np.random.default_rng(1).integers(0, 256, (src[1], src[0], 3), dtype=np.uint8)
    np.testing.assert_array_equal(area_resize(a, *dst), exact_area(a, *dst))


def test_a_two_by_two_factor_rounds_half_up_as_cv2s_fast_path():
    a = np.random.default_rng(2).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    sums = a.astype(np.int64).reshape(32, 2, 48, 2, 3).sum(axis=(1, 3))
    np.testing.assert_array_equal(area_resize(a, 48, 32), (sums + 2) // 4)


@pytest.mark.parametrize("kx, ky", [(3, 3), (4, 2), (1, 2), (4, 4)])
def test_other_integer_factors_round_as_cv2s_float_path(kx, ky):
    a = np.random.default_rng(3).integers(0, 256, (ky * 10, kx * 12, 3), dtype=np.uint8)
    sums = a.astype(np.int64).reshape(10, ky, 12, kx, 3).sum(axis=(1, 3))
    expected = np.rint(sums.astype(np.float32) * np.float32(1 / (kx * ky)))  # saturate_cast(sum * scale)
    np.testing.assert_array_equal(area_resize(a, 12, 10), expected)


def test_one_pixel_stripes_average_out_instead_of_moire():
    """The hunt's case: Pillow's BOX gave 128,255,128,0,...; the area mean is 163,163,112,92,..."""
    stripes = np.zeros((200, 300, 3), np.uint8)
    stripes[:, ::2] = 255
    out = area_resize(stripes, 192, 128)
    assert out[0, :12, 0].tolist() == [163, 163, 112, 92, 122, 163, 153, 92, 92, 153, 163, 122]
    np.testing.assert_array_equal(out[:, :, 0], exact_area(stripes[:20, :, :1], 192, 13)[0:1, :, 0].repeat(128, 0))


def test_grey_arrays_same_size_and_growing_sides():
    grey = np.arange(48, dtype=np.uint8).reshape(6, 8)
    assert area_resize(grey, 4, 3).shape == (3, 4)
    np.testing.assert_array_equal(area_resize(grey, 8, 6), grey)
    with pytest.raises(ValueError, match="shrinks only"):
        area_resize(grey, 9, 6)
