"""One run the App's run service follows (services/runs.py): ``FollowedRun`` holds what its events
file says so far (a ``RunRecord`` and a ``LossSeries``, changed in the follower thread, read under its
lock) and turns it into an immutable ``RunSnapshot``; ``RunUpdated`` and ``RunNotice`` are the
messages the service posts about it; ``RunCommand`` is what started it when this app did (those four:
services/run_snapshot.py). ``LaunchLog`` reads the app's NAME.log (its error lines: services/run_log_errors.py).
An earlier run of NAME (NAME.events.N.jsonl) is never live and has no state or log of its own. No torch.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from loratui.core.events import log_path, pid_alive, run_is_alive
from loratui.core.run_states import newest_state, state_step
from loratui.core.runs import (LossSeries, RunRecord, checkpoints_on_disk, earlier_checkpoints, feed_lines,
                               run_events_path)
from loratui.tui.services.run_endings import ended_words
# the snapshot and its messages (services/run_snapshot.py) and the log's error lines
# (services/run_log_errors.py) are re-exported here, where the service, the screens and the tests import them
from loratui.tui.services.run_log_errors import LOG_ERROR_LINES, log_error, refusal_line  # noqa: F401
from loratui.tui.services.run_snapshot import RunCommand, RunNotice, RunSnapshot, RunUpdated  # noqa: F401
from loratui.tui.services.train_keys import TrainKeys


class FollowedRun:
    """One run the service follows. ``record`` and ``series`` change in the worker thread: read them
    through ``view()`` / ``snapshot()`` or under ``lock``."""

    def __init__(self, output_dir: Path, name: str, earlier: int = 0):
        self.output_dir, self.name, self.earlier = Path(output_dir), name, earlier
        self.key = run_events_path(self.output_dir, name, earlier)
        self.log_file = log_path(self.output_dir, name)
        self.lock = threading.Lock()
        self.record = RunRecord(self.output_dir, name)
        self.series = LossSeries()
        self.process: subprocess.Popen | None = None  # when this app started it
        self.command: RunCommand | None = None
        self.exit_code: int | None = None
        self.status = "reading"
        self.caught_up = False
        self.stopping = threading.Event()
        self.skip: tuple | None = None  # a new run replaces this file: (inode, size) of the last run's
        self.generation = 0             # bumped by each reset: lines read before it are not fed after it
        self.worker = None
        self._elapsed_seen: tuple | None = None  # (the session's run_started time, the most elapsed shown)
        self.gone: str | None = None    # why the events file vanished under the live run (its folder deleted)
        self.remade: str | None = None  # that line, once the run made its files again (what went stays said)
        self.last_pid: int | None = None  # the lock's owner when last seen: the lock may go with the folder
        self.missing_since: float | None = None  # monotonic time the events file was first seen missing
        self.launched_at: float | None = None  # when this app launched ``process`` (Unix seconds)
        self.launch_log = LaunchLog(self.log_file)
        self.keys = TrainKeys()  # the keys its lines name: the service gives the app's (keymap.toml)
        # (record, its event count, its listed checkpoints, its sample prompts) as last built: a live run's
        # snapshot each second with no new event reuses them instead of building them again
        self._derived: tuple | None = None

    def reset(self, skip: tuple | None = None) -> None:
        """Forget what was read: a new run (its events file rotated) starts from nothing. ``skip``:
        the (inode, size) of the last run's file, which the follower then passes over."""
        with self.lock:
            self.record = RunRecord(self.output_dir, self.name)
            self.series = LossSeries()
            self.generation += 1
            self.gone = self.remade = None
            if skip is not None:
                self.skip = skip

    def files_back(self) -> None:
        """The run made its deleted folder (or events file) again, starting it with its run_started: read
        the new file from its start into a new record (the files of the old one are gone); the loss
        curve goes on."""
        with self.lock:
            self.record = RunRecord(self.output_dir, self.name)
            self.generation += 1
            self.remade, self.gone, self.missing_since = self.gone, None, None

    def ended_silent(self) -> bool:
        """The process this app launched ended without writing an event: `loratui train` refused it
        (a resume's state against a changed config, too), or it died before its first event. What the
        record holds then is an earlier session's."""
        if self.launched_at is None or self.process is None or self.exit_code is None:
            return False
        last = self.record.last_time
        return last is None or last < math.floor(self.launched_at * 1000) / 1000  # events' times: to the ms

    def gone_line(self) -> str:
        if not self.output_dir.is_dir():
            return (f"the output folder {self.output_dir} was deleted while the run was going, and its files "
                    "with it")
        return f"{self.key.name} was deleted from {self.output_dir} while the run was going"

    def take_skip(self) -> tuple[tuple | None, int]:
        """(the file identity to pass over, or None; the generation it belongs to), in one step: a
        reset after this drops what is read now, and its own skip re-reads from its offset."""
        with self.lock:
            skip, self.skip = self.skip, None
            return skip, self.generation

    def feed(self, lines: list[bytes], generation: int | None = None) -> list[dict]:
        """Take new lines of the events file; returns the events other than steps. Lines read before a
        reset (``generation`` is older) belong to the last run and are dropped."""
        with self.lock:
            if generation is not None and generation != self.generation:
                return []
            return feed_lines(self.record, self.series, lines)

    def gone_checkpoints(self) -> frozenset[Path]:
        """The LoRA files of the latest run's checkpoints that are not there now (deleted by hand): the
        follower looks again every few seconds while the run is not live, as no event comes to say so."""
        with self.lock:
            listed = self.record.listed()
        return frozenset(c.path for c in checkpoints_on_disk(listed) if c.gone)

    def view(self, last_steps: int | None = None) -> dict[str, list[float]]:
        with self.lock:
            return self.series.view(last_steps)

    def series_version(self) -> tuple[int, int]:
        """Changes whenever ``view()`` would: a chart drawn from this version need not copy the series again."""
        with self.lock:
            return self.generation, self.series.version

    def epoch_marks(self) -> list[tuple[int, int]]:
        with self.lock:
            return list(self.series.epochs)

    def alive(self) -> int | None:
        """The pid of the live run (its lock's owner, or the process this app started and that has
        not taken the lock yet); also reaps that process once it ended (no zombie looks alive). An
        earlier run is never live (the lock is the latest run's)."""
        if self.earlier:
            return None
        if self.process is not None and self.exit_code is None:
            self.exit_code = self.process.poll()
        pid = run_is_alive(self.output_dir, self.name)
        if pid is not None:
            self.last_pid = pid
        if pid is None and self.process is not None and self.exit_code is None:
            return self.process.pid
        if pid is None and self.gone is not None and self.last_pid is not None and pid_alive(self.last_pid):
            return self.last_pid  # its lock went with the folder: the process tells
        return pid

    def stopped_unsaved(self) -> bool:
        """This app's launch was interrupted (a stop within its first seconds: exit 130, or killed by
        SIGINT / SIGTERM before Python could answer) before it wrote any event: nothing was saved."""
        return self.ended_silent() and self.exit_code in STOPPED_EXIT_CODES

    def launch_time(self) -> float | None:
        """When the process of the followed session was launched: this app's launch, unless the events
        tell of a later one (run_started's ``launched_at``: a resume from a shell after it)."""
        launched = (self.record.started or {}).get("launched_at")
        launched = float(launched) if isinstance(launched, (int, float)) and not isinstance(launched, bool) else None
        if self.launched_at is not None and (launched is None or launched < self.launched_at - 0.5):
            return self.launched_at  # its run_started is not written yet (the record is the last session's)
        return launched

    def log_lines(self, count: int) -> tuple[list[str], str | None]:
        """(the end of the followed launch's section of NAME.log, None), or ([], a line saying where its
        output is) when it has none: NAME.log holds the launches of the app, one section each, and a run
        started in a shell writes only to its terminal. An earlier run: neither (its lines, if any, lie
        far back in a log the latest run writes)."""
        if self.earlier:
            return [], None
        launch, started = self.launch_time(), self.record.started or {}
        if launch is None:  # events of an engine before run_started said launched_at: the latest section, if
            begun = started.get("time")  # written since the run began
            if not isinstance(begun, (int, float)):
                return [], None
            return self.launch_log.latest(count, since=float(begun)), None
        lines = self.launch_log.section_of(launch, count)
        if lines is not None:
            return lines, None
        if self.launched_at is not None and launch == self.launched_at:
            return [], f"no log: {self.log_file.name} has no section for this launch (deleted or rewritten since)"
        return [], (f"started outside the app: its output is in the terminal that ran it ({self.log_file.name} "
                    "logs the app's own launches)")

    def snapshot(self, pid: int | None = None) -> RunSnapshot:
        stopped_unsaved = self.status == "stopped"
        # read only for a run that is not going (a live one cannot be resumed; its saves come often). A new run
        # stopped before it wrote anything left the last run's state where it was: not this one's to resume
        fresh_unsaved = stopped_unsaved and (self.command is None or not self.command.resumes)
        state = newest_state(self.output_dir, self.name) if not self.earlier and pid is None and \
            not fresh_unsaved else None
        log_lines, log_note = self.log_lines(LOG_ERROR_LINES)
        log_tail = tuple(log_lines[-20:])
        refused = refusal_line(self.log_file) if self.status == "refused" else None
        ended = pid is None and self.status in ("finished", "crashed")
        loading = pid is not None and self.status == "starting"
        with self.lock:
            r = self.record
            step = r.last_step or {}
            started = r.started or {}
            finished = r.finished or {}
            # another process than the one that trained the record's steps (a resume after a crash, its
            # run_started not read yet): the record is the session before it, whose clock stopped
            stepped = isinstance((r.last_step or {}).get("time"), (int, float)) and \
                isinstance(started.get("time"), (int, float)) and r.last_step["time"] >= started["time"]
            earlier_session = stepped and isinstance(started.get("pid"), int) and pid is not None and \
                started["pid"] != pid
            # one clock for live and ended runs (the events' times), and never less than was shown:
            # "elapsed 2m26s" while live must not become 2m25s once stopped
            elapsed = r.session_seconds(time.time() if pid is not None and r.finished is None and not earlier_session
                                        else None)
            if elapsed is not None:
                seen = self._elapsed_seen
                if seen is not None and seen[0] == started.get("time"):
                    elapsed = max(elapsed, seen[1])
                self._elapsed_seen = (started.get("time"), elapsed)
                elapsed = round(elapsed + r.earlier_s, 1)  # a resumed run: the sessions before it count too
            error, notes = r.error, tuple(r.notes)
            if self.gone is not None:  # said where an engine error goes: the reason nothing more comes
                hint = ("a live run makes it again at its next step or save, and goes on" if pid is not None else
                        "the run ended while it was gone: its log and last events went with it")
                error = {"kind": "deleted", "message": self.gone, "hint": hint}
                notes = (*notes, self.gone)
            elif self.status == "refused" and refused is not None:  # not the earlier session's error
                error = {"kind": "refused", "message": refused,
                         "hint": "loratui train refused to start (nothing ran): fix what it names, then press "
                                 f"{self.keys.key('train.resume')} or {self.keys.key('train.start')} again"}
            elif self.remade is not None and error is None:  # what went with the folder stays said
                error = {"kind": "deleted", "message": self.remade,
                         "hint": "the run made it again and goes on; the saves and samples it held are gone"}
            elif error is None and ended and (finished.get("reason") == "error" or r.finished is None):
                # it ended in error, or its events stop and it is gone, without an error event (a full disk
                # took the longer error event where `finished` fit): what its log says, when this session's
                error = log_error(log_lines, self.log_file, since=started.get("time") or self.launched_at)
            # those of the last run; one stat each marks the ones deleted by hand "gone" (about 1 ms for 400)
            derived = self._derived
            if derived is None or derived[0] is not r or derived[1] != r.events:
                derived = self._derived = (r, r.events, r.listed(), dict(r.sample_prompts))  # a copy: r changes
            listed, prompts = derived[2], derived[3]                                       # in the follower thread
            checkpoints = [] if fresh_unsaved else list(listed) if self.earlier else checkpoints_on_disk(listed)
            if fresh_unsaved:
                notes = (f"stopped before anything was saved (exit code {self.exit_code}): "
                         f"{self.keys.does('train.start', 'starts a new run')}",)
            processes = (self.command.processes if self.command is not None
                         else (started.get("schedule") or {}).get("processes"))
            if self.earlier:  # its files may have moved into NAME-kept-<time>/ or been written over since
                checkpoints = earlier_checkpoints(checkpoints, self.output_dir, self.name, r.last_time)
            at, total, epochs = r.step, r.total_steps, started.get("schedule", {}).get("epochs")
            if loading:  # nothing of this session trained yet: its place is the state it resumes, no numbers
                ours = not earlier_session and r.finished is None and started
                at, total, epochs = self._resumed_step(started.get("resumed_from") if ours else None), None, None
                if ours:  # its own plan, not the last step's (the session before it)
                    schedule = started.get("schedule") or {}
                    total, epochs = schedule.get("total_steps"), schedule.get("epochs")
                step, finished = {}, {}
            return RunSnapshot(
                key=self.key, output_dir=self.output_dir, name=self.name, status=self.status,
                reason=finished.get("reason"), pid=pid, step=at, total_steps=total,
                epoch=step.get("epoch", finished.get("epoch")), epochs=epochs,
                loss=step.get("loss"), avg_loss=step.get("avg_loss"), lr=step.get("lr"),
                images_per_s=step.get("images_per_s"), eta_s=step.get("eta_s"),
                peak_vram_gib=step.get("peak_vram_gib"), vram_estimate_gib=started.get("vram_estimate_gib"),
                elapsed_s=elapsed, config=r.config or (self.command.config if self.command is not None else None),
                state=state[0] if state else None,
                checkpoints=tuple(checkpoints), error=error, notes=notes,
                log_tail=log_tail, events=r.events, caught_up=self.caught_up, caching=caching_text(r.caching),
                device=started.get("device"), earlier=self.earlier, state_read=state[1] if state else None,
                state_step=state[2] if state else None,
                processes=processes if isinstance(processes, int) and processes >= 1 else 1, log_note=log_note,
                sample_prompts=prompts,
                ended_by=ended_words(self.exit_code) if self.status == "crashed" and (self.exit_code or 0) < 0 else None)


    def _resumed_step(self, resumed_from) -> int:
        """The step of the state a loading session resumes (its run_started's, else this app's --resume
        argument), 0 for a fresh run or one not known."""
        if not resumed_from and self.command is not None and "--resume" in self.command.argv:
            index = self.command.argv.index("--resume") + 1
            resumed_from = self.command.argv[index] if index < len(self.command.argv) else None
        return (state_step(resumed_from) or 0) if isinstance(resumed_from, str) and resumed_from else 0


STOPPED_EXIT_CODES = (130, -2, -15)  # `loratui train` interrupted (README: 130), or SIGINT / SIGTERM before Python
                                     # installed its handler
LOG_HEADER = re.compile(rb"^--- (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?= ))?", re.MULTILINE)
LOG_SCAN_CHUNK = 1024 * 1024
LOG_TAIL_BYTES = 64 * 1024


def log_header(launched_at: float, display: str) -> str:
    """The line the app writes into NAME.log before each launch: the launch's own time (to the second,
    local time, as run_started's ``launched_at`` says it) names the section that follows."""
    return f"--- {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(launched_at))} {display}\n"


def _header_time(text: bytes | None) -> float | None:
    try:
        return time.mktime(time.strptime(text.decode(), "%Y-%m-%d %H:%M:%S")) if text else None
    except (ValueError, OverflowError):
        return None


def _shown_line(data: bytes) -> str:
    """A log line as shown: its last redraw (progress bars rewrite it after a \\r), trailing blanks gone."""
    return data.decode("utf-8", "replace").rstrip("\r").rsplit("\r", 1)[-1].rstrip()


@dataclass
class _Tail:
    """The end of one section of NAME.log as last read (``LaunchLog._lines``)."""

    key: tuple                 # (the file's identity, the section's start)
    read_to: int               # the offset read up to
    lines: deque               # its last complete lines, as shown
    partial: bytes             # after the last newline: a line still being written
    cut: bool                  # ``partial`` began before what was read: not a whole line


class LaunchLog:
    """NAME.log as the app writes it: one section per launch (``log_header``, then the run's output).
    Where each section begins is kept as the file grows: a long log is read once, then only what is
    appended. Thread-safe (the follower and the UI both take snapshots)."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()
        self.identity: tuple | None = None
        self.scanned = 0          # the offset read up to (a line start unless ``line_start`` is False)
        self.line_start = True
        self.headers: list[tuple[int, float | None]] = []  # (offset of a "--- " line, its time if it says one)
        self.tails: dict[int, _Tail] = {}  # by line count: a section's end as read so far
        self.mark = b""           # the last bytes before ``scanned``: the same again unless the file was rewritten

    def _scan(self, handle) -> int:
        info = os.fstat(handle.fileno())
        if self.scanned and info.st_size >= self.scanned:  # deleted and written again on the same inode?
            handle.seek(self.scanned - len(self.mark))
            rewritten = handle.read(len(self.mark)) != self.mark
        else:
            rewritten = False
        if (info.st_dev, info.st_ino) != self.identity or info.st_size < self.scanned or rewritten:  # anew
            self.identity, self.scanned, self.line_start, self.headers = (info.st_dev, info.st_ino), 0, True, []
            self.tails = {}
        handle.seek(self.scanned)
        while self.scanned < info.st_size:
            chunk = handle.read(min(LOG_SCAN_CHUNK, info.st_size - self.scanned))
            cut = chunk.rfind(b"\n") + 1
            if not chunk or not cut and len(chunk) < LOG_SCAN_CHUNK:
                break  # a line still being written: read once it ends
            cut = cut or len(chunk)  # one line longer than a chunk (progress redrawn with \r): no header in it
            self.mark = chunk[max(0, cut - 32):cut]
            for match in LOG_HEADER.finditer(chunk, 0, cut):
                if match.start() or self.line_start:
                    self.headers.append((self.scanned + match.start(), _header_time(match.group(1))))
            self.line_start, self.scanned = chunk[cut - 1:cut] == b"\n", self.scanned + cut
            handle.seek(self.scanned)
        return info.st_size

    def _lines(self, handle, start: int, end: int, count: int) -> list[str]:
        """The last ``count`` lines of [start, end) (at most its last LOG_TAIL_BYTES). Kept between calls:
        a followed log is read only where it grew (re-reading 64 KB twice a second churned the heap)."""
        key = (self.identity, start)
        tail = self.tails.get(count)
        if tail is None or tail.key != key or end < tail.read_to or end - tail.read_to > LOG_TAIL_BYTES:
            begin = max(start, end - LOG_TAIL_BYTES)
            tail = self.tails[count] = _Tail(key, begin, deque(maxlen=count), b"", begin > start)
        if end > tail.read_to:
            handle.seek(tail.read_to)
            pieces = (tail.partial + handle.read(end - tail.read_to)).split(b"\n")
            tail.partial, tail.read_to = pieces.pop(), end  # the line still being written
            if tail.cut and pieces:  # the first line began before what was read
                pieces, tail.cut = pieces[1:], False
            tail.lines.extend(_shown_line(piece) for piece in pieces[-count:])
            if len(tail.partial) > LOG_TAIL_BYTES:  # one endless line (progress redrawn with \r): keep its end
                tail.partial, tail.cut = tail.partial[-LOG_TAIL_BYTES:], True
        lines = list(tail.lines)
        if tail.partial and not tail.cut:
            lines.append(_shown_line(tail.partial))
        return lines[-count:]

    def section_of(self, launched_at: float, count: int) -> list[str] | None:
        """The last ``count`` lines of the section of the launch made at ``launched_at`` (from its header),
        or None when the log has none. A log the app did not write (no header at all: the user's own
        redirect) counts as that launch's when written since it."""
        want = math.floor(launched_at)
        with self.lock:
            try:
                with open(self.path, "rb") as handle:
                    size = self._scan(handle)
                    for index in range(len(self.headers) - 1, -1, -1):
                        offset, when = self.headers[index]
                        if when is not None and 0 <= when - want <= 1:  # written as it launched (or the second after)
                            end = self.headers[index + 1][0] if index + 1 < len(self.headers) else size
                            return self._lines(handle, offset, end, count)
                    if not self.headers and size and os.fstat(handle.fileno()).st_mtime >= launched_at - 1:
                        return self._lines(handle, 0, size, count)
            except OSError:
                return None
        return None

    def latest(self, count: int, since: float) -> list[str]:
        """The end of the latest section, when the log was written since ``since`` (Unix seconds)."""
        with self.lock:
            try:
                with open(self.path, "rb") as handle:
                    if os.fstat(handle.fileno()).st_mtime < since - 1:
                        return []
                    size = self._scan(handle)
                    return self._lines(handle, self.headers[-1][0] if self.headers else 0, size, count)
            except OSError:
                return []


def caching_text(event: dict | None) -> str | None:
    """One line for a cache_progress event: "caching latents 12/36 (33%) · ETA 40s"."""
    if not event:
        return None
    done, total = int(event.get("done") or 0), int(event.get("total") or 0)
    if total and done >= total:  # the first step is next, and on a slow device it takes a while
        return f"{event.get('what', 'caching')} {done:,}/{total:,} done · first step running…"
    percent = f" ({100 * done // total}%)" if total else ""
    eta = event.get("eta_s")
    eta_text = f" · ETA {int(eta) // 60}:{int(eta) % 60:02d}" if eta is not None else ""
    return f"{event.get('what', 'caching')} {done:,}/{total:,}{percent}{eta_text}"
