"""How a run that ended without its `finished` event is told (services/run_following.py's notice and the
status line, widgets/run_status.py): a signal named with what sends it, an exit code, or (a run another
app or a shell launched: no exit status to read) what its pid and events tell; and what resumes it.
No torch, no textual.
"""

from __future__ import annotations

import signal

# who usually sends a signal that ends a run without a word
SENDERS = {signal.SIGKILL: "kill -9, or the OOM killer when the machine ran out of memory",
           signal.SIGTERM: "kill, or the system shutting down", signal.SIGSEGV: "a crash in native code",
           signal.SIGABRT: "a crash in native code", signal.SIGHUP: "its terminal closed",
           signal.SIGBUS: "a file it had mapped shrank, or a memory fault"}


def ended_words(exit_code: int | None, pid: int | None = None) -> str:
    """"killed by signal 9 (SIGKILL: kill -9, or the OOM killer ...)", "exited with code 1", or for a run
    this app did not launch "its process (pid N) ended without a word: killed or crashed"."""
    if exit_code is not None and exit_code < 0:
        try:
            sig = signal.Signals(-exit_code)
        except ValueError:
            return f"killed by signal {-exit_code}"
        sender = SENDERS.get(sig)
        return f"killed by signal {-exit_code} ({sig.name}{f': {sender}' if sender else ''})"
    if exit_code is not None:
        return f"exited with code {exit_code}"
    who = f"its process (pid {pid})" if pid else "its process"
    return (f"{who} ended without a word in its events: killed (kill -9, or the OOM killer: `journalctl -k` "
            "says) or crashed")


def resume_words(state_step: int | None, keys) -> str:
    """What goes on from here: Resume from the newest state's step, else Start anew, each named by the key
    ``keys`` (services/train_keys.py: keymap.toml's) says: "r resumes from step 7"."""
    if state_step is not None:
        return keys.does("train.resume", f"resumes from step {state_step:,}")
    return f"no state was saved to resume from: {keys.does('train.start', 'starts it again')}"
