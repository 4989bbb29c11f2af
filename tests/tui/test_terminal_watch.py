"""A terminal that hung up is told from one that is there and from no terminal at all (checked in a
child whose controlling terminal is a pty, closed the way a dropped SSH link closes it)."""

from __future__ import annotations

import os
import pty
import signal
import sys
import time

import pytest

from loratui.tui.services.terminal_watch import terminal_hung_up

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux pseudo-terminal")


def test_a_pipe_is_no_hang_up():
    read, write = os.pipe()
    try:
        assert not terminal_hung_up(read)
    finally:
        os.close(read)
        os.close(write)


def test_a_pty_whose_other_end_went_is_a_hang_up(tmp_path):
    result = tmp_path / "result"
    pid, fd = pty.fork()
    if pid == 0:  # the child: its controlling terminal is the pty
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup: nothing else tells it
        before = terminal_hung_up(0)
        time.sleep(1.0)
        result.write_text(f"{before} {terminal_hung_up(0)}")
        os._exit(0)
    time.sleep(0.3)
    os.close(fd)
    os.waitpid(pid, 0)
    assert result.read_text() == "False True"
