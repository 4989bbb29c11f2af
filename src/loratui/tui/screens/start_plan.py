"""The Start dialog's plan for its number of processes: total steps, epochs and the estimated duration
as `loratui steps --num-processes N` and the Settings calculator count them (sd-scripts' arithmetic:
each process sees ceil(batches / N) of an epoch's batches), so a 2-GPU start does not leave a
1-process count standing. ``plan_lines`` reads the dataset (the calculator's scan
cache first) and past runs' speeds: call it in a thread worker."""

from __future__ import annotations

from pathlib import Path


def plan_lines(config: str | Path, processes: int) -> list[str]:
    """What a fresh run of ``config`` on ``processes`` processes trains, in two or three short lines."""
    from loratui.core.config import load_config
    from loratui.core.errors import LoratuiError
    from loratui.core.plan import compute_schedule
    from loratui.tui.services.gpu import GPU_STATE
    from loratui.tui.services.run_speed import estimate_duration
    from loratui.tui.services.scan_cache import SCAN_CACHE, folder_key, scan_or_error

    cfg = load_config(config)
    key = folder_key(cfg)
    scan = SCAN_CACHE.get(key)
    if scan is None:
        scan = scan_or_error(cfg)
        SCAN_CACHE.put(key, scan)
    if isinstance(scan, LoratuiError):
        return [f"steps: {scan}"]
    try:
        s = compute_schedule(cfg, scan, processes)
    except LoratuiError as exc:
        return [f"steps: {exc}"]
    who = f"{processes} process{'es' if processes > 1 else ''}"
    split = f"ceil({s.batches_per_epoch} batches / {processes}" + (
        f" / {s.gradient_accumulation_steps} accumulation)" if s.gradient_accumulation_steps > 1 else ")")
    lines = [f"{who}: {s.total_steps:,} steps in {s.epochs} epoch(s), {s.steps_per_epoch:,} per epoch = {split}"]
    if processes > 1:
        one = compute_schedule(cfg, scan, 1)
        if (one.total_steps, one.epochs) != (s.total_steps, s.epochs):
            lines.append(f"(on 1 process: {one.total_steps:,} steps in {one.epochs} epoch(s))")
    GPU_STATE.detect()
    gpu = GPU_STATE.gpu
    estimate = estimate_duration(cfg, s.total_steps or 0, gpu.name if gpu else None, num_processes=processes)
    lines.append(f"duration: {estimate.text()}" if estimate else
                 f"duration: no measured speed yet for {who} with these settings")
    return lines
