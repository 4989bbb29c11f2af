"""Which state folder a `--resume` names, and what to say when it names none: reading a state's state.json,
a folder that does not exist (the states there listed), a half-written save (``X-state.tmp`` / ``.old`` left
by a kill or a full disk) and the newest complete state to resume from instead. Split from resume_check.py,
which re-exports these names; the checks of a state against the config stay there."""

from __future__ import annotations

import json
import os
from pathlib import Path

from loratui.core.errors import LoratuiError
from loratui.core.run_states import FORMAT, complete_state


# ---- which state -----------------------------------------------------------------------------------

def read_state_info(folder: str | os.PathLike) -> dict:
    folder = Path(folder)
    info_path = folder / "state.json"
    if not info_path.is_file():
        raise LoratuiError(f"--resume: {folder} is not a loratui state folder (no state.json); "
                           "pass a NAME-state folder from the output_dir")
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise LoratuiError(f"--resume: {info_path} is damaged ({type(exc).__name__}: {exc}); resume from an "
                           "earlier state, or start again with network_weights set to the last saved LoRA") from None
    if not isinstance(info, dict):
        raise LoratuiError(f"--resume: {info_path} is not a loratui state file")
    if info.get("format") != FORMAT:
        raise LoratuiError(f"--resume: {folder} was written by another loratui version (format {info.get('format')})")
    return info


def state_saved_at(folder: str | os.PathLike, info: dict) -> float:
    """When the state was saved: state.json's own record, else (an older state) the file's time."""
    value = info.get("saved_at")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return (Path(folder) / "state.json").stat().st_mtime
    except OSError:
        return 0.0


def missing_state_message(folder: str | os.PathLike, cfg) -> str | None:
    """``--resume FOLDER`` where neither FOLDER nor a half-saved copy exists: one line saying why there
    is no state (the run saved none) and the way out (network_weights = its final LoRA). None when
    there is something there (the other checks say what is wrong with it)."""
    from loratui.core.config import resolve_path

    folder = Path(folder)
    if any(os.path.lexists(folder.with_name(folder.name + s)) for s in ("", ".tmp", ".old")):
        return None
    output_dir = Path(resolve_path(cfg, cfg.saving.output_dir)) if cfg.saving.output_dir else folder.parent
    name = cfg.saving.output_name
    stem = folder.name.removesuffix("-state")
    final = next((p for p in (folder.with_name(f"{stem}.safetensors"), output_dir / f"{name}.safetensors")
                  if p.is_file()), None)
    own = Path(os.path.abspath(folder)) == Path(os.path.abspath(output_dir / f"{name}-state"))
    if final is not None and final.parent != folder.parent and not own and _state_folders(cfg):
        final = None  # a mistyped path, with states there: list them rather than tell of a run that saved none
    line = f"--resume: {folder} does not exist"
    if final is None:
        line += f": pass a NAME-state folder; {states_listed(cfg)}"
    else:
        shown = _config_relative(cfg, final)
        line += (f": the run that wrote {final.name} saved no state (save_state = false; a state is saved when a run "
                 f"is stopped, at the end of a --max-steps run, or with save_state = true / --save-state): to go on "
                 f"from its weights, start a new run with network_weights = \"{shown}\" (the optimizer and the "
                 f"learning-rate schedule start afresh), and pass --save-state to runs you may extend")
    kept = sorted(output_dir.glob(f"{name}-kept-*/{folder.name}"))
    if kept:
        line += f"; an earlier run's {folder.name} was moved to {kept[-1]} when a newer run started"
    return line


STATE_FOLDER = ("a state folder is OUTPUT_DIR/NAME-state (or NAME-000004-state, NAME-step00000500-state) "
                "holding state.json, lora.safetensors, optimizer.pt and rng.pt")


def _state_folders(cfg) -> list[Path]:
    """The state folders in the config's output_dir and in the kept folders there, newest first."""
    from loratui.core.config import resolve_path

    output_dir = Path(resolve_path(cfg, cfg.saving.output_dir)) if cfg.saving.output_dir else Path.cwd()
    try:
        found = [p for p in (*output_dir.glob("*-state"), *output_dir.glob("*-kept-*/*-state"))
                 if (p / "state.json").is_file()]
        return sorted(found, key=lambda p: (p / "state.json").stat().st_mtime, reverse=True)
    except OSError:
        return []


def states_listed(cfg, shown: int = 3) -> str:
    """"the state folders in out: out/x-state, ..." (``_state_folders``), or that there is none and
    when a run saves one."""
    from loratui.core.config import resolve_path

    found = _state_folders(cfg)
    output_dir = Path(resolve_path(cfg, cfg.saving.output_dir)) if cfg.saving.output_dir else Path.cwd()
    if not found:
        return (f"{_cwd_relative(output_dir)} holds no state folder (a run saves one when stopped, at the end of a "
                "--max-steps run, or with --save-state)")
    names = ", ".join(_cwd_relative(p) for p in found[:shown])
    more = f" and {len(found) - shown} more" if len(found) > shown else ""
    return f"the state folders in {_cwd_relative(output_dir)}: {names}{more}"


def _cwd_relative(path: Path) -> str:
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path.absolute())


def half_written_message(given: str, path: Path, cfg, config: str | os.PathLike | None = None) -> str:
    """``--resume FOLDER`` where only a half-written FOLDER.tmp / .old is left (a killed or full-disk save):
    one line saying so, with the command resuming the run's newest complete state (or the states there)."""
    from loratui.core.config import resolve_path
    from loratui.core.run_states import resume_hint

    parts = [p for p in (path.with_name(path.name + ".tmp"), path.with_name(path.name + ".old")) if os.path.lexists(p)]
    one = len(parts) == 1
    line = (f"--resume: {given} does not exist; {' and '.join(map(_cwd_relative, parts))} "
            f"{'is a half-written save' if one else 'are half-written saves'} (a kill or a full disk while the state "
            f"was being written) that cannot be used (safe to delete{'' if one else ' both'})")
    output_dir = Path(resolve_path(cfg, cfg.saving.output_dir)) if cfg.saving.output_dir else path.parent
    hint = resume_hint(output_dir, cfg.saving.output_name, config)
    return f"{line}: {hint} instead" if hint else f"{line}; {states_listed(cfg)}"


def resume_path_problem(folder: str | os.PathLike, cfg, config: str | os.PathLike | None = None) -> str | None:
    """``--resume PATH`` that is no state folder at all (``.``, the output folder, a file, a path that
    does not exist or is only half-written: ``config``, the config's path, for the command then named):
    one line naming PATH, what a state folder is and the ones there are. None when PATH (or a complete
    half-saved copy, see ``find_resume_state``) has a state.json: the other checks say what is wrong with it."""
    given = str(folder)
    path = Path(os.path.abspath(os.path.expanduser(given)))
    shown = given if Path(given).name not in ("", "..") or given == str(path) else f"{given} ({path})"
    if path.name and not any(os.path.lexists(path.with_name(path.name + s)) for s in ("", ".tmp", ".old")):
        return missing_state_message(Path(given), cfg)
    if path.name and ((path / "state.json").is_file()
                      or any(complete_state(path.with_name(path.name + s)) for s in (".tmp", ".old"))):
        return None
    if path.name and not os.path.lexists(path):  # only a half-written FOLDER.tmp / FOLDER.old: a killed save's
        return half_written_message(given, path, cfg, config)
    what = ("is a file, not a loratui state folder" if path.exists() and not path.is_dir()
            else "is not a loratui state folder (no state.json)")
    return f"--resume: {shown} {what}: {STATE_FOLDER}; {states_listed(cfg)}"


def _config_relative(cfg, path: Path) -> str:
    base = Path(cfg.config_dir or Path.cwd()).absolute()
    try:
        return str(Path(path).absolute().relative_to(base))
    except ValueError:
        return str(Path(path).absolute())
