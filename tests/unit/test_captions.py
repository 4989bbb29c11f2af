"""core/captions.py: parse/format round trips, encodings, atomic writes and conflicts."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loratui.core.captions import (
    join_tags, load_captions, multiline_captions, parse_caption, read_caption, split_tags, write_caption,
)
from loratui.core.errors import ConflictError, LoratuiError


@pytest.mark.parametrize("line, tags", [
    ("a, b, c", ["a", "b", "c"]),
    ("  a ,b,,  c  ", ["a", "b", "c"]),
    ("(red hair, blue eyes:1.2), solo", ["(red hair, blue eyes:1.2)", "solo"]),
    (r"\(cat\), dog", [r"\(cat\)", "dog"]),
    (r"a \, b, c", [r"a \, b", "c"]),
    ("[a, b], {c, d}, e", ["[a, b]", "{c, d}", "e"]),
    ("日本, ñandú, 🐱", ["日本", "ñandú", "🐱"]),
    ("a photo of a cat sitting on a couch", ["a photo of a cat sitting on a couch"]),
    ("", []),
])
def test_split_tags(line, tags):
    assert split_tags(line) == tags


def test_custom_separator():
    assert split_tags("a | b|c", "|") == ["a", "b", "c"]
    assert join_tags(["a", "b"], "|") == "a| b"
    assert join_tags(["a", "b"]) == "a, b"


@pytest.mark.parametrize("data", [
    b"a, b\n", b"a,b", b"a, b\r\n", b"\xef\xbb\xbfa, b\n", b"a,  (b:1.2) ,c\n\n", b"x\nsecond line\n",
    "日本, ñandú\r\n".encode(), b"", b"\n", b"\xff\xfea\x00,\x00 \x00b\x00\n\x00", b"caf\xe9, x\n",
])
def test_unchanged_caption_formats_to_the_same_bytes(tmp_path, data):
    path = tmp_path / "a.txt"
    path.write_bytes(data)
    cap = read_caption(path)
    assert cap.format(list(cap.tags)) == data
    assert write_caption(cap, list(cap.tags)) is False


def test_changed_caption_keeps_bom_newline_and_rest(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xef\xbb\xbfa, b\r\nsecond\r\n")
    cap = read_caption(path)
    assert cap.bom and cap.newline == "\r\n" and cap.multiline
    assert write_caption(cap, ["z"] + cap.tags)
    assert path.read_bytes() == b"\xef\xbb\xbfz, a, b\r\nsecond\r\n"


def test_no_trailing_newline_is_kept(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"a, b")
    cap = read_caption(path)
    write_caption(cap, ["a"])
    assert path.read_bytes() == b"a"


def test_legacy_encoding_round_trips(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"caf\xe9, x\n")
    cap = read_caption(path)
    assert cap.tags == ["café", "x"] and cap.encoding == "cp1252"
    write_caption(cap, ["café"])
    assert path.read_bytes() == b"caf\xe9\n"


def test_new_caption_file(tmp_path):
    cap = read_caption(tmp_path / "new.txt")
    assert not cap.exists and cap.tags == []
    assert write_caption(cap, []) is False and not cap.path.exists()
    assert write_caption(cap, ["trigger"])
    assert cap.path.read_bytes() == b"trigger\n"


def test_conflict_when_changed_on_disk(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("a, b\n")
    cap = read_caption(path)
    path.write_text("edited elsewhere\n")
    with pytest.raises(ConflictError, match="changed on disk"):
        write_caption(cap, ["c"])
    assert path.read_text() == "edited elsewhere\n"


def test_conflict_when_created_meanwhile(tmp_path):
    cap = read_caption(tmp_path / "a.txt")
    (tmp_path / "a.txt").write_text("someone else\n")
    with pytest.raises(ConflictError):
        write_caption(cap, ["c"])


def test_load_captions_kohya_folder(tmp_path):
    folder = tmp_path / "img" / "10_cat"
    folder.mkdir(parents=True)
    for name in ("a.png", "b.JPG", "c.webp"):
        (folder / name).write_bytes(b"x")
    (folder / "a.txt").write_text("cat, solo\n")
    (folder / "b.txt").write_text("cat\nextra line\n")
    caps = load_captions(tmp_path / "img")
    assert [c.path.name for c in caps] == ["a.txt", "b.txt", "c.txt"]
    assert [c.exists for c in caps] == [True, True, False]
    assert multiline_captions(caps) == [folder / "b.txt"]
    with pytest.raises(LoratuiError, match="not a folder"):
        load_captions(tmp_path / "nope")


def test_free_text_is_one_tag(tmp_path):
    cap = parse_caption(b"a photo of a cat on a couch\n", tmp_path / "x.txt")
    assert cap.is_free_text and cap.tags == ["a photo of a cat on a couch"]


tag_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00,()[]{}\\\ufeff"),
                   min_size=1, max_size=12).map(str.strip).filter(bool)


@settings(max_examples=200, deadline=None)
@given(tags=st.lists(tag_text, max_size=8), newline=st.sampled_from(["\n", "\r\n", ""]), bom=st.booleans(),
       spacing=st.sampled_from([", ", ",", " , ", ",  "]))
def test_property_parse_format_round_trip(tmp_path_factory, tags, newline, bom, spacing):
    data = (("\ufeff" if bom else "") + spacing.join(tags) + newline).encode()
    path = tmp_path_factory.mktemp("c") / "a.txt"
    path.write_bytes(data)
    cap = read_caption(path)
    assert cap.tags == tags
    assert cap.format(cap.tags) == data
    # a change re-joins canonically and keeps the BOM and newline style
    changed = cap.format(tags + ["zz"])
    assert changed == (("\ufeff" if bom else "") + ", ".join(tags + ["zz"]) + newline).encode()
    assert split_tags(join_tags(tags)) == tags
