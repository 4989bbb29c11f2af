"""The plan and the checks of a ``--resume`` whose state has an origin (engine/resume_refit.py): an
epoch-end state resumed now after the batches of an epoch changed, or a later state of such a run. Split
from resume_check.py (whose helpers it uses); check_resume calls it."""

from __future__ import annotations

import math
from pathlib import Path

from loratui.core.errors import LoratuiError
from loratui.engine.resume_check import (BATCH_FIELDS, _batch_problem, _flatten, _shown, changed_fields,
                                         folder_changes)
from loratui.engine.resume_refit import origin_position_problem, refit_line, refit_origin, shifted_plan


def refit_at_epoch_end(cfg, scan, world: int, info: dict) -> tuple[int, int] | None:
    """(E, step) when the state is at the end of epoch E and an epoch here has other batches; None when the
    schedule cannot be computed (the checks after say why)."""
    from loratui.core.plan import compute_schedule

    try:
        batches = compute_schedule(cfg, scan, world).batches_per_epoch
    except LoratuiError:
        return None
    return refit_origin(info, world, batches)


def origin_plan(cfg, schedule, info: dict, origin: tuple[int, int], refit, *, state: str, plain: bool,
                 saved: dict | None, current: dict, saved_base: str | None,
                 current_base: str | None) -> tuple[str | None, str | None]:
    """(problem, note) for a state whose plan has an origin: ``refit`` (resumed now at the next epoch, the
    batches having changed) or a later state of such a run. Puts the plan in ``info`` ("resumed_origin":
    the run fits its schedule to it; "refit": the line it says and what it restores)."""
    from loratui.engine.resume_plan import _saved_limits, with_training

    note = None
    step, spe = info.get("step"), schedule.steps_per_epoch
    if not refit:  # a later state: its batch count is checked as any other state's
        lora = str(Path(state) / "lora.safetensors")
        problem = _batch_problem(cfg, None, schedule.num_processes, schedule, info, state, lora, saved_base,
                                 current_base, current) if isinstance((info.get("data") or {}).get(
                                     "batches_per_epoch"), int) else None
        if problem:
            return problem, None
        problem = origin_position_problem(
            info, origin, steps_per_epoch=spe, batches_per_process=schedule.batches_per_process,
            accumulation=cfg.training.gradient_accumulation_steps,
            saved_accumulation=_flatten(saved or {}).get("training.gradient_accumulation_steps"), state=state,
            where=Path(state) / "state.json")
        if problem:
            return problem, None
    total, epochs = shifted_plan(cfg.training, spe, origin)
    limits = _saved_limits(info)
    if plain and total <= step and limits is not None:  # an extension stopped part way: its plan (resume_plan.py)
        theirs = with_training(cfg, max_train_epochs=limits[0], max_train_steps=limits[1])
        their_total, their_epochs = shifted_plan(theirs.training, spe, origin)
        if their_total > step:
            cfg.training.max_train_epochs, cfg.training.max_train_steps = limits
            note = (f"this config plans {total:,} steps, which the state (step {step:,}) has reached; the run "
                    f"that saved it planned {their_total:,} ({their_epochs} epochs), so this resume goes on to "
                    f"step {their_total:,} (--max-train-epochs N sets another end)")
            total, epochs = their_total, their_epochs
    if step > total:
        return (f"--resume {state}: the state is at step {step:,}, past the {total:,} steps this config plans "
                f"({origin[1]:,} by the end of epoch {origin[0]}, then {spe} an epoch): nothing to continue "
                "(--extend-epochs N trains N more epochs)"), None
    if step == total:
        return (f"--resume {state}: nothing to train: the state is at step {step:,} of {total:,} (the end of epoch "
                f"{epochs}); --extend-epochs N trains N more epochs"), None
    info["resumed_origin"] = {"epoch": origin[0], "step": origin[1]}
    if refit:
        info["refit"] = {"epochs_done": origin[0], "line": refit_line(
            origin, _refit_reasons(saved, current, info, schedule, saved_base, current_base), steps_per_epoch=spe,
            before=_steps_before(info, saved, cfg), total=total, epochs=epochs),
            "steps_per_epoch_before": _steps_before(info, saved, cfg)}
    return None, note


def _refit_reasons(saved, current, info: dict, schedule, saved_base, current_base) -> list[str]:
    """What changed the batches: the folders (images, repeats) and the batch fields, old -> new."""
    data = info.get("data") if isinstance(info.get("data"), dict) else {}
    reasons = []
    folders = folder_changes(data.get("folders"), getattr(schedule, "folders", ()))
    if folders:
        reasons.append(folders)
    reasons += [f"{k} {_shown(a)} -> {_shown(b)}" for k, a, b in changed_fields(
        saved, current, saved_base=saved_base, current_base=current_base)
        if k in BATCH_FIELDS or k.startswith(tuple(f for f in BATCH_FIELDS if f.endswith(".")))]
    old = data.get("batches_per_epoch")
    reasons.append(f"{old} -> {schedule.batches_per_epoch} batches an epoch")
    return reasons


def _steps_before(info: dict, saved: dict | None, cfg) -> int | None:
    """The steps an epoch had when the state was saved: its batches (per process) over its accumulation."""
    data = info.get("data") if isinstance(info.get("data"), dict) else {}
    batches, world = data.get("batches_per_epoch"), data.get("num_processes", 1)
    accumulation = _flatten(saved or {}).get("training.gradient_accumulation_steps")
    accumulation = accumulation if isinstance(accumulation, int) and accumulation >= 1 else \
        cfg.training.gradient_accumulation_steps
    if not isinstance(batches, int) or not isinstance(world, int) or world < 1:
        return None
    return math.ceil(-(-batches // world) / accumulation)
