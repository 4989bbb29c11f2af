"""What a reader of a run's events checks in each one (core/events.py reads them, core/runs.py and the
TUI use them): the fields it does arithmetic on or builds paths from have their types, and the few
without which an event says nothing are there. A line that fails is skipped like a garbage line: one
hand-edited or damaged line must not stop `loratui attach` or the Train screen listing every run.
The writer's own check (every schema field present) is ``make_event`` in core/events.py."""

from __future__ import annotations

from typing import Any

_INT, _NUMBER, _TEXT = "int", "number", "text"
# FIELD_TYPES: checked when there (null is fine); MUST_HAVE: the few without which the event says
# nothing. Other fields are not checked: readers .get() them.
FIELD_TYPES: dict[str, dict[str, str]] = {
    "run_started": {"config": _TEXT, "output_name": _TEXT, "resumed_from": _TEXT, "pid": _INT,
                    "vram_estimate_gib": _NUMBER},
    "cache_progress": {"done": _NUMBER, "total": _NUMBER, "eta_s": _NUMBER},
    "step": {"step": _INT, "total_steps": _INT, "epoch": _INT, "loss": _NUMBER, "avg_loss": _NUMBER, "lr": _NUMBER,
             "images_per_s": _NUMBER, "eta_s": _NUMBER, "peak_vram_gib": _NUMBER},
    "epoch_end": {"epoch": _INT, "step": _INT, "avg_loss": _NUMBER},
    "checkpoint_saved": {"path": _TEXT, "kind": _TEXT, "step": _INT, "epoch": _INT},
    "sample_saved": {"step": _INT, "epoch": _INT},
    "finished": {"reason": _TEXT, "step": _INT, "epoch": _INT, "elapsed_s": _NUMBER, "output": _TEXT},
}
MUST_HAVE: dict[str, tuple[str, ...]] = {"step": ("step",), "epoch_end": ("epoch", "step"),
                                         "checkpoint_saved": ("path", "step"), "finished": ("step",)}
_SCHEDULE_INTS = ("total_steps", "epochs", "steps_per_epoch", "batch", "accumulation", "processes", "batches_per_epoch")


def _fits(value: Any, kind: str) -> bool:
    if value is None:
        return True
    if kind == _TEXT:
        return isinstance(value, str)
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if kind == _INT else isinstance(value, (int, float))


def event_problem(event: dict) -> str | None:
    """What makes a JSON object with a known ``event`` unusable (a required field missing, a field of
    the wrong type: ``"step": "abc"``), or None. Readers skip such a line as they skip a garbage one."""
    kind = event.get("event")
    if not _fits(event.get("time"), _NUMBER):
        return "time: not a number"
    for name in MUST_HAVE.get(kind, ()):
        if event.get(name) is None:
            return f"{kind} without {name}"
    for name, expected in FIELD_TYPES.get(kind, {}).items():
        if not _fits(event.get(name), expected):
            return f"{kind}: {name} is not a {expected}"
    if kind == "sample_saved":
        paths = event.get("paths")
        if not isinstance(paths, list) or not all(isinstance(path, str) for path in paths):
            return "sample_saved: paths is not a list of file names"
    elif kind == "run_started":
        for name in ("schedule", "model", "dataset"):
            if name in event and not isinstance(event[name], dict):
                return f"run_started: {name} is not an object"
        schedule = event.get("schedule") or {}
        if not all(_fits(schedule.get(name), _INT) for name in _SCHEDULE_INTS):
            return "run_started: a schedule count is not an integer"
    return None
