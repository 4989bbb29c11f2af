"""Where a run's files are now (core/runs.py re-exports these names): the sample images of an output
name in OUTPUT_DIR/sample/ and the step in their names, and an earlier run's checkpoints and samples
once later runs moved them into NAME-kept-*/ (a fresh run: engine/run_folder.py; a resume, what is
past its state's step: engine/run_resume.py), kept them as NAME-kept-* in OUTPUT_DIR itself (a resume),
or wrote the same names again. No torch, no textual.

A file is taken as a run's own only when it was written within that run's time: not before its first
event (an older run's image of the same name, kept aside earlier) and not after its last (a later run's,
written in place).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from loratui.core.run_record import Checkpoint

SAMPLE_FOLDER = "sample"  # OUTPUT_DIR/sample/: engine/sampling.py writes a run's sample images there
EARLIER_SLACK_S = 2.0  # a file written this long after an earlier run's last event is a later run's
COARSE_NS = 10**7      # a file time in whole 10 ms (FAT, exFAT, ext3: coarse) may read after the event it preceded
BEGUN_SLACK_S = 0.001  # event times are rounded to the millisecond: a file of the run's first instant is its own


def _sample_name(name: str) -> re.Pattern:
    """engine/sampling.py's names, sd-scripts': NAME_<step>_<index>_<YYYYmmddHHMMSS>[_<seed>].png, an
    epoch's NAME_e<epoch>_...; and the names runs before them wrote, NAME_<step>_<index>_<seed>.png."""
    stem = re.escape(name)
    return re.compile(rf"{stem}_(?:(?P<epoch_mark>e?)(?P<number>\d{{6,}})_\d{{2,}}_\d{{14}}(?:_\d+)?"
                      rf"|(?P<old_step>\d{{6,}})_\d{{2,}}_-?\d+)\.png")


def previous_samples(output_dir: str | os.PathLike, name: str) -> list[Path]:
    """The sample images a run named ``name`` left in OUTPUT_DIR/sample/ (engine/sampling.py's names, and
    the older ones: ``_sample_name``; other names' samples are not among them). Sorted by name."""
    folder = Path(output_dir) / SAMPLE_FOLDER
    pattern = _sample_name(name)
    try:
        entries = os.listdir(folder)
    except OSError:
        return []
    return sorted(folder / e for e in entries if pattern.fullmatch(e) and not os.path.isdir(folder / e))


def sample_step(path: str | os.PathLike, name: str) -> int | None:
    """The step in a sample image's name (NAME_<step>_...png), or None for another name or an epoch's
    sample (NAME_e<epoch>_...: ``sample_epoch``)."""
    match = _sample_name(name).fullmatch(Path(path).name)
    if match is None or match["epoch_mark"]:
        return None
    return int(match["number"] or match["old_step"])


def sample_epoch(path: str | os.PathLike, name: str) -> int | None:
    """The epoch in an epoch's sample name (NAME_e<epoch>_..., sample_at_first's: 0), else None."""
    match = _sample_name(name).fullmatch(Path(path).name)
    return int(match["number"]) if match is not None and match["epoch_mark"] else None


def samples_past(output_dir: str | os.PathLike, name: str, step: int, epoch: int | None = None) -> list[Path]:
    """``previous_samples`` rendered after ``step``: those a run resumed from a state at ``step`` renders
    again. An epoch's sample names no step: it is among them only with ``epoch`` (the state's) given and
    its epoch past that one; else it stays (its name holds the time it was rendered: never written over)."""
    past = []
    for path in previous_samples(output_dir, name):
        at_step, at_epoch = sample_step(path, name), sample_epoch(path, name)
        if at_step is not None and at_step > step or at_epoch is not None and epoch is not None and at_epoch > epoch:
            past.append(path)
    return past


def _mtime(path: Path, coarse_only: bool = False) -> float | None:
    """The file's time; None when it is not there, or (``coarse_only``) when that time is a fine one."""
    try:
        info = path.stat()
    except OSError:
        return None
    return None if coarse_only and info.st_mtime_ns % COARSE_NS else info.st_mtime


def _as_it_was(path: Path, kept: "KeptCopies", ended: float | None, began: float | None,
               step: int | None = None) -> Path | None:
    """Where an earlier run's file is now: in place unless another run wrote it again (newer than the
    run's last event, or older than its first), else the newest copy in NAME-kept-*/ written within the
    run's time; None when gone. A run writes each file before the event that tells of it, so a file time
    past the last event is a later run's: only a coarse one (whole 10 ms) may read up to EARLIER_SLACK_S
    after it, and a copy written before the last event wins over such a one (a later run that moved this
    run's sample aside writes its own in place soon after)."""
    limits = ((None, False),) if ended is None else ((ended, False), (ended + EARLIER_SLACK_S, True))
    for limit, coarse_only in limits:
        when = _mtime(path, coarse_only)
        if when is not None and _within(when, began, limit):
            return path
        copy = kept.newest(path, began, limit, coarse_only) or kept.top_level(path, step, began, limit, coarse_only)
        if copy is not None:
            return copy
    return None


def _top_level_copy_names(name: str, file_name: str, step: int | None) -> re.Pattern | None:
    """The names under which a resume keeps a file of OUTPUT_DIR aside in OUTPUT_DIR itself, not in a
    NAME-kept-<time>/ folder: the final NAME.safetensors (its step known) as NAME-kept-stepN[-k].safetensors
    (engine/outputs.py, engine/run_resume.py) or NAME-stepN.safetensors (run_resume: the state's run's own);
    NAME-state as NAME-kept-stepN[-k]-state; a save NAME-<point> as NAME-kept-<point>[-k]. None otherwise."""
    stem = re.escape(name)
    if file_name in (f"{name}.safetensors", f"{name}-state"):
        if step is None:
            return None  # the step in the copy's name tells which final it is
        if file_name.endswith("-state"):
            return re.compile(rf"{stem}-kept-step0*{step}(?:-\d+)?-state")
        return re.compile(rf"{stem}-(?:kept-)?step0*{step}(?:-\d+)?\.safetensors")
    match = re.fullmatch(rf"{stem}-(\d{{6}}|step\d{{8,}})(\.safetensors|-state)", file_name)
    if match is None:
        return None
    return re.compile(rf"{stem}-kept-{match.group(1)}(?:-\d+)?{re.escape(match.group(2))}")


def _within(when: float, began: float | None, limit: float | None) -> bool:
    return (began is None or when >= began - BEGUN_SLACK_S) and (limit is None or when <= limit)


class KeptCopies:
    """The copies in OUTPUT_DIR/NAME-kept-*/ of an earlier run's files. Each folder is listed once, when
    first needed: a glob per file listed the whole output folder each time (400 saves: 1,200 listings,
    about 0.5 s a snapshot, redone every few seconds)."""

    def __init__(self, output_dir: Path, name: str):
        self.output_dir, self.name = output_dir, name
        self._listed: dict[Path, frozenset[str]] = {}
        self._folders: list[Path] | None = None

    def folders(self) -> list[Path]:
        """NAME-kept-*/ folders, sorted (what the glob's first part matched)."""
        if self._folders is None:
            prefix = f"{self.name}-kept-"
            self._folders = sorted(self.output_dir / entry for entry in self._entries(self.output_dir)
                                   if entry.startswith(prefix) and os.path.isdir(self.output_dir / entry))
        return self._folders

    def _entries(self, folder: Path) -> frozenset[str]:
        if folder not in self._listed:
            try:
                self._listed[folder] = frozenset(os.listdir(folder))
            except OSError:  # gone, not a folder, unreadable: nothing in it (as the glob found nothing)
                self._listed[folder] = frozenset()
        return self._listed[folder]

    def _exists(self, folder: Path, parts: tuple[str, ...]) -> bool:
        for part in parts:  # each folder on the way listed once; a name not listed is not there
            if part in (".", ".."):  # never listed: the glob took them as they are
                if not os.path.isdir(folder):
                    return False
            elif part not in self._entries(folder):
                return False
            folder = folder / part
        return True

    def newest(self, path: Path, began: float | None, limit: float | None, coarse_only: bool = False) -> Path | None:
        """The newest copy of ``path`` in NAME-kept-*/ (a sample: NAME-kept-<time>/sample/...) written
        between ``began`` and ``limit`` (``coarse_only``: with a coarse file time)."""
        try:
            inside = path.relative_to(self.output_dir).parts
        except ValueError:
            inside = (path.name,)
        if not inside:
            return None
        found = [(when, candidate) for folder in self.folders() if self._exists(folder, inside)
                 if (when := _mtime(candidate := folder.joinpath(*inside), coarse_only)) is not None
                 and _within(when, began, limit)]
        return max(found)[1] if found else None


    def top_level(self, path: Path, step: int | None, began: float | None, limit: float | None,
                  coarse_only: bool = False) -> Path | None:
        """The newest copy of a file of OUTPUT_DIR that a resume kept in OUTPUT_DIR itself
        (``_top_level_copy_names``; the final's copy keeps its file time) written between ``began`` and
        ``limit``; None for a sample or a file kept nowhere there."""
        if path.parent != self.output_dir:
            return None
        pattern = _top_level_copy_names(self.name, path.name, step)
        if pattern is None:
            return None
        found = [(when, candidate) for entry in self._entries(self.output_dir) if pattern.fullmatch(entry)
                 if (when := _mtime(candidate := self.output_dir / entry, coarse_only)) is not None
                 and _within(when, began, limit)]
        return max(found)[1] if found else None


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def earlier_checkpoints(checkpoints: list[Checkpoint], output_dir: str | os.PathLike, name: str,
                        ended: float | None, began: float | None = None) -> list[Checkpoint]:
    """An earlier run's checkpoints (``RunRecord.listed``) as they are now: each LoRA, state and sample
    where it is (moved into NAME-kept-<time>/ by a later run, a sample as NAME-kept-<time>/sample/...),
    samples written over since and kept nowhere left out; a LoRA found nowhere is kept in the list with
    ``gone`` set. ``ended``: the time of the run's last event; ``began``: of its first (``RunRecord.
    first_time``), else each checkpoint's ``run_began``; a copy written before it is another run's."""
    output_dir = Path(output_dir)
    kept = KeptCopies(output_dir, name)  # listed once for all the checkpoints
    found = []
    for checkpoint in checkpoints:
        since = began if began is not None else checkpoint.run_began

        def now(path, step: int | None = None) -> Path | None:
            return _as_it_was(Path(path), kept, ended, since, step)

        samples = [where for path in checkpoint.samples if (where := now(path)) is not None]
        if checkpoint.kind == "sample":
            if samples:
                found.append(Checkpoint(samples[0], "sample", checkpoint.step, checkpoint.epoch, None, samples,
                                        run_began=checkpoint.run_began))
            continue
        where = now(checkpoint.path, checkpoint.step)
        state = now(checkpoint.state, checkpoint.step) if checkpoint.state else None
        found.append(Checkpoint(where or Path(checkpoint.path), checkpoint.kind, checkpoint.step, checkpoint.epoch,
                                checkpoint.avg_loss, samples, state, checkpoint.asked, gone=where is None,
                                kept_aside=checkpoint.kept_aside, run_began=checkpoint.run_began))
    return found
