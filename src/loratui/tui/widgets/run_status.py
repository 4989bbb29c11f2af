"""RunStatus: what a followed run is doing, in three lines of words and numbers.

    ● LIVE tiny · step 120/400 30% ███░░░░░░░ · epoch 3/10
    loss 0.1234 avg 0.1302 · lr 1.0e-04 · 4.10 img/s · ETA 1m23s · elapsed 45s
    VRAM peak 3.2 GiB (estimate 3.5 GiB)

The state is a word (LIVE, STARTING, ENDING, COMPLETED, STOPPED, ERROR, CRASHED, REFUSED) with a mark, never a
colour alone. ``run_error_line`` is the one line an engine error becomes (message, the engine's
hint, the key that opens the setting it names). Formatting only: the numbers are the snapshot's.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from loratui.core.durations import duration_text

STATE_WORDS = {  # status (or finished reason) -> (mark, word, style class of the word)
    "starting": ("…", "STARTING", "run-status--live"),
    "live": ("●", "LIVE", "run-status--live"),
    "ending": ("…", "ENDING", "run-status--live"),  # its `finished` is written; the process exits
    "completed": ("✓", "COMPLETED", "run-status--done"),
    "stopped": ("■", "STOPPED", "run-status--done"),
    "error": ("✗", "ERROR", "run-status--bad"),
    "crashed": ("✗", "CRASHED", "run-status--bad"),
    "refused": ("✗", "REFUSED", "run-status--bad"),
    "reading": ("…", "READING", "run-status--muted"),  # a long events file being read in
}


def bar_text(done: int, total: int | None, width: int = 10) -> str:
    if not total:
        return ""
    filled = min(width, round(width * done / total))
    return "█" * filled + "░" * (width - filled)


def state_of(snapshot) -> str:
    if snapshot.status == "finished":
        return snapshot.reason or "completed"
    return snapshot.status


def _number(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def status_lines(snapshot, keys=None) -> list[tuple[str, str | None]]:
    """(text, style class) parts of the three lines; "\\n" parts end a line. ``keys``: the Train screen's
    keys the lines name (services/train_keys.py; the app's gives keymap.toml's), else its default ones."""
    from loratui.tui.services.train_keys import TrainKeys

    keys = keys or TrainKeys()
    mark, word, style = STATE_WORDS.get(state_of(snapshot), ("?", state_of(snapshot).upper(), None))
    total = f"/{snapshot.total_steps:,}" if snapshot.total_steps else ""
    percent = f" {100 * snapshot.step // snapshot.total_steps}%" if snapshot.total_steps else ""
    epochs = f"/{snapshot.epochs}" if snapshot.epochs else ""
    parts: list[tuple[str, str | None]] = [
        (f"{mark} {word}", style), (f" {getattr(snapshot, 'title', snapshot.name)}", "run-status--name"),
        (f" · step {snapshot.step:,}{total}{percent} ", None), (bar_text(snapshot.step, snapshot.total_steps), None),
        (f" · epoch {snapshot.epoch or '-'}{epochs}", None), ("\n", None),
    ]
    caching = getattr(snapshot, "caching", None)
    # starting: nothing of this session trained yet (a resume's step is its state's), so no numbers of
    # the session before it: what loads, and the time so far
    if caching and snapshot.status == "starting":
        parts.append((caching, "run-status--muted"))
    elif snapshot.status == "starting":
        resumes = f"resuming from step {snapshot.step:,}: " if snapshot.step else ""
        parts.append((f"{resumes}loading the model and the dataset…", "run-status--muted"))
    else:
        lr = "-" if snapshot.lr is None else f"{snapshot.lr:.1e}"
        parts.append((f"loss {_number(snapshot.loss, '.4f')} avg {_number(snapshot.avg_loss, '.4f')} · lr {lr} · "
                      f"{_number(snapshot.images_per_s, '.2f')} img/s", None))
        if snapshot.status in ("live", "starting"):
            parts.append((f" · ETA {duration_text(snapshot.eta_s)}", None))
    parts.append((f" · elapsed {duration_text(snapshot.elapsed_s)}", None))
    parts.append(("\n", None))
    device = getattr(snapshot, "device", None)
    device_shown = True
    if device and not device.startswith("cuda"):  # no VRAM to measure or estimate
        parts.append((f"device {device}", None))
    elif device or snapshot.peak_vram_gib is not None:
        peak = "-" if snapshot.peak_vram_gib is None else f"{snapshot.peak_vram_gib:.1f} GiB"
        estimate = "" if snapshot.vram_estimate_gib is None else f" (estimate {snapshot.vram_estimate_gib:.1f} GiB)"
        parts.append((f"VRAM peak {peak}{estimate}", None))
    else:
        device_shown = False  # the device is not known yet (the run is starting, or an older events file)
    if snapshot.pid:
        parts.append((f"{' · ' if device_shown else ''}pid {snapshot.pid}", "run-status--muted"))
    if snapshot.status == "crashed" and getattr(snapshot, "ended_by", None):  # a signal: the log has no line on it
        at = getattr(snapshot, "state_step", None)
        resumes = f": {keys.does('train.resume', f'resumes from step {at:,}')}" if at is not None else ""
        parts.append((f" · {snapshot.ended_by}{resumes}", "run-status--bad"))
    elif snapshot.status == "crashed":
        # the box below shows the run's log, or (started in a shell: no log of its own) its events
        below = "see the log below" if getattr(snapshot, "log_tail", None) else "no log; its events are below"
        parts.append((f" · gone without finishing: {below}", "run-status--bad"))
    elif snapshot.status == "stopped" or (state_of(snapshot) == "stopped" and not snapshot.checkpoints):
        said = f"stopped while starting: nothing new saved ({keys.does('train.resume', 'resumes')})" \
            if getattr(snapshot, "state", None) else \
            f"stopped before anything was saved ({keys.does('train.start', 'starts a new run')})"
        parts.append(((" · " if parts[-1][0] != "\n" else "") + said, "run-status--muted"))
    elif snapshot.status == "refused":
        # why is the error line under this one (a setting it names: o opens it); the launch's log is below
        parts.append((" · loratui train refused to start: why is under this line", "run-status--bad"))
    return parts


def run_error_line(error: dict, setting: str | None, key: str = "o") -> str:
    """An engine error event as one line: what happened, the engine's hint, the key to the setting."""
    kind = {"oom": "out of memory", "nan": "loss became NaN", "config": "config problem", "crash": "crashed",
            "disk_full": "disk full", "deleted": "files deleted", "file": "file problem",
            "process": "process failed"}.get(str(error.get("kind")),
                                                                     str(error.get("kind") or "error"))
    line = f"✗ {kind}" + (f" ({key}: open {setting})" if setting else "") + f": {error.get('message', '')}"
    if error.get("hint"):
        line += f" · hint: {error['hint']}"
    return " ".join(line.split())  # the key first: at 80 columns the end of a long hint is cut


class RunStatus(Static):
    """The state, progress and numbers of the followed run (``show(snapshot)``; None: no run)."""

    COMPONENT_CLASSES = {"run-status--live", "run-status--done", "run-status--bad", "run-status--name",
                         "run-status--muted"}
    DEFAULT_CSS = """
    RunStatus {
        height: 3;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        & > .run-status--live { text-style: bold; color: $success; }
        & > .run-status--done { text-style: bold; }
        & > .run-status--bad { text-style: bold; color: $error; }
        & > .run-status--name { text-style: bold; }
        & > .run-status--muted { color: $text-muted; }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes, markup=False)
        self.snapshot = None

    def show(self, snapshot, *, empty: str = "no run followed") -> None:
        self.snapshot = snapshot
        if snapshot is None:
            self.update(Text(empty))
            return
        text = Text()
        for part, component in status_lines(snapshot, self.keys()):
            style = self.get_component_rich_style(component) if component and self.is_mounted else ""
            text.append(part, style)
        self.update(text)

    @property
    def plain(self) -> str:
        return "" if self.snapshot is None else "".join(p for p, _ in status_lines(self.snapshot, self.keys()))

    def keys(self):
        """The app's keys (keymap.toml) once mounted; the default ones before."""
        from loratui.tui.services.train_keys import TrainKeys

        return TrainKeys(self.app if self.is_mounted else None)
