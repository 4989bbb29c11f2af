"""Control requests to a live run: save now, sample now, stop. The events (core/events.py) go from the
run to its readers; these go the other way.

Requests go through ``OUTPUT_DIR/<output_name>.control.jsonl`` (beside the events file even when
``--events`` moves that): append-only, one JSON object per line, ``{"request": "save" | "sample" |
"stop", "id": ..., "time": ...}``, written by ``request_control`` (one ``O_APPEND`` write per line, so
two writers never interleave). The run reads the requests made since it was launched (``ControlReader``:
one made while it was still starting counts, at its first step; one left from an earlier run does not;
the launch time is ``LORATUI_LAUNCHED_AT``, which the app sets as it starts a run and `loratui train`
otherwise takes from its process's start: ``launch_time``, ``process_launch_time``, or where /proc
cannot tell (macOS) when its ``main`` began; every line appended once the run has opened the file
counts, whatever the writer's clock says), on the first process, between optimizer steps. It answers
each one with a ``control`` event: "save" writes ``NAME-stepN.safetensors`` now (and its state with
--save-state), "sample" renders the sample prompts now (refused without sample prompts), "stop" is the
graceful stop of SIGINT (save the LoRA and NAME-state, exit 0): one process stops after the step it read
it at; several agree on it at the next step (they share the request then) and stop after that one. A
file rather than signals: it reaches every process of a torchrun launch the same way, and any reader of
the output folder can use it.

The engine and the app both import this module: no torch, no textual.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

CONTROL_REQUESTS = ("save", "sample", "stop")


def control_path(output_dir: str | os.PathLike, output_name: str) -> Path:
    return Path(output_dir) / f"{output_name}.control.jsonl"


def request_control(output_dir: str | os.PathLike, output_name: str, request: str) -> str:
    """Ask the live run on this output to "save", "sample" or "stop" (see the module docstring);
    returns the request's id, which the run's ``control`` event repeats."""
    if request not in CONTROL_REQUESTS:
        raise ValueError(f"unknown control request {request!r}")
    request_id = f"{os.getpid()}-{time.time_ns()}"
    line = json.dumps({"request": request, "id": request_id, "time": round(time.time(), 3)}) + "\n"
    fd = os.open(control_path(output_dir, output_name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)
    return request_id


LAUNCHED_AT_ENV = "LORATUI_LAUNCHED_AT"  # when the run was launched (Unix seconds): see ControlReader
# a request's time is written rounded to the millisecond; a wider margin would let an earlier run's
# unanswered request, made a moment before this launch, stop this run
TIME_TOLERANCE = 0.001


class ControlReader:
    """The run's side of the control file: the requests made since the run was launched.

    Every line appended after the reader was made counts, whatever its ``time`` (the writer's clock
    may be behind this host's). ``since``: the launch time (``launch_time``): the lines already there
    are read too, and those with a ``time`` at or after it count: a request made while the run was
    still starting (importing torch, loading the model) counts, one left from an earlier run does not.
    Without ``since`` only the lines appended after the reader was made are read."""

    def __init__(self, path: str | os.PathLike, since: float | None = None):
        self.path = Path(path)
        self.since = since
        try:
            self.made_at = self.path.stat().st_size
        except OSError:
            self.made_at = 0
        self.offset = 0 if since is not None else self.made_at
        self._pending = b""

    def poll(self) -> list[dict]:
        try:
            size = self.path.stat().st_size
        except OSError:
            return []
        if size < self.offset:  # the file was removed and written anew
            self.offset, self.made_at, self._pending = 0, 0, b""
        if size == self.offset:
            return []
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read(size - self.offset)
        start, self.offset = self.offset - len(self._pending), self.offset + len(data)
        *lines, self._pending = (self._pending + data).split(b"\n")
        requests = []
        for line in lines:
            at, start = start, start + len(line) + 1
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and item.get("request") in CONTROL_REQUESTS and self._for_this_run(item, at):
                requests.append(item)
        return requests

    def _for_this_run(self, item: dict, at: int) -> bool:
        if self.since is None or at >= self.made_at:
            # appended after the reader was made: this run's, whatever its time says (a writer on another
            # host or in a container whose clock is behind this one's)
            return True
        when = item.get("time")
        if isinstance(when, (int, float)) and not isinstance(when, bool):
            return when >= self.since - TIME_TOLERANCE
        return False


def process_started_at(pid: int) -> float | None:
    """When process ``pid`` started, in Unix seconds (Linux: its start in ticks since boot against the
    uptime, both on the boot clock; about 10 ms exact), or None where /proc cannot tell."""
    start = process_start_ticks(pid)
    try:
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return time.time() - (uptime - int(start) / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, TypeError, IndexError):
        return None


def launch_time() -> float | None:
    """When this run was launched (``LORATUI_LAUNCHED_AT``: set by the app as it starts a run, or by
    `loratui train` from ``process_launch_time``; a torchrun launch passes it on), or None."""
    value = os.environ.get(LAUNCHED_AT_ENV)
    try:
        launched = float(value) if value else None
    except ValueError:
        return None
    return launched if launched is not None and launched == launched and launched <= time.time() + 5 else None


def process_launch_time() -> float | None:
    """When this process started, or its torchrun agent (the parent of a worker) did: the launch of
    a `loratui train` started from a shell. None where /proc cannot tell."""
    under_torchrun = "TORCHELASTIC_RUN_ID" in os.environ or "TORCHELASTIC_RESTART_COUNT" in os.environ
    return process_started_at(os.getppid() if under_torchrun else os.getpid())


def process_start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid from the run's."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]
