"""Images the training data leaves out are named with why (issue 11): never a silent skip."""

from __future__ import annotations

import pytest

from fixtures.bad_inputs import make_project, write_png
from loratui.core.config import load_config, with_resolved_paths
from loratui.core.errors import LoratuiError
from loratui.engine.data import TrainingData, load_image_for_bucket


def test_every_left_out_image_is_one_line_naming_it(tmp_path):
    config = make_project(tmp_path, images=2)
    folder = tmp_path / "img" / "10_cat"
    (folder / "zero.png").write_bytes(b"")
    data = (folder / "0.png").read_bytes()
    (folder / "cut.png").write_bytes(data[: len(data) // 2])
    (folder / "noise.jpg").write_bytes(b"\xff\xd8\xff" + bytes(100))
    write_png(folder / "anim.gif")
    (folder / "dir.txt").mkdir()  # where a caption would be: the image trains with its class tokens
    write_png(folder / "dir.png")
    data = TrainingData(with_resolved_paths(load_config(config)), None)
    assert sorted(line.split(":")[0] for line in data.skipped) == sorted(
        str(folder / n) for n in ("zero.png", "cut.png", "noise.jpg", "anim.gif"))
    assert any(line == f"{folder / 'zero.png'}: empty file (0 bytes); it is left out of training"
               for line in data.skipped)
    assert data.captions[str(folder / "dir.png")] == "cat"
    assert len(data.captions) == 3


def test_no_image_left_is_an_error_naming_one(tmp_path):
    config = make_project(tmp_path, images=1)
    (tmp_path / "img" / "10_cat" / "0.png").write_bytes(b"")
    with pytest.raises(LoratuiError, match=r"no usable training images under .*: all 1 are left out \(first: "
                                           r"10_cat/0.png: empty file"):
        TrainingData(with_resolved_paths(load_config(config)), None)


@pytest.mark.parametrize("limit", [1000, 3000])  # over twice the limit Pillow raises, over it it warns
def test_an_image_grown_past_the_bomb_limit_since_the_scan_is_one_line(tmp_path, monkeypatch, limit):
    from PIL import Image

    path = write_png(tmp_path / "a.png", size=(64, 64))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)

    class Assignment:
        resized_size = bucket = (64, 64)

    with pytest.raises(LoratuiError, match="decompression[- ]bomb"):
        load_image_for_bucket(str(path), Assignment(), random_crop=False, rng=None, flip=False)
