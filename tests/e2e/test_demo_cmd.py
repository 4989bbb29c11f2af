"""`loratui demo --headless` and `./dev.sh demo` without a terminal, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


@pytest.mark.slow
def test_headless_demo_prints_the_lora_path(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "loratui", "demo", "--headless", "--dir", str(tmp_path / "demo")],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, env=ENV, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("LoRA: "), last
    lora = Path(last.removeprefix("LoRA: "))
    assert lora == tmp_path / "demo" / "model" / "shapes_demo.safetensors" and lora.stat().st_size > 0


@pytest.mark.slow
def test_dev_sh_demo_without_a_terminal_falls_back_to_the_headless_demo(tmp_path):
    proc = subprocess.run([str(REPO / "dev.sh"), "demo", "--dir", str(tmp_path / "demo"), "--no-train"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, env=ENV, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    notes = [line for line in proc.stderr.splitlines() if line.startswith("note: ")]
    assert notes == ["note: no terminal (stdin/stdout) for the app: running the headless demo "
                     "(loratui demo --headless)"]
    assert "$ loratui steps config.toml" in proc.stdout and (tmp_path / "demo" / "config.toml").is_file()


def test_the_app_demo_needs_a_terminal_and_says_so_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "loratui", "demo", "--dir", str(tmp_path / "demo")],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: the app needs a terminal (stdin and stdout): `loratui demo --headless` runs the demo without one"]
    assert not (tmp_path / "demo").exists()  # nothing built for an app that cannot open
