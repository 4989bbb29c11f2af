"""The real `loratui PROJECT` in an 80x24 pseudo-terminal, killed with SIGTERM (or its link dropped: SIGHUP)
while a bulk tag write runs (s17). Each caption write is slowed here so that the write outlasts the exit
watchdog's 5 s: before, the app went quiet, the watchdog's os._exit cut the write off after 5 s (a part of
the captions written, the writers' temp files and the journal's `.writing` marker left in the dataset).
Now the terminal is given back at once with one line saying what the app waits for, the write ends, the
process exits 128 + the signal, every caption is whole and tagged, and `loratui tags undo` takes it back."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import threading
import time
from pathlib import Path

import pytest
from fixtures.cli_run import run_main
from fixtures.tui_dataset import make_many

from loratui.tui.services.drafts import EXIT_GRACE_S

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux pseudo-terminal")

COUNT = 400
WRITE_DELAY_S = 0.15  # per caption, 8 writer threads: about 7.5 s for the whole write, more than EXIT_GRACE_S

CHILD = """\
import sys, time
from loratui.core.captions import journal
write = journal.atomic_write_bytes
def slow(*args, **kwargs):
    time.sleep(float(sys.argv[2]))
    return write(*args, **kwargs)
journal.atomic_write_bytes = slow
from loratui.cli import main
main([sys.argv[1]])
"""


class App:
    """The app on a pty, its output drained and kept."""

    def __init__(self, home: Path) -> None:
        self.output = bytearray()
        pid, fd = pty.fork()
        if pid == 0:
            env = {**os.environ, "TERM": "xterm-256color", "HF_HUB_OFFLINE": "1",
                   "XDG_CONFIG_HOME": str(home / "xdg"), "XDG_CACHE_HOME": str(home / "xdg")}
            os.chdir(home)
            signal.signal(signal.SIGHUP, signal.SIG_DFL)
            os.execve(sys.executable, [sys.executable, "-c", CHILD, "proj", str(WRITE_DELAY_S)], env)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.open = True
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        while self.open:
            try:
                if select.select([self.fd], [], [], 0.1)[0]:
                    data = os.read(self.fd, 65536)
                    if not data:
                        return
                    self.output += data
            except OSError:
                return

    def wait_for(self, text: bytes, since: int = 0, timeout: float = 60.0) -> None:
        """Until ``text`` (a regular expression when compiled) is drawn after byte ``since`` of the output."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (text.search(self.output, since) if isinstance(text, re.Pattern) else text in self.output[since:]):
                return
            time.sleep(0.05)
        raise AssertionError(f"{text!r} never drawn; last output: {bytes(self.output[-1500:])!r}")

    def send(self, *keys: str) -> None:
        for key in keys:
            os.write(self.fd, key.encode())
            time.sleep(0.15)

    def close(self) -> None:
        self.open = False
        self.reader.join(timeout=2)
        os.close(self.fd)

    def exit_status(self, timeout: float = 90.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        raise AssertionError("the app did not end after the signal")


def _captions(img: Path) -> dict[str, bytes]:
    return {p.relative_to(img).as_posix(): p.read_bytes() for p in sorted(img.rglob("*.txt"))}


def _start_write(tmp_path: Path) -> tuple[App, Path, dict[str, bytes]]:
    """The app on proj/ (COUNT captions), every image selected, "add zzz" applied: its write is running."""
    img = make_many(tmp_path / "proj" / "img", COUNT)
    before = _captions(img)
    app = App(tmp_path)
    app.wait_for(b"Screens")  # the footer: the first frame
    app.wait_for(b"%d images" % COUNT)
    app.wait_for(b"long hair")  # the captions are read: the tag list shows one
    app.send("\x01")  # ctrl+a: select all
    app.wait_for(b"%d selected" % COUNT)
    mark = len(app.output)
    app.send("+")
    app.wait_for(b"Add tags", since=mark)
    app.send(*"zzz", "\r")
    app.wait_for(b"Tags gained", since=mark)  # the preview
    mark = len(app.output)
    app.send("\r")
    # "writing 12 of 400 caption(s)…" on the status line (the preview said "400 of 400 caption(s) change")
    app.wait_for(re.compile(rb"writing [1-9][\d,]* of %d caption" % COUNT), since=mark)
    return app, img, before


def _check_whole_and_undone(img: Path, before: dict[str, bytes], capsys) -> None:
    after = _captions(img)
    assert after.keys() == before.keys()
    assert all(after[rel] == before[rel].rstrip(b"\n") + b", zzz\n" for rel in before)  # every one, whole
    left = sorted(p.name for p in img.rglob("*") if p.name.endswith((".tmp", ".writing")))
    assert left == []  # no writer's temp file, no journal marker of a write cut off
    code, _, err = run_main(["tags", "undo", "--yes", img.parent], capsys)
    assert code == 0, err
    assert _captions(img) == before


def test_sigterm_during_a_write_gives_the_terminal_back_finishes_it_and_exits_143(tmp_path, capsys):
    app, img, before = _start_write(tmp_path)
    try:
        mark = len(app.output)
        os.kill(app.pid, signal.SIGTERM)
        killed = time.monotonic()
        app.wait_for(b"loratui: finishing the tag write (", since=mark, timeout=10)
        said = time.monotonic() - killed
        assert app.exit_status() == 128 + signal.SIGTERM
        took = time.monotonic() - killed
    finally:
        app.close()
    print(f"line after {said:.2f} s, exit after {took:.2f} s")
    assert said < 3  # at once, not when the write has ended
    assert took > EXIT_GRACE_S  # the write outlasted the watchdog's grace: it was not cut off
    after = bytes(app.output[mark:])
    left = after.index(b"\x1b[?1049l")  # the alternate screen is left first, then the line
    line_at = after.index(b"loratui: finishing the tag write (")
    assert left < line_at and b"\x1b[?25h" in after[:line_at]  # the cursor shown again
    tail = after[line_at:].decode()
    assert tail.rstrip("\r\n").endswith("before exiting; `loratui tags undo proj` takes it back")
    assert "\x1b" not in tail  # nothing drawn after it (no second restore putting the cursor back over it)
    _check_whole_and_undone(img, before, capsys)


def test_a_dropped_link_during_a_write_finishes_it_and_exits_129(tmp_path, capsys):
    app, img, before = _start_write(tmp_path)
    app.close()  # the pty's master closed: the kernel hangs the terminal up and sends SIGHUP
    assert app.exit_status() == 128 + signal.SIGHUP
    _check_whole_and_undone(img, before, capsys)
