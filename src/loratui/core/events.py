"""Run events: the JSON-lines file a training run writes and the TUI (or `tail -f`) follows.

A run writes ``OUTPUT_DIR/<output_name>.events.jsonl``, one JSON object per line, each with ``event``
(its type), ``time`` (Unix seconds) and the fields below. The file is append-only (it never shrinks
under a reader) and written one whole line at a time; a write cut short (a full disk) leaves a torn
line, which the next write ends with a newline: a reader skips a line that is not a whole event and
waits for a partly written last line (``read_events`` and ``EventFollower`` do). Beside it,
``<output_name>.lock`` holds the pid of the live run (``RunLock``, ``run_is_alive``: core/run_lock.py). A stopped run
(Ctrl-C / SIGTERM) leaves ``NAME-state/`` for ``loratui train CONFIG --resume``; ``--events PATH`` moves
the event file, ``--json`` also prints every event on stdout (while it is read: a run outlives `| head`).

    run_started     config (path), output_dir, output_name, model (family, v_prediction, source),
                    dataset (samples_per_epoch, reg_samples_per_epoch, images, buckets, folders),
                    schedule (steps_per_epoch, total_steps, epochs, batch, accumulation, processes,
                    batches_per_epoch),
                    vram_estimate_gib, device, gpu_name (CUDA device name, null on a CPU), dtype,
                    resumed_from (or null), pid, launched_at (when the process was launched: events
                    before it are an earlier session's)
    cache_progress  what ("caching latents" | "caching text-encoder outputs"), done, total, eta_s (or
                    null): before the first step, at most twice a second and at each phase's end
    step            step, total_steps, epoch, loss, avg_loss (moving average of the last 50),
                    lr (of the first param group), images_per_s, eta_s, peak_vram_gib (or null)
    epoch_end       epoch, step, avg_loss (over the whole epoch, its steps before a resume too): once per
                    epoch, when its last batch is trained; a step limit (--max-steps, max_train_steps) or a
                    stop inside an epoch ends the session without one (the resumed session says it)
    checkpoint_saved  path, kind ("epoch" | "step" | "final" | "state"), step, epoch; samples (optional:
                    a save a resume kept aside, e.g. NAME-kept-step00000004.safetensors, with the sample
                    images of its step where they were kept aside; that step's later samples are not its)
    sample_saved    paths, step, epoch; prompts (optional: [{prompt, seed}], one per path, in its order)
    warning         message (e.g. a stale lock replaced, a config changed since the resumed state)
    error           message, hint (what to try), kind ("oom" | "nan" | "config" | "disk_full" | "file": a
                    file it cannot open or write | "process": another process failed | "crash")
    finished        reason ("completed" | "stopped" | "error"), step, epoch, output (the LoRA written at
                    the end: NAME.safetensors, or NAME-stepN.safetensors when stopped; null on error),
                    elapsed_s
    control         request ("save" | "sample" | "stop"), id, status ("done" | "refused"), message:
                    the answer to a control request (core/run_control.py)

Control requests (save now, sample now, stop) go the other way, through
``OUTPUT_DIR/<output_name>.control.jsonl``: see core/run_control.py.
``<output_name>.log`` is where the TUI sends a run's stdout and stderr when it starts one.

One training per events file: a fresh run (not ``--resume``) first moves an existing
``NAME.events.jsonl`` to ``NAME.events.1.jsonl`` (an older ``.1`` to ``.2``, up to ``.5``;
``rotate_events``), so a reader's "first step" is this training's. A resumed run appends to the
file of the run it continues: its ``run_started`` has ``resumed_from``, and the loss curve stays whole.
The engine and the TUI import this module (no torch here).
"""

from __future__ import annotations

import errno
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from loratui.core.event_fields import event_problem
# the control file (save / sample / stop requests to a live run) is core/run_control.py; its names are
# re-exported here, where the engine and the app imported them first
from loratui.core.run_control import (  # noqa: F401
    CONTROL_REQUESTS, LAUNCHED_AT_ENV, ControlReader, control_path, launch_time, process_launch_time,
    process_started_at, request_control,
)
from loratui.core.run_control import process_start_ticks as _process_start  # noqa: F401
# the `--events PATH` check and the run lock live in core/events_target.py and core/run_lock.py; their
# names are re-exported here, where the engine, the app and the tests imported them first
from loratui.core.events_target import events_target_problem  # noqa: F401
from loratui.core.run_lock import RunLock, lock_path, pid_alive, run_is_alive  # noqa: F401

EVENT_TYPES = ("run_started", "cache_progress", "step", "epoch_end", "checkpoint_saved", "sample_saved", "warning", "error",
               "finished", "control")
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "run_started": ("output_dir", "output_name", "model", "dataset", "schedule"),
    "cache_progress": ("what", "done", "total"),
    "step": ("step", "total_steps", "epoch", "loss", "avg_loss", "lr", "images_per_s", "eta_s"),
    "epoch_end": ("epoch", "step", "avg_loss"),
    "checkpoint_saved": ("path", "kind", "step", "epoch"),
    "sample_saved": ("paths", "step", "epoch"),
    "warning": ("message",),
    "error": ("message", "hint", "kind"),
    "finished": ("reason", "step", "epoch"),
    "control": ("request", "id", "status", "message"),
}
FINISH_REASONS = ("completed", "stopped", "error")


def events_path(output_dir: str | os.PathLike, output_name: str) -> Path:
    return Path(output_dir) / f"{output_name}.events.jsonl"


def log_path(output_dir: str | os.PathLike, output_name: str) -> Path:
    return Path(output_dir) / f"{output_name}.log"


def make_event(kind: str, /, **fields: Any) -> dict:
    """An event dict, checked against the schema (a missing field is a bug in the writer)."""
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown event type {kind!r}")
    missing = [f for f in REQUIRED_FIELDS[kind] if f not in fields]
    if missing:
        raise ValueError(f"{kind} event without {', '.join(missing)}")
    return {"event": kind, "time": round(time.time(), 3), **fields}


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def event_line(event: dict) -> str:
    """One event as its JSON line. A file name in another encoding than UTF-8 (``3_bad\\xff``) reaches Python
    as lone surrogates, which UTF-8 cannot encode: each is written as JSON's ``\\udcff`` escape (valid JSON that
    json.loads reads back as the same str, the same path to os.fsencode) instead of failing the run."""
    line = json.dumps(event, ensure_ascii=False, default=str)
    if line.isascii() or not _LONE_SURROGATE.search(line):
        return line
    return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", line)


class EventWriter:
    """Appends events to the run's file (and optionally echoes them to a stream as JSON lines).

    Each line goes in one unbuffered append. A write that fails part-way (a full disk) raises OSError naming
    the file and leaves its torn part: the file only ever grows (cutting it back moved it under a follower's
    offset). The next write, like the first of a writer opening a file that ends mid-line, starts with a
    newline that ends the torn line (readers skip it); ``close`` has nothing left to flush."""

    def __init__(self, path: str | os.PathLike | None, echo: IO[str] | None = None):
        self.path = Path(path) if path else None
        self.echo = echo
        self._fd: int | None = None
        self._torn = False  # the file ends in a torn line: the next write ends it first
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                self._torn = self._ends_mid_line()
            except OSError:
                self.close()
                raise

    def emit(self, kind: str, /, **fields: Any) -> dict:
        event = make_event(kind, **fields)
        line = event_line(event)
        if self._fd is not None:
            self._append((line + "\n").encode("utf-8"))
        if self.echo is not None:
            try:
                self.echo.write(line + "\n")
                self.echo.flush()
            except (OSError, ValueError):  # `| head -3` closed the pipe: the events file is the record
                self._echo_closed()
        return event

    def _echo_closed(self) -> None:
        """A reader closed the echo's pipe: echo no more (a run must not end because its reader left)."""
        from loratui.core.termline import silence_stream

        echo, self.echo = self.echo, None
        where = f"its events are in {self.path}" if self.path is not None else "its events are not written anywhere"
        silence_stream(echo, f"stdout closed: the run goes on; {where}")

    def _append(self, data: bytes) -> None:
        if self._torn:
            data = b"\n" + data
        written = 0
        try:
            while written < len(data):
                count = os.write(self._fd, data[written:])
                if count <= 0:  # a short write that wrote nothing: the disk is full
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                written += count
        except OSError as exc:
            if written:  # the file now ends in what was written: torn unless that ended with the newline
                self._torn = data[written - 1:written] != b"\n"
            if exc.filename is None:
                raise OSError(exc.errno, exc.strerror or str(exc), str(self.path)) from exc
            raise
        self._torn = False

    def _ends_mid_line(self) -> bool:
        """Whether the file ends in a torn line (an earlier writer's write cut short)."""
        size = os.fstat(self._fd).st_size
        if not size:
            return False
        with open(self.path, "rb") as handle:
            handle.seek(size - 1)
            return handle.read(1) not in (b"\n", b"")

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def _parse_any(line: str) -> dict | None:
    """The JSON object of a line with a known ``event``, its fields unchecked (is this an events file?)."""
    line = line.strip()
    if not line:
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) and event.get("event") in EVENT_TYPES else None


def parse_line(line: str) -> dict | None:
    """One event from one line; None for a blank, partial or foreign line, or an event whose fields do
    not fit the schema (``event_problem``)."""
    event = _parse_any(line)
    return event if event is not None and event_problem(event) is None else None


ROTATE_KEEP = 5


def rotate_events(path: str | os.PathLike, keep: int = ROTATE_KEEP) -> Path | None:
    """Move a non-empty events file aside before a fresh run writes it: NAME.events.jsonl ->
    NAME.events.1.jsonl, .1 -> .2, ... (the oldest beyond ``keep`` is removed). Returns the new name.

    A start that failed before its first step (a bad path, a model that would not load) does not push
    a run that trained out of the history: when the file and the last one moved aside both hold no
    step, the newer failure takes the older one's place instead of shifting the others."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            return None
    except OSError:
        return None
    stem = path.name[:-len(".jsonl")] if path.name.endswith(".jsonl") else path.name

    def numbered(n: int) -> Path:
        return path.with_name(f"{stem}.{n}.jsonl")

    if numbered(1).exists() and not _has_step(path) and not _has_step(numbered(1)):
        os.replace(path, numbered(1))
        return numbered(1)
    numbered(keep).unlink(missing_ok=True)
    for n in range(keep - 1, 0, -1):
        if numbered(n).exists():
            os.replace(numbered(n), numbered(n + 1))
    os.replace(path, numbered(1))
    return numbered(1)


def _has_step(path: Path) -> bool:
    """Whether an events file records a training step (read until the first one: a run that trained
    has one within its first few lines; one that failed to start is short)."""
    try:
        with open(path, "rb") as handle:
            for line in handle:
                if b'"step"' in line:
                    event = _parse_any(line.decode("utf-8", "replace"))  # a damaged step is a step too
                    if event is not None and event.get("event") == "step":
                        return True
    except OSError:
        return True  # unreadable: keep it, as if it mattered
    return False


def read_events(path: str | os.PathLike) -> list[dict]:
    """Every complete event in the file (a partial last line is skipped)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    return [e for e in map(parse_line, text.splitlines()) if e is not None]


def parse_lines(lines: list[bytes]) -> list[dict]:
    """The events among complete lines: parsed as one JSON array (one C call, ~5x faster than a call
    per line for a long catch-up), line by line only when some line is not JSON."""
    lines = [line for line in lines if line.strip()]
    if not lines:
        return []
    try:
        parsed = json.loads(b"[" + b",".join(lines) + b"]")
    except ValueError:
        return [e for e in (parse_line(line.decode("utf-8", "replace")) for line in lines) if e is not None]
    return [e for e in parsed if isinstance(e, dict) and e.get("event") in EVENT_TYPES and event_problem(e) is None]


@dataclass
class EventFollower:
    """Reads new events as a run appends them: call ``poll()`` whenever you like (tail -f style).

    Only complete lines are returned; a partial last line waits for its newline. ``poll(max_bytes=N)``
    reads at most about N bytes (a long file in bounded memory); ``at_end`` says whether the last
    poll reached the end of the file.
    """

    path: Path
    offset: int = 0
    at_end: bool = False
    restarts: int = 0      # times the file was replaced (a new run rotated it) or truncated: read anew
    _pending: bytes = b""
    _inode: int | None = None

    def identity(self) -> tuple[int | None, int]:
        """(inode, size) of the file now; (None, 0) when there is none."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None, 0
        return st.st_ino, st.st_size

    def skip_past(self, identity: tuple[int | None, int]) -> None:
        """Ignore what the file held when ``identity()`` was taken: only what was appended since, or a
        file that replaced it (a new run's), is read."""
        self._inode, self.offset = identity
        self._pending = b""

    def poll(self, max_bytes: int | None = None) -> list[dict]:
        return parse_lines(self.poll_lines(max_bytes))

    def poll_lines(self, max_bytes: int | None = None) -> list[bytes]:
        """The new complete lines, unparsed (for a reader with a faster path for some of them). A line
        that does not end in "}" is left out: no event (a write cut short leaves such a torn line, which
        a regex fast path for step lines could otherwise take for a whole one)."""
        try:
            with open(self.path, "rb") as handle:
                st = os.fstat(handle.fileno())
                if st.st_size < self.offset or self._inode is not None and st.st_ino != self._inode:
                    self.offset, self._pending = 0, b""  # truncated, or replaced by a new run: start over
                    self.restarts += 1
                self._inode = st.st_ino
                handle.seek(self.offset)
                data = handle.read() if max_bytes is None else handle.read(max_bytes)
                self.at_end = max_bytes is None or len(data) < max_bytes
        except FileNotFoundError:
            self.at_end = True
            return []
        if not data:
            return []
        self.offset += len(data)
        data = self._pending + data
        *lines, self._pending = data.split(b"\n")
        return [line for line in lines if line.endswith(b"}") or line.rstrip().endswith(b"}")]

    def __iter__(self) -> Iterator[dict]:
        return iter(self.poll())
