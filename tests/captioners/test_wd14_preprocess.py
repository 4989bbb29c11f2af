"""WD14 preprocessing checked pixel by pixel against sd-scripts' rules (white alpha/pad, BGR, area/Lanczos)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from loratui.captioners.wd14 import WD14Captioner, preprocess

rng = np.random.default_rng(0)


def rgb(h, w):
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_exact_size_is_bgr_float32_unchanged():
    a = rgb(448, 448)
    out = preprocess(Image.fromarray(a), 448)
    assert out.dtype == np.float32 and out.shape == (448, 448, 3)
    np.testing.assert_array_equal(out, a[:, :, ::-1].astype(np.float32))


def test_pure_red_is_channel_2():
    out = preprocess(Image.new("RGB", (448, 448), (255, 0, 0)), 448)
    assert (out[..., 2] == 255).all() and (out[..., 0] == 0).all() and (out[..., 1] == 0).all()


def test_alpha_composited_on_white():
    a = rgb(448, 448)
    alpha = rng.integers(0, 256, (448, 448), dtype=np.uint8)
    alpha[0, 0], alpha[0, 1] = 0, 255
    im = Image.fromarray(np.dstack([a, alpha]), "RGBA")
    out = preprocess(im, 448)[:, :, ::-1]  # back to RGB
    expected = a * (alpha[..., None] / 255.0) + 255 * (1 - alpha[..., None] / 255.0)
    assert np.abs(out - expected).max() <= 1.0
    assert (out[0, 0] == 255).all()  # fully transparent -> white
    np.testing.assert_array_equal(out[0, 1], a[0, 1])  # opaque -> the pixel itself


@pytest.mark.parametrize("w,h", [(448, 301), (301, 448), (448, 3), (3, 448)])
def test_odd_padding_is_centred_white_extra_pixel_right_bottom(w, h):
    a = rgb(h, w)
    out = preprocess(Image.fromarray(a), 448)[:, :, ::-1]
    top, left = (448 - h) // 2, (448 - w) // 2
    np.testing.assert_array_equal(out[top:top + h, left:left + w], a)
    mask = np.ones((448, 448), bool)
    mask[top:top + h, left:left + w] = False
    assert (out[mask] == 255).all()
    assert (448 - h) - top >= top and (448 - w) - left >= left


def test_downscale_integer_factor_is_area_mean_round_half_up():
    a = rgb(896, 896)
    out = preprocess(Image.fromarray(a), 448)[:, :, ::-1]
    blocks = a.astype(np.int64).reshape(448, 2, 448, 2, 3).sum(axis=(1, 3))
    expected = (blocks + 2) // 4  # cv2 INTER_AREA's integer-scale rounding
    np.testing.assert_array_equal(out, expected)


def area_reference(a: np.ndarray, size: int) -> np.ndarray:
    """Separable box average with fractional pixel coverage (what INTER_AREA computes)."""
    def weights(n):
        scale = n / size
        w = np.zeros((size, n))
        for i in range(size):
            lo, hi = i * scale, (i + 1) * scale
            for j in range(int(np.floor(lo)), min(n, int(np.ceil(hi)))):
                w[i, j] = max(0.0, min(hi, j + 1) - max(lo, j))
        return w / w.sum(axis=1, keepdims=True)
    wy, wx = weights(a.shape[0]), weights(a.shape[1])
    rows = np.tensordot(wy, a.astype(np.float64), axes=(1, 0))  # (size, W, 3)
    return np.tensordot(rows, wx, axes=(1, 1)).transpose(0, 2, 1)


def test_downscale_fractional_factor_is_area_mean():
    a = rgb(700, 1000)
    out = preprocess(Image.fromarray(a), 448)[:, :, ::-1]
    padded = np.full((1000, 1000, 3), 255, np.uint8)
    padded[150:850] = a
    ref = area_reference(padded, 448)
    assert np.abs(out - ref).max() <= 0.5 + 1e-3  # rounding the exact area mean (float32 sums), nothing else


def test_upscale_keeps_flat_areas_and_white_border():
    im = Image.new("RGB", (100, 60), (10, 200, 30))
    out = preprocess(im, 448)[:, :, ::-1]
    np.testing.assert_array_equal(out[224, 224], [10, 200, 30])  # centre of the colour area
    np.testing.assert_array_equal(out[0, 0], [255, 255, 255])  # padding stays white
    assert out.shape == (448, 448, 3)


def test_input_size_and_batch_read_from_model(tmp_path, wd14_v2, wd14_v3):
    from fixtures.wd14_tiny import make_wd14_model

    small = WD14Captioner(make_wd14_model(tmp_path / "m224", size=224))
    assert small.size == 224 and small.prepare(Image.new("RGB", (50, 50))).shape == (224, 224, 3)
    v2, v3 = WD14Captioner(wd14_v2, batch_size=8), WD14Captioner(wd14_v3, batch_size=8)
    assert v2.batch_size == 1 and v3.batch_size == 8
    assert v3.provider == "CPUExecutionProvider"
    items = [v2.prepare(Image.new("RGB", (64, 64), c)) for c in [(255, 0, 0), (0, 0, 255), (255, 255, 255)]]
    assert v2.run(items) == v3.run(items)  # a fixed-batch model is fed one image at a time
