"""`loratui caption` edge cases: JSON error events, the TTY bar, providers, shared caption files."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.captioners.wd14 import WD14Captioner
from loratui.commands import caption_cmd
from loratui.commands.caption_cmd import caption
from loratui.core.errors import LoratuiError


def test_json_events_report_a_bad_model_as_an_error_event(tmp_path):
    res = CliRunner().invoke(caption, ["wd14", str(tmp_path), "--model", str(tmp_path / "nope"), "--json-events"])
    assert isinstance(res.exception, LoratuiError)
    events = [json.loads(line) for line in res.stdout.splitlines()]
    assert events == [{"event": "error", "message": str(res.exception), "exit_code": 2}]


def test_the_tty_bar_redraws_in_place(monkeypatch, capsys):
    out = caption_cmd._Output(json_events=False)
    out.tty = True
    for done in range(1, 4):
        out.emit({"event": "progress", "done": done, "total": 3, "captioned": done, "failed": 0,
                  "images_per_s": 1.0, "eta_s": 1, "elapsed_s": done})
        out.emit({"event": "captioned", "image": "a.png", "caption_file": "a.txt", "caption": "x", "dry_run": False})
    err = capsys.readouterr().err
    assert err.count("\r") == 3 and "\n" not in err


def test_unknown_provider_is_one_line(wd14_v3):
    with pytest.raises(LoratuiError, match="--providers FooExecutionProvider: not an onnxruntime execution provider"):
        WD14Captioner(wd14_v3, providers=["FooExecutionProvider"])


def test_images_sharing_a_caption_are_captioned_once_and_reported(tmp_path, wd14_v3):
    root = tmp_path / "5_x"
    root.mkdir()
    Image.new("RGB", (64, 64), (0, 0, 255)).save(root / "a.jpg")
    Image.new("RGB", (64, 64), (255, 0, 0)).save(root / "a.png")
    res = CliRunner().invoke(caption, ["wd14", str(tmp_path), "--model", str(wd14_v3), "--json-events"])
    assert res.exit_code == 0, res.output
    events = [json.loads(line) for line in res.stdout.splitlines()]
    assert events[0]["to_caption"] == 1 and events[0]["skipped"] == 1
    warning = next(e for e in events if e["event"] == "warning")
    assert warning["image"].endswith("a.png") and "shares a.txt with a.jpg" in warning["message"]


@pytest.mark.parametrize("option", ["--always-first-tags", "--undesired-tags"])
def test_wd14_text_options_with_a_line_break_are_refused(tmp_path, option):
    """--always-first-tags 'tr\\nig' wrote a two-line caption; sd-scripts trains on its first line only."""
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    res = CliRunner().invoke(caption, ["wd14", str(tmp_path), "--model", str(tmp_path), option, "tr\nig"])
    assert isinstance(res.exception, LoratuiError) and "holds a line break" in str(res.exception)
    assert not (tmp_path / "a.txt").exists()
