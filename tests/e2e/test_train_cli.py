"""`loratui train` as a user runs it: a real process, stopped with Ctrl-C (SIGINT) mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from loratui.core.events import read_events

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixtures.tiny_models import make_tiny_sd1  # noqa: E402
from test_train import make_project  # noqa: E402


def test_sigint_finishes_the_step_saves_state_and_lora_and_exits_0(tmp_path):
    model = make_tiny_sd1(tmp_path / "model")
    config = make_project(tmp_path / "project", model, **{"training.max_train_epochs": 500})
    events_file = tmp_path / "project" / "out" / "tiny.events.jsonl"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "loratui", "train", str(config)], cwd=tmp_path / "project",
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while not any(e["event"] == "step" for e in read_events(events_file)):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no step event within 120 s"
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    events = read_events(events_file)
    finished = events[-1]
    assert finished["event"] == "finished" and finished["reason"] == "stopped"
    assert 1 <= finished["step"] < 2000
    out_dir = tmp_path / "project" / "out"
    lora = out_dir / f"tiny-step{finished['step']:08d}.safetensors"
    assert finished["output"] == str(lora) and lora.is_file()
    assert (out_dir / "tiny-state" / "state.json").is_file()
    assert not (out_dir / "tiny.lock").exists()
    assert "SIGINT: finishing the current step" in err
