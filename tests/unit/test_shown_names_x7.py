"""One rule for the characters of a name that cannot be shown as they are (core.termline.needs_escape),
used by the CLI (commands.term_text), the app's cells (widgets.table_text, the plan preview's panes), the
bulk preview's notes, the scan's problem lines and the undo toast: CJK, emoji and zero-width-joiner
sequences stay as they are everywhere; JSON keeps the exact name."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli
from loratui.commands.term_text import shown_name as cli_shown_name
from loratui.core.dataset import scan_dataset, shown_name
from loratui.core.termline import escape_controls, has_controls, needs_escape
from loratui.tui.screens.bulk_preview import _shown, unreadable_note
from loratui.tui.screens.dataset_undo import image_gone_note
from loratui.tui.screens.plan_diff_views import _printable
from loratui.tui.widgets.table_text import cell_text, fit_text

FAMILY = "👩\u200d👩\u200d👧"
KEPT = ["猫", "キャラ", FAMILY, "zw\u200djoin", "cafe\u0301", "ideo\u3000space", "שלום"]
ESCAPED = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\x1b": "\\x1b", "\x7f": "\\x7f", "\x85": "\\x85",
           "\udcff": "\\xff", "\u202e": "\\u202e", "\u2067": "\\u2067", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


# ---- the one rule ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", KEPT)
def test_printable_unicode_is_never_escaped_anywhere(text):
    assert not any(needs_escape(ch) for ch in text) and not has_controls(text)
    assert escape_controls(text) == cli_shown_name(text) == shown_name(text) == text
    if text != "zw\u200djoin":  # a joiner between letters: see test_plan_preview_lines_...
        assert _printable(text) == cell_text(text) == text


@pytest.mark.parametrize("ch, escaped", ESCAPED.items())
def test_the_cli_the_scan_and_the_cells_escape_the_same_characters(ch, escaped):
    assert needs_escape(ch) and has_controls(f"a{ch}b")
    assert cli_shown_name(f"a{ch}b") == escape_controls(f"a{ch}b") == f"a{escaped}b"
    assert shown_name(f"a{ch}b") == f"'a{escaped}b'"  # the scan quotes such a name, as repr did
    assert cell_text(f"a{ch}b") == _printable(f"a{ch}b") == "a?b"  # a cell keeps its width


def test_table_text_has_no_list_of_its_own():
    import loratui.commands.term_text as term_text
    import loratui.tui.widgets.table_text as table_text

    for module in (table_text, term_text):
        assert not hasattr(module, "_BIDI_CONTROLS") and not hasattr(module, "_is_control")
        assert "unicodedata" not in Path(module.__file__).read_text(encoding="utf-8")


# ---- core.dataset.shown_name: the scan and the engine's left-out lines ----------------------------------

def test_scan_shown_name_keeps_joined_emoji_and_cjk_and_quotes_only_control_names():
    assert shown_name(f"10_キャラ/{FAMILY} fam.png") == f"10_キャラ/{FAMILY} fam.png"
    assert shown_name("a\nb.png") == repr("a\nb.png")  # what repr gave, for a name with a control character
    assert shown_name("it's\n") == repr("it's\n")
    assert shown_name("猫\nzw\u200dj.png") == "'猫\\nzw\u200dj.png'"  # repr would write \u200d
    assert shown_name(os.fsdecode(b"bad\xff.png")) == "'bad\\xff.png'"  # the byte, as the CLI shows it


def test_a_scan_problem_names_a_zwj_file_as_it_is(tmp_path):
    folder = tmp_path / "1_キャラ"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(folder / f"{FAMILY} zw\u200dj.png", format="PNG")
    Image.new("RGB", (8, 8)).save(folder / "new\nline.png", format="PNG")
    problems = [p for p in scan_dataset(tmp_path).problems if p.kind == "missing_caption"]
    messages = sorted(p.message for p in problems)
    assert any(m.startswith(f"1_キャラ/{FAMILY} zw\u200dj.png has no caption") for m in messages), messages
    assert any(m.startswith("1_キャラ/'new\\nline.png' has no caption") for m in messages), messages
    assert not any("\\u" in m or "\n" in m for m in messages), messages


def test_left_out_line_keeps_a_cjk_path(tmp_path):
    from loratui.engine.data import left_out_line

    folder = tmp_path / "1_猫"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(folder / "ok.png")
    (folder / f"{FAMILY}.png").write_bytes(b"")
    (left,) = scan_dataset(tmp_path).left_out
    line = left_out_line(left)
    assert line.startswith(f"{folder / FAMILY}.png: empty file (0 bytes)"), line


# ---- the app's texts ---------------------------------------------------------------------------------

def test_bulk_preview_notes_keep_cjk_and_escape_only_control_characters(tmp_path):
    root = tmp_path / "img"
    assert _shown(root / "10_キャラ" / f"{FAMILY}.png", root) == f"10_キャラ/{FAMILY}.png"
    assert _shown(root / "10_キャラ" / "new\nline.png", root) == "10_キャラ/new\\nline.png"
    assert _shown(root / os.fsdecode(b"bad\xff.png"), root) == "bad\\xff.png"
    note = unreadable_note({root / "10_キャラ": [root / "10_キャラ" / "猫.png"]}, root)
    assert "10_キャラ/猫.png" in note and "\\u" not in note


def test_plan_preview_lines_keep_joined_emoji_and_replace_control_characters():
    assert _printable(f"{FAMILY} family, 猫") == f"{FAMILY} family, 猫"  # was 👩?👩?👧
    assert _printable("a\tb\nc\udcff") == "a?b?c?"
    assert _printable("zw\u200djoin") == "zwjoin"  # the table's width rule: a loose joiner goes
    assert fit_text("zw\u200djoin", 6) == _printable("zw\u200djoin")


def test_the_undo_toast_names_captions_whose_image_is_gone(tmp_path):
    root = tmp_path / "img"
    paths = [root / "10_キャラ" / f"{FAMILY}.txt", root / "10_キャラ" / "new\nline.txt",
             *(root / "5_b" / f"b{i}.txt" for i in range(5))]
    note = image_gone_note(paths, root, "undid")
    assert note == (f"Left out 7 caption(s) whose image is gone (deleted since), not undone: 10_キャラ/{FAMILY}.txt, "
                    "10_キャラ/new\\nline.txt, 5_b/b0.txt, 5_b/b1.txt, 5_b/b2.txt and 2 more")
    assert image_gone_note(paths[:1], root, "redid", reg=True).endswith(f"not redone: reg/10_キャラ/{FAMILY}.txt")
    assert image_gone_note([], root, "undid") == ""


# ---- commands ----------------------------------------------------------------------------------------

def test_to_utf8_json_has_the_exact_name_and_the_lines_escape_it(tmp_path):
    folder = tmp_path / "img" / "10_キャラ"
    folder.mkdir(parents=True)
    for stem in ("new\nline", f"{FAMILY} fam"):
        (folder / f"{stem}.png").write_bytes(b"x")
        (folder / f"{stem}.txt").write_bytes("café, solo\n".encode("cp1252"))
    data = json.loads(run("tags", "to-utf8", tmp_path / "img", "--dry-run", "--json").output)
    assert sorted(f["path"] for f in data["files"]) == ["10_キャラ/new\nline.txt", f"10_キャラ/{FAMILY} fam.txt"]
    out = run("tags", "to-utf8", tmp_path / "img", "--dry-run").output
    assert "  10_キャラ/new\\nline.txt: cp1252 -> utf-8" in out and f"  10_キャラ/{FAMILY} fam.txt: cp1252" in out


def test_steps_imports_its_padding_from_term_text_and_keeps_rows_aligned(tmp_path):
    import loratui.commands.steps_cmd as steps_cmd
    from loratui.commands.term_text import cells
    from loratui.core.config import TrainingConfig, save_config

    assert "dataset_cmd" not in Path(steps_cmd.__file__).read_text(encoding="utf-8")
    for name, count in (("10_猫", 2), ("5_b\tc", 3), ("1_a", 1)):
        folder = tmp_path / "img" / name
        folder.mkdir(parents=True)
        for i in range(count):
            Image.new("RGB", (64, 64)).save(folder / f"{i}.png")
            (folder / f"{i}.txt").write_text("tag", encoding="utf-8")
    cfg = TrainingConfig()
    cfg.dataset.train_data_dir = "img"
    cfg.dataset.resolution = (64, 64)
    cfg.dataset.min_bucket_reso = 64
    cfg.training.max_train_epochs = 1
    save_config(cfg, tmp_path / "run.toml")
    result = run("steps", tmp_path / "run.toml")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("  train ") and " x " in line]
    assert len(rows) == 3 and any("5_b\\tc" in row for row in rows), rows
    assert len({cells(row) for row in rows}) == 1, rows  # by screen columns: 猫 takes two
