"""The preview shows what training sees (h2 finding 3): the stored RGB under transparent pixels, and
16-bit grey scaled as training scales it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from loratui.tui.services.thumbnails import Thumbnail, ThumbnailCache


def pixel(thumb, x=0, y=0):
    assert isinstance(thumb, Thumbnail), thumb
    return thumb.pixel(x, y)


def test_transparent_pixels_preview_as_the_colour_stored_under_them(tmp_path: Path) -> None:
    from loratui.engine.data import load_image_for_bucket
    from loratui.core.plan.buckets import BucketAssignment

    clear = np.zeros((8, 8, 4), np.uint8)
    clear[..., 0] = 255  # red, fully transparent: training sees red
    Image.fromarray(clear).save(tmp_path / "clear.png")
    trained = load_image_for_bucket(str(tmp_path / "clear.png"), BucketAssignment((8, 8), (8, 8), (8, 8), 0.0),
                                    random_crop=False, rng=None, flip=False)
    assert pixel(ThumbnailCache().get(tmp_path / "clear.png", 8, 4)) == tuple(trained[0, 0]) == (255, 0, 0)
    Image.new("LA", (8, 8), (200, 0)).save(tmp_path / "la.png")
    assert pixel(ThumbnailCache().get(tmp_path / "la.png", 8, 4)) == (200, 200, 200)


def test_16_bit_grey_previews_as_it_trains(tmp_path: Path) -> None:
    Image.fromarray(np.full((8, 8), 30000, np.uint16)).save(tmp_path / "i16.png")
    assert pixel(ThumbnailCache().get(tmp_path / "i16.png", 8, 4)) == (117, 117, 117)
