"""`loratui tags to-utf8`: captions sd-scripts cannot read (cp1252, UTF-16) or reads wrongly (a UTF-8
BOM) are re-saved as plain UTF-8, the text and line endings kept, as one undoable change."""

from __future__ import annotations

import json
import os

from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli
from loratui.core.captions import load_captions, recode_plan
from loratui.core.dataset import caption_problems


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


def make(tmp_path):
    concept = tmp_path / "img" / "10_a"
    concept.mkdir(parents=True)
    files = {
        "latin": "café, solo\n".encode("cp1252"),
        "bom": b"\xef\xbb\xbfsmile, solo\r\n",
        "plain": "ok, solo\n".encode("utf-8"),
        "noeol": "fin, solo".encode("cp1252") + b"\xe9",
    }
    files["utf16"] = b"\xff\xfe" + "naïve, solo\nsecond line\n".encode("utf-16-le")
    for name, data in files.items():
        Image.new("RGB", (8, 8)).save(concept / f"{name}.png")
        (concept / f"{name}.txt").write_bytes(data)
    return tmp_path / "img", concept, files


def test_plan_lists_only_files_that_are_not_plain_utf8_and_keeps_their_text(tmp_path):
    img, concept, _ = make(tmp_path)
    items = {item.path.stem: item for item in recode_plan(load_captions(img))}
    assert set(items) == {"latin", "bom", "utf16", "noeol"}
    assert items["latin"].was == "cp1252" and items["latin"].data == "café, solo\n".encode()
    assert items["bom"].was == "utf-8 with BOM" and items["bom"].data == b"smile, solo\r\n"
    assert items["utf16"].data == "naïve, solo\nsecond line\n".encode()
    assert items["noeol"].data == "fin, soloé".encode()  # no newline added


def test_command_writes_checks_clean_and_undo_restores_the_bytes(tmp_path):
    img, concept, files = make(tmp_path)
    assert any(p.kind == "caption_not_utf8" and "tags to-utf8" in p.message
               for p in caption_problems(concept / "latin.txt"))
    result = run("tags", "to-utf8", img, "--dry-run")
    assert result.exit_code == 0 and "4 of 5 caption(s) are not plain UTF-8" in result.output
    assert "10_a/latin.txt: cp1252 -> utf-8" in result.output
    assert (concept / "latin.txt").read_bytes() == files["latin"]
    result = run("tags", "to-utf8", img, "--where", "file:latin*", "--yes", "--json")
    data = json.loads(result.output)
    assert data["written"] == 1 and data["files"] == [{"path": "10_a/latin.txt", "was": "cp1252"}]
    assert run("tags", "to-utf8", img, "--yes").exit_code == 0
    for name in files:
        assert not [p for p in caption_problems(concept / f"{name}.txt") if p.kind in ("caption_not_utf8", "caption_bom")]
    assert "Nothing to change." in run("tags", "to-utf8", img, "--yes").output
    assert run("tags", "undo", img, "--yes").exit_code == 0
    assert run("tags", "undo", img, "--yes").exit_code == 0
    for name, data in files.items():
        assert (concept / f"{name}.txt").read_bytes() == data


def test_read_only_caption_is_named_and_left(tmp_path):
    img, concept, files = make(tmp_path)
    os.chmod(concept / "latin.txt", 0o444)
    result = CliRunner().invoke(cli, ["tags", "to-utf8", str(img), "--yes"])
    assert result.exit_code == 1
    assert "latin.txt" in result.output and "read-only" in result.output.lower()
    assert (concept / "latin.txt").read_bytes() == files["latin"]
    assert (concept / "bom.txt").read_bytes() == b"smile, solo\r\n"
    assert run("tags", "to-utf8", img, "--yes", "--force").exit_code == 0
    assert (concept / "latin.txt").read_bytes() == "café, solo\n".encode()


def test_not_a_terminal_writes_nothing(tmp_path, capsys, monkeypatch):
    from tests.unit.test_cli_errors import run_main

    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    img, concept, files = make(tmp_path)
    code, out, err = run_main(["tags", "to-utf8", img], capsys)
    assert code == 2 and "--yes" in err and err.count("\n") == 1
    assert (concept / "latin.txt").read_bytes() == files["latin"]
