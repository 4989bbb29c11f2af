"""The real `loratui DIR` in a detached 80x24 tmux session, typed at like a user over SSH.

Skipped only when tmux is missing. Checks the caption file on disk after an inline edit, and that
TERM=screen-256color and TERM=linux both start the app.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from fixtures.tui_dataset import make_dataset

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

LORATUI = str(Path(sys.executable).with_name("loratui"))


class Tmux:
    def __init__(self, tmp: Path, term: str):
        self.name = f"loratui-test-{uuid.uuid4().hex[:8]}"
        self.socket = str(tmp / "tmux.sock")
        self.term = term

    def tmux(self, *args: str) -> str:
        out = subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True, text=True, timeout=20)
        return out.stdout

    def start(self, command: str, env: dict[str, str]) -> None:
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        self.tmux("-f", "/dev/null", "new-session", "-d", "-s", self.name, "-x", "80", "-y", "24",
                  f"env TERM={self.term} {exports} {command}; sleep 30")

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", self.name, key)
            time.sleep(0.15)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.name, "-l", text)
        time.sleep(0.3)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen shows:\n{self.screen()}")

    def kill(self) -> None:
        self.tmux("kill-server")


@pytest.fixture
def session(tmp_path, request):
    sessions = []

    def make(term: str = "xterm-256color") -> Tmux:
        s = Tmux(tmp_path, term)
        sessions.append(s)
        return s

    yield make
    for s in sessions:
        s.kill()


def _env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "HF_HUB_OFFLINE": "1"}


def test_typed_edit_reaches_the_caption_file(tmp_path, session):
    root = make_dataset(tmp_path / "proj")
    caption = root / "img" / "10_alice" / "a01.txt"
    tmux = session()
    tmux.start(f"{LORATUI} {root}", _env(tmp_path))
    tmux.wait_for("a01.png")
    tmux.wait_for("1. alice")          # captions arrived, the editor shows the first image
    tmux.wait_for("1 problem (p)")     # the scan too: the app is idle, as when a person starts typing
    time.sleep(0.5)
    tmux.keys("e", "a")
    tmux.type("blue eyes")
    tmux.keys("Enter")
    deadline = time.monotonic() + 10
    while "blue eyes" not in caption.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert caption.read_text() == "alice, blue eyes, 1girl, solo, long hair, smile, outdoors\n", tmux.screen()
    tmux.wait_for("saved")
    tmux.keys("Escape", "Escape", "C-q")
    time.sleep(0.5)
    assert "a01.png" not in tmux.screen()  # the app is gone, the shell's sleep holds the pane


@pytest.mark.parametrize("term", ["screen-256color", "linux"])
def test_starts_under_other_terminals(tmp_path, session, term):
    root = make_dataset(tmp_path / "proj")
    tmux = session(term)
    tmux.start(f"{LORATUI} {root}", _env(tmp_path))
    shown = tmux.wait_for("b02.png")
    assert "Concept" in shown
    tmux.keys("C-q")


def test_missing_path_is_one_line_and_exit_2(tmp_path):
    out = subprocess.run([LORATUI, str(tmp_path / "nope")], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "nope" in out.stderr and "Traceback" not in out.stderr
