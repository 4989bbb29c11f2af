"""The scan on images sd-scripts trains in ways a user does not expect (h2 findings 2-5 and 7), and
`dataset init`'s warning on images that cannot be loaded (finding 6)."""

from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.core.dataset import scan_dataset


def header_png(path: Path, width: int, height: int, colour: int = 2) -> Path:
    """A PNG of the given header size (a few bytes on disk: the scan reads headers only)."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"") + chunk(b"IEND", b""))
    return path


def problems(root: Path, kind: str) -> list:
    return [p for p in scan_dataset(root).problems if p.kind == kind]


def test_images_between_pillows_warning_size_and_its_limit_train_with_a_note(tmp_path):
    header_png(tmp_path / "5_gfx" / "gfx.png", 11648, 8736)
    header_png(tmp_path / "5_gfx" / "huge.png", 14000, 14000)
    scan = scan_dataset(tmp_path)
    assert [i.path.name for s in scan.subsets for i in s.images] == ["gfx.png"]
    (large,) = [p for p in scan.problems if p.kind == "large_image"]
    assert large.severity == "info" and large.message.startswith(
        "5_gfx/gfx.png: 11648x8736 is 102 megapixels, over Pillow's decompression-bomb warning size (89 MP): it "
        "trains, as in sd-scripts")
    (huge,) = [p for p in scan.problems if p.kind == "unreadable_image"]
    assert huge.message == ("5_gfx/huge.png: 14000x14000 is 196 megapixels, over Pillow's decompression-bomb limit "
                            "(179 MP): neither loratui nor sd-scripts can open it; downscale it under 179 MP to train "
                            "it; it is left out of training")


def test_transparent_pixels_are_named_once_per_folder_opaque_alpha_is_not(tmp_path):
    folder = tmp_path / "1_x"
    folder.mkdir()
    clear = np.zeros((8, 8, 4), np.uint8)
    clear[..., 0] = 255
    Image.fromarray(clear).save(folder / "red_under.png")
    Image.new("RGBA", (8, 8), (0, 0, 0, 255)).save(folder / "opaque.png")
    palette = Image.new("P", (8, 8), 0)
    palette.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    palette.save(folder / "keyed.png", transparency=0)
    Image.new("RGB", (8, 8)).save(folder / "plain.jpg")
    (note,) = problems(tmp_path, "transparent_pixels")
    assert note.severity == "warning" and note.path == folder
    assert note.message.startswith("1_x/: 2 image(s) with transparent pixels: keyed.png, red_under.png: training "
                                   "sees the colour stored under them")
    assert "flatten" in note.message and "taggers see white" in note.message


def test_exif_rotations_are_named_with_the_fix(tmp_path):
    folder = tmp_path / "1_x"
    folder.mkdir()
    for orientation in (1, 6):
        exif = Image.Exif()
        exif[0x0112] = orientation
        Image.new("RGB", (16, 8)).save(folder / f"o{orientation}.jpg", exif=exif.tobytes())
    exif = Image.Exif()
    exif[0x0112] = 8
    Image.new("RGB", (16, 8)).save(folder / "w8.webp", exif=exif.tobytes())
    (note,) = problems(tmp_path, "exif_orientation")
    assert note.message.startswith("1_x/: 2 image(s) with an EXIF rotation: o6.jpg (Orientation 6), w8.webp "
                                   "(Orientation 8): ")
    assert "mogrify -auto-orient" in note.message


def test_16_bit_grey_is_said_once_and_an_extreme_shape_is_named(tmp_path):
    folder = tmp_path / "1_x"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(np.full((8, 8), 30000, np.uint16)).save(folder / name)
    Image.new("RGB", (8, 4096)).save(folder / "tall.png")
    (note,) = problems(tmp_path, "high_bit_image")
    assert note.message.startswith("1_x/: 2 16-bit grey image(s): a.png, b.png: loratui scales them to 8 bits")
    assert "sd-scripts clips them" in note.message
    (tall,) = problems(tmp_path, "extreme_aspect")
    assert tall.message.startswith("1_x/tall.png is 8x4096 (1:512): far narrower than any bucket")


@pytest.mark.parametrize("name", ["a.tga", "b.jp2", "c.ppm", "d.pgm", "e.pbm", "f.pnm", "g.j2k"])
def test_other_pillow_formats_are_named_not_dropped(tmp_path, name):
    folder = tmp_path / "1_t"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(folder / "d.png")
    (folder / name).write_bytes(b"x")
    (found,) = problems(tmp_path, "unsupported_image")
    assert found.message.startswith(f"1_t/{name}: {name.rsplit('.', 1)[1].upper()} images are not trained")


def test_a_line_break_in_a_name_stays_on_one_line(tmp_path):
    folder = tmp_path / "1_x"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(folder / "new\nline.png", format="PNG")
    (folder / "cut\nshort.png").write_bytes(b"")
    scan = scan_dataset(tmp_path)
    assert all("\n" not in p.message for p in scan.problems)
    missing = next(p for p in scan.problems if p.kind == "missing_caption")
    assert missing.message.startswith("1_x/'new\\nline.png' has no caption")
    from loratui.engine.data import left_out_line

    (left,) = scan.left_out
    assert "\n" not in left_out_line(left) and left_out_line(left).endswith("short.png': empty file (0 bytes); it "
                                                                            "is left out of training")


def test_init_warns_about_a_cut_jpeg_as_the_scan_would(tmp_path):
    from loratui.cli import cli

    src = tmp_path / "src"
    src.mkdir()
    data = Image.new("RGB", (64, 64), (9, 9, 9))
    data.save(src / "whole.jpg")
    (src / "cut.jpg").write_bytes((src / "whole.jpg").read_bytes()[:200])
    header_png(src / "huge.png", 14000, 14000)
    result = CliRunner().invoke(cli, ["dataset", "init", str(tmp_path / "p"), "--concept", "t", "--repeats", "1",
                                       "--images", str(src)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(lines) == 2
    assert any("cut.jpg: not a readable image (truncated or corrupt" in line for line in lines)
    assert any("huge.png: not a readable image (14000x14000 is 196 megapixels" in line for line in lines)


def test_header_alpha_only_decodes_where_the_header_says_so(tmp_path, monkeypatch):
    from loratui.core.dataset import imagesize

    folder = tmp_path / "1_x"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(folder / "rgb.png")
    Image.new("RGBA", (8, 8), (1, 2, 3, 4)).save(folder / "rgba.png")
    decoded = []
    real = imagesize.has_transparent_pixels
    monkeypatch.setattr(imagesize, "has_transparent_pixels", lambda path: decoded.append(path.name) or real(path))
    monkeypatch.setattr(imagesize, "_transparency_seen", {})
    scan_dataset(tmp_path)
    scan_dataset(tmp_path)  # remembered per file version
    assert decoded == ["rgba.png"]


def test_out_of_time_the_alpha_images_are_named_unchecked(tmp_path, monkeypatch):
    from loratui.core.dataset import imagesize

    folder = tmp_path / "1_x"
    folder.mkdir()
    Image.new("RGBA", (8, 8), (1, 2, 3, 4)).save(folder / "rgba.png")
    monkeypatch.setattr(imagesize, "TRANSPARENCY_BUDGET_S", 0.0)
    monkeypatch.setattr(imagesize, "_transparency_seen", {})
    monkeypatch.setattr(imagesize, "has_transparent_pixels", lambda path: __import__("time").sleep(0.5) or True)
    (note,) = problems(tmp_path, "transparency_unchecked")
    assert note.message.startswith("1_x/: 1 image(s) with an alpha channel not yet checked") and "rgba.png" in \
        note.message


def test_pillows_bomb_warning_neither_prints_nor_raises_under_error_filters(tmp_path, monkeypatch):
    from loratui.captioners.images import load_image
    from loratui.engine.data import load_image_for_bucket
    from loratui.core.dataset import scan as scan_module

    path = tmp_path / "a.png"
    Image.new("RGB", (64, 64), (5, 6, 7)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 3000)  # 4096 px: over the warning size, under 2x

    class Assignment:
        resized_size = bucket = (64, 64)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_image_for_bucket(str(path), Assignment(), random_crop=False, rng=None, flip=False).shape == \
            (64, 64, 3)
        assert load_image(path).size == (64, 64)
        assert scan_module.decode_error(path) is None
