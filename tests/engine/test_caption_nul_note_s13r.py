"""Review r1, finding 2: training reads BOM-less UTF-16 with an odd trailing newline as its text, and
a first line that still holds NUL or control characters gets a note instead of training silently."""

from __future__ import annotations

from types import SimpleNamespace

from loratui.engine.data import read_caption_text


def _caption(tmp_path, name, data, notes):
    (tmp_path / name).write_bytes(data)
    image = SimpleNamespace(caption_path=tmp_path / name, path=tmp_path / name.replace(".txt", ".png"))
    return read_caption_text(image, SimpleNamespace(class_tokens="alice"), ".txt", notes)


def test_odd_length_utf16_without_a_bom_trains_as_its_text_with_a_note(tmp_path):
    notes: list[str] = []
    data = "1girl, solo".encode("utf-16-le") + b"\n"  # the review's ds3/2_z/b.txt
    assert _caption(tmp_path, "b.txt", data, notes) == "1girl, solo"
    [note] = notes
    assert "read as utf-16-le without a byte-order mark" in note and "trains on its NUL bytes" in note


def test_cjk_utf16_without_a_bom_trains_as_its_text_and_the_note_says_sd_scripts_stops(tmp_path):
    notes: list[str] = []
    data = "1girl, 少女, 笑顔, 長い髪\r\n".encode("utf-16-le")
    assert _caption(tmp_path, "a.txt", data, notes) == "1girl, 少女, 笑顔, 長い髪"
    [note] = notes
    assert "without a byte-order mark" in note and "sd-scripts stops at it" in note and "tags to-utf8" in note


def test_nul_and_control_characters_in_the_first_line_are_noted(tmp_path):
    notes: list[str] = []
    assert _caption(tmp_path, "n.txt", b"1\x00g\x00irl, solo\n", notes) == "1\x00g\x00irl, solo"
    assert _caption(tmp_path, "c.txt", b"caf\xe9\x11, x\n", notes) == "caf\xe9\x11, x"
    by_file = {name: [n for n in notes if f"{name}:" in n] for name in ("n.txt", "c.txt")}
    assert len(by_file["n.txt"]) == 1 and "first line holds 2 NUL characters" in by_file["n.txt"][0]
    assert "text editor" in by_file["n.txt"][0]
    # not UTF-8 and a control character: to-utf8 would leave it, so the note says fix it by hand
    assert any("control character (U+0011)" in n for n in by_file["c.txt"])
    assert not any("loratui tags to-utf8 DIR" in n for n in by_file["c.txt"])
