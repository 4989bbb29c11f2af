"""What `train` would refuse about the files a config names, found before any model is loaded.

``check_paths`` (load.py) ends with ``file_problems``, so `loratui config check`, the settings
screen and the preflight of `loratui train` (engine/run.py ``check_config``) all ask the same
questions: is the base model a base model of the stated family (model_check.py), can output_dir
be written, do the names made from output_name fit its file system (output_names.py), do the concept
folders open, have UTF-8 names and sensible repeats, does the sample prompt file
parse, is a state to resume complete. Everything here reads headers or lists folders: no torch,
no weights, no image decoding, so a config is checked in well under a second.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
import zipfile
from pathlib import Path

from loratui.core.errors import LoratuiError


def output_dir_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot hold the run's files (a file, not writable, cannot be created), or None.

    Writability is tried, not guessed from mode bits: a temp file is created and removed at once."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        return f"output_dir: {path} is a file, not a folder: set output_dir to a folder (it is created if missing)"
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        return f"output_dir: {path} cannot be created: {existing} is a file, not a folder"
    try:
        fd, probe = tempfile.mkstemp(prefix=".loratui-write-test-", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        why = "read-only file system" if exc.errno == errno.EROFS else "permission denied" \
            if exc.errno in (errno.EACCES, errno.EPERM) else (exc.strerror or str(exc))
        if existing == path:
            return f"output_dir: {path} is not writable ({why}): make it writable or choose another output_dir"
        return f"output_dir: {path} cannot be created: {existing} is not writable ({why})"
    return None


def dataset_folder_problems(cfg) -> list[str]:
    """The train/reg folders and their `N_name` folders open, and their repeats make sense."""
    from loratui.core.config.load import resolve_path
    from loratui.core.dataset import (
        IMAGE_EXTENSIONS, MAX_TRAINABLE_REPEATS, NOT_UTF8_FOLDER, OTHER_IMAGE_EXTENSIONS, is_utf8_name, list_folder,
        parse_subset_name, train_dir_hint,
    )

    problems = []
    d = cfg.dataset
    for key, value in (("train_data_dir", d.train_data_dir), ("reg_data_dir", d.reg_data_dir)):
        root = resolve_path(cfg, value) if value else ""
        if not root or not os.path.isdir(root):
            continue  # check_paths names it
        try:
            entries = list_folder(root)
        except LoratuiError as exc:
            problems.append(f"{key}: {exc}")
            continue
        images = unreadable = 0
        for entry in entries:
            if entry.name.startswith(".") or not _is_dir(entry):
                continue
            parsed = parse_subset_name(entry.name)
            if parsed is None or parsed[0] < 1:
                continue
            if not is_utf8_name(entry.name):  # the run's events and the LoRA's ss_dataset_dirs are UTF-8: it fails there
                problems.append(f"{key}: {_shown(entry.path)}: {NOT_UTF8_FOLDER}")  # `dataset scan` says it too
                continue
            if parsed[0] > MAX_TRAINABLE_REPEATS:  # left out by the scan (nothing can build it): said here as
                # the error it is; fewer repeats, however many, train as sd-scripts trains them, and the
                # schedule (core/plan/repeats.py) names the folder with the run's total, refusing only an absurd one
                problems.append(f"{key}: {entry.path}: {parsed[0]} repeats is far too many (at most "
                                f"{MAX_TRAINABLE_REPEATS:,}, and far fewer make sense): rename the folder with its "
                                "real repeat count, e.g. 10_" + parsed[1])
                continue
            try:
                # left-out kinds (GIF, TIFF...) count too: the scan's own message names them better
                images += sum(1 for e in list_folder(entry.path)
                              if os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS | OTHER_IMAGE_EXTENSIONS)
            except LoratuiError as exc:
                problems.append(f"{key}: {exc}")
                unreadable += 1
        if key == "train_data_dir" and not images and not unreadable:  # what `steps` and `train` stop on
            problems.append(f"train_data_dir: no training images under {root}: it needs `N_name` folders (e.g. "
                            f"10_alice) holding the images{train_dir_hint(root)}")
    return problems


def _shown(path: str) -> str:
    """``path`` printable: its bytes that are not UTF-8 as \\xff (as export-sdscripts names them)."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _is_dir(entry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _state_json(folder: Path) -> dict | None:
    try:
        info = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return info if isinstance(info, dict) else None


def _engine_complete(folder: Path) -> bool:
    """engine/state.py's test of a complete state (the one its resume picks)."""
    info = _state_json(folder)
    return info is not None and info.get("format") == 1 and all(
        (folder / name).is_file() for name in ("lora.safetensors", "optimizer.pt", "rng.pt"))


def resume_state_problem(folder: str | os.PathLike, option: str = "--resume") -> str | None:
    """Why resuming from ``folder`` would fail, or None: the state the engine would pick (FOLDER, or
    the complete FOLDER.tmp / FOLDER.old a killed save left) must have every file whole."""
    from loratui.core.config.model_check import safetensors_keys

    folder = Path(folder)
    chosen = next((c for c in (folder, folder.with_name(folder.name + ".tmp"), folder.with_name(folder.name + ".old"))
                   if _engine_complete(c)), None)
    if chosen is None:
        if not folder.exists():
            return f"{option}: {folder} does not exist (pass the NAME-state folder from the output_dir)"
        if not folder.is_dir():
            return f"{option}: {folder} is a file, not a state folder"
        state = folder / "state.json"
        if not state.is_file():
            return (f"{option}: {folder} is not a loratui state folder (no state.json); pass a NAME-state folder "
                    "from the output_dir")
        info = _state_json(folder)
        if info is None:
            return f"{option}: {state} is truncated or damaged (not JSON): this state cannot be resumed"
        if info.get("format") != 1:
            return f"{option}: {folder} was written by another loratui version (format {info.get('format')})"
        missing = [n for n in ("lora.safetensors", "optimizer.pt", "rng.pt") if not (folder / n).is_file()]
        return f"{option}: {folder / missing[0]} is missing: this state is incomplete and cannot be resumed"
    info = _state_json(chosen)
    for key in ("step", "epoch", "batches_done"):
        value = info.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < (1 if key == "epoch" else 0):
            return (f"{option}: {chosen / 'state.json'}: {key} is missing, not a number or negative ({value!r}): "
                    "the file is damaged")
    losses = info.get("losses", [])
    if not isinstance(losses, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                for x in losses):
        return f"{option}: {chosen / 'state.json'}: losses is not a list of numbers: the file is damaged"
    if len(losses) > info["step"]:
        return (f"{option}: {chosen / 'state.json'}: {len(losses)} losses for step {info['step']} (one a step): "
                "the file is damaged")
    try:
        safetensors_keys(chosen / "lora.safetensors")
    except LoratuiError:  # its own message says "download it again": not what a saved state needs
        return (f"{option}: {chosen / 'lora.safetensors'} is truncated or damaged (not a complete .safetensors "
                "file): this state cannot be resumed; use an earlier state or start again")
    for name in ("optimizer.pt", "rng.pt"):
        try:
            with zipfile.ZipFile(chosen / name) as archive:
                archive.namelist()
        except (zipfile.BadZipFile, OSError):
            return (f"{option}: {chosen / name} is truncated or damaged (not a complete torch file): this state "
                    "cannot be resumed; use an earlier state or start again")
    return None


def file_problems(cfg) -> list[str]:
    """Every problem of this module for ``cfg`` (paths resolved against its folder)."""
    from loratui.core.config.load import resolve_path
    from loratui.core.config.model_check import base_model_problems
    from loratui.core.config.output_names import output_name_length_problem
    from loratui.core.config.prompts import parse_prompts

    problems = base_model_problems(cfg)
    if cfg.saving.output_dir:
        output_dir = resolve_path(cfg, cfg.saving.output_dir)
        problem = output_dir_problem(output_dir) or output_name_length_problem(
            cfg.saving.output_name, output_dir, sampling=bool(cfg.sampling.sample_prompts))
        if problem:
            problems.append(problem)
    problems += dataset_folder_problems(cfg)
    prompts = resolve_path(cfg, cfg.sampling.sample_prompts) if cfg.sampling.sample_prompts else ""
    if prompts and os.path.exists(prompts):
        try:
            parse_prompts(prompts)  # a prompt without --w/--h: 512x512, as sd-scripts
        except LoratuiError as exc:
            problems.append(str(exc) if str(exc).startswith("sampling.") else f"sampling.sample_prompts: {exc}")
    resume = resolve_path(cfg, cfg.saving.resume) if cfg.saving.resume else ""
    if resume:  # a killed save may have left only NAME-state.tmp / .old: resume_state_problem knows
        problem = resume_state_problem(resume, "saving.resume")
        if problem:
            problems.append(problem)
    return problems
