"""scan_dataset on tiny kohya-style folders built with Pillow."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from loratui.core.dataset import DatasetScan, parse_subset_name, scan_dataset
from loratui.core.errors import LoratuiError


def make_image(path: Path, size=(64, 48), fmt: str | None = None, **save_args) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "RGBA" if save_args.pop("alpha", False) else "RGB"
    Image.new(mode, size, (200, 30, 30)).save(path, format=fmt, **save_args)
    return path


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def kinds(scan: DatasetScan) -> dict[str, list]:
    return {kind: [p.path.name for p in ps] for kind, ps in scan.problems_by_kind().items()}


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    """One dataset with every problem the scanner knows about."""
    img = tmp_path / "img"
    a = img / "10_sks dog"
    make_image(a / "p1.png", (64, 48))
    write(a / "p1.txt", "sks dog, grass\n")
    make_image(a / "j1.JPG", (40, 80), fmt="JPEG")
    write(a / "j1.txt", "sks dog\nsecond line\n")
    make_image(a / "w1.webp", (30, 20), lossless=False)
    make_image(a / "w2.WEBP", (31, 21), lossless=True)
    make_image(a / "w3.webp", (33, 22), alpha=True)  # VP8X with alpha
    make_image(a / "b1.bmp", (17, 9))
    write(a / "b1.txt", "bmp")
    write(a / "zero.png", b"")
    write(a / "trunc.png", (a / "p1.png").read_bytes()[:20])
    write(a / "orphan.txt", "nobody's caption")
    make_image(a / "dup.png", (10, 10))
    make_image(a / "dup.jpg", (10, 10), fmt="JPEG")
    write(a / "dup.txt", "shared")
    write(a / "notes.md", "not a caption")
    make_image(a / ".hidden.png")  # sd-scripts' glob never matches dotfiles
    make_image(a / "nested" / "deep.png")
    (img / "3_empty").mkdir()
    make_image(img / "photos" / "x.png")  # no repeat prefix
    make_image(img / "0_zero" / "x.png")  # zero repeats
    make_image(img / "loose.png")  # directly in train dir
    make_image(img / "5_" / "t.png", (8, 8))  # no class tokens: allowed
    return img


def test_subsets_repeats_and_tokens(messy: Path):
    scan = scan_dataset(messy)
    names = [s.name for s in scan.subsets]
    assert names == ["10_sks dog", "3_empty", "5_"]
    a, empty, bare = scan.subsets
    assert (a.repeats, a.class_tokens, a.is_reg) == (10, "sks dog", False)
    assert (bare.repeats, bare.class_tokens) == (5, "")
    assert empty.images == [] and empty.samples == 0
    assert scan.reg_subsets == [] and scan.train_subsets == scan.subsets


def test_image_sizes_and_captions(messy: Path):
    a = scan_dataset(messy).subsets[0]
    by_name = {i.path.name: i for i in a.images}
    assert set(by_name) == {"p1.png", "j1.JPG", "w1.webp", "w2.WEBP", "w3.webp", "b1.bmp", "dup.png", "dup.jpg"}
    assert by_name["p1.png"].size == (64, 48)
    assert by_name["j1.JPG"].size == (40, 80)
    assert by_name["w1.webp"].size == (30, 20)
    assert by_name["w2.WEBP"].size == (31, 21)
    assert by_name["w3.webp"].size == (33, 22)
    assert by_name["b1.bmp"].size == (17, 9)
    assert by_name["p1.png"].caption_path == messy / "10_sks dog" / "p1.txt"
    assert by_name["dup.png"].caption_path == by_name["dup.jpg"].caption_path
    assert by_name["w1.webp"].caption_path is None
    assert a.num_images == 8 and a.num_captioned == 5 and a.samples == 80


def test_problems_reported_not_raised(messy: Path):
    found = kinds(scan_dataset(messy))
    assert sorted(found["unreadable_image"]) == ["trunc.png", "zero.png"]
    assert found["orphan_caption"] == ["orphan.txt"]
    assert found["duplicate_stem"] in (["dup.jpg"], ["dup.png"])
    assert found["multiline_caption"] == ["j1.txt"]
    assert found["empty_folder"] == ["3_empty"]
    assert found["no_repeat_prefix"] == ["photos"]
    assert found["zero_repeats"] == ["0_zero"]
    assert found["nested_folder"] == ["nested"]
    assert found["loose_images"] == ["img"]
    assert sorted(found["missing_caption"]) == ["t.png", "w1.webp", "w2.WEBP", "w3.webp"]
    # a.png/a.jpg do not match an upper-case-only extension rule, but "w2.WEBP" is upper: fine
    assert "extension_case" not in found
    assert ".hidden.png" not in str(found)


def test_severities(messy: Path):
    scan = scan_dataset(messy)
    sev = {p.kind: p.severity for p in scan.problems}
    assert sev["unreadable_image"] == "error"
    assert sev["no_repeat_prefix"] == "warning"
    assert sev["empty_folder"] == "warning"
    assert scan.has_errors
    # errors come first when grouped
    assert next(iter(scan.problems_by_kind())) == "unreadable_image"
    assert all("\n" not in p.message for p in scan.problems)


def test_unreadable_images_are_left_out(messy: Path):
    names = {i.path.name for i in scan_dataset(messy).subsets[0].images}
    assert "zero.png" not in names and "trunc.png" not in names


def test_no_repeat_message_says_sd_scripts_skips(messy: Path):
    problem = next(p for p in scan_dataset(messy).problems if p.kind == "no_repeat_prefix")
    assert "skips" in problem.message and "10_photos" in problem.message


def test_mixed_case_extension_warns(tmp_path: Path):
    make_image(tmp_path / "1_a" / "x.Png")
    scan = scan_dataset(tmp_path)
    assert [i.path.name for i in scan.subsets[0].images] == ["x.Png"]
    assert kinds(scan)["extension_case"] == ["x.Png"]


def test_reg_folder(tmp_path: Path):
    make_image(tmp_path / "img" / "2_a" / "x.png")
    make_image(tmp_path / "reg" / "1_dog" / "r1.png")
    make_image(tmp_path / "reg" / "1_dog" / "r2.jpg", fmt="JPEG")
    scan = scan_dataset(tmp_path / "img", tmp_path / "reg")
    assert [s.name for s in scan.reg_subsets] == ["1_dog"]
    assert scan.reg_subsets[0].is_reg and scan.reg_subsets[0].num_images == 2
    assert scan.num_train_images == 1 and scan.train_samples_per_epoch == 2
    # uncaptioned reg images are normal: info only
    reg_missing = [p for p in scan.problems if p.kind == "missing_caption" and "r" in p.path.name[:1]]
    assert {p.severity for p in reg_missing} == {"info"}
    assert not scan.has_errors


def test_caption_content_problems(tmp_path: Path):
    d = tmp_path / "4_x"
    for stem in ("empty", "blank", "latin1", "crlf", "bom"):
        make_image(d / f"{stem}.png", (8, 8))
    write(d / "empty.txt", "")
    write(d / "blank.txt", "  \n")
    write(d / "latin1.txt", "caf\xe9".encode("latin-1"))
    write(d / "crlf.txt", "one line\r\n")
    write(d / "bom.txt", "\ufefftag1, tag2".encode("utf-8"))
    problems = {(p.kind, p.path.name): p.severity for p in scan_dataset(tmp_path).problems}
    assert problems[("empty_caption", "empty.txt")] == "error"
    assert problems[("empty_caption", "blank.txt")] == "warning"
    assert problems[("caption_not_utf8", "latin1.txt")] == "error"
    assert not any(name == "crlf.txt" for _kind, name in problems)
    assert problems[("caption_bom", "bom.txt")] == "warning"


def test_face_crop_caption_fallback(tmp_path: Path):
    d = tmp_path / "1_x"
    make_image(d / "pic_10_20_30_40.png", (8, 8))
    write(d / "pic.txt", "caption for the uncropped image")
    image = scan_dataset(tmp_path).subsets[0].images[0]
    assert image.caption_path == d / "pic.txt"


def test_custom_caption_extension(tmp_path: Path):
    d = tmp_path / "1_x"
    make_image(d / "a.png", (8, 8))
    write(d / "a.caption", "hello")
    write(d / "a.txt", "ignored")
    scan = scan_dataset(tmp_path, caption_extension=".caption")
    assert scan.subsets[0].images[0].caption_path == d / "a.caption"
    assert "orphan_caption" not in kinds(scan)  # .txt files are not captions here


def test_caption_extension_case_is_reported(tmp_path: Path):
    d = tmp_path / "1_x"
    make_image(d / "a.png", (8, 8))
    write(d / "a.TXT", "hello")
    scan = scan_dataset(tmp_path)
    assert scan.subsets[0].images[0].caption_path is None
    problem = next(p for p in scan.problems if p.kind == "orphan_caption")
    assert "case" in problem.message


def test_empty_train_dir_is_an_error(tmp_path: Path):
    scan = scan_dataset(tmp_path)
    assert [p.kind for p in scan.problems] == ["no_subsets"] and scan.has_errors


def test_bad_arguments_raise(tmp_path: Path):
    with pytest.raises(LoratuiError, match="does not exist"):
        scan_dataset(tmp_path / "missing")
    write(tmp_path / "file", "x")
    with pytest.raises(LoratuiError, match="not a folder"):
        scan_dataset(tmp_path / "file")
    with pytest.raises(LoratuiError, match="dot"):
        scan_dataset(tmp_path, caption_extension="txt")


def test_threaded_scan_matches_serial(messy: Path):
    serial = scan_dataset(messy, workers=1)
    threaded = scan_dataset(messy, workers=4)
    assert serial == threaded


def test_to_dict_is_json_ready(messy: Path):
    import json

    data = json.loads(json.dumps(scan_dataset(messy).to_dict()))
    assert data["subsets"][0]["samples"] == 80
    assert data["errors"] == 2


@pytest.mark.parametrize(
    "name, expected",
    [("10_sks dog", (10, "sks dog")), ("5_", (5, "")), ("7", (7, "")), ("1_a_b", (1, "a_b")),
     ("0_x", (0, "x")), ("photos", None), ("_5_x", None), ("x_5", None)],
)
def test_parse_subset_name(name, expected):
    assert parse_subset_name(name) == expected


def test_truncated_body_is_an_error_but_trailing_bytes_are_not(tmp_path: Path):
    import io

    d = tmp_path / "1_x"
    d.mkdir()
    for fmt, ext in (("PNG", "png"), ("JPEG", "jpg")):
        buf = io.BytesIO()
        Image.effect_noise((64, 64), 60).convert("RGB").save(buf, fmt)
        data = buf.getvalue()
        write(d / f"cut.{ext}", data[: len(data) // 2])
        write(d / f"padded.{ext}", data + b"\0" * 5000)  # some cameras append data after the end marker
    scan = scan_dataset(tmp_path)
    assert sorted(kinds(scan)["unreadable_image"]) == ["cut.jpg", "cut.png"]
    assert sorted(i.path.name for i in scan.subsets[0].images) == ["padded.jpg", "padded.png"]


def test_project_folder_hint(tmp_path: Path):
    (tmp_path / "img" / "1_a").mkdir(parents=True)
    problem = next(p for p in scan_dataset(tmp_path).problems if p.kind == "no_subsets")
    assert "did you mean" in problem.message
