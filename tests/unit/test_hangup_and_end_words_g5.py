"""Small parts of the G5 fixes: stderr on a terminal that closed (EIO) is silenced, not raised; the
launcher relays SIGHUP as a stop once (never as the second, unsaved stop); a failed state save's
NAME-state.tmp is removed unless it is the only complete copy; the error hint for EFBIG; the app's
wording leaves out the CLI's --resume hint (the Caption screen offers its own)."""

from __future__ import annotations

import errno
import os
import pty
import signal

import pytest

pytest.importorskip("torch")


def test_tell_on_a_closed_terminal_does_not_raise():
    from loratui.engine.run_events import tell

    master, terminal = pty.openpty()
    stream = os.fdopen(terminal, "w")
    try:
        os.close(master)  # the terminal hung up: a write now fails with EIO
        tell("a line", stream=stream)
        tell("another line", stream=stream)  # the null device now
    finally:
        stream.close()

    class Broken:
        def write(self, text):
            raise OSError(errno.EPIPE, "Broken pipe")

        def flush(self):
            pass

    tell("x", stream=Broken())


def test_the_launcher_relays_sighup_once_as_a_stop():
    from loratui.engine import launch

    relay = launch.SignalRelay()
    relay._on_signal(signal.SIGHUP, None)
    relay._on_signal(signal.SIGHUP, None)  # the kernel's and the shell's
    assert relay.received == [signal.SIGHUP]
    relay._on_signal(signal.SIGINT, None)  # a Ctrl-C after it still counts: stop at once
    assert relay.received == [signal.SIGHUP, signal.SIGINT]
    assert "SIGHUP" not in launch.AGENT_SIGNALS  # torchrun's agent would kill the ranks unsaved
    assert signal.SIGHUP in launch.RELAYED_SIGNALS


def test_remove_partial_state(tmp_path):
    from loratui.engine.run_saves import remove_partial_state

    folder = tmp_path / "n-state"
    (tmp_path / "n-state.tmp").mkdir()
    remove_partial_state(folder)  # failed while writing: the .tmp is half a state
    assert not (tmp_path / "n-state.tmp").exists()
    (tmp_path / "n-state.tmp").mkdir()
    (tmp_path / "n-state.old").mkdir()
    remove_partial_state(folder)  # the old state moved aside, the new one complete: the only one left
    assert (tmp_path / "n-state.tmp").is_dir()


def test_disk_full_hint(monkeypatch):
    from loratui.core import diskspace
    from loratui.engine.run_saves import disk_full_hint

    efbig = OSError(errno.EFBIG, "File too large")
    monkeypatch.setattr(diskspace, "file_size_limit", lambda: 100 * 1024)
    assert disk_full_hint(efbig, "the file size limit ...") == "raise the file size limit (ulimit -f) and start again"
    monkeypatch.setattr(diskspace, "file_size_limit", lambda: None)
    assert "another disk" in disk_full_hint(efbig, "x is larger than its file system")
    full = OSError(errno.ENOSPC, "No space left on device")
    assert disk_full_hint(full, "no space left on ...") == "free some space or use another output_dir"


def test_app_wording_drops_the_cli_resume_hint():
    from loratui.tui.services.caption_models import app_wording

    cli = ("/d/undo/000006.json: cannot write the undo journal (No space left on device); stopped after 20 "
           "caption(s) written (with --resume, to caption only the rest)")
    app = app_wording(cli)
    assert "--resume" not in app and app.endswith("stopped after 20 caption(s) written"), app
