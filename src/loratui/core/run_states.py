"""The state folders a run leaves in its output folder, and which one a resume reads. Pure Python: the
engine (engine/resume_check.py, ``--resume``) and the TUI (resume / extend, the run picker) both use
these rules, so the app names the folder the engine will read.

A state folder is OUTPUT_DIR/NAME-state, or NAME-000004-state / NAME-step00000500-state (the state saved
with an epoch or step save: engine/run_saves.py), holding state.json (written last), lora.safetensors,
optimizer.pt and rng.pt. A save writes FOLDER.tmp, renames FOLDER to FOLDER.old and FOLDER.tmp to
FOLDER, then removes FOLDER.old (engine/state.py): a kill between the two renames leaves no FOLDER, a
complete FOLDER.tmp (the newer state) and FOLDER.old.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

FORMAT = 1  # state.json's "format": what this loratui reads
STATE_FILES = ("lora.safetensors", "optimizer.pt", "rng.pt")


def complete_state(folder: str | os.PathLike) -> bool:
    """A state folder every file of which was written (state.json, written last, parses)."""
    try:
        info = json.loads((Path(folder) / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and info.get("format") == FORMAT and all(
        (Path(folder) / name).is_file() for name in STATE_FILES)


def find_resume_state(folder: str | os.PathLike) -> tuple[Path, str | None]:
    """The state folder to read for ``--resume FOLDER``, and a note when it is not FOLDER: FOLDER when
    complete, else the complete one a kill during a save left (FOLDER.tmp, the newer, first; then
    FOLDER.old), else FOLDER itself (the engine's checks then say what is wrong with it)."""
    folder = Path(folder)
    if complete_state(folder):
        return folder, None
    what = "was left half-saved" if folder.exists() else "is missing"
    for suffix, which in ((".tmp", "the newer state, complete"), (".old", "the previous state")):
        candidate = folder.with_name(folder.name + suffix)
        if complete_state(candidate):
            return candidate, (f"{folder} {what} (a kill during a state save): resuming from {candidate.name}, "
                               f"{which}")
    return folder, None


def state_step(folder: str | os.PathLike) -> int | None:
    """The step a state folder holds now (its state.json), or None when it cannot be read."""
    try:
        info = json.loads((Path(folder) / "state.json").read_text(encoding="utf-8"))
        return int(info["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def state_owner(folder: str | os.PathLike) -> str | None:
    """The output_name of the run that saved the state (state.json keeps the run's config:
    config.saving.output_name), or None for a state that does not say (an older loratui's)."""
    try:
        info = json.loads((Path(folder) / "state.json").read_text(encoding="utf-8"))
        name = info["config"]["saving"]["output_name"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return name if isinstance(name, str) and name else None


def state_folder_pattern(name: str) -> re.Pattern:
    """NAME-state, NAME-000004-state, NAME-step00000500-state (group 1), and the .tmp / .old a kill
    during a save leaves. A name alone does not tell whose a folder is: the run ``alice``'s epoch-2
    state and the run ``alice-000002``'s state are both alice-000002-state (``newest_state`` asks the
    state itself)."""
    return re.compile(rf"({re.escape(name)}(?:-\d{{6,}}|-step\d{{8,}})?-state)(?:\.tmp|\.old)?")


def _another_runs_files(output_dir: Path, folder_name: str, name: str) -> bool:
    """Whether the output folder holds the files of a run named as the state folder is, less "-state"
    (alice-000002.events.jsonl or .lock for alice-000002-state), when that is not NAME itself."""
    stem = folder_name.removesuffix("-state")
    return stem != name and any((output_dir / f"{stem}{suffix}").exists() for suffix in (".events.jsonl", ".lock"))


def newest_state(output_dir: str | os.PathLike, name: str) -> tuple[Path, Path, int] | None:
    """The state a resume should continue from: of the run's state folders in ``output_dir``, the one
    holding the latest step (its state.json), NAME-state on a tie. Returns (the folder to pass to
    --resume, the one the engine reads for it (``find_resume_state``), the step), or None.

    The run's own: a state whose state.json names its run (config.saving.output_name) counts only for
    that run, whatever the folder is called (another run named NAME-000002 saves NAME-000002-state
    too). One that does not (an older loratui's) counts by its folder name, unless in doubt: when a
    state here is recorded as NAME's (the unrecorded ones are then leftovers older than it, or another
    run's) or when the folder holds another run's files by that name (NAME-000002.events.jsonl)."""
    pattern = state_folder_pattern(name)
    try:
        names = {m.group(1) for m in map(pattern.fullmatch, os.listdir(output_dir)) if m}
    except OSError:
        return None
    owned, unrecorded = [], []
    for folder_name in names:
        folder = Path(output_dir) / folder_name
        read, _ = find_resume_state(folder)
        step = state_step(read) if complete_state(read) else None
        if step is None:
            continue
        owner = state_owner(read)
        candidate = ((step, folder_name == f"{name}-state"), folder, read, step)
        if owner == name:
            owned.append(candidate)
        elif owner is None and (folder_name == f"{name}-state"
                                or not _another_runs_files(Path(output_dir), folder_name, name)):
            unrecorded.append(candidate)
    candidates = owned or unrecorded
    best = max(candidates, key=lambda c: c[0], default=None)
    return best[1:] if best else None


def resume_command(state: str | os.PathLike, config: str | os.PathLike | None = None) -> str:
    """``loratui train CONFIG --resume STATE`` as the user pastes it into a shell here: each path relative
    to the current folder when below it, quoted where a shell needs it (``CONFIG`` when not known)."""
    from loratui.core.termline import shell_path

    shown = shell_path(config) if config else "CONFIG"
    return f"loratui train {shown} --resume {shell_path(state)}"


def resume_hint(output_dir: str | os.PathLike, name: str, config: str | os.PathLike | None = None) -> str | None:
    """"resume from the newest complete state (step N): `loratui train CONFIG --resume STATE`" for the run
    NAME's newest complete state in ``output_dir`` (``newest_state``), or None when it has none."""
    found = newest_state(output_dir, name)
    if found is None:
        return None
    folder, _, step = found
    return f"resume from the newest complete state (step {step:,}): `{resume_command(folder, config)}`"
