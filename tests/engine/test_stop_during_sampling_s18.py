"""A stop while a sample renders (the h6 hunt, A3): the run printed "again to stop at once", but a second
SIGTERM sent while the main thread was inside one long torch call was merged with the first by Python (one
handler call), and the sampling went on to its end. Now each delivery counts (run_controls.SignalCount), the
first stop ends the sampling at its next denoising step (no later prompt begun), then the run saves and stops
as a stop between steps does; a second one stops at once. No timed assertion: the subprocess timeout is the
hang guard."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
import torch

from fixtures.torch_threads import one_torch_thread  # noqa: F401 - autouse: one torch thread
from loratui.core.events import events_path, read_events
from loratui.engine.run_controls import RunControls, SignalCount
from loratui.engine.sampling import SamplePrompt, generate_samples
from test_sampling import _base
from test_train import make_project

pytestmark = pytest.mark.slow  # starts `loratui train` (imports torch and diffusers)

HANG_GUARD_S = 300


# --- the handler: deliveries merged into one call still count --------------------------------------------

class Host(RunControls):
    """What _on_signal reads of a run."""

    def __init__(self):
        self.signals_seen, self.training_began, self.world = 0, True, 1
        self.trainer = SimpleNamespace(stop_requested=False)
        self.lines = []

    def say(self, text):
        self.lines.append(text.strip())


def _delivered(host, *signums):
    """As the C-level handler does for each delivery: one byte each on the wakeup fd."""
    os.write(host.signal_count.write_fd, bytes(signums))


def test_two_sigterms_merged_into_one_handler_call_stop_at_once():
    host = Host()
    host.count_signals()
    try:
        assert host.signal_count.read_fd is not None  # pytest runs tests in the main thread
        _delivered(host, signal.SIGTERM, signal.SIGTERM)
        with pytest.raises(KeyboardInterrupt):
            host._on_signal(signal.SIGTERM, None)
        assert host.trainer.stop_requested and host.signals_seen == 2
    finally:
        host.stop_counting_signals()
    assert signal.set_wakeup_fd(-1) == -1  # the previous wakeup fd (none) is back


def test_one_delivery_is_one_stop_and_a_call_already_counted_does_nothing():
    host = Host()
    host.count_signals()
    try:
        _delivered(host, signal.SIGTERM)
        host._on_signal(signal.SIGTERM, None)
        assert host.trainer.stop_requested and host.signals_seen == 1
        assert host.lines == ["SIGTERM: finishing the current step, then saving the LoRA and the state (again to "
                              "stop at once, without saving)"]
        host._on_signal(SIGTERM := signal.SIGTERM, None)  # its byte was read by the call before: not a second
        assert host.signals_seen == 1
        _delivered(host, SIGTERM)
        with pytest.raises(KeyboardInterrupt):
            host._on_signal(SIGTERM, None)
    finally:
        host.stop_counting_signals()


def test_two_sighups_merged_are_still_one_stop():
    host = Host()
    host.count_signals()
    try:
        _delivered(host, signal.SIGHUP, signal.SIGHUP)
        host._on_signal(signal.SIGHUP, None)  # the kernel's and the shell's: never a stop without saving
        assert host.trainer.stop_requested and host.signals_seen == 1
    finally:
        host.stop_counting_signals()


def test_without_a_wakeup_fd_each_call_is_one_signal():
    host = Host()
    host._on_signal(signal.SIGINT, None)
    with pytest.raises(KeyboardInterrupt):
        host._on_signal(signal.SIGINT, None)


# --- sampling: the stop is looked at after each denoising step and between prompts ------------------------

def test_a_stop_ends_the_sampling_at_the_next_step_and_begins_no_other_prompt(tmp_path, tiny_sd1_dir):
    base = _base(tiny_sd1_dir)
    prompts = [SamplePrompt("a red circle", width=64, height=64, steps=50, seed=5),
               SamplePrompt("a square", width=64, height=64, steps=50)]
    asked = []

    def stop():
        asked.append(1)
        return len(asked) > 3  # before the first prompt, then after steps 1, 2 and 3

    common = dict(output_name="tiny", step=3, epoch=1, device="cpu", dtype=torch.float32, seed=42)
    paths = generate_samples(base, prompts, tmp_path / "sample", stop=stop, **common)
    assert paths == [] and len(asked) == 4 and not list((tmp_path / "sample").glob("*.png"))
    assert base.unet.training  # modes restored as after a full sampling
    prompts = [SamplePrompt("a red circle", width=64, height=64, steps=2, seed=5),
               SamplePrompt("a square", width=64, height=64, steps=2)]
    seen = []

    def stop_after_the_first():
        seen.append(1)
        return len(seen) > 3  # before prompt 1, after its 2 steps, then before prompt 2: stop
    paths = generate_samples(base, prompts, tmp_path / "two", stop=stop_after_the_first, **common)
    assert len(paths) == 1 and len(seen) == 4


# --- the run: a real `loratui train`, signals while a sample renders ---------------------------------------

def _start(tmp_path, tiny_sd1_dir, prompt: str, **overrides):
    config = make_project(tmp_path / "p", tiny_sd1_dir, **overrides)
    (config.parent / "prompts.txt").write_text(prompt + "\n")
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "loratui", "train", str(config)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=config.parent)
    return config, proc


def _wait_for_sampling(proc) -> bytes:
    """Until the run says it renders a sample (the events file has no event for that: the stderr line)."""
    deadline = time.monotonic() + HANG_GUARD_S
    os.set_blocking(proc.stderr.fileno(), False)
    said = b""
    while b"generating 1 sample image(s)" not in said:
        assert proc.poll() is None, said.decode(errors="replace")
        assert time.monotonic() < deadline, "the run never began sampling"
        said += proc.stderr.read() or b""
        time.sleep(0.1)
    time.sleep(0.5)  # inside the denoising loop (it has 100,000 steps)
    os.set_blocking(proc.stderr.fileno(), True)
    return said


def _end(proc, said: bytes) -> tuple[str, str]:
    try:
        out, err = proc.communicate(timeout=HANG_GUARD_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    return out.decode(), (said + err).decode(errors="replace")


ENDLESS = "shp --w 64 --h 64 --s 100000"  # would render for hours: the run ends only if the stop is seen


def test_one_sigterm_during_a_sample_at_step_n_saves_and_stops(tmp_path, tiny_sd1_dir):
    config, proc = _start(tmp_path, tiny_sd1_dir, ENDLESS, **{"sampling.sample_prompts": "prompts.txt",
                                                               "sampling.sample_every_n_steps": 1,
                                                               "training.max_train_epochs": 50})
    said = _wait_for_sampling(proc)
    proc.send_signal(signal.SIGTERM)
    out, err = _end(proc, said)
    assert proc.returncode == 0, err
    assert "sampling stopped for the stop: 0 of 1 sample image(s) rendered" in err
    finished = read_events(events_path(config.parent / "out", "tiny"))[-1]
    assert finished["event"] == "finished" and finished["reason"] == "stopped", finished
    lora = config.parent / "out" / f"tiny-step{finished['step']:08d}.safetensors"
    assert lora.is_file() and f"saved {lora}" in err and out.splitlines() == [str(lora)]
    assert (config.parent / "out" / "tiny-state" / "state.json").is_file()


def test_two_signals_during_a_sample_at_first_stop_at_once(tmp_path, tiny_sd1_dir):
    config, proc = _start(tmp_path, tiny_sd1_dir, ENDLESS, **{"sampling.sample_prompts": "prompts.txt",
                                                               "sampling.sample_at_first": True})
    said = _wait_for_sampling(proc)
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGTERM)  # back to back: often one handler call, two deliveries
    out, err = _end(proc, said)
    assert proc.returncode == 130, err  # stopped before anything was saved
    assert "stopped (nothing saved)" in err
    finished = read_events(events_path(config.parent / "out", "tiny"))[-1]
    assert finished["event"] == "finished" and finished["reason"] == "stopped" and finished["output"] is None
