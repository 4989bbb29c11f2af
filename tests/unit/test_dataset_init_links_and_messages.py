"""`dataset init` links only images (captions are copied), names the images it leaves behind; `dataset
scan` names broken links, folders without a repeat prefix, over-large images and bad caption extensions
in one line each."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli
from loratui.core.dataset import init_project, scan_dataset
from loratui.core.errors import LoratuiError


def run(*args: str):
    return CliRunner().invoke(cli, ["dataset", *args], catch_exceptions=False)


def source(tmp_path: Path, others: tuple[str, ...] = ()) -> Path:
    """src/ with a.png + a.txt, b.jpg (no caption), and each of ``others`` (an unsupported image) with
    a caption."""
    src = tmp_path / "src"
    src.mkdir()
    Image.new("RGB", (16, 8)).save(src / "a.png")
    Image.new("RGB", (16, 8)).save(src / "b.jpg")
    (src / "a.txt").write_text("sks, smiling")
    for name in others:
        (src / name).write_bytes(b"not really an image")
        (src / (os.path.splitext(name)[0] + ".txt")).write_text("left behind")
    return src


def fake_png(path: Path, width: int, height: int) -> None:
    """A PNG header claiming width x height (a few bytes on disk)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


# ---- init: --link / --hardlink link the images, copy the captions ----------------------------------


@pytest.mark.parametrize("mode", ["symlink", "hardlink"])
def test_linked_init_copies_the_captions(tmp_path, mode):
    src = source(tmp_path)
    result = init_project(tmp_path / "p", "x", 2, src, mode=mode)
    image, caption = result.concept_dir / "a.png", result.concept_dir / "a.txt"
    if mode == "symlink":
        assert image.is_symlink()
    else:
        assert os.stat(image).st_ino == os.stat(src / "a.png").st_ino
    assert not caption.is_symlink() and os.stat(caption).st_ino != os.stat(src / "a.txt").st_ino
    caption.write_text("sks, smiling, edited")  # an edit in the project ...
    assert (src / "a.txt").read_text() == "sks, smiling"  # ... leaves the source caption alone


@pytest.mark.parametrize("flag, verb", [("--link", "linked"), ("--hardlink", "hard-linked")])
def test_linked_init_says_the_captions_were_copied(tmp_path, flag, verb):
    src = source(tmp_path)
    result = run("init", str(tmp_path / "p"), "--concept", "x", "--repeats", "2", "--images", str(src), flag)
    assert result.exit_code == 0, result.output
    assert f"{verb} 2 image(s), copied 1 caption(s) into" in result.output
    assert "Captions are always copied" in run("init", "--help").output


def test_linked_init_into_an_existing_concept_folder_copies_the_captions(tmp_path):
    src = source(tmp_path)
    concept = tmp_path / "p" / "img" / "2_x"
    concept.mkdir(parents=True)
    init_project(tmp_path / "p", "x", 2, src, mode="symlink")
    assert (concept / "a.png").is_symlink() and not (concept / "a.txt").is_symlink()


# ---- init: images sd-scripts does not train are named, not silently left behind -------------------


def test_init_names_the_images_it_skips(tmp_path):
    src = source(tmp_path, others=("c.avif", "d.gif", "e.tiff", "f.jxl"))
    result = init_project(tmp_path / "p", "x", 2, src)
    assert sorted(p.name for p in result.concept_dir.iterdir()) == ["a.png", "a.txt", "b.jpg"]
    assert [p.name for p in result.skipped_images] == ["c.avif", "d.gif", "e.tiff", "f.jxl"]
    assert [p.name for p in result.skipped_captions] == ["c.txt", "d.txt", "e.txt", "f.txt"]
    assert result.skipped_formats == ["AVIF", "GIF", "TIFF", "JXL"]

    out = run("init", str(tmp_path / "q"), "--concept", "x", "--repeats", "2", "--images", str(src)).output
    lines = [line for line in out.splitlines() if line.startswith("skipped")]
    assert lines == [f"skipped 4 image(s) sd-scripts does not train (AVIF, GIF, TIFF, JXL) and their 4 caption(s): "
                     f"convert them to PNG, then copy them from {src}/ into {tmp_path / 'q' / 'img' / '2_x'}/"]


def test_init_says_nothing_when_nothing_is_skipped(tmp_path):
    out = run("init", str(tmp_path / "q"), "--concept", "x", "--repeats", "2", "--images", str(source(tmp_path))).output
    assert "skipped" not in out


def test_init_from_a_folder_of_only_unsupported_images_says_to_convert(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.avif").write_bytes(b"x")
    with pytest.raises(LoratuiError, match=r"has no images .*its 1 AVIF image\(s\) .*convert them to PNG"):
        init_project(tmp_path / "p", "x", 2, src)
    assert not (tmp_path / "p").exists()


# ---- scan: broken links, folders without a repeat prefix -------------------------------------------


def test_scan_names_a_broken_link_where_a_concept_folder_is(tmp_path):
    (tmp_path / "5_ok").mkdir()
    Image.new("RGB", (16, 8)).save(tmp_path / "5_ok" / "a.png")
    (tmp_path / "4_dangling").symlink_to(tmp_path / "nonexist")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    problems = {p.path.name: p for p in scan_dataset(tmp_path).problems}
    dangling = problems["4_dangling"]
    assert dangling.kind == "broken_link" and dangling.severity == "warning"
    assert dangling.message == (f"train folder: '4_dangling' is a broken link (to '{tmp_path / 'nonexist'}', which "
                                "does not exist): sd-scripts skips it; point it at the real concept folder or remove it")
    assert "a loop of links" in problems["loop"].message
    assert "is a file where" not in run("scan", str(tmp_path)).output


def test_scan_names_a_broken_image_link_inside_a_concept_folder(tmp_path):
    (tmp_path / "5_ok").mkdir()
    Image.new("RGB", (16, 8)).save(tmp_path / "5_ok" / "a.png")
    (tmp_path / "5_ok" / "b.png").symlink_to("gone.png")
    problem = next(p for p in scan_dataset(tmp_path).problems if p.path.name == "b.png")
    assert problem.kind == "not_a_file"
    assert problem.message.startswith("5_ok/b.png is a broken link (to 'gone.png', which does not exist)")


def test_scan_names_a_folder_without_a_repeat_prefix(tmp_path):
    for name in ("5_ok", "abc_x"):
        (tmp_path / name).mkdir()
        Image.new("RGB", (16, 8)).save(tmp_path / name / "a.png")
    out = run("scan", str(tmp_path)).output
    assert "train folder 'abc_x' has no `N_` repeat prefix: sd-scripts skips it (rename it to e.g. '10_abc_x')" in out


def test_scan_says_why_a_caption_of_an_unsupported_image_is_unused(tmp_path):
    folder = tmp_path / "5_ok"
    folder.mkdir()
    Image.new("RGB", (16, 8)).save(folder / "a.png")
    (folder / "b.avif").write_bytes(b"x")
    (folder / "b.txt").write_text("b")
    problem = next(p for p in scan_dataset(tmp_path).problems if p.kind == "orphan_caption")
    assert problem.message == ("5_ok/b.txt is not used: its image b.avif is in a format sd-scripts does not train "
                               "(convert the image to PNG)")


# ---- scan: over-large images say what loratui and sd-scripts do ------------------------------------


@pytest.mark.parametrize("width, height, kind, words", [
    (12000, 9000, "large_image", "12000x9000 is 108 megapixels, over Pillow's decompression-bomb warning size (89 MP): "
                                 "it trains, as in sd-scripts, but every load decodes 324 MB; downscale it to save "
                                 "time and memory"),
    (30000, 30000, "unreadable_image", "30000x30000 is 900 megapixels, over Pillow's decompression-bomb limit (179 "
                                       "MP): neither loratui nor sd-scripts can open it; downscale it under 179 MP to "
                                       "train it; it is left out of training"),
])
def test_scan_large_image_message(tmp_path, width, height, kind, words):
    fake_png(tmp_path / "5_ok" / "big.png", width, height)
    (problem,) = [p for p in scan_dataset(tmp_path).problems if p.path.name == "big.png" and p.kind == kind]
    assert problem.message == f"5_ok/big.png: {words}"


def test_trainer_and_scan_use_the_same_pixel_limit():
    from PIL import Image as PILImage

    from loratui.core.dataset.scan import MAX_IMAGE_PIXELS

    assert MAX_IMAGE_PIXELS == PILImage.MAX_IMAGE_PIXELS  # Pillow refuses images over twice it, as the scan


# ---- scan / init: a caption extension that is none is quoted as given ------------------------------


@pytest.mark.parametrize("value", ["", ".", ".png"])
@pytest.mark.parametrize("command", ["scan", "init"])
def test_bad_caption_extension_quotes_what_was_given(tmp_path, value, command):
    Image.new("RGB", (16, 8)).save(tmp_path / "a.png")
    args = ["scan", str(tmp_path)] if command == "scan" else \
        ["init", str(tmp_path / "p"), "--concept", "x", "--repeats", "1", "--images", str(tmp_path)]
    with pytest.raises(LoratuiError, match=rf"^--caption-extension '{value}': .*\.txt or \.caption") as info:
        run(*args, "--caption-extension", value)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "p").exists()


def test_caption_extension_without_dot_still_works(tmp_path):
    (tmp_path / "1_a").mkdir()
    Image.new("RGB", (16, 8)).save(tmp_path / "1_a" / "a.png")
    (tmp_path / "1_a" / "a.caption").write_text("hi")
    assert "no problems found" in run("scan", str(tmp_path), "--caption-extension", "caption").output
