"""How far a ``--resume`` trains: the plan of the state's own run against this config's. Pure Python (no
torch): engine/resume_check.py uses it before anything loads.

A run continued with --extend-epochs (or run with --max-steps / --max-train-epochs) plans past what its
config file says, and its state keeps that plan (state.json's config). A plain ``--resume`` of such a
state, stopped or crashed part way, goes on to that plan's end when the config's own plan would leave it
nothing to train; a config that still plans steps past the state wins (an edited max_train_epochs takes
effect from there, as FREE_ON_RESUME says).
"""

from __future__ import annotations

import copy
import dataclasses

from loratui.core.errors import LoratuiError


def with_training(cfg, **changes):
    """A shallow copy of ``cfg`` with its [training] fields changed."""
    out = copy.copy(cfg)
    out.training = dataclasses.replace(cfg.training, **changes)
    return out


def _saved_limits(info: dict) -> tuple[int | None, int | None] | None:
    """(max_train_epochs, max_train_steps) the state's run trained with, or None when it kept no config."""
    saved = info.get("config")
    training = saved.get("training") if isinstance(saved, dict) else None
    if not isinstance(training, dict):
        return None
    epochs, steps = training.get("max_train_epochs"), training.get("max_train_steps")
    if not any(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (epochs, steps)):
        return None
    return epochs, steps


def state_run_epochs(cfg, scan, world: int, info: dict) -> int:
    """The epochs the state's own run planned (its config's max_train_epochs / max_train_steps, as that
    run had them after --max-steps / --max-train-epochs / --extend-epochs); this config's when the state
    kept none."""
    from loratui.core.plan import compute_schedule

    limits = _saved_limits(info)
    if limits is not None:
        try:
            return compute_schedule(with_training(cfg, max_train_epochs=limits[0], max_train_steps=limits[1]),
                                    scan, world).epochs
        except (LoratuiError, TypeError, ValueError):
            pass
    return compute_schedule(cfg, scan, world).epochs


def _both_plans(cfg, scan, world: int, info: dict):
    """(state step, the state's run's limits, this config's schedule, that run's schedule), or None when
    the state does not say its run's limits or a schedule cannot be computed."""
    from loratui.core.plan import compute_schedule

    step, limits = info.get("step"), _saved_limits(info)
    if limits is None or not isinstance(step, int) or isinstance(step, bool):
        return None
    try:
        ours = compute_schedule(cfg, scan, world)
        theirs = compute_schedule(with_training(cfg, max_train_epochs=limits[0], max_train_steps=limits[1]),
                                  scan, world)
    except (LoratuiError, TypeError, ValueError):
        return None
    return step, limits, ours, theirs


def continue_state_plan(cfg, scan, world: int, info: dict) -> str | None:
    """A plain resume whose config plans no step past the state's, when the state's own run planned more
    (it was extended, or given --max-steps / --max-train-epochs): ``cfg``'s limits become that run's,
    and a note says so. None (``cfg`` untouched) otherwise: the config's plan stands, and the position
    check says what is wrong with it."""
    plans = _both_plans(cfg, scan, world, info)
    if plans is None:
        return None
    step, limits, ours, theirs = plans
    if step < ours.total_steps or theirs.total_steps <= step:
        return None
    cfg.training.max_train_epochs, cfg.training.max_train_steps = limits
    field = (f"max_train_epochs = {limits[0]}" if limits[0] is not None else f"max_train_steps = {limits[1]}")
    return (f"this config plans {ours.total_steps:,} steps, which the state (step {step:,}) has reached; the run "
            f"that saved it planned {theirs.total_steps:,} ({field}: extended with --extend-epochs, or given "
            f"--max-steps / --max-train-epochs), so this resume goes on to step {theirs.total_steps:,} "
            f"(--max-train-epochs N sets another end)")


def finished_plan_problem(cfg, scan, world: int, info: dict, state: str) -> str | None:
    """A plain resume of a state at the end its own run planned, past this config's plan (an extension
    that completed): nothing to train, said as that rather than "past the steps this config plans"."""
    plans = _both_plans(cfg, scan, world, info)
    if plans is None:
        return None
    step, _limits, ours, theirs = plans
    if not ours.total_steps < step == theirs.total_steps:
        return None
    return (f"--resume {state}: nothing to train: the state is at step {step:,}, the end its run planned "
            f"({theirs.epochs} epoch(s), past the {ours.total_steps:,} steps this config plans): --extend-epochs N "
            "trains N more epochs")
