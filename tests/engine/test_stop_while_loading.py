"""A stop (SIGINT) while a real `loratui train` still loads: the run ends as a stop before anything was
saved (exit 130, a `finished` event with reason "stopped", no LoRA, no state), never as a crash.

The signal used to raise KeyboardInterrupt at once, which could land inside a lazy diffusers / numpy
import and leave numpy half-imported: the run then hit a RecursionError and ended as an internal error.
Now the handler only notes it while loading, and the run stops at its next loading stage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from loratui.core.events import events_path, read_events
from test_train import make_project

pytestmark = pytest.mark.slow  # each test starts `loratui train` (imports torch and diffusers)


def _train_and_interrupt(config: Path, when) -> tuple[int, str]:
    """Start `loratui train CONFIG`, send SIGINT once ``when(line, events)`` holds for a stderr line."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "loratui", "train", str(config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=config.parent)
    events_file = events_path(config.parent / "out", "tiny")
    lines, sent = [], False
    try:
        for line in proc.stderr:
            lines.append(line)
            if not sent and when(line, read_events(events_file) if events_file.exists() else []):
                proc.send_signal(signal.SIGINT)
                sent = True
        code = proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert sent, "the moment to stop never came:\n" + "".join(lines)
    return code, "".join(lines)


def _check_stopped_before_anything_was_saved(config: Path, code: int, output: str) -> None:
    out = config.parent / "out"
    assert code == 130, output
    assert "internal error" not in output and "Traceback" not in output and "RecursionError" not in output, output
    assert "SIGINT: stopping once the current loading stage is done" in output
    assert output.rstrip().endswith("stopped (nothing saved)"), output
    events = read_events(events_path(out, "tiny"))
    assert events[-1]["event"] == "finished" and events[-1]["reason"] == "stopped" and events[-1]["output"] is None
    assert not [e for e in events if e["event"] in ("error", "checkpoint_saved", "step")]
    assert not list(out.glob("*.safetensors")) and not list(out.glob("*-state"))


@pytest.mark.parametrize("moment", ["while the model loads", "once the model is loaded"])
def test_sigint_during_loading_stops_cleanly(tiny_sd1_dir, tmp_path, moment):
    config = make_project(tmp_path / "p", tiny_sd1_dir)
    prefix = "loading " if moment == "while the model loads" else "model: "
    code, output = _train_and_interrupt(config, lambda line, events: line.startswith(prefix))
    _check_stopped_before_anything_was_saved(config, code, output)


def test_sigint_while_the_first_samples_render_stops_before_the_first_step(tiny_sd1_dir, tmp_path):
    """Stopped once "training N steps" is said, while sample_at_first renders several prompts (seconds
    on the CPU): the rendering is not cut mid-way, and no step is trained."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "prompts.txt").write_text("".join(f"shape {i} --w 64 --h 64 --s 12 --d {i}\n" for i in range(6)))
    config = make_project(root, tiny_sd1_dir, **{"sampling.sample_prompts": "prompts.txt",
                                                 "sampling.sample_at_first": True})
    code, output = _train_and_interrupt(config, lambda line, events: line.startswith("training "))
    _check_stopped_before_anything_was_saved(config, code, output)
