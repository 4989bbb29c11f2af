"""The run's schedule line ("training N steps (...) on DEVICE"), worded so it cannot be misread.

With only max_train_steps set, sd-scripts stops at that step, inside an epoch (core/plan/schedule.py):
"1 epoch(s) x 60" then read as 60 steps on a 12-step run, so the steps-bound case says which key
bounds it and what an epoch holds.
"""

from __future__ import annotations


def schedule_line(total_steps: int, epochs: int, steps_per_epoch: int, device: object, *,
                  limit: str = "max_train_steps") -> str:
    """``training 26 steps (2 epoch(s) x 13) on cpu`` when whole epochs are trained; when max_train_steps
    stops the run inside an epoch, ``training 12 steps (max_train_steps; an epoch is 60 steps) on cpu``,
    or, past the first epoch, ``... (max_train_steps; an epoch is 60 steps: 2 epoch(s), the last cut at
    40) on cpu``. ``limit`` names what set the step limit: "--max-steps" when `train --max-steps` did."""
    if not steps_per_epoch or total_steps == epochs * steps_per_epoch:
        return f"training {total_steps} steps ({epochs} epoch(s) x {steps_per_epoch}) on {device}"
    why = f"{limit}; an epoch is {steps_per_epoch} steps"
    full, rest = divmod(total_steps, steps_per_epoch)
    if full and rest:  # whole epochs, then part of the next
        why += f": {full + 1} epoch(s), the last cut at {rest}"
    return f"training {total_steps} steps ({why}) on {device}"
