"""load_image: every bad-image kind gives a BadImage reason or a faithful 8-bit conversion."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from loratui.captioners.images import BadImage, load_image


def save(tmp_path, name, im, **kw):
    path = tmp_path / name
    im.save(path, **kw)
    return path


def test_zero_byte_truncated_corrupt(tmp_path):
    (tmp_path / "z.png").write_bytes(b"")
    buf = io.BytesIO()
    Image.new("RGB", (300, 300), (1, 2, 3)).save(buf, "JPEG")
    (tmp_path / "t.jpg").write_bytes(buf.getvalue()[:400])
    (tmp_path / "c.jpg").write_bytes(b"not an image at all" * 10)
    for name, word in [("z.png", "zero-byte"), ("t.jpg", "truncated"), ("c.jpg", "corrupt")]:
        with pytest.raises(BadImage, match=word):
            load_image(tmp_path / name)


def test_decompression_bomb(tmp_path):
    path = save(tmp_path, "big.png", Image.new("RGB", (200, 200)))
    with pytest.raises(BadImage, match="decompression bomb"):
        load_image(path, max_pixels=100 * 100)


def test_16bit_scaled_not_clipped(tmp_path):
    arr = np.array([[0, 65535, 32768, 257]], dtype=np.uint16)
    path = save(tmp_path, "g16.png", Image.fromarray(arr))
    im = load_image(path)
    assert im.mode == "RGB"
    assert [p[0] for p in np.asarray(im)[0]] == [0, 255, 128, 1]
    assert im.info["loratui_warning"] == "16-bit image: scaled to 8 bits"


def test_cmyk_palette_alpha_animated(tmp_path):
    cmyk = load_image(save(tmp_path, "c.jpg", Image.new("CMYK", (8, 8), (0, 0, 0, 0))))
    assert cmyk.mode == "RGB" and "CMYK image" in cmyk.info["loratui_warning"]
    pal = Image.new("P", (8, 8), 1)
    pal.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im = load_image(save(tmp_path, "p.png", pal, transparency=1))
    assert im.mode == "RGBA" and im.getpixel((0, 0))[3] == 0 and "loratui_warning" not in im.info
    frames = [Image.new("RGB", (8, 8), c) for c in [(255, 0, 0), (0, 0, 255)]]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    im = load_image(path)
    assert "first frame" in im.info["loratui_warning"]
    assert im.convert("RGB").getpixel((0, 0)) == (255, 0, 0)
    assert load_image(save(tmp_path, "la.png", Image.new("LA", (4, 4), (9, 100)))).mode == "RGBA"
