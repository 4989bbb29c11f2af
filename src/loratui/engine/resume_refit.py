"""A state saved at an epoch's end, resumed after the batches of an epoch changed (images added or removed,
repeats or train_batch_size changed). Pure Python (no torch): engine/resume_check.py uses it before
anything loads.

Its place is "E epochs done", which needs no batch of the old epoch, so it resumes at epoch E + 1 with the
new steps per epoch, as sd-scripts resumes such a state. A state inside an epoch is still refused
(resume_check.py ``_batch_problem``): its place is a batch number of an epoch that no longer exists.

The step count goes on from the state's: the run's plan is then "S0 steps by the end of epoch E0, then the
new steps per epoch" (the *origin* (E0, S0)), so max_train_epochs = N plans S0 + (N - E0) x steps per epoch
and max_train_steps = T still ends at step T. Every later state of that run keeps the origin (state.json's
"data" "origin": run_saves.py), and a later resume plans and checks its place from it.
"""

from __future__ import annotations

import math


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def recorded_origin(info: dict) -> tuple[int, int] | None:
    """(E0, S0) a state of a run resumed at an epoch's end after its dataset changed keeps, else None."""
    data = info.get("data") if isinstance(info.get("data"), dict) else {}
    origin = data.get("origin")
    if isinstance(origin, dict) and _int(origin.get("epoch")) and _int(origin.get("step")) \
            and origin["epoch"] >= 0 and origin["step"] >= 0:
        return origin["epoch"], origin["step"]
    return None


def epochs_done_at_boundary(info: dict, world: int) -> int | None:
    """E when the state is at the end of epoch E (an epoch save, a step save at its last step: all its
    batches done; a stop there: the next epoch, none done), saved by as many processes with its batch
    count kept (state.json "data"); None otherwise."""
    data = info.get("data") if isinstance(info.get("data"), dict) else {}
    batches, saved_world = data.get("batches_per_epoch"), data.get("num_processes", world)
    step, epoch, done = info.get("step"), info.get("epoch"), info.get("batches_done")
    if not all(_int(v) for v in (batches, saved_world, step, epoch, done)) or saved_world != world or step < 1:
        return None
    if epoch >= 1 and batches >= 1 and done == -(-batches // saved_world):
        return epoch
    if epoch >= 2 and done == 0:
        return epoch - 1
    return None


def refit_origin(info: dict, world: int, batches_per_epoch: int) -> tuple[int, int] | None:
    """(E, the state's step) when the state is at the end of epoch E and an epoch here has another
    number of batches than it had; None otherwise (the same batches, or a place inside an epoch)."""
    data = info.get("data") if isinstance(info.get("data"), dict) else {}
    if data.get("batches_per_epoch") == batches_per_epoch:
        return None
    done = epochs_done_at_boundary(info, world)
    return (done, info["step"]) if done is not None else None


def shifted_plan(training, steps_per_epoch: int, origin: tuple[int, int]) -> tuple[int, int]:
    """(total steps, epochs) of a run whose first E0 epochs took S0 steps and whose later ones take
    ``steps_per_epoch``: max_train_epochs N (it wins over max_train_steps, as in core/plan) ends at the end
    of epoch N; max_train_steps T at step T, inside the epoch it falls in."""
    epochs_before, steps_before = origin
    spe = max(1, steps_per_epoch)
    if training.max_train_epochs is not None:
        epochs = int(training.max_train_epochs)
        return steps_before + max(0, epochs - epochs_before) * spe, epochs
    total = int(training.max_train_steps)
    return total, epochs_before + max(0, math.ceil((total - steps_before) / spe))


def origin_position_problem(info: dict, origin: tuple[int, int], *, steps_per_epoch: int, batches_per_process: int,
                            accumulation: int, saved_accumulation, state: str, where) -> str | None:
    """A later state of a resumed-after-a-change run whose (step, epoch, batches_done) does not fit the
    plan from its origin: one line, as resume_check.py's position_problem says it for the others."""
    step, epoch, done = info.get("step"), info.get("epoch"), info.get("batches_done")
    if not all(_int(v) for v in (step, epoch, done)):
        return None
    epochs_before, steps_before = origin
    if epoch <= epochs_before or not 0 <= done <= batches_per_process:
        return (f"--resume {state}: {where} says {done} batch(es) done in epoch {epoch}, and an epoch here has "
                f"{batches_per_process} (per process) from epoch {epochs_before + 1} on: the file is damaged or "
                "from another dataset; resume from another state, or start a new run")
    if saved_accumulation not in (None, accumulation):
        return None
    expected = steps_before + (epoch - 1 - epochs_before) * steps_per_epoch + math.ceil(done / accumulation)
    if step != expected:
        return (f"--resume {state}: {where} says step {step:,} in epoch {epoch} after {done} batch(es), but with "
                f"{steps_before:,} steps by the end of epoch {epochs_before} and {steps_per_epoch} an epoch since, "
                f"that place is step {expected:,}: the file is damaged or from another dataset; resume from another "
                "state, or start a new run")
    return None


def refit_line(origin: tuple[int, int], reasons: list[str], *, steps_per_epoch: int, before: int | None,
               total: int, epochs: int) -> str:
    """The one line a resume says when it goes on at the next epoch with another step count an epoch."""
    epochs_before, steps_before = origin
    was = f" ({before} before)" if before and before != steps_per_epoch else ""
    why = f" ({'; '.join(reasons)})" if reasons else ""
    return (f"resume: the dataset changed since this state was saved at the end of epoch {epochs_before}{why}: an "
            f"epoch is {steps_per_epoch} step(s) now{was}, so the run goes on at epoch {epochs_before + 1} from "
            f"step {steps_before:,}: {total:,} steps in all, to the end of epoch {epochs}")


def shifted_schedule_line(total: int, epochs: int, steps_per_epoch: int, origin: tuple[int, int], device) -> str:
    """The run's schedule line when its plan has an origin: ``training 13 steps (8 in epochs 1-2, then 1
    epoch(s) x 5) on cpu``; a step limit inside an epoch says where it cuts."""
    epochs_before, steps_before = origin
    full, rest = divmod(max(0, total - steps_before), max(1, steps_per_epoch))
    then = (f"{full} epoch(s) x {steps_per_epoch}" if not rest else
            f"{steps_per_epoch} an epoch, epoch {epochs} cut at {rest}")
    first = "epoch 1" if epochs_before == 1 else f"epochs 1-{epochs_before}"
    return f"training {total} steps ({steps_before} in {first}, then {then}) on {device}"
