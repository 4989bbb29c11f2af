"""The runs of an output folder, read from what they leave there (core/events.py): which are live,
crashed or finished, their checkpoints and samples, the tail of their log, and their loss history
in flat memory. The TUI's run service and `loratui attach` sit on this; no torch, no textual.

Status comes from the lock and the events: ``live`` while the lock's owner runs (the lock is
taken before the first event), ``finished`` once a ``finished`` event ends the file (its
``reason``: completed, stopped or error), ``crashed`` when the owner is gone without one (SIGKILL,
power loss, an OOM kill by the kernel). A resumed run appends to the same file: a new session
starts at a ``run_started``; the loss series rewinds when a step number comes round again.

A fresh run moves the last run's events file aside (NAME.events.1.jsonl, up to .5: core/events.py):
those are listed too, as earlier runs of NAME (``RunSummary.earlier``: 1 is the one before the latest),
never live. Their files may have moved since (into NAME-kept-<time>/, or been written over by a later
run of the same name): ``earlier_checkpoints`` finds each where it is now, or marks it gone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from loratui.core.events import event_problem, events_path, log_path, parse_line, parse_lines, run_is_alive
from loratui.core.loss_series import LossSeries

EVENTS_SUFFIX = ".events.jsonl"
EARLIER_EVENTS = re.compile(r"(.+)\.events\.([1-9]\d*)\.jsonl")  # NAME.events.N.jsonl: rotated aside
TAIL_BYTES = 256 * 1024
# A step line as EventWriter writes it; a line it does not match takes the json path (same result).
STEP_PREFIX = b'{"event": "step", '
_STEP_FIELDS = re.compile(rb'"step": (\d+), "total_steps": \d+, "epoch": \d+, "loss": ([^,\n]+), '
                          rb'"avg_loss": [^,\n]+, "lr": ([^,}\n]+)[,}]')


@dataclass
class Checkpoint:
    """A LoRA saved during a run, with what belongs to it."""

    path: Path
    kind: str                      # "epoch" | "step" | "final"
    step: int
    epoch: int
    avg_loss: float | None         # the run's moving average (last 50 steps) when it was saved
    samples: list[Path] = field(default_factory=list)
    state: Path | None = None      # NAME-...-state saved with it (for resume / extend)
    asked: bool = False            # written for a "save now" request (a control event names its file)
    gone: bool = False             # an earlier run's file no longer there (moved away or written over)


def describe_event(event: dict) -> str | None:
    """One line for the run's story (None for steps and epoch ends)."""
    kind, get = event.get("event"), event.get
    if kind == "run_started":
        resumed = get("resumed_from")
        return f"started{f' from {resumed}' if resumed else ''} (pid {get('pid')})"
    if kind == "checkpoint_saved":
        what = "state" if get("kind") == "state" else "saved"
        return f"step {get('step')}: {what} {Path(str(get('path'))).name}"
    if kind == "sample_saved":
        return f"step {get('step')}: {len(get('paths') or ())} sample(s)"
    if kind == "finished":
        return f"{get('reason')} at step {get('step')}" + (f": {get('output')}" if get("output") else "")
    if kind == "error":
        return f"error: {get('message')} ({get('hint')})"
    if kind == "warning":
        return f"warning: {get('message')}"
    if kind == "control":
        return f"{get('request')} request {get('status')}: {get('message')}"
    return None


class RunRecord:
    """What the events of one run say, fed one event at a time (a follower) or from a file."""

    def __init__(self, output_dir: Path, name: str):
        self.output_dir, self.name = Path(output_dir), name
        self.started: dict | None = None    # the latest run_started
        self.last_step: dict | None = None
        self.finished: dict | None = None   # set while the latest session ended with `finished`
        self.error: dict | None = None      # the latest error event
        self.checkpoints: list[Checkpoint] = []
        self.samples: list[dict] = []        # sample_saved events without a checkpoint at their step (yet)
        self.notes: deque[str] = deque(maxlen=50)  # warnings, errors, saves, control answers: the run's story
        self.caching: dict | None = None     # the latest cache_progress event, until the first step
        self.earlier_s = 0.0                 # seconds the sessions before a resume trained (elapsed adds it)
        self.last_time: float | None = None  # the time of the latest event read (a crashed run ended about then)
        self.events = 0

    def feed(self, event: dict) -> None:
        if event_problem(event) is not None:
            return  # a field missing or of the wrong type: skipped, as the readers skip such a line
        self._feed(event)
        when = event.get("time")
        if isinstance(when, (int, float)):
            self.last_time = float(when)

    def _feed(self, event: dict) -> None:
        kind = event.get("event")
        self.events += 1
        if kind == "step":
            self.last_step = event
            self.finished = self.caching = None
            return
        if kind == "cache_progress":
            self.caching = event
            return
        note = describe_event(event)
        if note is not None:
            self.notes.append(note)
        if kind == "run_started":
            if event.get("resumed_from") and self.started is not None:
                self.earlier_s += self._session_seconds()
            self.started, self.finished, self.error, self.caching = event, None, None, None
        elif kind == "checkpoint_saved":
            self._checkpoint(event)
        elif kind == "sample_saved":
            owners = self._checkpoints_at(event.get("step"))
            for owner in owners:  # every save of that step holds the same weights
                owner.samples.extend(Path(p) for p in event.get("paths", ()))
            if not owners:
                self.samples.append(event)
        elif kind == "finished":
            self.finished, self.caching = event, None
        elif kind == "error":
            self.error = event
        elif kind == "control" and event.get("request") == "save" and event.get("status") == "done":
            said = str(event.get("message") or "")  # "saved PATH at step N"
            for checkpoint in self.checkpoints[-8:]:
                if str(checkpoint.path) in said or f" {checkpoint.path.name} " in f" {said} ":
                    checkpoint.asked = True

    def session_seconds(self, now: float | None = None) -> float | None:
        """How long the latest session has run, on one clock (the events' wall-clock times) however it
        ended: from its run_started to its finished event, or to ``now`` (a live run), or to its latest
        event (a crashed one). None before a run_started with a time. The finished event's own
        elapsed_s (the training loop's, without loading and caching) only stands in when a time is missing."""
        begun = (self.started or {}).get("time")
        finished = self.finished or {}
        ended = finished.get("time") if self.finished else now if now is not None else self.last_time
        if isinstance(begun, (int, float)) and isinstance(ended, (int, float)):
            return max(0.0, float(ended) - float(begun))
        if isinstance(finished.get("elapsed_s"), (int, float)):
            return float(finished["elapsed_s"])
        return None

    def _session_seconds(self) -> float:
        """How long the latest session ran (it ended: a resume follows it)."""
        return self.session_seconds() or 0.0

    def _checkpoints_at(self, step) -> list[Checkpoint]:
        return [checkpoint for checkpoint in self.checkpoints[-8:] if checkpoint.step == step]

    def _checkpoint_at(self, step) -> Checkpoint | None:
        found = self._checkpoints_at(step)
        return found[-1] if found else None

    def _checkpoint(self, event: dict) -> None:
        path, step = Path(str(event.get("path"))), int(event.get("step") or 0)
        if event.get("kind") == "state":
            owner = self._checkpoint_at(step)
            if owner is not None:
                for checkpoint in self.checkpoints:  # a state folder written again holds only the newer state
                    if checkpoint.state == path:
                        checkpoint.state = None
                owner.state = path
            return
        if any(c.path == path for c in self._checkpoints_at(step)):
            return  # written twice at one step (a save request on a save step)
        same_step = self._checkpoint_at(step)  # the same weights under another name (the final, then an epoch save)
        # a file written again later (the final LoRA of an extended run) holds only the newer weights
        self.checkpoints = [c for c in self.checkpoints if c.path != path]
        avg = self.last_step.get("avg_loss") if self.last_step and self.last_step.get("step") == step else None
        checkpoint = Checkpoint(path, str(event.get("kind")), step, int(event.get("epoch") or 0), avg)
        if same_step is not None:
            checkpoint.samples = list(same_step.samples)
            checkpoint.avg_loss = same_step.avg_loss if avg is None else avg
        # samples rendered at this step before the file was saved (the final step: samples come first)
        early = [e for e in self.samples if e.get("step") == step]
        if early:
            self.samples = [e for e in self.samples if e.get("step") != step]
            for sample in early:
                checkpoint.samples.extend(Path(p) for p in sample.get("paths", ()))
        self.checkpoints.append(checkpoint)

    def listed(self) -> list[Checkpoint]:
        """The checkpoints, and the samples rendered between saves ("sample now", a sampling step
        that is not a save step) as entries of kind "sample" with no LoRA file, in step order."""
        loose = [Checkpoint(Path(str(event["paths"][0])), "sample", int(event.get("step") or 0),
                            int(event.get("epoch") or 0), None, [Path(str(p)) for p in event["paths"]])
                 for event in self.samples if event.get("paths")]
        if not loose:
            return list(self.checkpoints)
        return sorted([*self.checkpoints, *loose], key=lambda c: (c.step, c.kind != "sample"))

    @property
    def step(self) -> int:
        latest = self.last_step or self.finished or {}
        return latest["step"] if isinstance(latest.get("step"), int) else 0

    @property
    def total_steps(self) -> int | None:
        if self.last_step and isinstance(self.last_step.get("total_steps"), int):
            return self.last_step["total_steps"]
        schedule = (self.started or {}).get("schedule")
        total = schedule.get("total_steps") if isinstance(schedule, dict) else None
        return total if isinstance(total, int) else None

    @property
    def config(self) -> Path | None:
        config = (self.started or {}).get("config")
        return Path(config) if isinstance(config, str) and config else None


def feed_lines(record: RunRecord, series: LossSeries, lines: list[bytes]) -> list[dict]:
    """Feed complete event lines (EventFollower.poll_lines) to a record and a series; returns the
    events other than steps. Step lines, nearly all of a long run's file, skip json: each stretch of
    them goes through one regex scan into ``LossSeries.add_many``, and only its last line is parsed
    for the record; catching up with a 100 MB file takes about half the time of json per line."""
    others: list[dict] = []
    stretch: list[bytes] = []
    for line in lines:
        if line.startswith(STEP_PREFIX):
            stretch.append(line)
            continue
        event = parse_line(line.decode("utf-8", "replace"))
        if event is None:
            continue
        if stretch:
            _feed_steps(record, series, stretch)
            stretch = []
        record.feed(event)
        series.add_event(event)
        if event["event"] != "step":
            others.append(event)
    if stretch:
        _feed_steps(record, series, stretch)
    return others


def _feed_steps(record: RunRecord, series: LossSeries, lines: list[bytes]) -> None:
    import numpy as np  # here, not at import: the TUI loads numpy after its first frame

    found = _STEP_FIELDS.findall(b"\n".join(lines))
    try:
        if len(found) != len(lines):
            raise ValueError("a step line in another shape")
        table = np.array(found)
        columns = (table[:, 0].astype(np.int64).tolist(), table[:, 1].astype(np.float64).tolist(),
                   table[:, 2].astype(np.float64).tolist())
    except ValueError:  # the json path, one line at a time (same result, slower)
        for event in parse_lines(lines):
            record.feed(event)
            series.add_event(event)
        return
    series.add_many(*columns)
    record.feed(json.loads(lines[-1]))
    record.events += len(lines) - 1


def status_of(record: RunRecord, alive: bool) -> str:
    """live | finished | crashed (see the module docstring); read the events after the lock."""
    if alive:
        return "live"
    return "finished" if record.finished is not None else "crashed"


@dataclass
class RunSummary:
    """One run of an output folder, for a list (`loratui attach`, the Train screen)."""

    output_dir: Path
    name: str
    status: str                   # "live" | "crashed" | "finished"
    reason: str | None            # the finished event's reason
    pid: int | None
    step: int
    total_steps: int | None
    epoch: int | None
    updated: float                # the events file's mtime
    record: RunRecord
    problem: str | None = None    # what is odd about the events file (empty, a link to a file gone, ...)
    earlier: int = 0              # N for an earlier run of NAME (NAME.events.N.jsonl); 0: the latest

    @property
    def events_file(self) -> Path:
        return run_events_path(self.output_dir, self.name, self.earlier)

    @property
    def title(self) -> str:
        """NAME, or "NAME (earlier run N)"."""
        return earlier_title(self.name, self.earlier)

    @property
    def state(self) -> Path | None:
        if self.earlier:  # NAME-state is the latest run's
            return None
        state = self.output_dir / f"{self.name}-state"
        return state if (state / "state.json").is_file() else None

    def describe(self) -> str:
        if self.problem is not None and self.status != "live":
            return f"{self.title}: {self.problem}"
        what = {"live": f"live (pid {self.pid})", "finished": self.reason or "finished"}.get(self.status, "crashed")
        total = f"/{self.total_steps}" if self.total_steps else ""
        return f"{self.title}: {what}, step {self.step}{total}, epoch {self.epoch or '-'}"


def run_events_path(output_dir: str | os.PathLike, name: str, earlier: int = 0) -> Path:
    """NAME.events.jsonl, or the earlier run's NAME.events.N.jsonl."""
    return events_path(output_dir, name) if not earlier else Path(output_dir) / f"{name}.events.{earlier}.jsonl"


def earlier_title(name: str, earlier: int = 0) -> str:
    return f"{name} (earlier run {earlier})" if earlier else name


def state_step(folder: str | os.PathLike) -> int | None:
    """The step a state folder holds now (its state.json), or None when it cannot be read."""
    try:
        info = json.loads((Path(folder) / "state.json").read_text(encoding="utf-8"))
        return int(info["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _tail_bytes(path: Path, limit: int) -> tuple[bytes, bool]:
    """The last ``limit`` bytes of a file and whether that is all of it."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        handle.seek(max(0, size - limit))
        data = handle.read()
    return data, size <= limit


def read_summary(output_dir: str | os.PathLike, name: str, earlier: int = 0) -> RunSummary:
    """A run's status from the lock and the end of its events file (a 100 MB file costs one read
    of its last 256 KB, plus its first 256 KB when the latest run_started is not in them).
    ``earlier``: N reads NAME.events.N.jsonl, an earlier run of NAME (never live: the lock is the latest's)."""
    output_dir = Path(output_dir)
    path = run_events_path(output_dir, name, earlier)
    # before reading: a run that ends now has written `finished`
    pid = run_is_alive(output_dir, name) if not earlier else None
    record = RunRecord(output_dir, name)
    problem, found = None, False
    try:
        data, whole = _tail_bytes(path, TAIL_BYTES)
        updated, found = path.stat().st_mtime, True
        if not whole:
            with open(path, "rb") as handle:
                head = handle.read(TAIL_BYTES).split(b"\n")[:-1]
            for event in parse_lines(head):
                if event["event"] == "run_started":
                    record.feed(event)
    except OSError as exc:
        data, whole, updated = b"", True, 0.0
        problem = _unreadable(path, exc)
        if problem is not None:
            updated = _link_time(path)
    lines = data.split(b"\n")
    if not whole:
        lines = lines[1:]  # the first line is cut
    for event in parse_lines(lines[:-1]):
        record.feed(event)
    last = parse_line(lines[-1].decode("utf-8", "replace"))  # complete, only its newline lost (or not written yet)
    if last is not None:
        record.feed(last)
    if found and record.events == 0:
        problem = ("no events yet: its events file is empty" if not data.strip() else
                   f"no readable events in {path.name} (damaged, or not a loratui events file)")
    epoch = record.last_step.get("epoch") if record.last_step else record.finished.get("epoch") if record.finished else None
    return RunSummary(output_dir, name, status_of(record, pid is not None), (record.finished or {}).get("reason"),
                      pid, record.step, record.total_steps, epoch, updated, record, problem, earlier)


def _unreadable(path: Path, exc: OSError) -> str | None:
    """Why a run's events file cannot be read, in one phrase; None for no file at all (a run whose
    lock is taken and first event not written yet)."""
    if isinstance(exc, FileNotFoundError):
        if not path.is_symlink():
            return None
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return f"its events file is gone: {path.name} links to {target}, which is not there (deleted or moved)"
    if isinstance(exc, IsADirectoryError):
        return f"{path.name} is a folder, not an events file"
    return f"cannot read {path.name} ({exc.strerror or exc})"


def _link_time(path: Path) -> float:
    try:
        return os.lstat(path).st_mtime
    except OSError:
        return 0.0


def list_runs(output_dir: str | os.PathLike, *, earlier: bool = True) -> list[RunSummary]:
    """Every run of an output folder (one per NAME.events.jsonl, or a live NAME.lock without events
    yet): live ones first, then the most recently updated; each followed by its earlier runs
    (NAME.events.1.jsonl, .2, ...: newest first) unless ``earlier`` is False."""
    output_dir = Path(output_dir)
    try:
        entries = os.listdir(output_dir)
    except FileNotFoundError:
        return []
    # a folder named like an events file is no run (os.path.isdir: a link to one is none either)
    names = {e[:-len(EVENTS_SUFFIX)] for e in entries if e.endswith(EVENTS_SUFFIX)
             and not os.path.isdir(output_dir / e)}
    names |= {e[:-5] for e in entries if e.endswith(".lock") and run_is_alive(output_dir, e[:-5])}
    runs = sorted((read_summary(output_dir, name) for name in sorted(names)),
                  key=lambda r: (r.status != "live", -r.updated))
    if not earlier:
        return runs
    rotated: dict[str, list[int]] = {}
    for entry in entries:
        match = EARLIER_EVENTS.fullmatch(entry)
        if match and not os.path.isdir(output_dir / entry):
            rotated.setdefault(match.group(1), []).append(int(match.group(2)))
    listed = []
    for name in [*(r.name for r in runs), *sorted(set(rotated) - names)]:  # a name with earlier runs only: last
        listed += [r for r in runs if r.name == name]
        listed += [read_summary(output_dir, name, n) for n in sorted(rotated.pop(name, []))]
    return listed


EARLIER_SLACK_S = 2.0  # a file written this long after an earlier run's last event is a later run's


def _as_it_was(path: Path, output_dir: Path, name: str, ended: float | None) -> Path | None:
    """Where an earlier run's file is now: in place unless a later run wrote it again (newer than the
    run's last event), else the newest copy in NAME-kept-*/ that is not newer; None when gone."""
    def older(candidate: Path) -> bool:
        try:
            return ended is None or candidate.stat().st_mtime <= ended + EARLIER_SLACK_S
        except OSError:
            return False

    if older(path):
        return path
    try:
        kept = sorted(output_dir.glob(f"{glob_escape(name)}-kept-*/{glob_escape(path.name)}"))
    except (OSError, ValueError):
        kept = []
    found = [candidate for candidate in kept if older(candidate)]
    return found[-1] if found else None


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def earlier_checkpoints(checkpoints: list[Checkpoint], output_dir: str | os.PathLike, name: str,
                        ended: float | None) -> list[Checkpoint]:
    """An earlier run's checkpoints (``RunRecord.listed``) as they are now: each LoRA and state where it
    is (moved into NAME-kept-<time>/ by a later run), samples that are still the run's; a LoRA found
    nowhere is kept in the list with ``gone`` set. ``ended``: the time of the run's last event."""
    output_dir = Path(output_dir)
    found = []
    for checkpoint in checkpoints:
        samples = [path for path in checkpoint.samples if _as_it_was(Path(path), output_dir, name, ended)]
        if checkpoint.kind == "sample":
            if samples:
                found.append(Checkpoint(samples[0], "sample", checkpoint.step, checkpoint.epoch, None, samples))
            continue
        where = _as_it_was(Path(checkpoint.path), output_dir, name, ended)
        state = _as_it_was(Path(checkpoint.state), output_dir, name, ended) if checkpoint.state else None
        found.append(Checkpoint(where or Path(checkpoint.path), checkpoint.kind, checkpoint.step, checkpoint.epoch,
                                checkpoint.avg_loss, samples, state, checkpoint.asked, gone=where is None))
    return found


def tail_lines(path: str | os.PathLike, count: int = 20) -> list[str]:
    """The last ``count`` lines of a text file (a run's log), progress-bar carriage returns resolved."""
    try:
        data, whole = _tail_bytes(Path(path), 64 * 1024)
    except OSError:
        return []
    lines = data.decode("utf-8", "replace").split("\n")
    if lines and not lines[-1]:
        lines.pop()
    if not whole:
        lines = lines[1:]
    return [line.rstrip("\r").rsplit("\r", 1)[-1].rstrip() for line in lines[-count:]]


def last_log_lines(output_dir: str | os.PathLike, name: str, count: int = 20, earlier: int = 0) -> list[str]:
    """The run's log (NAME.log, written when the TUI started it), or its story from the events (always
    for an earlier run: NAME.log ends with the latest run's lines)."""
    lines = tail_lines(log_path(output_dir, name), count) if not earlier else []
    return lines or list(read_summary(output_dir, name, earlier).record.notes)[-count:]


def previous_outputs(output_dir: str | os.PathLike, name: str) -> list[Path]:
    """What a new run named ``name`` writes over (or prunes) in ``output_dir``: the final LoRA
    (NAME.safetensors), the epoch and step saves (NAME-000004, NAME-step00000500) and their -state
    folders, and NAME-state; promoted copies are not among them. Sorted by name."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return []
    saves = re.compile(rf"{re.escape(name)}(?:-\d{{6}}|-step\d+)?(?:\.safetensors|-state)")
    return sorted(path for path in folder.iterdir() if saves.fullmatch(path.name))


def previous_outputs_text(output_dir: str | os.PathLike, name: str, shown: int = 2) -> str | None:
    """"the last run's A, B and N more in DIR" for the files ``previous_outputs`` finds, or None."""
    older = previous_outputs(output_dir, name)
    if not older:
        return None
    more = f" and {len(older) - shown} more" if len(older) > shown else ""
    return f"the last run's {', '.join(path.name for path in older[:shown])}{more} in {output_dir}"


class AlreadyPromoted(FileExistsError):
    """The checkpoint has a promoted copy already (the same bytes): ``target`` names it."""

    def __init__(self, source: Path, target: Path):
        super().__init__(f"{source.name} is promoted already, as {target.name} (the same bytes): nothing copied")
        self.source, self.target = source, target


def promoted_names(name: str) -> list[str]:
    """The names a promoted copy takes, in order: NAME.safetensors, NAME-promoted.safetensors,
    NAME-promoted-2.safetensors, ..."""
    return [f"{name}.safetensors" if index == 1 else
            f"{name}-promoted{'' if index == 2 else f'-{index - 1}'}.safetensors" for index in range(1, 1000)]


def promoted_copy(source: str | os.PathLike, name: str, output_dir: str | os.PathLike | None = None) -> Path | None:
    """The promoted copy (NAME.safetensors, NAME-promoted*.safetensors) holding the same bytes as
    ``source``, or None: sizes first, then the bytes of those of the same size."""
    import filecmp

    source = Path(source)
    folder = Path(output_dir) if output_dir is not None else source.parent
    size = source.stat().st_size
    order = {candidate: index for index, candidate in enumerate(promoted_names(name))}
    try:
        found = sorted((path for path in folder.iterdir() if path.name in order), key=lambda path: order[path.name])
    except FileNotFoundError:
        return None
    for path in found:
        try:
            if path.stat().st_size == size and not os.path.samefile(path, source) and \
                    filecmp.cmp(source, path, shallow=False):
                return path
        except OSError:
            continue
    return None


def promote_checkpoint(source: str | os.PathLike, name: str, output_dir: str | os.PathLike | None = None) -> Path:
    """Copy a checkpoint to OUTPUT_DIR/NAME.safetensors, or NAME-promoted.safetensors,
    NAME-promoted-2.safetensors, ... when that is taken. Never moves the source, never overwrites:
    the copy is written beside its target and linked into place (which fails if the name exists).
    A checkpoint promoted already (one of those names holds its bytes) raises AlreadyPromoted."""
    source = Path(source)
    folder = Path(output_dir) if output_dir is not None else source.parent
    same = promoted_copy(source, name, folder)
    if same is not None:
        raise AlreadyPromoted(source, same)
    tmp = folder / f".{name}.promote-{os.getpid()}.tmp"
    shutil.copyfile(source, tmp)
    try:
        for target in (folder / candidate for candidate in promoted_names(name)):
            try:
                os.link(tmp, target)
            except FileExistsError:
                continue
            return target
    finally:
        tmp.unlink(missing_ok=True)
    raise FileExistsError(f"{folder}: too many promoted copies of {name}")
