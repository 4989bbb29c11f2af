"""Review r1 of the caption decoding (findings 1 and 2): BOM-less UTF-16 with CJK in it, an odd
trailing line-break byte (with or without a BOM) are read as UTF-16; no conversion ever writes text
holding NUL or control characters; the check makes them an error that names the fix by hand."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from fixtures.cli_run import run_main
from loratui.core.captions import parse_caption, recode_plan
from loratui.core.dataset import caption_problems
from loratui.core.textcodec import control_summary, decode_caption_bytes, utf16_without_bom

# the review's repros (/tmp/s13/r1): 65% NUL high bytes; a BOM plus a one-byte "\n"; no BOM, odd length
CJK_NO_BOM = "1girl, 少女, 笑顔, 長い髪\r\n".encode("utf-16-le")
BOM_ODD = b"\xff\xfe" + "1girl, solo".encode("utf-16-le") + b"\n"
NO_BOM_ODD = "1girl, solo".encode("utf-16-le") + b"\n"
# what to-utf8 wrote from CJK_NO_BOM before the fix (the review's ds2/3_y/a.txt): valid UTF-8, full of NULs
MOJIBAKE = CJK_NO_BOM.decode("cp1252").encode("utf-8")


def dataset(tmp_path, captions: dict[str, bytes]):
    concept = tmp_path / "img" / "2_z"
    concept.mkdir(parents=True)
    for stem, data in captions.items():
        Image.new("RGB", (8, 8)).save(concept / f"{stem}.png")
        (concept / f"{stem}.txt").write_bytes(data)
    return tmp_path / "img", concept


# ---- detection and decoding ------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("text", ["1girl, 少女, 笑顔, 長い髪\r\n", "少女, 笑顔\n",
                                  "1girl, 少女\u3000笑顔, 最高\n"])  # U+3000 and 最 put a NUL in the low lane
def test_utf16_mixing_ascii_and_cjk_is_recognised_without_a_bom(text, encoding):
    data = text.encode(encoding)
    assert utf16_without_bom(data) == encoding
    assert decode_caption_bytes(data) == (text, encoding, False)


@pytest.mark.parametrize("tail", [b"\n", b"\r"])
def test_an_odd_trailing_line_break_byte_is_kept_and_the_rest_read_as_utf16(tail):
    data = "1girl, solo".encode("utf-16-le") + tail
    assert utf16_without_bom(data) == "utf-16-le"
    caption = parse_caption(data, "b.txt")
    assert caption.tags == ["1girl", "solo"] and caption.encoding == "utf-16-le" and not caption.bom
    assert caption.newline == tail.decode() and caption.trailing_newline
    assert caption.format(caption.tags) == data  # unchanged: the exact bytes
    assert caption.format(["1girl"]) == ("1girl" + tail.decode()).encode("utf-16-le")


def test_a_utf16_bom_with_an_odd_trailing_byte_decodes_as_utf16():
    assert decode_caption_bytes(BOM_ODD) == ("1girl, solo\n", "utf-16-le", True)
    caption = parse_caption(BOM_ODD, "a.txt")
    assert caption.tags == ["1girl", "solo"] and caption.format(caption.tags) == BOM_ODD
    # a truncated last character (not a line break) is marked, not read as NULs
    truncated = b"\xfe\xff" + "red, blue".encode("utf-16-be") + b"\x00"
    assert decode_caption_bytes(truncated) == ("red, blue\ufffd", "utf-16-be", True)


def test_bytes_that_only_look_like_utf16_stay_what_they_are():
    assert utf16_without_bom(b"a\x00b") is None  # odd, and the extra byte is no line break
    assert utf16_without_bom(b"red, blue\x00\n") is None  # one NUL
    assert utf16_without_bom(b"1girl, solo\n" + b"\x00" * 12) is None  # NUL padding: U+0000 when paired
    assert utf16_without_bom("a\x01b\x02c\n".encode("utf-16-le")) is None  # controls: not a caption
    assert utf16_without_bom(MOJIBAKE) is None


def test_control_summary_names_nuls_and_other_controls_but_not_tab_or_line_breaks():
    assert control_summary("a\tb\r\nc") == ""
    assert control_summary("a\x00b\x00") == "2 NUL characters"
    assert control_summary("a\x11b") == "1 control character (U+0011)"
    assert control_summary("\x00\x1b\x1b") == "1 NUL character and 2 other control characters (U+001B)"


# ---- to-utf8 never writes NULs; the check says what to do -----------------------------------

def test_recode_plan_converts_utf16_and_leaves_out_text_with_nuls_naming_why():
    skipped: list[str] = []
    captions = [parse_caption(data, f"{name}.txt") for name, data in
                (("cjk", CJK_NO_BOM), ("bom", BOM_ODD), ("odd", NO_BOM_ODD), ("nul", b"caf\xe9\x00, x\n"))]
    items = {item.path.stem: item for item in recode_plan(captions, skipped)}
    assert items["cjk"].data == "1girl, 少女, 笑顔, 長い髪\r\n".encode()
    assert items["cjk"].was == "utf-16-le without BOM"
    assert items["bom"].data == items["odd"].data == b"1girl, solo\n"
    assert "nul" not in items and len(skipped) == 1
    assert "nul.txt: read as cp1252 it holds 1 NUL character" in skipped[0] and "text editor" in skipped[0]
    assert all(b"\x00" not in item.data for item in items.values())
    assert recode_plan(captions[3:]) == []  # without a list, left out all the same


def test_check_makes_nul_in_the_first_line_an_error_and_names_the_fix(tmp_path):
    files = {"moj": MOJIBAKE, "nul_cp": b"caf\xe9\x00, x\n", "later": b"ok, fine\nnote\x00\n"}
    for name, data in files.items():
        (tmp_path / f"{name}.txt").write_bytes(data)
    [moj] = caption_problems(tmp_path / "moj.txt")
    assert moj.kind == "caption_control_chars" and moj.severity == "error"
    assert "the first line holds" in moj.message and "NUL characters" in moj.message and "text editor" in moj.message
    [nul_cp] = caption_problems(tmp_path / "nul_cp.txt")  # not UTF-8, and to-utf8 would leave it: say so
    assert nul_cp.kind == "caption_not_utf8" and "tags to-utf8` will not carry over" in nul_cp.message
    assert not [p for p in caption_problems(tmp_path / "later.txt") if p.kind == "caption_control_chars"]


def test_check_says_cjk_utf16_stops_sd_scripts_and_ascii_utf16_trains_on_nuls(tmp_path):
    (tmp_path / "cjk.txt").write_bytes(CJK_NO_BOM)
    (tmp_path / "odd.txt").write_bytes(NO_BOM_ODD)
    [cjk] = caption_problems(tmp_path / "cjk.txt")
    [odd] = caption_problems(tmp_path / "odd.txt")
    assert "UTF-16-LE without a byte-order mark: sd-scripts stops with an error" in cjk.message
    assert "UTF-16-LE without a byte-order mark: sd-scripts trains on its NUL bytes" in odd.message
    assert "loratui tags to-utf8 DIR" in cjk.message and "loratui tags to-utf8 DIR" in odd.message


def test_to_utf8_on_the_review_repros_writes_real_text_then_checks_clean_and_undo_restores(tmp_path, capsys):
    files = {"cjk": CJK_NO_BOM, "bom": BOM_ODD, "odd": NO_BOM_ODD, "ok": b"ok, fine\n"}
    img, concept = dataset(tmp_path, files)
    code, out, err = run_main(["tags", "check", img], capsys)
    assert code == 1 and out.count("tags to-utf8") >= 1
    code, out, err = run_main(["tags", "to-utf8", img, "--yes"], capsys)
    assert code == 0, err
    assert "2_z/cjk.txt: utf-16-le without BOM -> utf-8" in out and "2_z/bom.txt: utf-16-le with BOM -> utf-8" in out
    assert (concept / "cjk.txt").read_bytes() == "1girl, 少女, 笑顔, 長い髪\r\n".encode()
    assert (concept / "bom.txt").read_bytes() == (concept / "odd.txt").read_bytes() == b"1girl, solo\n"
    code, out, err = run_main(["tags", "check", img], capsys)
    assert code == 0, out
    assert run_main(["tags", "undo", img, "--yes"], capsys)[0] == 0
    for name, data in files.items():
        assert (concept / f"{name}.txt").read_bytes() == data


def test_to_utf8_leaves_a_caption_with_nuls_as_it_is_and_check_still_flags_it(tmp_path, capsys):
    img, concept = dataset(tmp_path, {"moj": b"\xef\xbb\xbf" + MOJIBAKE, "nul": b"caf\xe9\x00, x\n"})
    code, out, err = run_main(["tags", "to-utf8", img, "--yes"], capsys)
    assert code == 1, err  # named and left as they are, not "done"
    assert "0 of 2 caption(s) are not plain UTF-8" in out and "need fixing by hand" in out
    assert err.count("left out: ") == 2 and "nul.txt" in err and "moj.txt" in err
    code, out, err = run_main(["tags", "to-utf8", img, "--yes", "--json"], capsys)
    assert code == 1 and len(json.loads(out)["skipped"]) == 2
    assert (concept / "nul.txt").read_bytes() == b"caf\xe9\x00, x\n"
    assert (concept / "moj.txt").read_bytes() == b"\xef\xbb\xbf" + MOJIBAKE
    code, out, err = run_main(["tags", "check", img], capsys)
    assert code == 1 and "NUL character" in out and "text editor" in out
