"""The end of a run as a script sees it: stdout holds only the LoRA's path without --json, nothing but
JSON with it (h3 hunt, finding 2); a failed state save after the final LoRA removes its half-written
NAME-state.tmp/ and the record keeps the LoRA it saved (h1 hunt, item 9); a file-size limit (EFBIG) is
hinted as that limit, not as a full disk."""

from __future__ import annotations

import errno
import json

import pytest

from loratui.core.events import events_path, read_events
from test_train import make_project

pytestmark = pytest.mark.slow  # trains the tiny model in-process


def _run(config, **options) -> int:
    from loratui.engine.run import Run

    return Run(str(config), show_progress=False, **options).execute()


def test_stdout_is_the_lora_path_alone_or_json_alone(tiny_sd1_dir, tmp_path, capsys):
    config = make_project(tmp_path / "p", tiny_sd1_dir)
    assert _run(config, max_steps=1) == 0
    captured = capsys.readouterr()
    lora = config.parent / "out" / "tiny.safetensors"
    assert captured.out == f"{lora}\n" and lora.is_file()
    assert f"LoRA: {lora}" in captured.err
    assert _run(config, max_steps=1, echo_json=True) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["event"] for line in lines][-1] == "finished"  # every line JSON, no path


def _fail_the_state_save(monkeypatch, code: int) -> None:
    from loratui.engine import state

    def fsync(path):  # every state file is written, then the disk says no: the .tmp folder is full of them
        raise OSError(code, "File too large" if code == errno.EFBIG else "No space left on device", str(path))

    monkeypatch.setattr(state, "fsync_path", fsync)


def test_a_failed_state_save_leaves_no_tmp_and_records_the_saved_lora(tiny_sd1_dir, tmp_path, monkeypatch, capsys):
    config = make_project(tmp_path / "p", tiny_sd1_dir)
    _fail_the_state_save(monkeypatch, errno.ENOSPC)
    assert _run(config, max_steps=1) == 1  # --max-steps keeps a state
    out = config.parent / "out"
    lora = out / "tiny.safetensors"
    assert lora.is_file() and not (out / "tiny-state.tmp").exists() and not (out / "tiny-state").exists()
    events = read_events(events_path(out, "tiny"))
    error, finished = events[-2], events[-1]
    assert error["event"] == "error" and error["kind"] == "disk_full"
    assert error["hint"] == "free some space or use another output_dir"
    assert finished["reason"] == "error" and finished["output"] == str(lora)
    captured = capsys.readouterr()
    assert captured.out == ""  # an error: no path for `lora=$(...)` to take
    assert f"the LoRA was saved before that: {lora}" in captured.err
    assert not (out / "tiny.lock").exists()


def test_efbig_is_hinted_as_the_file_size_limit(tiny_sd1_dir, tmp_path, monkeypatch):
    from loratui.core import diskspace

    config = make_project(tmp_path / "p", tiny_sd1_dir)
    monkeypatch.setattr(diskspace, "file_size_limit", lambda: 100 * 1024)  # `ulimit -f 100`
    _fail_the_state_save(monkeypatch, errno.EFBIG)
    assert _run(config, max_steps=1) == 1
    error = [e for e in read_events(events_path(config.parent / "out", "tiny")) if e["event"] == "error"][-1]
    assert error["hint"] == "raise the file size limit (ulimit -f) and start again", error
    assert error["message"].startswith("the file size limit (ulimit -f 100"), error
