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


@pytest.mark.parametrize("limit", [1000, 2000])  # 4096 px: over twice the limit Pillow raises (under it, it loads)
def test_an_image_grown_past_the_bomb_limit_since_the_scan_is_one_line(tmp_path, monkeypatch, limit):
    from PIL import Image

    path = write_png(tmp_path / "a.png", size=(64, 64))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)

    class Assignment:
        resized_size = bucket = (64, 64)

    with pytest.raises(LoratuiError, match="decompression[- ]bomb"):
        load_image_for_bucket(str(path), Assignment(), random_crop=False, rng=None, flip=False)


def test_captions_are_decoded_as_the_tag_tools_read_them_and_the_odd_ones_are_named(tmp_path):
    """A UTF-16 caption trained as 'ÿþa\\x00l\\x00...' and an empty one as the class tokens, without a word."""
    from types import SimpleNamespace

    from loratui.engine.data import read_caption_text

    subset = SimpleNamespace(class_tokens="alice")
    cases = {"u16.txt": "\ufeffalice, utf16 tag\n".encode("utf-16-le"), "bom.txt": b"\xef\xbb\xbfred, blue\n",
             "cp.txt": "caf\u00e9, na\u00efve\n".encode("cp1252"), "empty.txt": b"", "plain.txt": b"a, b\r\nmore\n", "mixed.txt": b"c, d\re\nf\n",
             "sep.txt": "g\u2028h, i \n".encode(), "badbom.txt": b"\xef\xbb\xbfj\xff, k\n"}
    notes: list[str] = []
    got = {}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        image = SimpleNamespace(caption_path=tmp_path / name, path=tmp_path / name.replace(".txt", ".png"))
        got[name] = read_caption_text(image, subset, ".txt", notes)
    assert got == {"u16.txt": "alice, utf16 tag", "bom.txt": "red, blue", "cp.txt": "caf\u00e9, na\u00efve",
                   "empty.txt": "alice", "plain.txt": "a, b", "mixed.txt": "c, d", "sep.txt": "g\u2028h, i",
                   "badbom.txt": "j\u00ff, k"}  # a UTF-8 BOM before cp1252 text: read as tags to-utf8 reads it
    assert len(notes) == 4
    assert any("u16.txt: the caption is not UTF-8 (read as utf-16-le)" in n for n in notes)
    assert any("cp.txt: the caption is not UTF-8 (read as cp1252)" in n for n in notes)
    assert any("empty.txt: the caption is empty: this image trains with its folder's class tokens 'alice'" in n
               for n in notes)
    missing = SimpleNamespace(caption_path=None, path=tmp_path / "none.png")
    assert read_caption_text(missing, subset, ".txt", notes) == "alice" and len(notes) == 4
