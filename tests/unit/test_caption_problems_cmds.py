"""`tags check` and `dataset scan` report caption problems from one source (core.dataset.caption_check):
the same kinds, levels, words and exit codes; scan's header counts add up to the groups below it."""

from __future__ import annotations

import json

from click.testing import CliRunner

from loratui.cli import cli
from loratui.core.captions import parse_caption


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)))


def png(path):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 64)).save(path)


def dataset(tmp_path):
    img = tmp_path / "proj" / "img" / "10_alice"
    for name in ("ok", "empty", "blank", "two", "latin", "none"):
        png(img / f"{name}.png")
    (img / "ok.txt").write_text("alice, solo\n")
    (img / "empty.txt").write_bytes(b"")
    (img / "blank.txt").write_text("\nalice\n")
    (img / "two.txt").write_text("alice\nsolo\n")
    (img / "latin.txt").write_bytes(b"caf\xe9\n")
    for i in range(3):
        png(tmp_path / "proj" / "reg" / "1_woman" / f"r{i}.png")
    return tmp_path / "proj"


def test_tags_check_and_scan_agree(tmp_path):
    root = dataset(tmp_path)
    check = run("tags", "check", root, "--json")
    scan = run("dataset", "scan", root, "--json")
    assert check.exit_code == 1 and scan.exit_code == 1  # a 0-byte caption stops sd-scripts: an error in both
    checked = {(p["kind"], p["severity"], p["message"]) for p in json.loads(check.output)["problems"]}
    scanned = {(p["kind"], p["severity"], p["message"]) for p in json.loads(scan.output)["problems"]
               if "/reg/" not in p["path"]}
    assert checked == scanned
    assert ("empty_caption", "error", "10_alice/empty.txt is empty (0 bytes): sd-scripts stops with an error; "
            "write a caption or delete the file") in checked
    kinds = {(k, s) for k, s, _ in checked}
    assert {("caption_not_utf8", "error"), ("multiline_caption", "warning"), ("empty_caption", "warning"),
            ("missing_caption", "warning")} <= kinds


def test_tags_check_exit_0_with_only_warnings(tmp_path):
    img = tmp_path / "10_a"
    png(img / "a.png")
    (img / "a.txt").write_text("a\nb\n")
    result = run("tags", "check", tmp_path)
    assert result.exit_code == 0 and "0 error(s), 1 warning(s)" in result.output
    assert "warning multiline_caption (1):" in result.output


def test_scan_counts_match_the_grouped_list(tmp_path):
    root = dataset(tmp_path)
    out = run("dataset", "scan", root).output
    # 2 errors; warnings: blank, two, none (missing); info: 3 uncaptioned reg images
    assert "2 error(s), 3 warning(s), 3 info" in out
    assert "warning missing_caption (1):" in out and "info missing_caption (3):" in out
    groups = [line for line in out.splitlines() if line.endswith("):") and line.split()[0] in ("error", "warning", "info")]
    totals = {}
    for line in groups:
        level, count = line.split()[0], int(line.rsplit("(", 1)[1].rstrip("):"))
        totals[level] = totals.get(level, 0) + count
    assert totals == {"error": 2, "warning": 3, "info": 3}
    data = json.loads(run("dataset", "scan", root, "--json").output)
    assert (data["errors"], data["warnings"], data["infos"]) == (2, 3, 3)


def test_caption_issues_are_the_same_messages(tmp_path):
    assert "0 bytes" in parse_caption(b"", tmp_path / "x.txt").issues()[0]
    assert "empty prompt" in parse_caption(b"\n", tmp_path / "x.txt").issues()[0]
