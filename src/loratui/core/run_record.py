"""What the events of one run say (core/events.py writes them): ``RunRecord`` fed one event at a time
(a follower) or from a file, the checkpoints it saved with their samples and state, and
``feed_lines``, the fast path that catches up with a long file. core/runs.py builds its summaries on
this; no torch, no textual.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from loratui.core.events import event_problem, parse_line, parse_lines
from loratui.core.loss_series import LossSeries

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
    kept_aside: bool = False       # a save a resume kept aside (its samples named with it): the resumed
                                   # session's samples of the same step are not its
    run_began: float | None = None  # the time of the first event of the run that saved it: a copy of one
                                    # of its files written before then is another run's (core/run_files.py)


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


def prompts_by_sample(event: dict) -> dict[str, dict]:
    """A sample_saved event's prompts by its files' names: {"img.png": {"prompt": "a cat", "seed": 3}}
    (``prompts`` pairs with ``paths`` in order; events before it, and an entry not of that shape, give none).
    By name, not path: a sample moved aside with its run (NAME-kept-...) keeps its prompt."""
    paths, prompts = event.get("paths"), event.get("prompts")
    if not isinstance(prompts, list) or not isinstance(paths, list) or len(prompts) != len(paths):
        return {}  # not paired one to one: a prompt shown beside another's image would mislead
    found = {}
    for path, about in zip(paths, prompts):
        if isinstance(about, dict) and isinstance(about.get("prompt"), str):
            seed = about.get("seed")
            seed = seed if isinstance(seed, int) and not isinstance(seed, bool) else None
            found[Path(str(path)).name] = {"prompt": about["prompt"], "seed": seed}
    return found


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
        self.sample_prompts: dict[str, dict] = {}  # a sample's file name -> {"prompt", "seed"} its event gave
        self.notes: deque[str] = deque(maxlen=50)  # warnings, errors, saves, control answers: the run's story
        self.caching: dict | None = None     # the latest cache_progress event, until the first step
        self.earlier_s = 0.0                 # seconds the sessions before a resume trained (elapsed adds it)
        self.last_time: float | None = None  # the time of the latest event read (a crashed run ended about then)
        self.first_time: float | None = None  # the time of the first event read: when the run began (its
                                              # first session: a resume appends to the same file)
        self._recent: deque[tuple[float, str]] = deque(maxlen=64)  # (time, kind) of the latest events
        self.events = 0

    def feed(self, event: dict) -> None:
        if event_problem(event) is not None:
            return  # a field missing or of the wrong type: skipped, as the readers skip such a line
        self._feed(event)
        when = event.get("time")
        if isinstance(when, (int, float)):
            self.last_time = float(when)
            if self.first_time is None:
                self.first_time = float(when)
            self._recent.append((float(when), str(event.get("event"))))

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
                self.earlier_s += self._session_seconds(self._ended_before(event))
            self.started, self.finished, self.error, self.caching = event, None, None, None
        elif kind == "checkpoint_saved":
            self._checkpoint(event)
        elif kind == "sample_saved":
            self.sample_prompts.update(prompts_by_sample(event))
            owners = self._checkpoints_at(event.get("step"))
            for owner in owners:  # every save of that step holds the same weights
                owner.samples.extend(p for p in map(Path, event.get("paths", ())) if p not in owner.samples)
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

    def _session_seconds(self, ended: float | None) -> float:
        """How long the latest session ran (it ended: a resume follows it, ``ended`` its last event's time)."""
        if self.finished is None and ended is not None:
            begun = (self.started or {}).get("time")
            if isinstance(begun, (int, float)):
                return max(0.0, ended - float(begun))
        return self.session_seconds() or 0.0

    def _ended_before(self, started: dict) -> float | None:
        """When the session before the ``started`` one wrote its last event. The new session's own
        events before its run_started (the stale lock it removed, what it moved aside) are not the old
        one's: run_started's ``launched_at`` tells them apart; an older file without it, by their kind
        (warnings). A crashed run resumed 3 h later did not train those 3 h."""
        launched = started.get("launched_at")
        if isinstance(launched, (int, float)) and not isinstance(launched, bool):
            before = [when for when, _ in self._recent if when < launched]
        else:
            before = [when for when, kind in self._recent if kind != "warning"]
        return max(before) if before else None

    def _checkpoints_at(self, step) -> list[Checkpoint]:
        """The saves at ``step`` (the latest few), those kept aside by a resume left out: they hold the
        weights of the session before it, not what this session trains and renders at that step."""
        return [c for c in self.checkpoints[-8:] if c.step == step and not c.kept_aside]

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
        if any(c.path == path for c in self.checkpoints[-8:] if c.step == step):
            return  # written twice at one step (a save request on a save step)
        kept = event.get("samples")  # a save kept aside by a resume: its samples, kept aside with it
        kept = [Path(p) for p in kept if isinstance(p, str)] if isinstance(kept, list) else None
        same_step = self._checkpoint_at(step)  # the same weights under another name (the final, then an epoch save)
        # a file written again later (the final LoRA of an extended run) holds only the newer weights
        self.checkpoints = [c for c in self.checkpoints if c.path != path]
        avg = self.last_step.get("avg_loss") if self.last_step and self.last_step.get("step") == step else None
        checkpoint = Checkpoint(path, str(event.get("kind")), step, int(event.get("epoch") or 0), avg,
                                run_began=self.first_time)
        if same_step is not None:
            checkpoint.samples = list(same_step.samples)
            checkpoint.avg_loss = same_step.avg_loss if avg is None else avg
        if kept is not None:
            checkpoint.samples, checkpoint.kept_aside = kept, True
            self._moved_aside(kept)
            self.checkpoints.append(checkpoint)
            return
        # samples rendered at this step before the file was saved (the final step: samples come first)
        early = [e for e in self.samples if e.get("step") == step]
        if early:
            self.samples = [e for e in self.samples if e.get("step") != step]
            for sample in early:
                checkpoint.samples.extend(Path(p) for p in sample.get("paths", ()))
        self.checkpoints.append(checkpoint)

    def _moved_aside(self, kept: list[Path]) -> None:
        """The samples a resume kept aside (``kept``, where they are now) are no longer where the saves of
        the session before it list them: unlisted there, so that the samples this session renders at the
        same step are the only ones they show (their names hold the time: they never replace those)."""
        names, now = {p.name for p in kept}, set(kept)
        for checkpoint in self.checkpoints:
            if not checkpoint.kept_aside:
                checkpoint.samples = [p for p in checkpoint.samples if p.name not in names or p in now]

    def listed(self) -> list[Checkpoint]:
        """The checkpoints, and the samples rendered between saves ("sample now", a sampling step
        that is not a save step) as entries of kind "sample" with no LoRA file, in step order."""
        loose = [Checkpoint(Path(str(event["paths"][0])), "sample", int(event.get("step") or 0),
                            int(event.get("epoch") or 0), None, [Path(str(p)) for p in event["paths"]],
                            run_began=self.first_time)
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
        # the last line is parsed for the record before anything is fed: a torn one (lines handed over
        # by a caller other than EventFollower, a file cut short) is skipped by the json path, never raised
        last = parse_line(lines[-1].decode("utf-8", "replace"))
        if last is None:
            raise ValueError("a torn or partial last step line")
        table = np.array(found)
        columns = (table[:, 0].astype(np.int64).tolist(), table[:, 1].astype(np.float64).tolist(),
                   table[:, 2].astype(np.float64).tolist())
    except ValueError:  # the json path, one line at a time (same result, slower)
        for event in parse_lines(lines):
            record.feed(event)
            series.add_event(event)
        return
    series.add_many(*columns)
    record.feed(last)
    record.events += len(lines) - 1


def status_of(record: RunRecord, alive: bool) -> str:
    """live | finished | crashed (see the module docstring); read the events after the lock."""
    if alive:
        return "live"
    return "finished" if record.finished is not None else "crashed"
