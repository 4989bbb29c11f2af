"""Hostile inputs in the training data (hunt h6): 16-bit grey images train as their grey, not as solid
white; captions train as sd-scripts reads them (a blank first line is an empty prompt, a lone CR ends
the line, separators only train as that text), each odd one with a note that says so."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from loratui.engine.data import load_image_for_bucket, read_caption_text


class Assignment:
    resized_size = bucket = (32, 32)


def _load(path):
    return load_image_for_bucket(str(path), Assignment(), random_crop=False, rng=None, flip=False)


@pytest.mark.parametrize("mode, name", [("I;16", "grey.png"), ("I", "grey.tif")])  # 16-bit PNG, 32-bit TIFF
def test_16_bit_grey_is_scaled_to_8_bits_not_clipped_to_white(tmp_path, mode, name):
    path = tmp_path / name
    Image.new(mode, (32, 32), 30000).save(path)
    with Image.open(path) as im:
        assert im.mode == mode
    array = _load(path)
    assert array.shape == (32, 32, 3) and array.dtype == np.uint8
    assert np.all(array == round(30000 * 255 / 65535))  # 117, as the captioners and the preview show it


def test_a_16_bit_gradient_keeps_its_range(tmp_path):
    ramp = np.tile(np.linspace(0, 65535, 32).astype(np.uint16), (32, 1))
    path = tmp_path / "ramp.png"
    Image.fromarray(ramp).save(path)  # uint16: mode I;16
    array = _load(path)[..., 0]
    assert array.min() == 0 and array.max() == 255
    assert (array == 255).mean() < 0.1  # was 99.6 % white


def test_float_and_8_bit_images_are_unchanged_by_the_scaling(tmp_path):
    path = tmp_path / "f.tif"
    Image.fromarray(np.full((32, 32), 0.5, dtype=np.float32), "F").save(path)
    assert np.all(_load(path) == 128)
    rgb = tmp_path / "rgb.png"
    Image.new("RGB", (32, 32), (10, 200, 30)).save(rgb)
    assert tuple(_load(rgb)[0, 0]) == (10, 200, 30)


def _caption(tmp_path, name, data, notes):
    (tmp_path / name).write_bytes(data)
    image = SimpleNamespace(caption_path=tmp_path / name, path=tmp_path / name.replace(".txt", ".png"))
    return read_caption_text(image, SimpleNamespace(class_tokens="alice"), ".txt", notes)


def test_captions_train_as_sd_scripts_reads_them_and_each_odd_one_is_noted(tmp_path):
    notes: list[str] = []
    # sd-scripts: lines[0].strip() of readlines() (universal newlines); "" is a caption, not a missing one
    assert _caption(tmp_path, "blank.txt", b"   \n", notes) == ""
    assert _caption(tmp_path, "later.txt", b"\n\nreal, tags\n", notes) == ""
    assert _caption(tmp_path, "seps.txt", b" , ,, ,\t,\n", notes) == ", ,, ,\t,"
    assert _caption(tmp_path, "cr.txt", b"a1, a2\rhidden1, hidden2\n", notes) == "a1, a2"
    assert _caption(tmp_path, "u16.txt", "red, blue\n".encode("utf-16-le"), notes) == "red, blue"
    assert _caption(tmp_path, "empty.txt", b"", notes) == "alice"  # sd-scripts stops here; loratui warns
    by_file = {name: [n for n in notes if f"{name}:" in n] for name in
               ("blank.txt", "later.txt", "seps.txt", "cr.txt", "u16.txt", "empty.txt")}
    assert "trains with an empty prompt, as in sd-scripts" in by_file["blank.txt"][0]
    assert "trains with an empty prompt" in by_file["later.txt"][0]
    assert "holds only separators" in by_file["seps.txt"][0]
    assert by_file["cr.txt"] == []
    assert "read as utf-16-le without a byte-order mark" in by_file["u16.txt"][0]
    assert "sd-scripts stops at a file with no line" in by_file["empty.txt"][0]
    assert not any("sd-scripts stops at an empty caption" in n for n in notes)
