"""How fast past runs trained, read from their events files, to estimate how long a config will take.

A run appends to ``OUTPUT_DIR/NAME.events.jsonl`` (core/events.py): a ``run_started`` event with the
model family, the schedule (batch, accumulation, processes), the buckets and the dtype, then one
``step`` event per optimizer step whose ``images_per_s`` is the run's own average since its loop
started (saves and samples included: what a user waits for). One file can hold several runs (a
resume or a rerun appends); each ``run_started`` begins a new one.

A past run is *close* to a config when it trained the same family with the same batch size, number
of processes and mixed precision, at a resolution whose area is within 25% of the config's, and -
when the config file it names still loads - with the same gradient checkpointing, latent caching
and text-encoder training. Among close runs, those recorded on the same GPU (``gpu_name`` in
``run_started``) come first, then the newest. Runs that record no GPU name (the engine does not write
one yet) are used only when no run names this GPU, and the estimate says so.

Everything here reads files: call it from a thread worker. Parsed files are cached by (size, mtime).
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from loratui.core.config import TrainingConfig, config_model_family, latents_cached, load_config, resolve_path
from loratui.core.errors import LoratuiError
from loratui.core.events import read_events

MIN_STEP_EVENTS = 10        # fewer steps than this measure start-up, not speed
AREA_TOLERANCE = 0.25


@dataclass(frozen=True)
class PastRun:
    events_path: Path
    config_path: str | None
    gpu_name: str | None
    family: str | None
    batch: int
    accumulation: int
    processes: int
    dtype: str | None
    max_bucket_pixels: int | None
    images_per_s: float      # the last step event's running average
    measured_at: float       # Unix time of that step event
    step_events: int

    @property
    def images_per_step(self) -> int:
        return max(1, self.batch * self.accumulation * self.processes)


@dataclass(frozen=True)
class DurationEstimate:
    seconds: float
    it_per_s: float
    run: PastRun
    same_gpu: bool           # False: the run did not record its GPU

    def for_steps(self, total_steps: int) -> DurationEstimate:
        """The same speed over another step count."""
        return dataclasses.replace(self, seconds=total_steps / self.it_per_s)

    def text(self) -> str:
        day = time.strftime("%Y-%m-%d", time.localtime(self.run.measured_at))
        where = "" if self.same_gpu else " (that run did not record its GPU)"
        return f"about {format_duration(self.seconds)} at {self.it_per_s:.2f} it/s measured on {day}{where}"


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return "1 min" if seconds > 0 else "0 min"
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _family(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.lower()
    return "sd1" if value in ("sd1", "sd15", "sd2") else value  # SD 2.x runs at SD 1.5's speed class


def _max_bucket_pixels(buckets: object) -> int | None:
    areas = []
    for key in buckets if isinstance(buckets, dict) else ():
        w, _, h = str(key).partition("x")
        if w.isdigit() and h.isdigit():
            areas.append(int(w) * int(h))
    return max(areas) if areas else None


def _int(value: object, default: int = 1) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def runs_in_file(path: Path) -> list[PastRun]:
    """Every run in one events file that has enough step events to measure a speed."""
    runs: list[PastRun] = []
    started: dict | None = None
    last_step: dict | None = None
    count = 0

    def close() -> None:
        if started is None or last_step is None or count < MIN_STEP_EVENTS:
            return
        speed = last_step.get("images_per_s")
        if not isinstance(speed, (int, float)) or speed <= 0:
            return
        schedule = started.get("schedule") if isinstance(started.get("schedule"), dict) else {}
        model = started.get("model") if isinstance(started.get("model"), dict) else {}
        dataset = started.get("dataset") if isinstance(started.get("dataset"), dict) else {}
        gpu = started.get("gpu_name") or started.get("device_name")
        runs.append(PastRun(
            path, started.get("config") if isinstance(started.get("config"), str) else None,
            gpu if isinstance(gpu, str) and gpu else None, _family(model.get("family")),
            _int(schedule.get("batch")), _int(schedule.get("accumulation")), _int(schedule.get("processes")),
            started.get("dtype") if isinstance(started.get("dtype"), str) else None,
            _max_bucket_pixels(dataset.get("buckets")), float(speed),
            float(last_step.get("time") or 0.0), count))

    for event in read_events(path):
        kind = event.get("event")
        if kind == "run_started":
            close()
            started, last_step, count = event, None, 0
        elif kind == "step" and started is not None:
            last_step, count = event, count + 1
    close()
    return runs


_cache: dict[Path, tuple[tuple[int, int], list[PastRun]]] = {}
_cache_lock = threading.Lock()


def past_runs(folder: str | os.PathLike) -> list[PastRun]:
    """The measurable runs of every ``*.events.jsonl`` in ``folder`` (none when it does not exist)."""
    try:
        entries = [e for e in os.scandir(folder) if e.name.endswith(".events.jsonl") and e.is_file()]
    except OSError:
        return []
    runs: list[PastRun] = []
    for entry in entries:
        path = Path(entry.path)
        try:
            stat = entry.stat()
        except OSError:
            continue
        key = (stat.st_size, stat.st_mtime_ns)
        with _cache_lock:
            cached = _cache.get(path)
        if cached is None or cached[0] != key:
            cached = (key, runs_in_file(path))
            with _cache_lock:
                _cache[path] = cached
        runs.extend(cached[1])
    return runs


def _config_family(cfg: TrainingConfig) -> str:
    """model_family, or for auto the family read from the model's weights (the name only when they cannot
    be read): what the run will record in run_started."""
    try:
        return _family(config_model_family(cfg).family) or "sd1"
    except LoratuiError:
        return "sd1"


def _same_settings_in_file(run: PastRun, cfg: TrainingConfig) -> bool:
    """Settings the events do not record, compared when the run's config file still loads."""
    if not run.config_path:
        return True
    try:
        other = load_config(run.config_path)
    except (LoratuiError, OSError, ValueError):
        return True  # gone or changed beyond reading: judge by the events alone
    return (other.training.gradient_checkpointing == cfg.training.gradient_checkpointing
            and latents_cached(other.dataset) == latents_cached(cfg.dataset)
            and other.network.network_train_unet_only == cfg.network.network_train_unet_only)


def is_close(run: PastRun, cfg: TrainingConfig, num_processes: int = 1) -> bool:
    t = cfg.training
    if run.family != _config_family(cfg) or run.batch != t.train_batch_size or run.processes != num_processes:
        return False
    if run.dtype is not None and run.dtype != t.mixed_precision:
        return False
    if run.max_bucket_pixels is not None:
        w, h = cfg.dataset.resolution
        if abs(run.max_bucket_pixels - w * h) > AREA_TOLERANCE * w * h:
            return False
    return _same_settings_in_file(run, cfg)


def speed_key(cfg: TrainingConfig, num_processes: int = 1) -> tuple:
    """Everything the choice of a past run depends on (not the step count): equal keys, same speed."""
    t, d = cfg.training, cfg.dataset
    return (cfg.saving.output_dir, cfg.config_dir, cfg.model.model_family, cfg.model.pretrained_model_name_or_path,
            t.train_batch_size, t.gradient_accumulation_steps, num_processes, t.mixed_precision, tuple(d.resolution),
            t.gradient_checkpointing, latents_cached(d), cfg.network.network_train_unet_only)


def estimate_duration(cfg: TrainingConfig, total_steps: int, gpu_name: str | None, *,
                      num_processes: int = 1, folders: list[str | os.PathLike] | None = None
                      ) -> DurationEstimate | None:
    """How long ``total_steps`` take at the speed of the closest past run, or None without one.

    ``folders`` defaults to the config's output_dir (relative to the config's folder).
    """
    if folders is None:
        out = cfg.saving.output_dir
        folders = [resolve_path(cfg, out, key="output_dir")] if out else []
    candidates = [r for folder in folders for r in past_runs(folder) if is_close(r, cfg, num_processes)]
    named = [r for r in candidates if gpu_name and r.gpu_name == gpu_name]
    unnamed = [r for r in candidates if r.gpu_name is None]
    pool, same_gpu = (named, True) if named else (unnamed, False)
    if not pool or total_steps <= 0:
        return None
    run = max(pool, key=lambda r: r.measured_at)
    t = cfg.training  # the past run's images/s, in this config's optimizer steps
    images_per_step = max(1, t.train_batch_size * t.gradient_accumulation_steps * num_processes)
    it_per_s = run.images_per_s / images_per_step
    return DurationEstimate(total_steps / it_per_s, it_per_s, run, same_gpu)
