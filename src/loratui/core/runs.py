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
never live. A run started with --events FILE elsewhere leaves NAME.events.jsonl as a link to FILE, and
the runs before it are moved aside beside FILE (FILE's stem.1.jsonl ...): ``earlier_events`` follows
the link to find them (``run_events_path`` and ``list_runs`` use it). Their files may have moved since (into NAME-kept-<time>/, or been written over by a later
run of the same name): ``earlier_checkpoints`` finds each where it is now, or marks it gone.

Where an earlier run's files are now, and the sample images' names, are core/run_files.py; the
record of one run's events is core/run_record.py, promoting a checkpoint core/promote.py, which
state folder a resume reads core/run_states.py; their names are re-exported here, where callers import them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from loratui.core.events import events_path, log_path, parse_line, parse_lines, run_is_alive
from loratui.core.loss_series import LossSeries
from loratui.core.promote import AlreadyPromoted, CheckpointGone, promote_checkpoint, promoted_copy, promoted_names
from loratui.core.run_files import (EARLIER_SLACK_S, SAMPLE_FOLDER, earlier_checkpoints, glob_escape,  # noqa: F401
                                    previous_samples, sample_epoch, sample_step, samples_past)
from loratui.core.run_record import Checkpoint, RunRecord, describe_event, feed_lines, prompts_by_sample, status_of
from loratui.core.run_states import newest_state, state_step

__all__ = [  # the names callers import from here, the moved ones among them
    "AlreadyPromoted", "Checkpoint", "LossSeries", "RunRecord", "RunSummary", "describe_event",
    "earlier_checkpoints", "earlier_title", "feed_lines", "last_log_lines", "list_runs", "previous_outputs",
    "previous_outputs_text", "previous_samples", "promote_checkpoint", "promoted_copy", "promoted_names",
    "read_summary", "run_events_path", "SAMPLE_FOLDER", "sample_epoch", "sample_step", "samples_past", "state_step",
    "status_of", "prompts_by_sample",
    "tail_lines", "CheckpointGone", "checkpoints_on_disk", "earlier_events", "own_log", "log_pointer",
]

EVENTS_SUFFIX = ".events.jsonl"
EARLIER_EVENTS = re.compile(r"(.+)\.events\.([1-9]\d*)\.jsonl")  # NAME.events.N.jsonl: rotated aside
TAIL_BYTES = 256 * 1024


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

    def newest_state(self) -> tuple[Path, Path, int] | None:
        """The state a resume continues from (core/run_states.py ``newest_state``: the latest step of
        NAME-state and the epoch / step saves' states): (the folder --resume names, the one the engine
        reads, its step), or None. Reads the folder: call it off the UI thread."""
        if self.earlier:  # the states there are the latest run's
            return None
        return newest_state(self.output_dir, self.name)

    @property
    def state(self) -> Path | None:
        """The folder ``newest_state`` found (the one --resume names), or None."""
        found = self.newest_state()
        return found[0] if found else None

    def describe(self) -> str:
        if self.problem is not None and self.status != "live":
            return f"{self.title}: {self.problem}"
        what = {"live": f"live (pid {self.pid})", "finished": self.reason or "finished"}.get(self.status, "crashed")
        total = f"/{self.total_steps}" if self.total_steps else ""
        return f"{self.title}: {what}, step {self.step}{total}, epoch {self.epoch or '-'}"


def run_events_path(output_dir: str | os.PathLike, name: str, earlier: int = 0) -> Path:
    """NAME.events.jsonl, or the earlier run's events file (``earlier_events``; NAME.events.N.jsonl when
    there is no such run)."""
    if not earlier:
        return events_path(output_dir, name)
    return earlier_events(output_dir, name).get(earlier, Path(output_dir) / f"{name}.events.{earlier}.jsonl")


def _rotated(folder: Path, stem: str) -> dict[int, Path]:
    """STEM.N.jsonl in ``folder`` (core/events.py ``rotate_events``' names), by N."""
    pattern = re.compile(rf"{re.escape(stem)}\.([1-9]\d*)\.jsonl")
    try:
        entries = os.listdir(folder)
    except OSError:
        return {}
    return {int(match.group(1)): folder / entry for entry in entries
            if (match := pattern.fullmatch(entry)) and not os.path.isdir(folder / entry)}


def earlier_events(output_dir: str | os.PathLike, name: str) -> dict[int, Path]:
    """The earlier runs' events files of NAME by N (1: the newest): NAME.events.N.jsonl beside it, and,
    while NAME.events.jsonl links to an --events file elsewhere, that file's rotated siblings (where a
    fresh run with the same --events moved the last one's). Both: merged newest first (file times)."""
    output_dir = Path(output_dir)
    here = _rotated(output_dir, f"{name}.events")
    standard = events_path(output_dir, name)
    there: dict[int, Path] = {}
    if standard.is_symlink():
        target = Path(os.path.realpath(standard))
        stem = target.name[:-len(".jsonl")] if target.name.endswith(".jsonl") else target.name
        if (target.parent, stem) != (Path(os.path.realpath(output_dir)), f"{name}.events"):
            there = _rotated(target.parent, stem)
    if not there or not here:
        return here or there

    def newest_first(path: Path) -> float:
        try:
            return -path.stat().st_mtime
        except OSError:
            return 0.0

    merged = sorted([*(there[n] for n in sorted(there)), *(here[n] for n in sorted(here))], key=newest_first)
    return {index: path for index, path in enumerate(merged, 1)}


def earlier_title(name: str, earlier: int = 0) -> str:
    return f"{name} (earlier run {earlier})" if earlier else name


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
            rotated.setdefault(match.group(1), [])
    for name in names:  # --events elsewhere: its earlier runs are beside the file NAME.events.jsonl links to
        if os.path.islink(output_dir / f"{name}{EVENTS_SUFFIX}"):
            rotated.setdefault(name, [])
    for name in rotated:
        rotated[name] = sorted(earlier_events(output_dir, name))
    listed = []
    for name in [*(r.name for r in runs), *sorted(set(rotated) - names)]:  # a name with earlier runs only: last
        listed += [r for r in runs if r.name == name]
        listed += [read_summary(output_dir, name, n) for n in sorted(rotated.pop(name, []))]
    return listed


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


def own_log(output_dir: str | os.PathLike, name: str, since: float | None = None) -> Path | None:
    """NAME.log when the latest run wrote it (the app starts runs with their output there; a run started
    from a shell has none): written to at or after ``since`` (the run's first event), else None."""
    path = log_path(output_dir, name)
    try:
        written = path.stat().st_mtime
    except OSError:
        return None
    return path if since is None or written >= since - 1.0 else None


def log_pointer(output_dir: str | os.PathLike, name: str, since: float | None = None) -> str:
    """Where to read why a run ended without finishing: "see its log (NAME.log)", or, for a run started
    from a shell (no log of its own), its events file and that its output went to that shell."""
    log = own_log(output_dir, name, since)
    if log is not None:
        return f"see its log ({log.name})"
    return (f"it has no {log_path(output_dir, name).name} (started from a shell: its output went there); "
            f"its last events are in {events_path(output_dir, name).name}")


def checkpoints_on_disk(checkpoints: list[Checkpoint]) -> list[Checkpoint]:
    """The latest run's checkpoints with ``gone`` set on those whose LoRA file is no longer there
    (deleted by hand): one stat each, for the list and before promoting. An earlier run's go through
    ``earlier_checkpoints``, which also finds the ones moved aside."""
    import dataclasses

    return [dataclasses.replace(c, gone=True) if c.kind != "sample" and not c.gone and not os.path.lexists(c.path)
            else c for c in checkpoints]


def last_log_lines(output_dir: str | os.PathLike, name: str, count: int = 20, earlier: int = 0) -> list[str]:
    """The run's log (NAME.log, written when the TUI started it), or its story from the events (always
    for an earlier run: NAME.log ends with the latest run's lines; and for a run started from a shell,
    whose NAME.log, if any, is an older run's: ``own_log``)."""
    summary = read_summary(output_dir, name, earlier)
    since = (summary.record.started or {}).get("time")
    log = own_log(output_dir, name, since if isinstance(since, (int, float)) else None) if not earlier else None
    lines = tail_lines(log, count) if log is not None else []
    return lines or list(summary.record.notes)[-count:]


def previous_outputs(output_dir: str | os.PathLike, name: str, *, samples: bool = False) -> list[Path]:
    """What a new run named ``name`` writes over (or prunes) in ``output_dir``: the final LoRA
    (NAME.safetensors), the epoch and step saves (NAME-000004, NAME-step00000500) and their -state
    folders, and NAME-state; promoted copies are not among them. Sorted by name. ``samples``: then
    the last run's sample images too (``previous_samples``), which the new run moves aside with its
    saves (engine/run_folder.py) so that its own do not write over them."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return []
    saves = re.compile(rf"{re.escape(name)}(?:-\d{{6}}|-step\d+)?(?:\.safetensors|-state)")
    found = sorted(path for path in folder.iterdir() if saves.fullmatch(path.name))
    return found + previous_samples(folder, name) if samples else found


def previous_outputs_text(output_dir: str | os.PathLike, name: str, shown: int = 2) -> str | None:
    """"the last run's A, B and N more in DIR" for the files ``previous_outputs`` finds (samples
    included), or None."""
    older = previous_outputs(output_dir, name, samples=True)
    if not older:
        return None
    more = f" and {len(older) - shown} more" if len(older) > shown else ""
    return f"the last run's {', '.join(path.name for path in older[:shown])}{more} in {output_dir}"
