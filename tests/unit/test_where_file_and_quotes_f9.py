"""--where: `file:` matches the image's name as well as the caption's (the app's File column shows the
image), and a quote left open names the term and how to quote its value."""

from __future__ import annotations

import pytest
from PIL import Image

from loratui.core.captions import load_captions, parse_where
from loratui.core.errors import LoratuiError


def _dataset(tmp_path):
    folder = tmp_path / "10_alice"
    folder.mkdir()
    for name in ("a.jpg", "b.png", "c.JPG"):
        Image.new("RGB", (4, 4)).save(folder / name, format="PNG")
        (folder / name).with_suffix(".txt").write_text("solo\n", encoding="utf-8")
    Image.new("RGB", (4, 4)).save(folder / "d.png")  # no caption file yet: matched by its image name too
    return tmp_path


def _matching(root, where: str) -> list[str]:
    match = parse_where(where)
    return sorted(c.path.name for c in load_captions(root) if match(c))


def test_file_matches_the_image_name_or_the_caption_name(tmp_path):
    root = _dataset(tmp_path)
    assert _matching(root, "file:*.jpg") == ["a.txt"]  # case-sensitive, as before: c.JPG is not *.jpg
    assert _matching(root, "file:*.JPG") == ["c.txt"]
    assert _matching(root, "file:*.png") == ["b.txt", "d.txt"]
    assert _matching(root, "file:a.txt") == ["a.txt"]  # the caption's name, as before
    assert _matching(root, "file:*.txt") == ["a.txt", "b.txt", "c.txt", "d.txt"]
    assert _matching(root, "-file:*.png") == ["a.txt", "c.txt"]


def test_file_takes_the_image_names_it_is_given(tmp_path):
    root = _dataset(tmp_path)
    match = parse_where("file:x.webp", image_names=lambda caption: ["x.webp"] if caption.path.stem == "b" else [])
    assert [c.path.name for c in load_captions(root) if match(c)] == ["b.txt"]


@pytest.mark.parametrize("where, hint", [
    ("tag:jack-o'-lantern", "tag:\"jack-o'-lantern\""),
    ("tag:solo and -tag:jack-o'-lantern", "-tag:\"jack-o'-lantern\""),
    ('text:say"hi', "text:'say\"hi'"),
])
def test_an_unclosed_quote_says_how_to_quote_the_value(where, hint):
    with pytest.raises(LoratuiError) as caught:
        parse_where(where)
    message = str(caught.value)
    assert message.startswith("--where: a quote is not closed in ") and message.endswith(hint), message
    assert "No closing quotation" not in message


def test_an_unclosed_quote_around_words_says_to_close_it():
    with pytest.raises(LoratuiError, match=r'close it \(tag:"long hair"\)'):
        parse_where('tag:"long hair')


def test_values_quoted_with_the_other_mark_match_exactly():
    from loratui.core.captions.files import parse_caption

    caption = parse_caption("jack-o'-lantern, say \"cheese\", ?\n".encode(), "/nowhere/a.txt")
    assert parse_where("tag:\"jack-o'-lantern\"")(caption)
    assert parse_where("tag:'say \"cheese\"'")(caption)
    assert parse_where("tag:/\\?/")(caption)
    assert not parse_where("tag:/\\?/")(parse_caption(b"x\n", "/nowhere/b.txt"))
