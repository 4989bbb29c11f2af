"""The real `loratui PROJECT` in a pseudo-terminal, its link dropped (the pty's master closed: the
kernel hangs the terminal up and sends SIGHUP, as sshd does) or killed with SIGTERM, right after a
Settings field was typed and before the draft's 2 s timer: the draft must be on disk, the process
gone with 128 + the signal, and nothing drawn after the hangup may block it."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import struct
import sys
import termios
import threading
import time
from pathlib import Path

import pytest
from fixtures.tui_dataset import make_dataset

from loratui.core.drafts import base_draft_path, draft_files
from loratui.tui.services.drafts import EXIT_GRACE_S

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux pseudo-terminal")

CONFIG = """\
[model]
pretrained_model_name_or_path = "model/base.safetensors"

[dataset]
train_data_dir = "img"
resolution = 512

[network]
network_dim = 16
network_alpha = 8.0

[training]
max_train_epochs = 10
"""


class Terminal:
    """The app on a pty of 80x24, with its output drained (a full pty would block the app)."""

    def __init__(self, project: Path, *, nohup: bool = False) -> None:
        self.output = bytearray()
        pid, fd = pty.fork()
        if pid == 0:  # the child: a session leader whose controlling terminal is the pty
            home = str(project.parent / "xdg")  # no user's keymap, themes or crash logs
            env = {**os.environ, "TERM": "xterm-256color", "HF_HUB_OFFLINE": "1", "XDG_CONFIG_HOME": home,
                   "XDG_CACHE_HOME": home}
            os.chdir(project)
            # as from a login shell: a test run under nohup (SIGHUP ignored, inherited across exec)
            # would start the app with the hang-up ignored, which it then rightly keeps ignoring
            signal.signal(signal.SIGHUP, signal.SIG_IGN if nohup else signal.SIG_DFL)
            os.execve(sys.executable, [sys.executable, "-m", "loratui", "proj.toml"], env)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.open = True
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        while self.open:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.1)
                if ready:
                    data = os.read(self.fd, 65536)
                    if not data:
                        return
                    self.output += data
            except OSError:
                return

    def wait_for(self, text: bytes, since: int = 0, timeout: float = 60.0) -> None:
        """Until ``text`` is drawn after byte ``since`` of the output."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output[since:]:
                return
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never drawn; last output: {bytes(self.output[-1500:])!r}")

    def send(self, *keys: str) -> None:
        for key in keys:
            os.write(self.fd, key.encode())
            time.sleep(0.15)

    def hang_up(self) -> None:
        """What a dropped SSH link does to the session: the terminal's other end goes."""
        self.open = False
        self.reader.join(timeout=2)
        os.close(self.fd)

    def exit_status(self, timeout: float = 15.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.1)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        raise AssertionError("the app did not end after the signal")


def start_typing(tmp_path: Path, *, nohup: bool = False) -> tuple[Terminal, Path]:
    """Open the app, go to Settings, type 32 into network_dim (not saved); the draft timer has not run."""
    root = make_dataset(tmp_path / "proj")
    (root / "proj.toml").write_text(CONFIG, encoding="utf-8")
    term = Terminal(root, nohup=nohup)
    term.wait_for(b"Screens")  # the footer: the first frame is drawn
    mark = len(term.output)
    term.send("3")
    term.wait_for(b"Save", since=mark)  # the Settings footer
    term.send("\x07")  # ctrl+g: go to a field by name
    time.sleep(0.5)
    term.send(*"network_dim", "\r")
    time.sleep(0.5)
    mark = len(term.output)
    term.send("\x15", "3", "2")  # ctrl+u, then 32
    term.wait_for(b"changed", since=mark)  # "* 1 changed" in the status line
    return term, root


def drafted(root: Path) -> dict:
    """The one draft the ended app left: its own file, named with its pid (two apps never share one)."""
    found = draft_files(base_draft_path(root / "proj.toml"))
    assert len(found) == 1, f"not one draft beside the config: {sorted(p.name for p in root.iterdir())}"
    assert found[0].tag and not found[0].alive and not found[0].own  # the ended app's
    return json.loads(found[0].path.read_text(encoding="utf-8"))["fields"]


def test_a_dropped_link_keeps_the_typed_settings_in_a_draft(tmp_path):
    term, root = start_typing(tmp_path)
    term.hang_up()
    hung_up = time.monotonic()
    assert term.exit_status() == 128 + signal.SIGHUP
    print(f"ended {time.monotonic() - hung_up:.2f} s after the hangup")
    assert time.monotonic() - hung_up < EXIT_GRACE_S  # a clean exit, not the watchdog's os._exit
    assert drafted(root) == {"network.network_dim": {"typed": "32", "file": "16"}}
    assert "network_dim = 16" in (root / "proj.toml").read_text()  # nothing saved behind the user's back


def test_sigterm_keeps_the_draft_and_ends_cleanly(tmp_path):
    term, root = start_typing(tmp_path)
    os.kill(term.pid, signal.SIGTERM)
    killed = time.monotonic()
    try:
        assert term.exit_status() == 128 + signal.SIGTERM
        assert time.monotonic() - killed < EXIT_GRACE_S
        term.wait_for(b"\x1b[?1049l", since=0, timeout=5)  # the terminal was given back (alt screen left)
    finally:
        term.hang_up()
    assert drafted(root)["network.network_dim"]["typed"] == "32"


def test_under_nohup_a_dropped_link_is_noticed_and_the_draft_kept(tmp_path):
    """SIGHUP ignored (nohup): no signal comes, and the app spun a core on the dead terminal for ever.
    It now asks the terminal every 2 s and ends as a hang-up would."""
    term, root = start_typing(tmp_path, nohup=True)
    term.hang_up()
    assert term.exit_status(timeout=15) == 128 + signal.SIGHUP
    assert drafted(root)["network.network_dim"]["typed"] == "32"
