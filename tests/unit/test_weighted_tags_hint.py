"""The weighted_tags info said "trained as text unless weighted_captions is on", but loratui has no
weighted_captions key (setting it is an unknown-key error). It now says what holds for loratui and
names a command that really drops the weights."""

from __future__ import annotations

import shlex
from pathlib import Path

from PIL import Image

from fixtures.cli_run import run_main
from loratui.core.dataset import caption_problems

P = Path("10_alice/x.txt")


def _weighted_message(line: str) -> str:
    [problem] = [p for p in caption_problems(P, line.encode()) if p.kind == "weighted_tags"]
    assert problem.severity == "info"
    return problem.message


def test_the_message_says_plain_text_and_names_the_command():
    message = _weighted_message("(masterpiece:1.2), solo")
    assert "unless weighted_captions is on" not in message
    assert "they train as plain text (loratui reads no prompt weights" in message
    assert "`loratui tags replace DIR --regex " in message


def test_the_named_command_drops_the_weights(tmp_path, capsys):
    concept = tmp_path / "img" / "2_alice"
    concept.mkdir(parents=True)
    Image.new("RGB", (64, 64)).save(concept / "a.png")
    (concept / "a.txt").write_text("alice, (blue eyes:1.2), [smile:0.8], (red:-1), solo\n", encoding="utf-8")
    message = _weighted_message((concept / "a.txt").read_text(encoding="utf-8"))
    command = message.split("`")[1]  # the one `...` in the line, as a user would copy it
    args = shlex.split(command)
    assert args[:3] == ["loratui", "tags", "replace"]
    args[args.index("DIR")] = str(tmp_path / "img")
    code, _out, err = run_main([*args[1:], "--yes"], capsys)
    assert code == 0, err
    assert (concept / "a.txt").read_text(encoding="utf-8") == "alice, blue eyes, smile, red, solo\n"
