"""Bucket lists and assignments, worked out by hand from sd-scripts' rules (see core/plan/buckets.py)."""

from __future__ import annotations

import pytest

from loratui.core.plan import (
    BucketManager,
    adjust_bucket_bounds,
    bucket_key,
    make_bucket_resolutions,
    make_buckets,
    reso_steps_notes,
)
from loratui.core.errors import LoratuiError

# max_area 512*512 = 262144; widths 256..1024 by 64, height = min(1024, (262144 // w) // 64 * 64):
# 256->1024, 320->768, 384->640, 448->576, 512->512, 576->448, 640->384, 704->320, 768->320,
# 832..1024->256; plus transposes; plus the square 512.
SD15_BUCKETS = [
    (256, 832), (256, 896), (256, 960), (256, 1024), (320, 704), (320, 768), (384, 640), (448, 576),
    (512, 512), (576, 448), (640, 384), (704, 320), (768, 320), (832, 256), (896, 256), (960, 256),
    (1024, 256),
]


def test_predefined_buckets_for_512():
    assert make_bucket_resolutions((512, 512), 256, 1024, 64) == SD15_BUCKETS
    assert make_buckets((512, 512)).predefined == tuple(SD15_BUCKETS)


def test_predefined_buckets_respect_min_size():
    # 768x768 with min 512: width 512 -> (589824 // 512) // 64 * 64 = 1152 -> capped at 1024.
    resos = make_bucket_resolutions((768, 768), 512, 1024, 64)
    assert (512, 1024) in resos and (1024, 512) in resos and (768, 768) in resos
    assert all(min(r) >= 512 and max(r) <= 1024 for r in resos)
    # width 1024 -> 576: kept; nothing below 512 on either side
    assert (1024, 576) in resos


def test_non_square_resolution_square_bucket_is_floor_of_sqrt():
    # 512x768: sqrt(393216) = 627.06 -> 576 square bucket, added without a bounds check
    assert (576, 576) in make_bucket_resolutions((512, 768), 256, 1024, 64)


@pytest.mark.parametrize(
    "size, bucket, resized",
    [
        ((512, 512), (512, 512), (512, 512)),  # exact predefined size
        # 4:3 (1.333): 576x448 (1.286, err .048) beats 640x384 (1.667); wider than bucket -> match
        # height: scale 448/768, width int(1024*448/768 + .5) = int(597.83) = 597
        ((1024, 768), (576, 448), (597, 448)),
        ((768, 1024), (448, 576), (448, 597)),
        # 16:9 (1.778): 640x384 (1.667, err .111) beats 704x320 (2.2); 1920*384/1080 = 682.67 -> 683
        ((1920, 1080), (640, 384), (683, 384)),
        ((300, 300), (512, 512), (512, 512)),  # upscaled
    ],
)
def test_assign_predefined(size, bucket, resized):
    a = make_buckets((512, 512)).assign(*size)
    assert a.bucket == bucket and a.resized_size == resized
    assert a.crop_offset == ((resized[0] - bucket[0]) // 2, (resized[1] - bucket[1]) // 2)


def test_assign_flags_and_crop():
    a = make_buckets((512, 512)).assign(1024, 768)
    assert a.needs_resize and a.needs_crop and not a.upscaled and a.crop_offset == (10, 0)
    assert make_buckets((512, 512)).assign(300, 300).upscaled
    left, top, right, bottom = a.crop_ltrb()  # sd-scripts' get_crop_ltrb: bucket narrower -> fit width
    assert (left, right) == (0, 576) and top == (448 - 576 / (1024 / 768)) // 2


def test_aspect_tie_keeps_first_sorted_bucket():
    # ratio 1.5 is exactly between 1.0 (64x64) and 2.0 (128x64): argmin keeps the first, 64x64
    manager = BucketManager((64, 64), 64, 128, 64, False, True, ((64, 64), (128, 64)))
    a = manager.assign(96, 64)
    assert a.bucket == (64, 64) and a.resized_size == (96, 64)  # wider -> height matched, scale 1


@pytest.mark.parametrize(
    "size, bucket, resized",
    [
        ((300, 200), (256, 192), (300, 200)),  # small: never resized, bucket = sides floored to 64
        ((1000, 1000), (512, 512), (512, 512)),  # area > 512^2: ratio 1 -> 512x512
        # 1200x800 (1.5): rw = 627.06 -> 576, 576/1.5 = 384; rh = 418.05 -> 384, 384*1.5 = 576: both
        # exact, tie -> height branch: (int(384*1.5+.5), 384)
        ((1200, 800), (576, 384), (576, 384)),
        # 1300x700 (1.857): width branch 640x320 (2.0, err .143), height branch 576x320 from
        # 384*... -> rh 375.70 -> 320, 320*1.857 = 594.29 -> 576 (1.8, err .057): height wins,
        # resized (int(594.29+.5), 320) = (594, 320), bucket floors 594 -> 576
        ((1300, 700), (576, 320), (594, 320)),
        # 600x546 (1.0989): width branch rw 536.72 -> 512, 512/1.0989 = 465.9 -> 448 (1.143, err .044)
        # beats height branch rh 488.42 -> 448, 448*1.0989 = 492.3 -> 448 (1.0, err .099):
        # resized (512, int(465.92+.5)) = (512, 466), bucket (512, 448)
        ((600, 546), (512, 448), (512, 466)),
    ],
)
def test_assign_no_upscale(size, bucket, resized):
    a = make_buckets((512, 512), no_upscale=True).assign(*size)
    assert (a.bucket, a.resized_size) == (bucket, resized)
    assert not a.upscaled


def test_no_upscale_ignores_bounds_and_says_so():
    manager = make_buckets((512, 512), 256, 1024, 64, no_upscale=True)
    assert manager.predefined == ()
    assert any("ignored" in n for n in manager.notes)
    assert manager.assign(100, 80).bucket == (64, 64)  # below min_bucket_reso: allowed, as in sd-scripts


def test_no_upscale_too_thin_image_is_a_clear_error():
    with pytest.raises(LoratuiError, match="40x300"):
        make_buckets((512, 512), no_upscale=True).assign(40, 300)
    with pytest.raises(LoratuiError, match="bucket_reso_steps"):
        make_buckets((512, 512), no_upscale=True).assign(100000, 10)


def test_enable_bucket_false_single_bucket_cover_and_crop():
    manager = make_buckets((512, 512), enable_bucket=False)
    assert manager.predefined == ((512, 512),)
    a = manager.assign(1024, 768)  # wider: height matched, 1024*512/768 = 682.67 -> 683
    assert a.bucket == (512, 512) and a.resized_size == (683, 512) and a.crop_offset == (85, 0)
    assert manager.assign(200, 900).bucket == (512, 512)


def test_bound_adjustment_like_sd_scripts():
    lo, hi, notes = adjust_bucket_bounds((512, 512), 250, 1000, 64)
    assert (lo, hi) == (192, 1024) and len(notes) == 2 and "rounded down to 192" in notes[0]
    with pytest.raises(LoratuiError, match="min_bucket_reso"):
        make_buckets((512, 512), 576, 1024, 64)
    with pytest.raises(LoratuiError, match="max_bucket_reso"):
        make_buckets((1024, 1024), 256, 960, 64)
    with pytest.raises(LoratuiError, match="rounds down to 0"):
        make_buckets((512, 512), 64, 1024, 128)
    with pytest.raises(LoratuiError, match="larger than"):
        make_buckets((512, 512), 1024, 512, 64)


def test_reso_steps_notes():
    assert reso_steps_notes(64) == [] and reso_steps_notes(64, "sdxl") == []
    assert reso_steps_notes(32, "sdxl") == []
    assert any("64" in n for n in reso_steps_notes(32, "sd1"))
    assert any("32" in n for n in reso_steps_notes(48, "sdxl"))
    assert any("multiple of 8" in n for n in reso_steps_notes(12))


def test_bucket_key():
    assert bucket_key((576, 448)) == "576x448"
