"""`loratui train CONFIG --json | head -3`: the reader of the echoed events leaves after three lines.
The run must go on to its end (a LoRA saved, the events file ending with `finished`, exit 0), say
once on stderr where its events are, and never end as "internal error: BrokenPipeError" (it did:
EventWriter wrote to the closed pipe unguarded, and the run crashed with nothing saved)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from loratui.core.events import events_path, read_events
from test_train import make_project

pytestmark = pytest.mark.slow  # starts `loratui train` (imports torch and diffusers)


def test_a_closed_stdout_does_not_stop_the_run(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path / "p", tiny_sd1_dir)
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    proc = subprocess.Popen([sys.executable, "-m", "loratui", "train", str(config), "--json", "--max-steps", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=config.parent)
    try:
        first = proc.stdout.readline()  # the reader takes one line (`| head -1`) and goes
        proc.stdout.close()
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert first.startswith(b"{")
    out = config.parent / "out"
    events_file = events_path(out, "tiny")
    assert code == 0, err
    assert "internal error" not in err and "BrokenPipe" not in err and "Exception ignored" not in err, err
    assert err.count("stdout closed: the run goes on; its events are in") == 1 and str(events_file) in err, err
    events = read_events(events_file)
    assert events[-1]["event"] == "finished" and events[-1]["reason"] == "completed" and events[-1]["step"] == 3
    assert not [e for e in events if e["event"] == "error"]
    assert (out / "tiny.safetensors").is_file()
