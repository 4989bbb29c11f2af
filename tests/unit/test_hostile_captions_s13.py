"""Hostile caption files (hunt h6): one odd caption never stops the others loading, every byte sequence
reads as training reads it (a BOM before cp1252 text, UTF-16 without a BOM, a lone CR), and the
check says what sd-scripts does with a blank or separator-only first line."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from fixtures.cli_run import run_main
from loratui.core.captions import load_captions, parse_caption, recode_plan
from loratui.core.dataset import caption_problems
from loratui.core.errors import LoratuiError
from loratui.core.textcodec import utf16_without_bom

BOM_CP1252 = b"\xef\xbb\xbfcaf\xe9, x\n"  # a UTF-8 BOM before Windows-1252 text
UTF16_NO_BOM = "red, blue\n".encode("utf-16-le")


def dataset(tmp_path, captions: dict[str, bytes | None]):
    concept = tmp_path / "img" / "1_x"
    concept.mkdir(parents=True)
    for stem, data in captions.items():
        Image.new("RGB", (8, 8)).save(concept / f"{stem}.png")
        if data is None:
            (concept / f"{stem}.txt").mkdir()  # a folder named like the caption
        else:
            (concept / f"{stem}.txt").write_bytes(data)
    return tmp_path / "img", concept


# ---- decoding: nothing the bytes hold stops a read --------------------------------------------

def test_a_bom_before_cp1252_text_reads_as_cp1252_and_writes_back_its_exact_bytes():
    caption = parse_caption(BOM_CP1252, "b.txt")
    assert caption.tags == ["café", "x"] and caption.encoding == "cp1252" and caption.bom
    assert caption.format(caption.tags) == BOM_CP1252
    assert caption.format(["café", "x", "y"]) == b"\xef\xbb\xbfcaf\xe9, x, y\n"  # BOM and encoding kept
    [item] = recode_plan([caption])
    assert item.was == "cp1252 after a UTF-8 BOM" and item.data == "café, x\n".encode()


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_read_as_utf16_checked_as_an_error_and_recoded(tmp_path, encoding):
    data = "red, blue\nsecond\n".encode(encoding)
    assert utf16_without_bom(data) == encoding
    caption = parse_caption(data, "a.txt")
    assert caption.tags == ["red", "blue"] and caption.encoding == encoding and not caption.bom
    assert caption.format(caption.tags) == data
    assert caption.format(["red"]) == "red\nsecond\n".encode(encoding)
    [item] = recode_plan([caption])
    assert item.was == f"{encoding} without BOM" and item.data == b"red, blue\nsecond\n"
    path = tmp_path / "a.txt"
    path.write_bytes(data)
    [problem] = caption_problems(path)
    assert problem.severity == "error" and "without a byte-order mark" in problem.message
    assert "tags to-utf8" in problem.message


def test_plain_text_with_a_nul_or_odd_length_is_not_taken_for_utf16():
    assert utf16_without_bom(b"ab") is None and utf16_without_bom(b"a\x00b") is None
    assert utf16_without_bom(b"red, blue\x00\n") is None  # one NUL, not every second byte
    assert utf16_without_bom(b"\xff\xfer\x00") is None  # a BOM: the BOM branch reads it


def test_a_lone_cr_ends_the_first_line_as_in_sd_scripts_and_the_file_round_trips():
    data = b"a1, a2\rhidden1, hidden2\n"
    caption = parse_caption(data, "a.txt")
    assert caption.tags == ["a1", "a2"] and caption.multiline
    assert caption.format(caption.tags) == data
    assert caption.format(["a1", "a2", "a3"]) == b"a1, a2, a3\rhidden1, hidden2\n"
    # the first line break of any kind ends it, whatever the later lines use
    assert parse_caption(b"a\nb\r\nc\r\n", "a.txt").tags == ["a"]


# ---- the check agrees with training ------------------------------------------------------------

def test_blank_and_separator_only_first_lines_are_warned_as_sd_scripts_trains_them(tmp_path):
    cases = {"a": b"   \n", "b": b" , ,, ,\t,\n", "c": b"\n\nreal, tags\n"}
    for name, data in cases.items():
        (tmp_path / f"{name}.txt").write_bytes(data)
    messages = {name: [p.message for p in caption_problems(tmp_path / f"{name}.txt")] for name in cases}
    assert any("first line is blank, so the image trains with an empty prompt" in m for m in messages["a"])
    assert any("first line is blank" in m for m in messages["c"])
    assert any("holds only separators" in m and "trains with that text as its prompt" in m for m in messages["b"])
    assert parse_caption(cases["b"], "b.txt").tags == []


# ---- the CLI: read-only commands load the rest; writes refuse naming the fix --------------------

def test_to_utf8_converts_a_bom_before_cp1252_and_undo_restores_it(tmp_path, capsys):
    img, concept = dataset(tmp_path, {"b": BOM_CP1252, "c": b"ok, fine\n", "u": UTF16_NO_BOM})
    code, out, err = run_main(["tags", "check", img], capsys)
    assert code == 1 and "tags to-utf8" in out
    code, out, err = run_main(["tags", "to-utf8", img, "--yes"], capsys)
    assert code == 0, err
    assert (concept / "b.txt").read_bytes() == "café, x\n".encode()
    assert (concept / "u.txt").read_bytes() == b"red, blue\n"
    code, out, err = run_main(["tags", "check", img], capsys)
    assert code == 0, out
    assert run_main(["tags", "undo", img, "--yes"], capsys)[0] == 0
    assert (concept / "b.txt").read_bytes() == BOM_CP1252 and (concept / "u.txt").read_bytes() == UTF16_NO_BOM


def test_freq_and_add_read_the_odd_encodings(tmp_path, capsys):
    img, concept = dataset(tmp_path, {"b": BOM_CP1252, "c": b"ok, fine\n", "cr": b"a1, a2\rhidden\n"})
    code, out, err = run_main(["tags", "freq", img, "--json"], capsys)
    assert code == 0, err
    assert set(json.loads(out)["tags"]) == {"café", "x", "ok", "fine", "a1", "a2"}
    code, out, err = run_main(["tags", "add", img, "trig", "--yes"], capsys)
    assert code == 0, err
    assert (concept / "b.txt").read_bytes() == b"\xef\xbb\xbfcaf\xe9, x, trig\n"
    assert (concept / "cr.txt").read_bytes() == b"a1, a2, trig\rhidden\n"


def test_a_folder_named_like_a_caption_is_listed_by_freq_and_refused_by_a_write(tmp_path, capsys):
    img, concept = dataset(tmp_path, {"a": None, "c": b"ok, fine\n"})
    code, out, err = run_main(["tags", "freq", img], capsys)
    assert code == 0 and "ok" in out and "fine" in out
    assert "a.txt: is a folder, not a caption file: rename or move it" in err
    code, out, err = run_main(["tags", "freq", img, "--json"], capsys)
    assert code == 0 and any("a.txt: is a folder" in line for line in json.loads(out)["unreadable"])
    code, out, err = run_main(["tags", "add", img, "trig", "--yes"], capsys)
    assert code == 2 and "a.txt: is a folder, not a caption file: rename or move it" in err
    assert (concept / "c.txt").read_bytes() == b"ok, fine\n"  # nothing written


def test_load_captions_collects_what_it_cannot_read_when_asked(tmp_path):
    img, _concept = dataset(tmp_path, {"a": None, "c": b"ok, fine\n"})
    with pytest.raises(LoratuiError, match="is a folder, not a caption file: rename or move it"):
        load_captions(img)
    unreadable: list[str] = []
    captions = load_captions(img, unreadable=unreadable)
    assert [c.tags for c in captions] == [["ok", "fine"]]
    assert len(unreadable) == 1 and "a.txt: is a folder" in unreadable[0]
