"""Folders with very many repeats: counted and said, and a run too long to be meant, refused.

sd-scripts has no upper limit on a folder's repeats: `20000_x` trains 20,000 repeats of each image an
epoch, so `loratui steps`, `config check` and `train` count such a folder too, and say so in one line
that names the folder, its repeats and the run's total steps (a typo such as `1000_x` for `10_x` then
shows in the numbers). Only a run whose step count no one could mean is refused: more than
:data:`MAX_TOTAL_STEPS` steps in all, or in one epoch (the epoch's batches are built whole, even when
max_train_steps stops the run early). That bound is training.max_train_steps' own limit: a run of
10 million steps takes weeks on the fastest card, where LoRA runs take 1,000 to 10,000.
"""

from __future__ import annotations

from loratui.core.dataset import MAX_REPEATS, MAX_TRAINABLE_REPEATS, parse_subset_name

MAX_TOTAL_STEPS = 10_000_000  # = the schema's max_train_steps limit (a test keeps them equal)
# One list entry per sample per epoch (sd-scripts and core/plan/samples.py both build it): a billion is
# 8 GB of list before the first step, as in core.dataset's MAX_TRAINABLE_REPEATS for one folder.
MAX_EPOCH_SAMPLES = MAX_TRAINABLE_REPEATS


def _rename_hint(name: str) -> str:
    parsed = parse_subset_name(name)
    tokens = parsed[1] if parsed else name
    return f"rename it with its real repeat count, e.g. '10_{tokens}'"


def many_repeats_lines(schedule) -> list[str]:
    """One line per counted folder with more than MAX_REPEATS repeats: its name, repeats and the
    run's total steps (``schedule`` has its epochs: compute_schedule or Schedule.with_epochs)."""
    lines = []
    for f in schedule.folders:
        if f.repeats <= MAX_REPEATS:
            continue
        kind = "reg" if f.is_reg else "train"
        lines.append(f"{kind} folder '{f.name}' has {f.repeats:,} repeats ({f.images:,} image(s), {f.samples:,} "
                     f"samples an epoch): the run is {schedule.total_steps:,} steps; far more repeats than usual "
                     f"(over {MAX_REPEATS:,}), counted and trained as written, as sd-scripts does; if that is a typo, "
                     f"{_rename_hint(f.name)}")
    return lines


def too_long_problem(schedule) -> str | None:
    """Why a run this long is refused (over MAX_TOTAL_STEPS steps in all or in one epoch, or over
    MAX_EPOCH_SAMPLES samples an epoch), saying how to lower it; None when it is not absurd."""
    spe, total, epochs = schedule.steps_per_epoch, schedule.total_steps or 0, schedule.epochs or 1
    samples = schedule.total_samples_per_epoch
    if samples > MAX_EPOCH_SAMPLES:
        what = (f"one epoch holds {samples:,} samples (over {MAX_EPOCH_SAMPLES:,}: their list alone would fill "
                "about 8 GB of memory before the first step)")
        lower = "lower the repeats"
    elif spe > MAX_TOTAL_STEPS:
        what = f"one epoch is {spe:,} steps (over {MAX_TOTAL_STEPS:,}, the most a run may have)"
        lower = "lower the repeats"
    elif total > MAX_TOTAL_STEPS:
        what = (f"the run is {total:,} steps ({epochs:,} epoch(s) x {spe:,}), over {MAX_TOTAL_STEPS:,}, the most a "
                "run may have (max_train_steps' own limit)")
        lower = "lower training.max_train_epochs or the repeats"
    else:
        return None
    biggest = max((f for f in schedule.folders if f.samples), key=lambda f: f.samples, default=None)
    if biggest is None:
        return f"{what}: {lower}"
    kind = "reg" if biggest.is_reg else "train"
    where = (f"{kind} folder '{biggest.name}' has {biggest.repeats:,} repeats x {biggest.images:,} image(s)"
             + (f": {_rename_hint(biggest.name)}" if biggest.repeats > MAX_REPEATS else ""))
    return f"{what}, surely a typo: {lower} ({where})"
