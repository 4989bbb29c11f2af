"""The CLI as a scripting API (user test h11): stdout under --json holds only JSON, on errors too; a
question is never asked where a script reads stdout; `tags freq --json` lists every tag; a reader that
closes stdout stops a command with exit 141; presets name the family as configs do; a non-UTF-8 file
name still makes valid UTF-8 JSON."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.cli_run import run_main

from loratui.cli import EXIT_STDOUT_CLOSED, json_mode, main
from loratui.commands.options import can_ask, json_line, stdio_is_terminal


def dataset(root: Path, rows: list[str]) -> Path:
    folder = root / "img" / "10_alice"
    folder.mkdir(parents=True)
    for i, row in enumerate(rows):
        (folder / f"{i}.png").write_bytes(b"x")
        (folder / f"{i}.txt").write_text(row + "\n")
    return root / "img"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


# ---- 2: a question only where stdin and stdout are terminals, never with --json ---------------------

def test_can_ask_needs_both_terminals_and_no_json(monkeypatch):
    monkeypatch.setattr(sys, "stdin", Tty())
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # `| jq`: the question would be invisible
    assert not stdio_is_terminal()
    monkeypatch.setattr(sys, "stdout", Tty())
    assert stdio_is_terminal() and can_ask() and not can_ask(as_json=True)
    assert not can_ask(False, lambda: False)


def test_tags_add_json_with_stdout_piped_refuses_without_asking(tmp_path, monkeypatch, capsys):
    root = dataset(tmp_path, ["alice, solo"])
    monkeypatch.setattr(sys, "stdin", Tty())  # a terminal's stdin; stdout is captured (a pipe)
    code, out, err = run_main(["tags", "add", root, "foo", "--json"], capsys)
    assert code == 2 and "[y/N]" not in out
    assert json.loads(out)["written"] == 0  # one JSON document: the plan, nothing else
    assert "--json never asks, so nothing was written: pass --yes" in err
    assert (root / "10_alice" / "0.txt").read_text() == "alice, solo\n"


def test_json_never_asks_even_on_a_terminal(tmp_path, monkeypatch, capsys):
    import loratui.commands.tags_cmd as tags_cmd

    root = dataset(tmp_path, ["alice, solo"])
    monkeypatch.setattr(tags_cmd, "_interactive", lambda: True)
    code, out, err = run_main(["tags", "add", root, "foo", "--json"], capsys)
    assert code == 2 and json.loads(out)["written"] == 0 and "[y/N]" not in out
    assert run_main(["tags", "add", root, "foo", "--json", "--yes"], capsys)[0] == 0
    code, out, err = run_main(["tags", "undo", root, "--json"], capsys)
    assert code == 2 and json.loads(out)["done"] is False and "Undo it?" not in out
    assert (root / "10_alice" / "0.txt").read_text() == "alice, solo, foo\n"


def test_presets_and_config_ask_only_with_stdout_a_terminal(monkeypatch):
    from loratui.commands import config_cmd, presets_cmd

    monkeypatch.setattr(sys, "stdin", Tty())
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert not presets_cmd._interactive() and not config_cmd._interactive()


# ---- 3: tags freq --json lists every tag unless --top is given -------------------------------------

def test_freq_json_lists_every_tag_and_says_when_cut(tmp_path, capsys):
    root = dataset(tmp_path, [", ".join(f"tag{i:02d}" for i in range(60))])
    code, out, _ = run_main(["tags", "freq", root, "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["distinct"] == 60 and data["truncated"] is False and len(data["tags"]) == 60
    data = json.loads(run_main(["tags", "freq", root, "--json", "--top", "5"], capsys)[1])
    assert data["distinct"] == 60 and data["truncated"] is True and len(data["tags"]) == 5
    data = json.loads(run_main(["tags", "freq", root, "--json", "--top", "50"], capsys)[1])
    assert len(data["tags"]) == 50 and data["truncated"] is True  # asked for: given as asked
    out = run_main(["tags", "freq", root], capsys)[1]  # the table keeps its 50
    assert "... 10 more (--top 0 shows all)" in out


# ---- 4: a reader that closes stdout stops a command: exit 141, one line on stderr --------------------

class ClosedPipe(io.StringIO):
    encoding, errors = "utf-8", "strict"

    def write(self, text):
        if isinstance(text, bytes):
            raise TypeError("a text stream")
        if text:
            raise BrokenPipeError(32, "Broken pipe")
        return 0


def test_a_broken_stdout_is_exit_141_with_one_line(tmp_path, monkeypatch, capsys):
    root = dataset(tmp_path, ["alice, solo"])
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    with pytest.raises(SystemExit) as info:
        main(["tags", "freq", str(root), "--json"])
    assert info.value.code == EXIT_STDOUT_CLOSED == 141
    assert sys.stdout.__class__ is ClosedPipe  # click's wrapper is not left behind
    assert capsys.readouterr().err == "stdout closed (broken pipe): stopped\n"


def test_a_real_pipe_closed_early_is_exit_141(tmp_path):
    root = dataset(tmp_path, [", ".join(f"a_long_tag_name_number_{i:05d}" for i in range(6000))])  # ~250 KB table
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    proc = subprocess.Popen([sys.executable, "-m", "loratui", "tags", "freq", str(root), "--top", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        first = proc.stdout.readline()  # `| head -1`
        proc.stdout.close()
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert first.startswith(b"1 caption(s)")
    assert code == 141 and err == "stdout closed (broken pipe): stopped\n", err


# ---- 5: with --json an error is one JSON line on stdout too ---------------------------------------

@pytest.mark.parametrize("args", [
    ["tags", "freq", "{missing}", "--json"],
    ["tags", "freq", "{root}", "--json", "--top", "-1"],  # a usage error
    ["steps", "{missing}.toml", "--json"],
    ["vram", "{missing}.toml", "--json"],
    ["attach", "{missing}", "--list", "--json"],
    ["dataset", "scan", "{missing}", "--json"],
    ["presets", "show", "no-such-preset", "--json"],
    ["lora", "info", "{missing}.safetensors", "--json"],  # prints its own: not twice
])
def test_a_json_command_that_fails_prints_one_error_object(tmp_path, capsys, args):
    root = dataset(tmp_path, ["alice"])
    filled = [a.format(missing=tmp_path / "nope", root=root) for a in args]
    code, out, err = run_main(filled, capsys)
    assert code == 2 and err.startswith("error: ")
    assert len(out.splitlines()) == 1 or out.startswith("{\n"), out
    data = json.loads(out)
    assert data == {"error": err.strip().removeprefix("error: "), "exit_code": 2} or args[0] == "lora"
    assert data["exit_code"] == 2 and data["error"]


def test_no_error_object_after_the_json_a_command_printed(tmp_path, capsys):
    root = dataset(tmp_path, ["alice"])
    code, out, _ = run_main(["tags", "add", root, "x", "--json"], capsys)  # the plan, then "not a terminal"
    assert code == 2 and "error" not in json.loads(out)


def test_an_event_stream_gets_an_error_event(tmp_path, capsys):
    code, out, err = run_main(["train", tmp_path / "nope.toml", "--json"], capsys)
    event = json.loads(out)
    assert code == 2 and event["event"] == "error" and event["exit_code"] == 2
    assert event["message"] == event["error"] and "nope.toml" in event["error"]
    code, out, _ = run_main(["caption", "wd14", tmp_path, "--json-events", "--batch-size", "0"], capsys)
    assert code == 2 and len(out.splitlines()) == 1 and json.loads(out)["event"] == "error"


def test_json_mode_reads_the_options_before_a_double_dash():
    assert json_mode(["tags", "freq", "d", "--json"]) == "object"
    assert json_mode(["train", "c.toml", "--json"]) == "events"
    assert json_mode(["caption", "wd14", "d", "--json-events"]) == "events"
    assert json_mode(["tags", "add", "d", "--", "--json"]) is None


# ---- 6: presets name the family as configs do -----------------------------------------------------

def test_presets_json_has_the_configs_family_spelling(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    listed = json.loads(run_main(["presets", "list", "--json"], capsys)[1])
    assert {(p["family"], p["model_family"]) for p in listed} == {("sd15", "sd1"), ("sdxl", "sdxl")}
    shown = json.loads(run_main(["presets", "show", "sd15-8gb", "--json"], capsys)[1])
    assert shown["family"] == "sd15" and shown["model_family"] == "sd1"


# ---- 7: valid UTF-8 JSON whatever the file names ---------------------------------------------------

def test_json_line_escapes_what_utf8_cannot_encode():
    name = os.fsdecode(b"caf\xe9.txt")  # a Latin-1 name on a UTF-8 system: a lone surrogate
    text = json_line({"path": name, "tag": "café"})
    text.encode("utf-8")
    assert json.loads(text) == {"path": name, "tag": "café"}
    assert json_line({"tag": "café"}) == '{"tag": "café"}'  # readable when it can be


def test_a_non_utf8_file_name_makes_valid_json(tmp_path, capsys):
    root = dataset(tmp_path, ["alice"])
    try:
        (root / "10_alice" / os.fsdecode(b"\xff.png")).write_bytes(b"x")
        (root / "10_alice" / os.fsdecode(b"\xff.txt")).write_text("bob\n")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system refuses non-UTF-8 names")
    code, out, _ = run_main(["tags", "add", root, "foo", "--dry-run", "--json"], capsys)
    out.encode("utf-8")  # no lone surrogate left for the stream to write as a raw byte
    paths = [f["path"] for f in json.loads(out)["files"]]
    assert code == 0 and os.path.join("10_alice", os.fsdecode(b"\xff.txt")) in paths
