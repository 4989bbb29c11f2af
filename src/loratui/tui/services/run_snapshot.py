"""What the run service says about one run (services/runs.py): the immutable ``RunSnapshot`` of a run as
last read, the ``RunUpdated`` and ``RunNotice`` messages that carry it to the screens, and the
``RunCommand`` that started it when this app did. Split out of services/followed_run.py, which builds the
snapshots and re-exports these names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual.message import Message

from loratui.core.runs import Checkpoint, earlier_title


@dataclass(frozen=True)
class RunCommand:
    """What ``start`` runs; ``display`` is the line to show the user before it starts."""

    argv: tuple[str, ...]
    display: str
    processes: int
    output_dir: Path
    name: str
    cwd: Path
    config: Path | None = None      # the config it trains (known before its run_started names it)

    @property
    def resumes(self) -> bool:
        return "--resume" in self.argv


@dataclass(frozen=True)
class RunSnapshot:
    """A run as last read (immutable: safe to keep in a widget)."""

    key: Path                       # the events file: one run per file
    output_dir: Path
    name: str
    status: str                     # "reading" (catching up) | "starting" | "live" | "ending" (wrote `finished`,
                                    # exits) | "finished" | "crashed" | "refused" | "stopped" (this app's launch
                                    # interrupted before it wrote an event: nothing was saved)
    reason: str | None              # of the finished event: "completed" | "stopped" | "error"
    pid: int | None
    step: int
    total_steps: int | None
    epoch: int | None
    epochs: int | None
    loss: float | None
    avg_loss: float | None
    lr: float | None
    images_per_s: float | None
    eta_s: float | None
    peak_vram_gib: float | None
    vram_estimate_gib: float | None
    elapsed_s: float | None
    config: Path | None
    state: Path | None              # the newest state to resume or extend from (``newest_state``): the
                                    # folder --resume names (NAME-state, NAME-000004-state, ...)
    checkpoints: tuple[Checkpoint, ...]
    error: dict | None              # the latest error event (message, hint, kind); for a run that ended without
                                    # one, its log's error line (``log_error``)
    notes: tuple[str, ...]          # the run's story from its events
    log_tail: tuple[str, ...]       # the last lines of this launch's section of NAME.log (runs the app started)
    events: int
    caught_up: bool                 # the whole file has been read
    caching: str | None = None      # "caching latents 12/36 · ETA 40s" before the first step
    device: str | None = None       # where it trains ("cuda:0", "cpu", "mps"), from run_started
    earlier: int = 0                # N: an earlier run of NAME (NAME.events.N.jsonl), shown read-only
    state_read: Path | None = None  # the folder the engine reads for ``state`` (NAME-state.tmp after a kill)
    state_step: int | None = None   # the step that state holds
    processes: int = 1              # the processes the run trains with (a resume needs as many)
    log_note: str | None = None     # why there is no log_tail (started outside the app: where its output went)
    sample_prompts: dict | None = None  # a sample's file name -> {"prompt", "seed"} its sample_saved event gave
                                        # (RunRecord.sample_prompts; train_checkpoints.py shows them)
    ended_by: str | None = None     # a crashed launch of this app killed by a signal: "killed by signal 9 (...)"

    @property
    def title(self) -> str:
        """NAME, or "NAME (earlier run N)"."""
        return earlier_title(self.name, self.earlier)


class RunUpdated(Message):
    """A followed run changed (at most ~2 per second per run; a newer one replaces a queued one)."""

    def __init__(self, snapshot: RunSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RunUpdated) and message.snapshot.key == self.snapshot.key


class RunNotice(Message):
    """A notable event of a followed run, once caught up (error, warning, finished, save, sample,
    control answer), or its crash; ``severity`` is a Textual notification severity."""

    def __init__(self, key: Path, line: str, severity: str, event: dict | None) -> None:
        super().__init__()
        self.key, self.line, self.severity, self.event = key, line, severity, event
