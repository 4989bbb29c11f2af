"""Header-only image sizes agree with Pillow, ignore EXIF rotation, and fail cleanly on bad files."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from PIL import Image

from loratui.core.dataset import ImageSizeError, decode_error, looks_truncated, read_image_size


def save(path: Path, size=(37, 23), fmt="PNG", mode="RGB", **kw) -> Path:
    Image.new(mode, size, 128 if mode in ("L", "I;16") else (10, 200, 30)[: len(mode)] or 0).save(path, fmt, **kw)
    return path


@pytest.mark.parametrize(
    "fmt, mode, kw",
    [
        ("PNG", "RGB", {}),
        ("PNG", "RGBA", {}),
        ("PNG", "L", {}),
        ("PNG", "P", {}),
        ("JPEG", "RGB", {}),
        ("JPEG", "L", {}),
        ("JPEG", "RGB", {"progressive": True}),
        ("JPEG", "CMYK", {}),
        ("WEBP", "RGB", {"lossless": False}),
        ("WEBP", "RGB", {"lossless": True}),
        ("WEBP", "RGBA", {}),
        ("BMP", "RGB", {}),
        ("BMP", "L", {}),
        ("GIF", "P", {}),  # not a kohya extension, but the Pillow fallback must handle it
        ("TIFF", "RGB", {}),
    ],
)
@pytest.mark.parametrize("size", [(1, 1), (37, 23), (1000, 3)])
def test_matches_pillow(tmp_path, fmt, mode, kw, size):
    path = tmp_path / f"x.{fmt.lower()}"
    Image.new(mode, size).save(path, fmt, **kw)
    with Image.open(path) as image:
        assert read_image_size(path) == image.size == size


def test_large_webp_and_jpeg(tmp_path):
    for fmt in ("WEBP", "JPEG", "PNG"):
        path = tmp_path / f"big.{fmt}"
        Image.new("RGB", (4000, 2500)).save(path, fmt)
        assert read_image_size(path) == (4000, 2500)


def test_exif_orientation_is_not_applied(tmp_path):
    # sd-scripts loads images without exif_transpose: a 60x20 image tagged "rotate 90" trains as 60x20.
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rot.jpg"
    Image.new("RGB", (60, 20)).save(path, "JPEG", exif=exif.tobytes())
    assert read_image_size(path) == (60, 20)


def test_jpeg_with_large_app_segments(tmp_path):
    # A big EXIF/ICC block before the frame header: the parser must seek past it.
    path = tmp_path / "icc.jpg"
    Image.new("RGB", (70, 30)).save(path, "JPEG", icc_profile=b"\0" * 200_000, exif=b"Exif\0\0" + b"\0" * 60_000)
    assert read_image_size(path) == (70, 30)


def test_sniffs_content_not_extension(tmp_path):
    path = save(tmp_path / "really_png.jpg", (11, 7), "PNG")
    assert read_image_size(path) == (11, 7)


def test_bmp_top_down_and_core_header(tmp_path):
    top_down = tmp_path / "td.bmp"
    data = bytearray(save(tmp_path / "a.bmp", (5, 4), "BMP").read_bytes())
    data[22:26] = struct.pack("<i", -4)
    top_down.write_bytes(bytes(data))
    assert read_image_size(top_down) == (5, 4)
    core = tmp_path / "core.bmp"
    core.write_bytes(b"BM" + b"\0" * 12 + struct.pack("<IHHHH", 12, 300, 200, 1, 24) + b"\0" * 16)
    assert read_image_size(core) == (300, 200)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\0\0", "truncated"),
        (b"\xff\xd8\xff\xe0\0\x10JFIF", "JPEG"),
        (b"\xff\xd8\xff\xda\0\x02", "JPEG"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "WebP"),
        (b"BM\0\0", "BMP"),
        (b"hello, I am text pretending to be an image", "not a recognised image"),
    ],
)
def test_bad_files_raise_image_size_error(tmp_path, content, message):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageSizeError, match=message):
        read_image_size(path)


def test_missing_file_is_image_size_error(tmp_path):
    with pytest.raises(ImageSizeError, match="cannot read"):
        read_image_size(tmp_path / "nope.png")


def test_truncated_tail_detection(tmp_path):
    buf = io.BytesIO()
    Image.effect_noise((64, 64), 50).convert("RGB").save(buf, "PNG")
    png = buf.getvalue()
    (tmp_path / "ok.png").write_bytes(png)
    (tmp_path / "cut.png").write_bytes(png[: len(png) // 2])
    assert not looks_truncated(tmp_path / "ok.png")
    assert looks_truncated(tmp_path / "cut.png")
    assert read_image_size(tmp_path / "cut.png") == (64, 64)  # the header alone looks fine
    buf = io.BytesIO()
    Image.effect_noise((64, 64), 50).convert("RGB").save(buf, "JPEG")
    jpg = buf.getvalue()
    (tmp_path / "ok.jpg").write_bytes(jpg + b"\0" * 10)  # padding after EOI is fine
    (tmp_path / "cut.jpg").write_bytes(jpg[: len(jpg) // 2])
    assert not looks_truncated(tmp_path / "ok.jpg")
    assert looks_truncated(tmp_path / "cut.jpg")


def test_decode_error(tmp_path):
    buf = io.BytesIO()
    Image.effect_noise((64, 64), 50).convert("RGB").save(buf, "PNG")
    (tmp_path / "ok.png").write_bytes(buf.getvalue())
    (tmp_path / "cut.png").write_bytes(buf.getvalue()[:300])
    assert decode_error(tmp_path / "ok.png") is None
    assert decode_error(tmp_path / "cut.png")
