"""Training shrinks images with an exact area mean (cv2.INTER_AREA, as sd-scripts), not Pillow's BOX
(h2 finding 1); images over Pillow's warning size load, over its limit they are one line (finding 2)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from loratui.core.errors import LoratuiError
from loratui.core.image_resize import area_resize
from loratui.core.plan.buckets import BucketAssignment
from loratui.engine.data import load_image_for_bucket


def noise_png(path, size=(100, 50)):
    pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return pixels


def load(path, resized, bucket=None, flip=False):
    assignment = BucketAssignment(resized, bucket or resized, resized, 0.0)
    return load_image_for_bucket(str(path), assignment, random_crop=False, rng=None, flip=flip)


@pytest.mark.parametrize("resized", [(80, 40), (100, 40), (64, 32)])
def test_shrinking_is_the_area_mean_of_the_stored_pixels(tmp_path, resized):
    pixels = noise_png(tmp_path / "a.png")
    np.testing.assert_array_equal(load(tmp_path / "a.png", resized), area_resize(pixels, *resized))


def test_growing_a_side_is_lanczos_and_the_trim_is_centred_and_mirrored(tmp_path):
    pixels = noise_png(tmp_path / "a.png")
    grown = np.asarray(Image.fromarray(pixels).resize((120, 60), Image.Resampling.LANCZOS))
    out = load(tmp_path / "a.png", (120, 60), bucket=(112, 56), flip=True)
    np.testing.assert_array_equal(out, grown[2:58, 4:116][:, ::-1])
    assert out.flags["C_CONTIGUOUS"]


def test_stripes_train_as_their_mean_not_moire(tmp_path):
    stripes = np.zeros((200, 300, 3), np.uint8)
    stripes[:, ::2] = 255
    Image.fromarray(stripes).save(tmp_path / "s.png")
    assert load(tmp_path / "s.png", (192, 128))[0, :6, 0].tolist() == [163, 163, 112, 92, 122, 163]


def test_over_twice_pillows_warning_size_is_one_line(tmp_path, monkeypatch):
    noise_png(tmp_path / "a.png", (64, 64))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(LoratuiError, match=r"a.png: over Pillow's decompression-bomb limit of 2,000 pixels"):
        load(tmp_path / "a.png", (64, 64))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 3000)  # 4096 px: between the two, it loads
    assert load(tmp_path / "a.png", (64, 64)).shape == (64, 64, 3)
