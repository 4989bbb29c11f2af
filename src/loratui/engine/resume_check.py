"""What a `--resume` can be told before anything loads. Pure Python (no torch): `loratui train`'s
preflight imports it before the ML stack, and the run checks it all again.

- which state folder is used (a kill during a save leaves FOLDER.tmp / FOLDER.old: core/run_states.py), and
  a missing one said with the way out (a run with save_state = false left none: network_weights = its LoRA);
- a path that is no state folder at all (`.`, the output folder, a file): what one is, and the ones there;
- the config fields changed since the save, paths compared inside the project (a copied or moved
  project is the same project): the ones the state cannot follow refuse (a learning rate to or from 0
  too: it changes which parts train), the others are named;
- the state's place against this run's schedule: a batch count that changed (train_batch_size, the
  images) or the processes sharing them out (but a state at an epoch's end goes on at the next epoch
  with the new steps per epoch: engine/resume_refit.py), a place no run reaches (batches_done past the epoch, a
  step that does not fit its epoch), a step past the plan and a state with nothing left to train all
  refuse, before anything is written;
- `--extend-epochs N`: N epochs more than the state's own run planned (the state keeps its config);
  a plain resume goes on to that run's plan where this config's leaves it nothing (engine/resume_plan.py).
"""

from __future__ import annotations

import json
import math
import os
import shlex
from pathlib import Path

from loratui.core.errors import LoratuiError
from loratui.core.run_states import FORMAT, complete_state, find_resume_state  # noqa: F401 - the app's rule too
from loratui.engine.resume_plan import continue_state_plan, finished_plan_problem, state_run_epochs  # noqa: F401
from loratui.engine.resume_plan import with_training as _with_training
from loratui.engine.resume_refit import recorded_origin
from loratui.engine.resume_paths import (  # noqa: F401 - split out; these names stay importable from here
    half_written_message, missing_state_message, read_state_info, resume_path_problem, state_saved_at, states_listed,
)

# What a state holds that a changed config cannot follow: the LoRA's shape and kind, the optimizer's
# state layout, the model it was trained on. Changing any of these and resuming fails at start-up.
FIXED_ON_RESUME = (
    "model.pretrained_model_name_or_path", "model.model_family", "model.v_parameterization",
    "network.network_module", "network.network_args", "network.network_dim", "network.network_alpha",
    "network.conv_dim", "network.conv_alpha", "network.network_train_unet_only",
    "network.network_train_text_encoder_only", "optimizer.optimizer_type", "optimizer.optimizer_args",
)
# What may change between a stop and a resume without a word beyond a note.
FREE_ON_RESUME = ("training.max_train_epochs", "training.max_train_steps", "saving.", "sampling.")
# Learning rates: the restored optimizer and schedule would keep the saved ones; the run applies the new ones.
LEARNING_RATES = ("optimizer.learning_rate", "optimizer.unet_lr", "optimizer.text_encoder_lr")
# What decides the batches of an epoch (with the images themselves): a state's place is a batch number.
BATCH_FIELDS = ("training.train_batch_size", "dataset.")




# ---- what changed ----------------------------------------------------------------------------------

def _flatten(data: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in (data or {}).items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _shown(value) -> str:
    return "unset" if value is None else json.dumps(value, default=str)


def _path_keys() -> set[str]:
    from loratui.core.config import PATH_KEYS

    return {f"{section}.{key}" for section, key in PATH_KEYS}


def _inside(value, base: str | None):
    """A path value as seen from the project folder ``base`` ("./img"), or the value itself."""
    if not base or not isinstance(value, str) or not os.path.isabs(value):
        return value
    try:
        rel = Path(value).relative_to(base)
    except ValueError:
        return value
    return f"./{rel.as_posix()}"


def saved_project_dir(saved: dict | None, current: dict, current_base: str | None,
                      recorded: str | None = None) -> str | None:
    """The project folder the state was saved in: recorded in state.json, or (an older state) found by
    taking the current output_dir's place in the project off the saved output_dir's end."""
    if recorded:
        return recorded
    old_out = _flatten(saved or {}).get("saving.output_dir")
    new_out = _flatten(current).get("saving.output_dir")
    if not (current_base and isinstance(old_out, str) and isinstance(new_out, str)):
        return None
    try:
        rel = Path(new_out).relative_to(current_base)
    except ValueError:
        return None
    old = Path(old_out)
    if rel.parts and old.parts[-len(rel.parts):] != rel.parts:
        return None
    return str(Path(*old.parts[:len(old.parts) - len(rel.parts)])) if rel.parts else str(old)


def _network_args_split(flat: dict) -> dict:
    """network_args compared by the network they build (order, spacing, quotes, spelled-out defaults aside),
    its dropouts (which, like network_dropout, only change how a step trains) as fields of their own."""
    from loratui.core.config import network_identity

    items = flat.get("network.network_args")
    if not isinstance(items, list):
        return flat
    shape, dropouts = network_identity([str(item) for item in items])
    out = {**flat, "network.network_args": [f"{k}={v}" for k, v in shape.items()]}
    out.update({f"network.network_args {k}": v for k, v in dropouts.items()})
    return out


def changed_fields(saved: dict | None, current: dict, *, saved_base: str | None = None,
                   current_base: str | None = None) -> list[tuple[str, object, object]]:
    """(field, saved value, current value) of every field that differs, sorted; a path inside the project
    counts from the project folder (``saved_base`` / ``current_base``), so a moved project changes none."""
    if saved is None:
        return []
    old, new = _flatten(saved), _flatten(current)
    norm_old, norm_new = _network_args_split(old), _network_args_split(new)  # values shown are the raw ones
    paths = _path_keys()

    def same(key: str) -> bool:
        a, b = norm_old.get(key), norm_new.get(key)
        if key == "model.pretrained_model_name_or_path" and a and b:
            return Path(str(a)).name == Path(str(b)).name  # a moved project keeps its model's name
        if key in paths:
            a, b = _inside(a, saved_base), _inside(b, current_base)
        return json.dumps(a, default=str) == json.dumps(b, default=str)

    return [(k, old.get(k, norm_old.get(k)), new.get(k, norm_new.get(k)))
            for k in sorted(set(norm_old) | set(norm_new)) if not same(k)]


def _is_free(key: str) -> bool:
    return key in FREE_ON_RESUME or key.startswith(tuple(k for k in FREE_ON_RESUME if k.endswith(".")))


def resume_conflicts(saved: dict | None, current: dict, *, state: str, lora: str, saved_base: str | None = None,
                     current_base: str | None = None,
                     said_otherwise: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """(errors, notes) for resuming a state saved with config ``saved`` under config ``current`` (both
    as config_to_dict gives them). An error names the field, its saved and current values and the two
    ways out; a note names the fields that may change (epochs, steps, saving, sampling). A state saved
    before configs were kept in it (``saved`` None) gives neither: load_state then reports a mismatch.
    ``said_otherwise``: fields the run reports itself (the epochs of --extend-epochs), left out of the note."""
    changed = changed_fields(saved, current, saved_base=saved_base, current_base=current_base)

    def way_out(key: str) -> str:
        if key.startswith("network.") and key not in ("network.network_train_unet_only",
                                                      "network.network_train_text_encoder_only"):
            return "start a new run without --resume (the trained LoRA has the old shape, so from scratch)"
        return f"start a new run without --resume (network_weights = \"{lora}\" starts it from the trained LoRA)"

    errors = [f"--resume {state}: {key} was {old!r} when the state was saved and is {new!r} now, "
              f"which the saved state cannot follow: set it back to {old!r}, or {way_out(key)}"
              for key, old, new in changed if key in FIXED_ON_RESUME]
    shown = ", ".join(f"{k} {_shown(old)} -> {_shown(new)}" for k, old, new in changed
                      if _is_free(k) and k not in said_otherwise)
    notes = [f"resuming with other values than the state was saved with (a --max-steps or --max-train-epochs "
             f"run counts): {shown}; allowed: they take effect from here"] if shown else []
    return errors, notes


def _trained_parts(flat: dict) -> dict[str, tuple[str, bool]]:
    """{part: (its learning-rate field, whether it trains)}: a learning rate of 0 freezes a part (no
    optimizer parameter group); unet_lr / text_encoder_lr unset take learning_rate."""
    parts = {}
    for part, key, off in (("U-Net", "optimizer.unet_lr", "network.network_train_text_encoder_only"),
                           ("text encoder", "optimizer.text_encoder_lr", "network.network_train_unet_only")):
        lr = flat.get(key)
        lr = flat.get("optimizer.learning_rate") if lr is None else lr
        if not flat.get(off) and isinstance(lr, (int, float)) and not isinstance(lr, bool):
            parts[part] = (key, lr != 0)
    return parts


def trained_parts_problem(saved: dict | None, current: dict, *, state: str, lora: str) -> str | None:
    """A learning rate set to or from 0 since the save changes which parts train, so the saved optimizer
    state (one parameter group a part) does not fit: said here, before a model loads (load_state
    would refuse it only then). Names the field, old -> new, and the two ways out."""
    if saved is None:
        return None
    old, new = _flatten(saved), _flatten(current)
    before, now = _trained_parts(old), _trained_parts(new)
    for part in (p for p in before if p in now and before[p][1] != now[p][1]):
        key = before[part][0]
        field = key if old.get(key) != new.get(key) else "optimizer.learning_rate"
        was, then = old.get(field), new.get(field)
        change = (f"trains the {part} LoRA, which was frozen" if now[part][1] else
                  f"freezes the {part} LoRA, which trained")
        back = f"set {field} back to {_shown(was)}" if was is not None else f"remove {field} again (it was unset)"
        return (f"--resume {state}: {field} {_shown(was)} -> {_shown(then)} since the state was saved {change} "
                f"then, so the saved optimizer state does not fit this run's: {back}, or start a new run without "
                f"--resume (network_weights = \"{lora}\" starts it from the trained LoRA)")
    return None


def other_changes(saved: dict | None, current: dict, *, saved_base: str | None = None,
                  current_base: str | None = None) -> str | None:
    """One line naming every changed field that is neither refused nor free (the learning rate, the
    seed, augmentation, ...), old -> new, and what the run does with them; None when there is none."""
    changed = [(k, a, b) for k, a, b in changed_fields(saved, current, saved_base=saved_base,
                                                       current_base=current_base)
               if k not in FIXED_ON_RESUME and not _is_free(k)]
    if not changed:
        return None
    shown = ", ".join(f"{k} {_shown(a)} -> {_shown(b)}" for k, a, b in changed)
    lr = " (a new learning rate too: the restored schedule goes on from the new base value)" \
        if any(k in LEARNING_RATES for k, _, _ in changed) else ""
    return (f"the config changed since this state was saved: {shown}; they take effect from here{lr}, so the "
            "resumed run will not match an uninterrupted one")


# ---- the state's place against this run's schedule -------------------------------------------------

def _batch_problem(cfg, scan, world: int, schedule, info: dict, state: str, lora: str,
                   saved_base: str | None, current_base: str | None, current: dict) -> str | None:
    """A state's place is (epoch, batch of its process's shard): with another number of batches an
    epoch, or another number of processes sharding them, it points at other images. The saved count
    (state.json's "data", or worked out from the saved train_batch_size) against this run's, said per
    process, the fields that made the difference named; only the process count differing: said so,
    with the launch that has as many."""
    from loratui.core.plan import compute_schedule

    saved = info.get("config") if isinstance(info.get("config"), dict) else None
    data = info.get("data") if isinstance(info.get("data"), dict) else {}
    old_batches, old_world = data.get("batches_per_epoch"), data.get("num_processes")
    if not isinstance(old_world, int) or isinstance(old_world, bool) or old_world < 1:
        old_world = world
    if not isinstance(old_batches, int) and saved is not None:
        old_size = _flatten(saved).get("training.train_batch_size")
        if isinstance(old_size, int) and old_size >= 1 and old_size != cfg.training.train_batch_size:
            try:
                old_batches = compute_schedule(_with_training(cfg, train_batch_size=old_size), scan,
                                               old_world).batches_per_epoch
            except LoratuiError:
                old_batches = None
    if not isinstance(old_batches, int) or (old_batches, old_world) == (schedule.batches_per_epoch, world):
        return None
    place = f"the state's place (epoch {info.get('epoch')}, batch {info.get('batches_done')} of its process's share)"
    fresh = f"start a new run without --resume (network_weights = \"{lora}\" starts it from the trained LoRA)"
    command = (f"loratui train CONFIG --resume {shlex.quote(str(state))}"
               + (f" --processes {old_world}" if old_world > 1 else ""))
    # the Train screen's Resume, not its key: keymap.toml may move it, and the engine has no keymap
    launch = f"on {old_world} process(es): `{command}` (the Train screen's Resume does that)"
    if old_batches == schedule.batches_per_epoch:  # the same batches, shared out over another number of processes
        return (f"--resume {state}: it was saved by a run on {old_world} process(es) and this run has {world}; an "
                f"epoch has the same {old_batches} batch(es), but each process's share of them differs, so {place} "
                f"would point at other images: resume it {launch}, or {fresh}")
    changed = [(k, a, b) for k, a, b in changed_fields(saved, current, saved_base=saved_base,
                                                       current_base=current_base)
               if k in BATCH_FIELDS or k.startswith(tuple(f for f in BATCH_FIELDS if f.endswith(".")))]
    reasons = [f"{k} was {_shown(a)} and is {_shown(b)} now" for k, a, b in changed]
    if old_world != world:
        reasons.append(f"it was saved by {old_world} process(es) and this run has {world}")
    folders = folder_changes(data.get("folders"), getattr(schedule, "folders", ()))
    if folders:
        reasons.append(f"the folders changed since the save ({folders})")
    if not reasons:
        reasons.append("the images or the folders' repeat counts changed")
    back = ", ".join(f"{k} = {_shown(a)}" for k, a, _ in changed)
    fix = f"set {back} again" if back else "resume with the same images"
    if folders:
        fix = (f"set {back} again and " if back else "") + "put the folders back as they were at the save"
    if old_world != world:
        fix += f", {launch}"
    old_share = -(-old_batches // old_world)  # a process's share: ceil, as accelerate shards (core/plan)
    counts = (f"a process's epoch has {schedule.batches_per_process} batch(es) here and had {old_share} then"
              if old_share != schedule.batches_per_process else  # the shares round alike: the totals differ
              f"an epoch has {schedule.batches_per_epoch} batch(es) here and had {old_batches} then")
    return (f"--resume {state}: {'; '.join(reasons)}, so {counts}: {place} would point at other images: {fix}, "
            f"or {fresh}")


def folder_changes(saved, folders, *, most: int = 6) -> str | None:
    """The concept folders changed between state.json's "data" "folders" (run_saves.py state_folders) and
    this run's (core/plan FolderLine), as "2_extra -> 12_extra, 3_x: 10 -> 9 images, 1_new added, 5_old
    gone" (reg ones marked "reg"); a folder is the same one when the name after its repeat count is. None
    for a state that kept no folders (older ones) or when none changed."""
    if not isinstance(saved, list):
        return None
    old = {}
    for entry in saved:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            old[(bool(entry.get("reg")), entry["name"].partition("_")[2] or entry["name"])] = entry
    changes = []
    for f in folders:
        key = (bool(f.is_reg), f.name.partition("_")[2] or f.name)
        was = old.pop(key, None)
        shown = f"reg {f.name}" if f.is_reg else f.name
        if was is None:
            changes.append(f"{shown} added")
            continue
        images = was.get("images")
        counted = f"{images} -> {f.images} images" if isinstance(images, int) and images != f.images else ""
        if was["name"] != f.name:
            renamed = f"{'reg ' if f.is_reg else ''}{was['name']} -> {f.name}"
            changes.append(f"{renamed} ({counted})" if counted else renamed)
        elif counted:
            changes.append(f"{shown}: {counted}")
    changes += [f"{'reg ' if reg else ''}{entry['name']} gone" for (reg, _), entry in old.items()]
    if len(changes) > most:
        changes = changes[:most] + [f"{len(changes) - most} more"]
    return ", ".join(changes) or None


def position_problem(cfg, scan, world: int, schedule, info: dict, *, state: str, max_steps: int | None = None,
                     saved_base: str | None = None, current_base: str | None = None) -> str | None:
    """Why the state's (step, epoch, batches_done) cannot continue under ``schedule``, or None."""
    from loratui.core.config import config_to_dict

    lora = str(Path(state) / "lora.safetensors")
    current = config_to_dict(cfg)
    problem = _batch_problem(cfg, scan, world, schedule, info, state, lora, saved_base, current_base, current)
    if problem:
        return problem
    step, epoch, done = info.get("step"), info.get("epoch"), info.get("batches_done")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (step, epoch, done)):
        return None  # read_state_info / the preflight name a damaged field
    where = Path(state) / "state.json"
    total = schedule.total_steps
    if step > total:
        return (f"--resume {state}: the state is at step {step:,}, past the {total:,} steps this config plans: "
                "nothing to continue (--extend-epochs N trains N more epochs; a state from another dataset or "
                "config does not fit)")
    per_process = schedule.batches_per_process
    if epoch < 1 or step < 0 or not 0 <= done <= per_process:  # an epoch save's state has all its batches done
        return (f"--resume {state}: {where} says {done} batch(es) done in epoch {epoch}, and an epoch here has "
                f"{per_process} (per process): the file is damaged or from another dataset; resume from another "
                "state, or start a new run")
    saved_accum = _flatten(info.get("config") or {}).get("training.gradient_accumulation_steps")
    accum = cfg.training.gradient_accumulation_steps
    if saved_accum in (None, accum):
        expected = (epoch - 1) * schedule.steps_per_epoch + math.ceil(done / accum)
        if step != expected:
            return (f"--resume {state}: {where} says step {step:,} in epoch {epoch} after {done} batch(es), but "
                    f"with {schedule.steps_per_epoch} steps an epoch that place is step {expected:,}: the file is "
                    "damaged or from another dataset; resume from another state, or start a new run")
    if step == total:
        more = (f"; --max-steps is the run's total, not steps more (--max-steps {total + schedule.steps_per_epoch} "
                f"trains {schedule.steps_per_epoch} more)" if max_steps is not None else "")
        return (f"--resume {state}: nothing to train: the state is at step {step:,} of {total:,}; "
                f"--extend-epochs N trains N more epochs{more}")
    return None


def check_resume(cfg, scan, folder: str | os.PathLike, *, world: int = 1, extend_epochs: int | None = None,
                 max_steps: int | None = None, max_epochs: int | None = None) -> dict:
    """Every check a resume can make before a model loads; raises LoratuiError (one line) on the first
    problem. ``cfg`` has the run's limits already (--max-steps, --max-train-epochs); with
    ``extend_epochs`` its max_train_epochs is set to the extended total; with none of the three, the
    state's own run's plan where this config's leaves it nothing (engine/resume_plan.py: a stopped
    extension goes on to the extension's end), said in the notes. Returns what the run needs:
    {"state": Path, "note": recovery note or None, "info": state.json, "notes": [...], "changes": line
    or None, "saved_base": str or None, "run_epochs": the epochs the state's run planned (extending)}."""
    from loratui.core.config import config_to_dict
    from loratui.core.plan import compute_schedule
    from loratui.engine.resume_origin import origin_plan, refit_at_epoch_end

    problem = resume_path_problem(folder, cfg)
    if problem:
        raise LoratuiError(problem)
    state, note = find_resume_state(folder if Path(folder).name else os.path.abspath(folder))  # `.`
    info = read_state_info(state)
    plain = extend_epochs is None and max_steps is None and max_epochs is None
    # an epoch-end state of a dataset changed since goes on at the next epoch (engine/resume_refit.py)
    refit = refit_at_epoch_end(cfg, scan, world, info)
    origin = refit or recorded_origin(info)
    planned = continue_state_plan(cfg, scan, world, info) if plain and origin is None else None  # before the compare
    current = config_to_dict(cfg)
    current_base = str(Path(cfg.config_dir or Path.cwd()).absolute())
    saved = info.get("config") if isinstance(info.get("config"), dict) else None
    saved_base = saved_project_dir(saved, current, current_base, info.get("config_dir")) if saved else None
    extending = ("training.max_train_epochs", "training.max_train_steps") if extend_epochs is not None else ()
    errors, notes = resume_conflicts(saved, current, state=str(state), lora=str(Path(state) / "lora.safetensors"),
                                     saved_base=saved_base, current_base=current_base, said_otherwise=extending)
    errors.append(trained_parts_problem(saved, current, state=str(state),
                                        lora=str(Path(state) / "lora.safetensors")))
    if any(errors):
        raise LoratuiError(next(e for e in errors if e))
    run_epochs = None
    if extend_epochs is not None:
        run_epochs = state_run_epochs(cfg, scan, world, info)
        done = int(info.get("epoch", 1)) - 1  # the epoch a state holds is the one in progress
        cfg.training.max_train_epochs = max(run_epochs, done) + extend_epochs
        cfg.training.max_train_steps = None
        current = config_to_dict(cfg)
    schedule = compute_schedule(cfg, scan, world)
    if origin is not None:
        problem, planned = origin_plan(cfg, schedule, info, origin, refit, state=str(state), plain=plain,
                                        saved=saved, current=current, saved_base=saved_base,
                                        current_base=current_base)
    else:
        problem = (finished_plan_problem(cfg, scan, world, info, str(state)) if plain else None) or position_problem(
            cfg, scan, world, schedule, info, state=str(state), max_steps=max_steps, saved_base=saved_base,
            current_base=current_base)
    if problem:
        raise LoratuiError(problem)
    if planned:
        notes.append(planned)
    return {"state": state, "note": note, "info": info, "notes": notes, "saved_base": saved_base,
            "run_epochs": run_epochs,
            "changes": other_changes(saved, current, saved_base=saved_base, current_base=current_base)}
