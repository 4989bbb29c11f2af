"""The caption check (dataset scan, tags check, the app's State column) on Unicode spellings: a decomposed
(NFD, macOS) tag is named with the replace that writes it composed, NFC and NFD twins are repeats dedupe
removes, and a fullwidth or ideographic comma inside a tag (one tag to sd-scripts) gets a hint."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from click.testing import CliRunner

from loratui.cli import cli
from loratui.core.captions import Dedupe, ReplaceTag
from loratui.core.dataset import caption_problems, tag_variant_key

P = Path("10_x/a.txt")
CAFE = "café"
CAFE_NFD = unicodedata.normalize("NFD", CAFE)


def _kinds(line: str) -> dict:
    return {p.kind: p for p in caption_problems(P, line.encode())}


def test_the_variant_key_is_nfc():
    assert tag_variant_key(CAFE_NFD) == tag_variant_key(CAFE)
    short = unicodedata.normalize("NFD", "é_x")  # 3 characters composed: "_" is kept, as for "^_^"
    assert tag_variant_key(short) == tag_variant_key("é_x") == "é_x"


def test_a_decomposed_tag_is_named_with_the_replace_that_composes_it():
    problem = _kinds(f"1girl, {CAFE_NFD}, solo")["decomposed_tags"]
    assert problem.severity == "info" and "10_x/a.txt" in problem.message and CAFE_NFD in problem.message
    assert f"tags replace DIR '{CAFE}' '{CAFE}'" in problem.message and "--regex '(.+)' '\\1'" in problem.message
    assert "decomposed_tags" not in _kinds(f"1girl, {CAFE}, solo") and "decomposed_tags" not in _kinds("a, b")
    # what the message says the commands do
    assert ReplaceTag(CAFE, CAFE).run([CAFE_NFD, "x"]) == [CAFE, "x"]
    every = ReplaceTag("(.+)", r"\1", mode="regex")
    assert every.run(["x", CAFE_NFD, "(a, b:1.2)"]) == ["x", CAFE, "(a, b:1.2)"]


def test_nfc_and_nfd_twins_are_repeats_marked_nfd():
    problem = _kinds(f"{CAFE}, solo, {CAFE_NFD}")["duplicate_tags"]
    assert f"'{CAFE}' = '{CAFE_NFD}' (NFD)" in problem.message and "tags dedupe" in problem.message
    assert Dedupe().run([CAFE, "solo", CAFE_NFD]) == [CAFE, "solo"]


def test_wide_commas_inside_a_tag_get_a_hint():
    problem = _kinds("赤い髪，青い目、笑顔")["wide_comma_in_tag"]
    message = problem.message
    assert problem.severity == "info" and "10_x/a.txt" in message and "'赤い髪，青い目、笑顔'" in message
    assert "'，' (fullwidth) and '、' (ideographic)" in message and "replace each with ', '" in message
    assert "and 1 more" in _kinds("a、b, solo, c，d")["wide_comma_in_tag"].message
    assert "wide_comma_in_tag" not in _kinds("赤い髪, 青い目, 笑顔")


def test_tags_check_lists_both(tmp_path):
    folder = tmp_path / "img" / "10_x"
    folder.mkdir(parents=True)
    (folder / "a.png").write_bytes(b"x")
    (folder / "a.txt").write_bytes(f"{CAFE_NFD}, 赤い髪，青い目\n".encode())
    out = CliRunner().invoke(cli, ["tags", "check", str(tmp_path / "img")], catch_exceptions=False).output
    assert "decomposed Unicode" in out and "fullwidth" in out
