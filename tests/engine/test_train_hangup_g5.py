"""SIGHUP (the terminal, SSH link or tmux pane closed) stops `loratui train` as SIGTERM does: the step
finishes, the LoRA and the state are saved, `finished` says stopped, the lock goes, exit 0. It used to
kill the run with nothing saved and the lock left (h3 hunt, finding 1). The terminal is gone by then:
stderr writes fail (EIO) and must not fail the save. Without --json, stdout's one line is the LoRA's
path (finding 2)."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time

import pytest

from loratui.core.events import events_path, read_events
from test_train import make_project

pytestmark = pytest.mark.slow  # starts `loratui train` (imports torch and diffusers)


def test_sighup_with_the_terminal_gone_saves_and_releases_the_lock(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path / "p", tiny_sd1_dir, **{"training.max_train_epochs": 500})
    out = config.parent / "out"
    events_file = events_path(out, "tiny")
    master, terminal = pty.openpty()  # stderr on a terminal that then closes, as an SSH link drops
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "loratui", "train", str(config)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=terminal, env=env, cwd=config.parent)
    os.close(terminal)
    said = b""
    try:
        deadline = time.monotonic() + 240
        while not any(e["event"] == "step" for e in read_events(events_file)):
            assert proc.poll() is None, said.decode(errors="replace")
            assert time.monotonic() < deadline, "no step event within 240 s"
            if select.select([master], [], [], 0.2)[0]:  # read the terminal, or the run blocks writing to it
                said += os.read(master, 65536)
        os.close(master)  # the terminal is gone: the run's stderr writes now fail with EIO
        proc.send_signal(signal.SIGHUP)
        proc.send_signal(signal.SIGHUP)  # the kernel's and the shell's: never a stop without saving
        stdout, _ = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, said.decode(errors="replace")
    finished = read_events(events_file)[-1]
    assert finished["event"] == "finished" and finished["reason"] == "stopped", finished
    lora = out / f"tiny-step{finished['step']:08d}.safetensors"
    assert finished["output"] == str(lora) and lora.is_file()
    assert (out / "tiny-state" / "state.json").is_file()
    assert not (out / "tiny.lock").exists()
    assert stdout.decode().splitlines() == [str(lora)]  # `lora=$(loratui train c.toml)`
