"""Several processes (torchrun / accelerate launch): one fails, the others see only a broken collective.

A process that fails (a crash, out of memory) leaves its own line in a small note file of the launch
(``CRASH_DIR/train-<launch>-process<rank>.txt``, CRASH_DIR: core/crashlog.py), before it exits and
so before its peers' next all-reduce breaks. A process whose all-reduce, barrier or broadcast breaks
("Connection closed by peer" from gloo, an NCCL or ProcessGroup error, a timeout) then says which
process failed and why, from those notes, instead of reporting the broken collective as a bug of its
own. A process killed outright (SIGKILL, the OOM killer) leaves no note: the line says so.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

# what gloo / NCCL / c10d say when a peer is gone or stuck (the message is all a plain RuntimeError carries)
COLLECTIVE_WORDS = ("closed by peer", "reset by peer", "broken pipe", "/gloo/", "nccl", "processgroup",
                    "c10d", "timed out", "watchdog", "connection refused")
NOTE_WAIT_S = 3.0  # how long a process that saw a collective break waits for the failed one's note
# set by `loratui train --processes N` (engine/launch.py) for its ranks: it relays a stop as SIGINT, so a
# SIGTERM there is torchrun's agent closing the ranks after one of them ended
LAUNCHED_RANKS_ENV = "LORATUI_LAUNCHED_RANKS"


def under_launcher() -> bool:
    return os.environ.get(LAUNCHED_RANKS_ENV) == "1"


def on_launcher_close(run, signum, frame) -> None:
    """SIGTERM to a rank of `loratui train --processes N` (see LAUNCHED_RANKS_ENV): another process ended, so
    this one stops, quietly (not "stopping after the next step ... saved", which the broken collective
    makes untrue): at its next step, whose collective breaks and names that process (report_peer_failure),
    or, still loading, at the end of the loading stage (Run.execute then names it the same way)."""
    if run.peer_failed or run.peer_closed:
        return
    run.peer_closed = True
    if run.training_began and run.trainer is not None:
        run.trainer.stop_requested = True
    else:
        run.stop_asked_while_loading = signal_name(signum)


def signal_name(signum: int) -> str:
    import signal

    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def is_collective_failure(exc: BaseException, world: int) -> bool:
    """``exc`` is a collective that broke because another process failed (only with several processes):
    a torch.distributed error, or a RuntimeError raised inside torch.distributed or worded as gloo,
    NCCL and c10d word a peer gone or stuck."""
    if world <= 1 or not isinstance(exc, RuntimeError):
        return False
    try:
        import torch.distributed as dist

        if isinstance(exc, dist.DistError):
            return True
    except ImportError:  # a torch without distributed: nothing collective ran
        return False
    text = str(exc).lower()
    if any(word in text for word in COLLECTIVE_WORDS):
        return True
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and f"{os.sep}torch{os.sep}distributed{os.sep}" in tb.tb_frame.f_code.co_filename


def launch_id() -> str:
    """What the processes of one launch share: torchrun's run id, else the rendezvous address."""
    raw = os.environ.get("TORCHELASTIC_RUN_ID") or \
        f"{os.environ.get('MASTER_ADDR', 'local')}-{os.environ.get('MASTER_PORT', '0')}"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", raw)[:80]


def note_path(rank: int, launch: str | None = None) -> Path:
    from loratui.core.crashlog import crash_log_dir

    return crash_log_dir() / f"train-{launch or launch_id()}-process{rank}.txt"


def leave_note(rank: int, line: str) -> None:
    """This process failed: its one line, for the others to name (best effort: a failure's report must
    not fail; temp file and rename, so a reader never sees half a line)."""
    try:
        path = note_path(rank)
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temp.write_text(line.strip() + "\n", encoding="utf-8")
        os.replace(temp, path)
    except OSError:
        pass


def read_notes(world: int, own_rank: int, since: float, wait_s: float = NOTE_WAIT_S) -> dict[int, str]:
    """The notes the other processes of this launch left since ``since`` (this run's start), waiting up to
    ``wait_s`` for the first one; each note read is removed (an earlier launch with the same id must not
    be named)."""
    launch = launch_id()
    deadline = time.monotonic() + wait_s
    while True:
        found: dict[int, str] = {}
        for rank in range(world):
            if rank == own_rank:
                continue
            path = note_path(rank, launch)
            try:
                if path.stat().st_mtime >= since - 1:
                    found[rank] = path.read_text(encoding="utf-8").strip()
            except OSError:
                continue
        if found or time.monotonic() >= deadline:
            for rank in found:
                note_path(rank, launch).unlink(missing_ok=True)
            return found
        time.sleep(0.1)


def peer_failure(world: int, own_rank: int, step: int, notes: dict[int, str]) -> tuple[str, str]:
    """(message, hint) for the error event and the line of a process whose peer failed at ``step`` + 1."""
    at = f"at step {step + 1}" if step else "before the first step"
    if notes:
        rank, line = min(notes.items())
        line = re.sub(rf"^process {rank}: ", "", line)
        details = re.search(r"\((details in [^()]+|rerun with LORATUI_DEBUG=1[^()]*)\)$", line)
        what = line[:details.start()].rstrip() if details else line
        where = details.group(1) if details else f"process {rank}'s own lines above (or in the run's log)"
        return (f"process {rank} failed {at}: {what}",
                f"{where}; this process stopped with it, saving nothing more")
    who = "process 1" if world == 2 and own_rank == 0 else "another process" if own_rank == 0 else \
        "process 0 (or another)"
    return (f"{who} stopped answering {at}: killed (SIGKILL, the OOM killer) or failed without a word",
            f"see {who}'s own lines above (or in the run's log) and torchrun's summary (its exit code); "
            "this process stopped with it, saving nothing more")


def report_peer_failure(run, exc: BaseException, started: float) -> int:
    """Run.execute's answer to a collective broken by another process's failure: the first process names
    that process and its line (from its note) in one error event and on stderr; the others say one line
    and leave the naming to it. Returns the exit code (1)."""
    import sys

    tr = run.trainer
    step = tr.step if tr else 0
    if not run.is_main:
        print(f"process {run.rank}: stopped: another process failed or stopped answering (process 0 names it)",
              file=sys.stderr, flush=True)
        return 1
    message, hint = peer_failure(run.world, run.rank, step, read_notes(run.world, run.rank, run.started_at))
    run.emit_last("error", message=message, hint=hint, kind="process")
    run.emit_last("finished", reason="error", step=step, epoch=run._epoch_now(), output=None,
                  elapsed_s=round(time.perf_counter() - started, 1))
    if run.bar_open:  # end the progress bar's line first
        print(file=sys.stderr)
        run.bar_open = False
    print(f"error: {message}\nhint: {hint}", file=sys.stderr, flush=True)
    return 1
