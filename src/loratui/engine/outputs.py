"""What a run does with the files already in its output folder before it writes its own.

- A fresh run moves the last run's final LoRA, states and intermediate saves (NAME.safetensors,
  NAME-state, NAME-000003.safetensors, NAME-step00000500.safetensors and their -state folders) into
  NAME-kept-<time>/: a state belongs to its own run (resuming it later would continue that run over
  this one's files), an old epoch save beside this run's reads as this run's (save_last_n_epochs would
  count it too), and the final would be overwritten when this run completes (sd-scripts loses it). A
  NAME.safetensors that is a promoted copy of a save goes to NAME-promoted*.safetensors instead
  (core/promote.py). A config whose network_weights is one of these files starts from it all the same,
  and loses none: it moves along (when it is NAME.safetensors a copy is kept there and the final stays
  in place until this run overwrites it).
- A resume keeps aside every output newer than its state before writing it anew: past the state's
  step (a branch resumed from NAME-000001-state), or written by a session that started after the
  state was saved (another run on the same output_name). The final LoRA is copied to
  NAME-kept-stepN.safetensors; NAME-state and intermediate saves are renamed to NAME-kept-stepN-state,
  NAME-kept-000002.safetensors, NAME-kept-step00000010.safetensors (-2, -3... when taken): names no
  save writes or prunes. The sample images past the state's step (their names hold it) go into
  NAME-kept-<time>/sample/ (engine/run_resume.py, with run_folder.py's ``move_samples_aside``).
No torch here: safetensors headers and state.json only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from loratui.core.errors import LoratuiError


@dataclass
class Kept:
    """One output kept aside: ``source`` now lives on as ``kept`` (a copy when ``copied``)."""

    source: Path
    kept: Path
    why: str
    kind: str            # "final", "state", "epoch", "step"
    step: int
    epoch: int           # its ss_epoch: a step save's is the epochs done before its step (as sd-scripts writes it)
    copied: bool = False


def lora_header(path: Path) -> dict | None:
    """A LoRA's metadata (ss_steps, ss_epoch, ss_training_started_at), or None when it is no readable
    .safetensors file."""
    try:
        with open(path, "rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            if not 0 < size < 100 * 2**20:
                return None
            header = json.loads(handle.read(size))
    except (OSError, ValueError):
        return None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return meta if isinstance(meta, dict) else {}


def _number(value, kind=int):
    try:
        return kind(value)
    except (TypeError, ValueError):
        return kind(0)


def _free(folder: Path, stem: str, suffixes: tuple[str, ...]) -> str:
    """``stem``, else stem-2, stem-3 ...: the first for which no ``stem + suffix`` exists."""
    n, candidate = 1, stem
    while any(os.path.lexists(folder / f"{candidate}{s}") for s in suffixes):
        n += 1
        candidate = f"{stem}-{n}"
    return candidate


def _state_step_and_time(folder: Path) -> tuple[int, float] | None:
    from loratui.engine.resume_check import read_state_info, state_saved_at

    try:
        info = read_state_info(folder)
    except LoratuiError:
        return None
    return _number(info.get("step")), state_saved_at(folder, info)


def keep_newer_outputs(output_dir: Path, name: str, *, resumed: Path, step: int, saved_at: float) -> list[Kept]:
    """Keep aside what a resume from a state at ``step`` (saved at ``saved_at``) would write anew and is
    newer than it (the module docstring); returns what was kept, for the run to say."""
    kept: list[Kept] = []
    resumed = Path(resumed).resolve()

    def newer(out_step: int, when: float, verb: str) -> str | None:
        if out_step > step:
            return f"holds step {out_step:,}, past this state's step {step:,}"
        if when > saved_at:
            return (f"holds step {out_step:,} of a run {verb} after this state was saved (another run named "
                    f"{name}, or one resumed from another state)")
        return None

    final = output_dir / f"{name}.safetensors"
    meta = lora_header(final) if final.is_file() else None
    if meta is not None:
        final_step, final_epoch = _number(meta.get("ss_steps")), _number(meta.get("ss_epoch"))
        why = newer(final_step, _number(meta.get("ss_training_started_at"), float), "started")
        if why:
            target = output_dir / (_free(output_dir, f"{name}-kept-step{final_step:08d}", (".safetensors",))
                                   + ".safetensors")
            copy_whole(final, target)
            from loratui.core.promote import record_kept_copy

            record_kept_copy(output_dir, name, target)  # the same bytes as the final: never taken for a promoted copy
            kept.append(Kept(final, target, why, "final", final_step, final_epoch, copied=True))
    state = output_dir / f"{name}-state"
    if state.is_dir() and state.resolve() != resumed:
        found = _state_step_and_time(state)
        why = newer(found[0], found[1], "saved") if found else None
        if why:
            target = output_dir / (_free(output_dir, f"{name}-kept-step{found[0]:08d}", ("-state",)) + "-state")
            os.replace(state, target)
            kept.append(Kept(state, target, why, "state", found[0], 0))
    # intermediate saves and their states, one save point (NAME-000002 / NAME-step00000010) at a time
    pattern = re.compile(rf"{re.escape(name)}-(\d{{6}}|step\d{{8,}})(\.safetensors|-state)")
    points: dict[str, set[str]] = {}
    for entry in os.listdir(output_dir):
        match = pattern.fullmatch(entry)
        if match:
            points.setdefault(match.group(1), set()).add(match.group(2))
    for point in sorted(points):
        lora, point_state = output_dir / f"{name}-{point}.safetensors", output_dir / f"{name}-{point}-state"
        if point_state.exists() and point_state.resolve() == resumed:
            continue  # the state this run resumes; its LoRA is the same save
        reasons = []
        meta = lora_header(lora) if ".safetensors" in points[point] and lora.is_file() else None
        out_step = _number(meta.get("ss_steps")) if meta else 0
        epoch = _number(meta.get("ss_epoch")) if meta else 0
        if meta is not None:
            if not out_step and point.startswith("step"):
                out_step = _number(point[4:])
            reasons.append(newer(out_step, _number(meta.get("ss_training_started_at"), float), "started"))
        if "-state" in points[point] and point_state.is_dir():
            found = _state_step_and_time(point_state)
            if found:
                out_step = out_step or found[0]
                reasons.append(newer(found[0], found[1], "saved"))
        why = next((r for r in reasons if r), None)
        if not why:
            continue
        stem = _free(output_dir, f"{name}-kept-{point}", (".safetensors", "-state"))
        for suffix in sorted(points[point]):
            source = output_dir / f"{name}-{point}{suffix}"
            target = output_dir / f"{stem}{suffix}"
            os.replace(source, target)
            kind = "state" if suffix == "-state" else "step" if point.startswith("step") else "epoch"
            kept.append(Kept(source, target, why, kind, out_step, epoch))
    return kept


def _first_run_started(path: Path) -> dict | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if '"run_started"' not in line:
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict) and event.get("event") == "run_started":
                    return event
    except OSError:
        return None
    return None


def begun_after_state(events_file: Path, state: Path, saved_at: float) -> bool:
    """Whether the run recorded in ``events_file`` began after the state was saved: a fresh run started
    since on the same output_name, whose history a resume must not append to (a resume of this same
    state, one that crashed say, is the same run)."""
    event = _first_run_started(events_file)
    if event is None or not isinstance(event.get("time"), (int, float)) or event["time"] <= saved_at:
        return False
    source = event.get("resumed_from")
    if isinstance(source, str) and source:
        if os.path.isabs(source):
            return Path(source).resolve() != Path(state).resolve()
        tail = Path(source).parts
        return Path(state).resolve().parts[-len(tail):] != tail  # typed relative to a cwd not known here
    return True


def carry_history(standard: Path, target: Path) -> bool:
    """A resume with --events elsewhere: the run's history so far (OUTPUT_DIR/NAME.events.jsonl, a
    regular file) is copied into the new, empty events file, so that it holds the whole run as a
    resume's file does. True when copied."""
    if target == standard or standard.is_symlink() or not standard.is_file():
        return False
    try:
        if target.exists() and target.stat().st_size:
            return False
        shutil.copyfile(standard, target)
    except OSError:
        return False
    return True


@dataclass
class LastRunAside:
    """What ``move_last_run_aside`` did: the kept folder, the paths moved into it, and where this run
    reads network_weights from when the last run's files held them (None: where the config says)."""

    folder: Path | None
    moved: list[Path]
    weights: Path | None = None
    weights_was: str = ""  # "final" (a copy kept) or "moved" (went with what held it)
    promoted: tuple[Path, Path] | None = None  # NAME.safetensors was a promoted copy of [0]: now at [1]

    @property
    def notes(self) -> list[str]:
        """Lines to say besides the kept folder's (which names what moved there)."""
        if self.promoted is None:
            return []
        source, now = self.promoted
        return [f"the last run's final name held a promoted copy of {source.name}: moved to {now.name} before this "
                "run writes its own final LoRA there"]


def copy_whole(source: Path, target: Path) -> Path:
    """A copy of ``source`` at ``target``, written whole or not at all: a temp file in the same folder,
    fsync, rename; the temp file is removed when the copy fails. The copy keeps the source's file time:
    core/run_files.py tells whose run a file is by it (a copy made later is still the earlier run's). The temp
    is named as core.fsutil's atomic writes name theirs (mkstemp: never a user's file taken over; a long name's
    stand-in), so a killed copy leaves a temp the next start of run NAME knows (engine/state.py ``leftovers``):
    under a save's name, NAME-kept-stepN[-k].safetensors, or NAME.safetensors in a NAME-kept-<time>/ folder."""
    import tempfile

    from loratui.core.fsutil import temp_prefix

    fd, name = tempfile.mkstemp(prefix=temp_prefix(target, ".tmp"), suffix=".tmp", dir=target.parent)
    tmp = Path(name)
    try:
        with open(fd, "wb") as dst, open(source, "rb") as src:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(dst.fileno(), 0o666 & ~umask)  # mkstemp's 0600 is not what the copy should have
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
            times = os.fstat(src.fileno())
        os.utime(tmp, ns=(times.st_atime_ns, times.st_mtime_ns))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _copy_into(source: Path, folder: Path) -> Path:
    """A copy of ``source`` in ``folder`` under its own name, written whole or not at all."""
    return copy_whole(source, folder / source.name)


def move_last_run_aside(output_dir: Path, name: str, *, starting_weights: str | os.PathLike | None = None
                        ) -> LastRunAside:
    """A fresh run: the last run's final LoRA, states and intermediate saves (and complete half-saved
    states) go into a new NAME-kept-<time of the newest>/ (the module docstring); a promoted copy in
    NAME.safetensors to NAME-promoted*.safetensors (``promoted``).

    ``starting_weights`` (network_weights) is never written over nor pruned: inside what moves (a state
    folder, an epoch save) it goes along, and when it is NAME.safetensors, which this run overwrites
    at its end, a copy goes into the kept folder (``weights``) and the final stays until then."""
    from loratui.core.promote import move_promoted_final_aside
    from loratui.core.runs import previous_outputs

    output_dir = Path(output_dir)
    final = output_dir / f"{name}.safetensors"
    weights = Path(os.path.realpath(starting_weights)) if starting_weights else None
    copy_final = weights is not None and final.is_file() and Path(os.path.realpath(final)) == weights
    # before anything moves: its bytes are compared with the saves it may be a copy of
    promoted = move_promoted_final_aside(output_dir, name) if not copy_final else None
    half = re.compile(rf"{re.escape(name)}(?:-\d{{6}}|-step\d+)?-state\.(?:tmp|old)")
    try:
        extra = [output_dir / e for e in os.listdir(output_dir) if half.fullmatch(e)]
    except OSError:
        extra = []
    moving = [p for p in [*previous_outputs(output_dir, name), *extra] if not (copy_final and p == final)]
    if not moving and not copy_final:
        return LastRunAside(None, [], promoted=promoted)
    everything = [*moving, final] if copy_final else moving
    newest = max((os.path.getmtime(p) for p in everything if os.path.lexists(p)), default=time.time())
    stem = f"{name}-kept-{time.strftime('%Y%m%d-%H%M%S', time.localtime(newest))}"
    folder = output_dir / _free(output_dir, stem, ("",))
    folder.mkdir()
    aside = LastRunAside(folder, [], promoted=promoted)
    if copy_final:  # before anything moves: this run overwrites the original when it completes
        aside.weights, aside.weights_was = _copy_into(final, folder), "final"
    for path in sorted(moving):
        real = Path(os.path.realpath(path))
        holds = weights is not None and (weights == real or real in weights.parents)
        try:
            os.replace(path, folder / path.name)
        except OSError as exc:
            if holds:  # left in place, this run would write over it: stop before anything loads
                raise LoratuiError(f"network.network_weights {starting_weights} is the last run's {path.name}, "
                                   f"which this run writes over, and it could not be moved to {folder} "
                                   f"({exc.strerror or exc}): copy it elsewhere and point network_weights "
                                   "there") from None
            continue
        aside.moved.append(path)
        if holds:
            aside.weights, aside.weights_was = folder / path.name / weights.relative_to(real), "moved"
    return aside
