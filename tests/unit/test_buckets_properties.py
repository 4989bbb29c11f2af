"""Hypothesis properties of bucket assignment (sd-scripts' invariants)."""

from __future__ import annotations

import math

from hypothesis import example, given, settings
from hypothesis import strategies as st

from loratui.core.plan import make_bucket_resolutions, make_buckets
from loratui.core.errors import LoratuiError

STEPS = st.sampled_from([8, 16, 32, 64, 128])
SIDE = st.integers(min_value=1, max_value=8000)


@st.composite
def bucket_settings(draw):
    steps = draw(STEPS)
    w = draw(st.integers(4, 24)) * 32
    h = draw(st.integers(4, 24)) * 32
    min_reso = draw(st.integers(max(64, steps), min(w, h)))
    max_reso = draw(st.integers(max(w, h), 2048))
    return (w, h), min_reso, max_reso, steps


@settings(max_examples=150, deadline=None)
@given(bucket_settings(), SIDE, SIDE)
def test_predefined_bucket_within_bounds_and_area(settings_, width, height):
    resolution, min_reso, max_reso, steps = settings_
    manager = make_buckets(resolution, min_reso, max_reso, steps)
    a = manager.assign(width, height)
    bw, bh = a.bucket
    assert a.bucket in manager.predefined
    assert manager.min_reso <= bw <= manager.max_reso and manager.min_reso <= bh <= manager.max_reso
    assert bw % steps == 0 and bh % steps == 0
    assert bw * bh <= resolution[0] * resolution[1]
    # the image covers its bucket after resizing, so the crop never pads
    assert a.resized_size[0] >= bw and a.resized_size[1] >= bh
    # and only one side is trimmed (the other matches the bucket exactly)
    assert a.resized_size[0] == bw or a.resized_size[1] == bh
    # no other predefined bucket has a strictly smaller aspect error
    ratio = width / height
    best = min(abs(w / h - ratio) for w, h in manager.predefined)
    assert abs(bw / bh - ratio) == best or (width, height) == a.bucket


@settings(max_examples=150, deadline=None)
@given(bucket_settings(), SIDE, SIDE)
@example(((128, 480), 64, 480, 8), 248, 248)  # rounds back up to 248x248: 64 px over the area, as sd-scripts does
def test_no_upscale_never_upscales_and_fits_area(settings_, width, height):
    resolution, min_reso, max_reso, steps = settings_
    manager = make_buckets(resolution, min_reso, max_reso, steps, no_upscale=True)
    try:
        a = manager.assign(width, height)
    except LoratuiError:
        return  # too thin for the step size: a clear error instead of sd-scripts' crash
    bw, bh = a.bucket
    assert bw > 0 and bh > 0 and bw % steps == 0 and bh % steps == 0
    assert bw <= a.resized_size[0] and bh <= a.resized_size[1]
    assert a.resized_size[0] <= width and a.resized_size[1] <= height
    max_area = resolution[0] * resolution[1]
    if width * height <= max_area:
        assert bw * bh <= max_area
    else:  # sd-scripts rounds the downscaled sides to the *nearest* step, so the area may overshoot a little
        rw = math.sqrt(max_area * width / height)
        assert bw * bh <= (rw + steps) * (max_area / rw + steps)


@settings(max_examples=60, deadline=None)
@given(bucket_settings())
def test_bucket_list_sorted_unique_and_contains_transposes(settings_):
    resolution, min_reso, max_reso, steps = settings_
    manager = make_buckets(resolution, min_reso, max_reso, steps)
    resos = list(manager.predefined)
    assert resos == sorted(set(resos))
    assert all((h, w) in resos for w, h in resos)
    assert resos == make_bucket_resolutions(resolution, manager.min_reso, manager.max_reso, steps)


@settings(max_examples=60, deadline=None)
@given(st.integers(8, 64).map(lambda n: n * 32), st.integers(8, 64).map(lambda n: n * 32), SIDE, SIDE)
def test_bucketing_off_is_one_bucket(w, h, width, height):
    a = make_buckets((w, h), enable_bucket=False).assign(width, height)
    assert a.bucket == (w, h) and a.resized_size[0] >= w and a.resized_size[1] >= h
