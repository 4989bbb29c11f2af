"""Full training state for `loratui train --resume STATE_DIR`.

A state folder holds the LoRA weights in fp32 (``lora.safetensors``; with ``params.safetensors`` beside it
where that file rounds a trainable tensor: use_scalar's factors, the few elements of an algo=full weight
that ``org + diff`` does not give back), the optimizer, scheduler
and grad-scaler states (``optimizer.pt``), every RNG (``rng.pt``: python, numpy, torch CPU and
CUDA, and the noise generator) and ``state.json`` (step, epoch, batches done in that epoch, loss
history, the config, when and where it was saved, the batches of an epoch). Resuming restores all
of it and skips the batches already done, so the rest of the run is identical to an uninterrupted one.

A save is a temp folder renamed into place; ``find_resume_state`` recovers from a kill between its
two renames, and ``leftovers`` finds what killed saves left (removed when a run starts).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from pathlib import Path

import numpy as np
import torch

from loratui.core.errors import LoratuiError
from loratui.core.fsutil import fsync_path
# pure-Python parts, also used by the CLI's preflight before torch loads (re-exported here)
from loratui.engine.resume_check import (FIXED_ON_RESUME, FORMAT, FREE_ON_RESUME, complete_state,  # noqa: F401
                                         find_resume_state, read_state_info, resume_conflicts)


# the trainable tensors lora.safetensors does not keep exactly (see LycorisNetwork.exact_params); optional
EXACT_PARAMS = "params.safetensors"


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for a damaged file
        raise LoratuiError(f"--resume: {path} is damaged ({str(exc).strip()[:200]}); resume from an earlier state, "
                           "or start again with network_weights set to the last saved LoRA") from None


def rng_state(generator: torch.Generator) -> dict:
    """Every random stream of this process: python, numpy, torch CPU and CUDA, the noise generator."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    numpy_state = [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)]
    return {"python": random.getstate(), "numpy": numpy_state, "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "generator": generator.get_state()}


def _set_rng_state(rng: dict, generator: torch.Generator) -> None:
    random.setstate(tuple(tuple(x) if isinstance(x, list) else x for x in rng["python"]))
    kind, keys, pos, has_gauss, cached = rng["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(rng["torch"])
    if rng.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    generator.set_state(rng["generator"])


def save_state(folder: str | Path, *, network, optimizer, scheduler, scaler, generator: torch.Generator, step: int,
               epoch: int, batches_done: int, losses: list[float], config_digest: str,
               data_state: dict | None = None, rank_rngs: list[dict] | None = None,
               config: dict | None = None, extra: dict | None = None) -> Path:
    """Write the state folder atomically (a temp folder renamed over the old one).

    ``data_state`` is the data pipeline's own state (TrainingData.state_dict(), when it has one): its
    epoch order is otherwise re-derived from (seed, epoch) and ``batches_done``. ``rank_rngs``: every
    process's ``rng_state`` (gathered by the first, which alone writes), so that a multi-process
    resume continues each process's random streams exactly. ``config``: the run's config as a dict,
    kept so that a resume can name the fields changed since (``resume_conflicts``). ``extra``: more
    state.json keys (the run writes saved_at, config_dir and data: see engine/resume_check.py).
    """
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    # the whole kohya file (network_weights may point at it); streamed to disk, never built as bytes in RAM
    _write_tensors(tmp / "lora.safetensors", network.kohya_state_dict(torch.float32))
    exact = network.exact_params() if hasattr(network, "exact_params") else {}
    if exact:  # what lora.safetensors rounds (use_scalar; algo=full's rounded elements): a bit-identical resume
        _write_tensors(tmp / EXACT_PARAMS, exact)
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict() if scaler is not None else None, "data": data_state},
               tmp / "optimizer.pt")
    torch.save({**rng_state(generator), "ranks": rank_rngs}, tmp / "rng.pt")
    (tmp / "state.json").write_text(json.dumps({
        "format": FORMAT, "step": step, "epoch": epoch, "batches_done": batches_done, "losses": losses[-1000:],
        "config_digest": config_digest, "config": config, **(extra or {})}, indent=1, default=str),
        encoding="utf-8")
    for path in tmp.iterdir():  # on disk before the rename makes the state the one a resume picks
        fsync_path(path)
    fsync_path(tmp)
    old = folder.with_name(folder.name + ".old")
    if folder.exists():
        if old.exists():
            shutil.rmtree(old)
        os.replace(folder, old)
    os.replace(tmp, folder)
    if old.exists():
        shutil.rmtree(old)
    fsync_path(folder.parent)
    return folder


def _write_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """safetensors' save_file (it writes tensor by tensor), with the umask's mode rather than its 0600."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


# a long run name's LoRA temp keeps only its first ~212 bytes: a run whose name starts alike may be writing it
# now (one write() of a multi-GB file to a slow disk, then its fsync, takes minutes after the mtime is set)
SHARED_HEAD_AGE_S = 600.0
# what may follow "NAME-" in a save's name or a kept copy's (NAME-kept-stepN[-k]: engine/outputs.py), cut anywhere
_LORA_TAIL = (r"\d{0,6}|s|st|ste|step\d{0,8}"
              r"|k|ke|kep|kept|kept-|kept-s|kept-st|kept-ste|kept-step\d{0,8}|kept-step\d{8}-\d*")


def leftovers(output_dir: str | Path, name: str, dataset_dirs: list[Path] = (), caption_extension: str = ".txt",
              *, min_age_s: float = 60.0) -> list[Path]:
    """Files of our own naming that a killed process left behind: temp files of LoRA saves of run
    NAME, of the copies of its final it keeps (NAME-kept-stepN[-k].safetensors, and NAME.safetensors in its
    NAME-kept-<time>/ folders: ``kept_folder_temps``) and of its sample images (OUTPUT_DIR/sample/:
    ``sample_temps``), temp and swap folders of its state saves (only where the state itself is complete: else
    they hold the only copy, see ``find_resume_state``), and caption temp files in the dataset's concept
    folders (at least ``min_age_s`` old: a caption being written right now is younger).

    This run's lock covers NAME only: a save's name NAME-000001 / NAME-step00000500 / NAME-kept-step00000500 is
    also the final's of a run named so (and the last a save of a run named NAME-kept). Such a temp (or
    NAME-000001-state.tmp) is left alone while a run whose name it is, or starts with (L-...), is live, and
    otherwise taken only at ``min_age_s`` old; a long NAME's stand-in temp, which its head alone ties to NAME,
    only at SHARED_HEAD_AGE_S old and while no live run's name shares that head."""
    import time

    from loratui.core.fsutil import atomic_temp_pattern, names_for_ext

    out = Path(output_dir)
    stem = rf"{re.escape(name)}(?:-\d{{6}}|-step\d{{8}})?"
    # and the copies of a final a resume keeps (copy_whole: NAME-kept-stepN[-k].safetensors); no state is so named
    lora_stem = rf"{re.escape(name)}(?:-\d{{6}}|-step\d{{8}}|-kept-step\d{{8}}(?:-\d+)?)?"
    lora_temp = atomic_temp_pattern(rf"({lora_stem})\.safetensors", owner=f"{name}-", tail=_LORA_TAIL,
                                    targets=lambda: [out / f"{name}.safetensors"])
    state_swap = re.compile(rf"^(({stem})-state)\.(?:tmp|old)$")
    others = _ClaimedBy(out, name, min_age_s)
    found: list[Path] = []
    now = time.time()
    for entry in _listdir(out):
        if entry.is_file() and (whose := lora_temp.whose(entry.name)):
            whole = lora_temp.whole.match(entry.name)
            if others.may_take(entry, now, run=whole.group(1) if whole else None, head=whose == "head"):
                found.append(entry)
        elif entry.is_dir() and (match := state_swap.match(entry.name)):
            if not others.may_take(entry, now, run=match.group(2)):
                continue
            if complete_state(out / match.group(1)) or not complete_state(entry):
                found.append(entry)
    found.extend(kept_folder_temps(out, name))  # only this run writes there, and its lock is held
    samples = _sample_temp_names(name)
    found.extend(path for path in sample_temps(out, name)
                 if others.may_take(path, now, head=samples.whose(path.name) == "head"))
    for root in dataset_dirs:
        for folder in [Path(root), *(p for p in _listdir(Path(root)) if p.is_dir() and not p.name.startswith("."))]:
            # a long caption name's stand-in only when it is exactly the temp of a caption (or an image's) here
            caption_temp = atomic_temp_pattern(rf".+{re.escape(caption_extension)}",
                                               targets=lambda folder=folder: names_for_ext(folder, caption_extension))
            for entry in _listdir(folder):
                if (entry.name.startswith(".") and _age(entry, now) >= min_age_s and entry.is_file()
                        and caption_temp.match(entry.name)):
                    found.append(entry)
    return found


class _ClaimedBy:
    """Whether a temp that may be another run's is this run's to remove (``leftovers``): the other runs are
    the live locks (OUTPUT_DIR/X.lock; a dead pid's lock is stale) of names other than NAME."""

    def __init__(self, out: Path, name: str, min_age_s: float):
        self.out, self.name, self.min_age_s, self._live = out, name, min_age_s, None

    def live(self) -> list[str]:
        if self._live is None:
            from loratui.core.run_lock import run_is_alive

            self._live = [p.name[:-len(".lock")] for p in _listdir(self.out)
                          if p.name.endswith(".lock") and p.name != f"{self.name}.lock"
                          and run_is_alive(self.out, p.name[:-len(".lock")]) is not None]
        return self._live

    def may_take(self, path: Path, now: float, *, run: str | None = None, head: bool = False) -> bool:
        """``run``: the name of the target's run when it is not NAME (NAME-000001: maybe a run so named);
        ``head``: a stand-in whose head alone ties it to NAME (any live run whose name shares the head)."""
        if head:
            cut = _STAND_IN_HEAD.match(path.name)
            start = cut.group(1) if cut else ""
            if any(other.startswith(start) or start.startswith(other) for other in self.live()):
                return False
            return _age(path, now) >= max(self.min_age_s, SHARED_HEAD_AGE_S)
        if run is None or run == self.name:
            return True
        # run L writes L-000001, L-stepN and L-kept-stepN: a live L may own any "L-..." name (a run named
        # NAME-kept matches NAME-kept-step00000500, the copy run NAME is making)
        if any(run == other or run.startswith(other + "-") for other in self.live()):
            return False
        return _age(path, now) >= self.min_age_s


_STAND_IN_HEAD = re.compile(r"^\.(.+)~[0-9a-f]{16}")


def kept_folder_temps(output_dir: str | Path, name: str) -> list[Path]:
    """The temps a killed copy of the final into a fresh run's NAME-kept-<time>[-k]/ left there (engine/outputs.py
    ``move_last_run_aside``: ``.NAME.safetensors.xxxxxxxx.tmp``, or that target's exact stand-in). Only run NAME
    makes or writes such a folder (a run named NAME-kept-<time> keeps its own in NAME-kept-<time>-kept-*/)."""
    from loratui.core.fsutil import atomic_temp_pattern

    folder_name = re.compile(rf"{re.escape(name)}-kept-\d{{8}}-\d{{6}}(?:-\d+)?")
    found = []
    for folder in _listdir(Path(output_dir)):
        if not folder_name.fullmatch(folder.name) or folder.is_symlink() or not folder.is_dir():
            continue
        copy = atomic_temp_pattern(rf"{re.escape(name)}\.safetensors",
                                   targets=lambda folder=folder: [folder / f"{name}.safetensors"])
        found.extend(entry for entry in _listdir(folder) if entry.is_file() and not entry.is_symlink()
                     and copy.match(entry.name))
    return sorted(found)


def _age(path: Path, now: float) -> float:
    """Seconds since ``path`` was last written (-1 when it cannot be asked: never old enough)."""
    try:
        return now - path.lstat().st_mtime
    except OSError:
        return -1.0


def sample_temps(output_dir: str | Path, name: str) -> list[Path]:
    """The temp files a killed sample write of run NAME left in OUTPUT_DIR/sample/ (engine/sampling.py
    ``write_png``: ``.NAME_000012_00_<time>.png.xxxxxxxx.tmp``, or core.fsutil's stand-in for a name too long
    for that, ``.NAME_0000~<hash>.png.xxxxxxxx.tmp``: its head names the run). Another run's are not among
    them: it may be sampling right now into the same folder (its lock is not this run's). ``leftovers`` takes
    a stand-in only at SHARED_HEAD_AGE_S old, as a LoRA's: two runs whose long names share the head write alike."""
    from loratui.core.runs import SAMPLE_FOLDER

    pattern = _sample_temp_names(name)
    return sorted(entry for entry in _listdir(Path(output_dir) / SAMPLE_FOLDER)
                  if pattern.match(entry.name) and entry.is_file())


def _sample_temp_names(name: str):
    from loratui.core.fsutil import atomic_temp_pattern

    # a stand-in's head is the sample name's, cut (NAME cut too when long); what may follow "NAME_" in it
    return atomic_temp_pattern(rf"{re.escape(name)}_e?\d{{6,}}_\d{{2,}}_\d{{14}}(?:_-?\d+)?\.png",
                               owner=f"{name}_", tail=r"e?[0-9_-]{0,60}")


def _listdir(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def removed_leftovers_line(paths: list[Path], output_dir: str | Path, count: int, size: int) -> str:
    """One line naming what ``remove_leftovers`` removed of ``paths`` (the first three, from the output folder:
    ``sample/.NAME_000005_00_<time>.png.XXXXXXXX.tmp`` is a killed sample write's), and their size."""
    gone = [p for p in paths if not os.path.lexists(p)]
    names = []
    for path in gone[:3]:
        try:
            names.append(str(path.relative_to(output_dir)))
        except ValueError:  # a caption's temp, in the dataset
            names.append(str(path))
    more = f" and {len(gone) - 3} more" if len(gone) > 3 else ""
    return (f"removed {count} leftover temp file(s) of interrupted saves ({', '.join(names)}{more}; "
            f"{size / 2**20:.1f} MiB)")


def remove_leftovers(paths: list[Path]) -> tuple[int, int]:
    """Remove them; returns (how many were removed, their bytes)."""
    count = size = 0
    for path in paths:
        try:
            if path.is_dir():
                size += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
                shutil.rmtree(path)
            else:
                size += path.stat().st_size
                path.unlink()
            count += 1
        except OSError:
            continue
    return count, size


def load_state(folder: str | Path, *, network, optimizer, scheduler, scaler, generator: torch.Generator,
               rank: int = 0, world_size: int = 1) -> dict:
    """Restore everything saved by ``save_state``; returns state.json's content.

    Each process takes its own random streams when the state holds them (saved by as many
    processes); otherwise (an older state, or another process count) the others re-seed their
    noise generator from (its seed, the step): a valid continuation, but not bit-identical, and
    ``info["rng_restored"]`` is False.
    """
    from safetensors.torch import load_file

    folder = Path(folder)
    info = read_state_info(folder)
    network.load_kohya_state_dict(load_file(str(folder / "lora.safetensors")), source=f"--resume {folder}")
    if (folder / EXACT_PARAMS).is_file() and hasattr(network, "load_exact_params"):  # absent in older states
        network.load_exact_params(_load_safetensors(folder / EXACT_PARAMS), source=f"--resume {folder}")
    # weights_only: a state folder is data, never code, even when it came from somewhere else
    opt = _load_pt(folder / "optimizer.pt")
    try:
        optimizer.load_state_dict(opt["optimizer"])
        _check_optimizer_state(optimizer)
    except (KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise LoratuiError(f"--resume {folder}: the saved optimizer state does not fit this run's optimizer "
                           f"{type(optimizer).__name__} ({type(exc).__name__}: {exc}); optimizer.optimizer_type or "
                           "the network changed since the save: set them back, or start a new run without --resume "
                           "with network.network_weights pointing at the trained LoRA") from None
    scheduler.load_state_dict(opt["scheduler"])
    if scaler is not None and opt.get("scaler"):
        scaler.load_state_dict(opt["scaler"])
    info["data_state"] = opt.get("data")
    rng = _load_pt(folder / "rng.pt")
    ranks = rng.get("ranks")
    if ranks and len(ranks) == world_size:
        _set_rng_state(ranks[rank], generator)
        info["rng_restored"] = True
    else:
        seed = int(generator.initial_seed())
        _set_rng_state(rng, generator)
        info["rng_restored"] = world_size == 1 and not ranks
        if rank != 0:
            generator.manual_seed(seed + 7919 * int(info["step"]))
    return info


def _check_optimizer_state(optimizer) -> None:
    """torch loads another optimizer's state without a word and fails at the first step (AdamW8bit ->
    AdamW: KeyError 'exp_avg' minutes later): check the per-parameter keys now. Each optimizer's first
    step makes the same keys for every parameter, so one whose keys are all known passes."""
    known = {"AdamW": {"step", "exp_avg", "exp_avg_sq"}, "SGD": {"momentum_buffer"}, "Lion": {"exp_avg"}}
    expected = known.get(type(optimizer).__name__)
    if expected is None:
        return
    for state in optimizer.state.values():
        extra, missing = set(state) - expected - {"max_exp_avg_sq"}, expected - set(state) - {"momentum_buffer"}
        if extra or (missing and type(optimizer).__name__ == "AdamW"):
            raise KeyError(f"its state has {sorted(state)}, this optimizer keeps {sorted(expected)}")


def _load_pt(path: Path):
    """torch.load of a state file (weights_only: a state is data, never code), a damaged one in one line."""
    import pickle

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LoratuiError(f"--resume: {path} is damaged ({first[:200]}); resume from an earlier state, or start "
                           "again with network_weights set to the last saved LoRA") from None
