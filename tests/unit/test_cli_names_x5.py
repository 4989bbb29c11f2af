"""Plain CLI output with international and odd file names: only what breaks a terminal line is escaped
(commands.term_text), `tags freq` pads by screen width, and JSON keeps the exact name."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from loratui.cli import cli
from loratui.commands.term_text import cells, pad, relative_name, shown_name, shown_path


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


@pytest.mark.parametrize("name, shown", [
    ("10_キャラ/猫.txt", "10_キャラ/猫.txt"),
    ("zw\u200djoin.txt", "zw\u200djoin.txt"),  # a joiner is no control character
    ("👩\u200d👩\u200d👧 family.txt", "👩\u200d👩\u200d👧 family.txt"),
    ("cafe\u0301.txt", "cafe\u0301.txt"),  # NFD
    ("ideo\u3000space", "ideo\u3000space"),  # isprintable() refuses it, a terminal shows it
    ("שלום.txt", "שלום.txt"),
    ("new\nline.txt", "new\\nline.txt"),
    ("tab\there\r", "tab\\there\\r"),
    ("esc\x1b[31m", "esc\\x1b[31m"),
    ("bad\udcff.txt", "bad\\xff.txt"),  # the undecodable byte, as os.fsdecode read it
    ("rtl\u202etxt.exe", "rtl\\u202etxt.exe"),  # a bidi override would turn the rest of the line around
    ("line\u2028sep", "line\\u2028sep"),
])
def test_shown_name_escapes_only_what_breaks_the_line(name, shown):
    assert shown_name(name) == shown


def test_shown_path_is_relative_and_json_keeps_the_name(tmp_path):
    root = tmp_path / "img"
    path = root / "10_キャラ" / "new\nline.txt"
    assert shown_path(path, root) == "10_キャラ/new\\nline.txt"
    assert relative_name(path, root) == "10_キャラ/new\nline.txt"
    assert relative_name(tmp_path / "x.txt", root) == str(tmp_path / "x.txt")  # not below: whole


def test_pad_counts_screen_columns():
    assert cells("猫") == 2 and pad("猫", 4) == "猫  " and pad("猫", 4, right=True) == "  猫"


def odd_dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "img" / "10_キャラ"
    folder.mkdir(parents=True)
    for stem in ["猫", "zw\u200djoin", "new\nline", "👩\u200d👩\u200d👧 fam"]:
        (folder / f"{stem}.png").write_bytes(b"x")
        (folder / f"{stem}.txt").write_text("cat, solo\n", encoding="utf-8")
    raw = os.fsencode(folder)
    with open(raw + b"/bad\xff.png", "wb") as image, open(raw + b"/bad\xff.txt", "wb") as caption:
        image.write(b"x")
        caption.write(b"cat, solo\n")
    return tmp_path / "img"


def test_a_plan_escapes_only_the_odd_characters(tmp_path):
    root = odd_dataset(tmp_path)
    out = run("tags", "add", root, "xtag", "--dry-run").output
    lines = out.splitlines()
    for expected in ["10_キャラ/猫.txt", "10_キャラ/zw\u200djoin.txt", "10_キャラ/new\\nline.txt",
                     "10_キャラ/bad\\xff.txt", "10_キャラ/👩\u200d👩\u200d👧 fam.txt"]:
        assert f"  {expected}: +xtag" in lines, out
    assert "\\u30ad" not in out and "\\udcff" not in out, out


def test_undo_json_gives_the_exact_name_and_text_escapes_it(tmp_path):
    root = odd_dataset(tmp_path)
    run("tags", "add", root, "xtag", "--yes")
    data = json.loads(run("tags", "undo", root, "--yes", "--json").output)
    assert "10_キャラ/new\nline.txt" in data["restored"] and data["image_gone"] == []
    run("tags", "redo", root, "--yes")
    (root / "10_キャラ" / "new\nline.txt").write_text("edited\n")
    out = run("tags", "undo", root, "--yes", "--skip-changed").output
    assert "new\\nline.txt: edited after the change, left as it is" in out, out


def test_freq_pads_cjk_tags_by_screen_width(tmp_path):
    folder = tmp_path / "img" / "1_x"
    folder.mkdir(parents=True)
    for i, caption in enumerate(["猫, solo", "赤い髪，青い目、笑顔, solo", "long_english_tag, solo"]):
        (folder / f"{i}.png").write_bytes(b"x")
        (folder / f"{i}.txt").write_text(caption + "\n", encoding="utf-8")
    rows = [line for line in run("tags", "freq", tmp_path / "img").output.splitlines() if line.endswith("%")]
    assert len(rows) == 4
    ends = {cells(line[: line.rindex("%")]) for line in rows}  # where each row's share column ends, on screen
    assert len(ends) == 1, rows
