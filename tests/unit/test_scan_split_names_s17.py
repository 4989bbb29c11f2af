"""core/dataset/scan.py split by job (scan_folder, scan_images, caption_pairing) with every name still
importable from scan.py; `dataset scan` names a concept folder whose name is not UTF-8 in config check's
words; a literal backslash is doubled only in a name that needs escaping, so an escaped name reads one way
and a plain one prints byte for byte."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.bad_inputs import make_project, write_png
from loratui.cli import cli
from loratui.commands.term_text import shown_name as cli_shown_name
from loratui.core.config import check_paths, load_config
from loratui.core.dataset import NOT_UTF8_FOLDER, Problem, scan_dataset, shown_name
from loratui.core.dataset.imagesize import one_line
from loratui.core.termline import escape_controls

SRC = Path(__file__).resolve().parents[2] / "src" / "loratui" / "core" / "dataset"


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


# ---- the split ---------------------------------------------------------------------------------------

def test_every_name_scan_py_held_is_still_importable_from_it():
    import loratui.core.dataset.caption_pairing as pairing
    import loratui.core.dataset.scan as scan
    import loratui.core.dataset.scan_folder as folder
    import loratui.core.dataset.scan_images as images

    held = ["HARD_LIMIT_PIXELS", "MIN_IMAGE_SIDE", "JPEG_ALIAS_EXTENSIONS", "OTHER_IMAGE_EXTENSIONS", "format_fix",
            "scan_dataset", "APPLE_DOUBLE_PREFIX", "apple_double_problem", "LEFTOVER_AGE_S", "unreadable_reason",
            "caption_candidates"]
    imported = ["caption_problems", "missing_caption_problem", "DatasetScan", "ImageEntry", "Problem", "Subset",
                "LoratuiError", "MAX_IMAGE_PIXELS", "ImageHeader", "ImageSizeError", "decode_error", "header_problems",
                "one_line", "probe_image_header", "shown_name", "transparency_of", "IMAGE_EXTENSIONS", "list_folder",
                "MAX_REPEATS", "SHOWN_NAMES", "broken_link", "concept_folders", "concepts_child", "is_dir",
                "parse_subset_name"]
    for name in held + imported:
        assert hasattr(scan, name), name
    assert scan.caption_candidates is pairing.caption_candidates
    assert scan.format_fix is folder.format_fix and scan.OTHER_IMAGE_EXTENSIONS is folder.OTHER_IMAGE_EXTENSIONS
    assert scan.unreadable_reason is images.unreadable_reason and scan.HARD_LIMIT_PIXELS == images.HARD_LIMIT_PIXELS


@pytest.mark.parametrize("module", ["scan", "scan_folder", "scan_images", "caption_pairing", "name_utf8"])
def test_the_scan_modules_stay_under_500_lines(module):
    assert len((SRC / f"{module}.py").read_text(encoding="utf-8").splitlines()) < 500


def test_caption_pairing_still_pairs_a_face_crop_and_names_an_orphan(tmp_path):
    folder = tmp_path / "img" / "2_x"
    write_png(folder / "a_1_2_3_4.png")
    (folder / "a.txt").write_text("face\n")
    (folder / "gone.txt").write_text("x\n")
    result = scan_dataset(tmp_path / "img")
    (entry,) = result.subsets[0].images
    assert entry.caption_path == folder / "a.txt"
    assert [p.message for p in result.problems if p.kind == "orphan_caption"] == \
        ["2_x/gone.txt has no image with the same name; it is not used"]


# ---- a concept folder whose name is not UTF-8 -----------------------------------------------------------

def _bad_folder(root: Path, name: bytes = b"3_bad\xff") -> Path:
    bad = Path(os.fsdecode(os.fsencode(root) + b"/" + name))
    try:
        bad.mkdir(parents=True)
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    write_png(bad / "0.png")
    (bad / "0.txt").write_text("cat\n")
    return bad


def test_scan_names_a_concept_folder_whose_name_is_not_utf8_as_an_error_in_config_checks_words(tmp_path):
    config = make_project(tmp_path)
    bad = _bad_folder(tmp_path / "img")
    result = scan_dataset(tmp_path / "img")
    (problem,) = [p for p in result.problems if p.kind == "folder_name_not_utf8"]
    assert problem.severity == "error" and problem.path == bad and result.has_errors
    assert problem.message == f"train folder '3_bad\\xff': {NOT_UTF8_FOLDER}"
    assert "rename it" in problem.message and "\n" not in problem.message
    problem.message.encode("utf-8")  # printable: the odd byte is shown as \xff
    assert sorted(s.name for s in result.subsets) == ["10_cat", bad.name]  # its images are still scanned
    # the same words `config check` (and `train`, through the same check) gives: one source, no copy
    (line,) = [p for p in check_paths(load_config(config)) if "UTF-8" in p]
    assert line.endswith(f"3_bad\\xff: {NOT_UTF8_FOLDER}")


def test_scan_names_a_reg_folder_whose_name_is_not_utf8(tmp_path):
    make_project(tmp_path)
    _bad_folder(tmp_path / "reg", b"1_r\xe9g")
    result = scan_dataset(tmp_path / "img", tmp_path / "reg")
    (problem,) = [p for p in result.problems if p.kind == "folder_name_not_utf8"]
    assert problem.message.startswith("reg folder '1_r\\xe9g': this folder's name is not valid UTF-8")


def test_dataset_scan_lists_it_on_one_line_and_exits_1(tmp_path):
    make_project(tmp_path)
    _bad_folder(tmp_path / "img")
    result = run("dataset", "scan", tmp_path / "img")
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert "error folder_name_not_utf8 (1):" in lines
    assert f"  train folder '3_bad\\xff': {NOT_UTF8_FOLDER}" in lines
    row = [line for line in lines if line.startswith("train  '3_bad")]
    assert row and row[0].split()[1] == "'3_bad\\xff'"  # the table shows the name as the problem line does
    result.output.encode("utf-8")


def test_a_utf8_project_scans_without_that_error(tmp_path):
    make_project(tmp_path)
    result = run("dataset", "scan", tmp_path / "img")
    assert result.exit_code == 0 and "folder_name_not_utf8" not in result.output, result.output


# ---- backslashes: doubled only in a name that needs escaping ----------------------------------------------

PLAIN = ["a\\x07b", "miku \\(cosplay\\)", "C:\\dir", "zw\u200djoin\\n", "猫\\u202e"]


@pytest.mark.parametrize("name", PLAIN)
def test_a_plain_name_with_backslashes_prints_byte_for_byte(name):
    assert escape_controls(name) == cli_shown_name(name) == shown_name(name) == name


def test_a_name_that_needs_escaping_has_its_backslashes_doubled():
    literal, bell = "a\\x07b", "a\x07b"
    assert escape_controls(literal) == "a\\x07b"
    assert escape_controls(bell) == "a\\x07b"
    assert escape_controls(literal + "\x07") == "a\\\\x07b\\x07"  # one literal \x07, then the bell: not two bells
    assert shown_name("3_a\\n\n") == "'3_a\\\\n\\n'" == repr("3_a\\n\n")  # repr's rule, for the scan's quoted names
    assert escape_controls("\\") == "\\" and escape_controls("\\\t") == "\\\\\\t"


@pytest.mark.parametrize("text", ["a\\x07b\x07", "x\\\\\n", "\\u202e\u202e", "猫\\t\t" + "zw\u200dj", "\\\x1b[31m",
                                  "tab\\\there", "\\xff" + os.fsdecode(b"\xfe")])
def test_an_escaped_name_reads_back_as_exactly_one_name(text):
    shown = escape_controls(text)
    assert shown.isprintable() or "\u200d" in shown
    assert escape_controls(shown) == shown  # escaping twice changes nothing
    back = shown.encode("ascii", "backslashreplace").decode("unicode_escape")
    # a byte that is not UTF-8 reads back as that byte's code point: what matters is that nothing is ambiguous
    assert back == text.replace(os.fsdecode(b"\xfe"), "\xfe")


def test_one_line_escapes_each_piece_once(tmp_path):
    folder = tmp_path / "3_a\\x07\x07"
    problem = Problem("missing_caption", folder / "b\\n.png",
                      f"{folder.name}/b\\n.png has no caption: sd-scripts trains it with the class tokens 'a\\x07\x07'",
                      "warning")
    assert one_line(problem).message == ("'3_a\\\\x07\\x07'/b\\n.png has no caption: sd-scripts trains it with the "
                                         "class tokens 'a\\\\x07\\x07'")


def test_dataset_scan_tells_a_backslash_name_from_a_control_character(tmp_path):
    img = tmp_path / "img"
    for name in ("3_back\\x07slash", "3_ctl\x07", "3_both\\x07\x07"):
        write_png(img / name / "p\\q.png")
    result = run("dataset", "scan", img)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "\x07" not in out
    rows = {line.split()[1] for line in out.splitlines() if line.startswith("train  ")}
    assert rows == {"3_back\\x07slash", "'3_ctl\\x07'", "'3_both\\\\x07\\x07'"}
    assert "  3_back\\x07slash/p\\q.png has no caption" in out  # plain: byte for byte
    assert "  '3_ctl\\x07'/p\\q.png has no caption" in out  # only the name that needs it is escaped
    assert "  '3_both\\\\x07\\x07'/p\\q.png has no caption: sd-scripts trains it with the class tokens " \
           "'both\\\\x07\\x07'" in out


def test_dataset_balance_escapes_a_control_character_in_a_folder_name_and_keeps_a_plain_one(tmp_path):
    img = tmp_path / "img"
    write_png(img / "2_ctl\x07\\x" / "0.png")
    for i in range(4):
        write_png(img / "2_plain\\x07" / f"{i}.png")
    result = run("dataset", "balance", img, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "\x07" not in result.output
    lines = result.output.splitlines()
    assert any(line.startswith("  2_ctl\\x07\\\\x -> 8_ctl\\x07\\\\x ") for line in lines), result.output
    assert any(line.startswith("  2_plain\\x07 ") for line in lines), result.output
