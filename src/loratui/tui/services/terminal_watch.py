"""Notice a terminal that hung up when no SIGHUP says so.

Started under `nohup` (SIGHUP ignored, which the app keeps), a dropped SSH link leaves the app reading
end-of-file from a dead terminal: Textual's input thread then spins a CPU core for ever and nothing
is saved. The terminal is asked every few seconds whether it is still there (its foreground process
group: EIO once hung up, where isatty() turns false too); when it is gone the app ends as a SIGHUP
would have ended it (services.drafts: drafts written, exit 129).
"""

from __future__ import annotations

import errno
import os

CHECK_EVERY_S = 2.0


def terminal_hung_up(fd: int = 0) -> bool:
    """Whether ``fd``, a terminal when the app started, is one whose other end went (EIO). Not a
    terminal at all (ENOTTY: a test, a pipe) is no hang-up."""
    try:
        os.tcgetpgrp(fd)
    except OSError as exc:
        return exc.errno in (errno.EIO, errno.ENXIO)
    return False


def watch_terminal(app, on_gone) -> None:
    """Check the app's terminal every CHECK_EVERY_S seconds; call ``on_gone()`` once when it hung up.
    Only for a terminal that was one when the app started."""
    try:
        fd = 0
        if not os.isatty(fd):
            return
    except (OSError, ValueError):
        return
    said = []

    def check() -> None:
        if not said and terminal_hung_up(fd):
            said.append(True)
            on_gone()

    app.set_interval(CHECK_EVERY_S, check, name="terminal watch")
