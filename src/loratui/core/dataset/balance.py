"""Balance concept folders: pick repeats so each concept gives about the same samples per epoch.

Planning is pure (scan in, list of renames out) so the CLI and the TUI can show the plan before
anything moves; applying is separate and refuses to clobber anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from loratui.core.dataset.scan import MAX_REPEATS, DatasetScan, Subset
from loratui.core.dataset.parking import temp_name
from loratui.core.errors import LoratuiError


@dataclass(frozen=True)
class Rename:
    """One concept folder rename, e.g. `10_a -> 4_a`."""

    source: Path
    dest: Path
    old_repeats: int
    new_repeats: int
    images: int

    @property
    def old_samples(self) -> int:
        return self.old_repeats * self.images

    @property
    def new_samples(self) -> int:
        return self.new_repeats * self.images

    def __str__(self) -> str:
        return f"{self.source.name} -> {self.dest.name}"

    def to_dict(self) -> dict:
        return {
            "source": str(self.source),
            "dest": str(self.dest),
            "old_repeats": self.old_repeats,
            "new_repeats": self.new_repeats,
            "images": self.images,
            "old_samples": self.old_samples,
            "new_samples": self.new_samples,
        }


def balance_target(scan: DatasetScan) -> int:
    """Default target: the largest current samples-per-epoch among train concepts with images."""
    return max((s.samples for s in scan.train_subsets if s.images), default=0)


def renamed(subset: Subset, repeats: int) -> str:
    """The folder name with its repeat prefix replaced, everything after it kept byte for byte."""
    prefix, sep, rest = subset.name.partition("_")
    return f"{repeats}{sep}{rest}"


def balance_plan(scan: DatasetScan, target: int | None = None) -> list[Rename]:
    """Renames that bring every train concept's repeats x images close to target (only the changes).

    Repeats are rounded to the nearest integer and never go below 1. Reg folders are left alone:
    sd-scripts repeats reg images to match the train image count by itself.
    """
    if target is None:
        target = balance_target(scan)
    if target < 1:
        raise LoratuiError(f"balance target must be at least 1 sample per epoch (got {target})")
    plan = []
    for subset in scan.train_subsets:
        if not subset.images:
            continue
        whole, rest = divmod(target, subset.num_images)  # round() of the exact ratio, in integers
        repeats = max(1, whole + (2 * rest > subset.num_images or 2 * rest == subset.num_images and whole % 2))
        if repeats > MAX_REPEATS:  # integer arithmetic: a float turned 10**23 into 99999999999999991611392
            raise LoratuiError(f"balance target {target:,} needs {repeats:,} repeats for {subset.name} "
                               f"({subset.num_images} image(s)); the most a folder may say is {MAX_REPEATS:,}: "
                               "pick a smaller --target; nothing was renamed")
        if repeats == subset.repeats:
            continue
        dest = subset.path.with_name(renamed(subset, repeats))
        plan.append(Rename(subset.path, dest, subset.repeats, repeats, subset.num_images))
    return plan


def plan_conflicts(plan: list[Rename]) -> list[str]:
    """Why the plan cannot be applied as-is (empty list = safe): clashing or existing destinations."""
    problems = []
    sources = {r.source for r in plan}
    seen: dict[Path, Rename] = {}
    for rename in plan:
        other = seen.get(rename.dest)
        if other is not None:
            problems.append(
                f"{other} and {rename} would both be named {rename.dest.name}; merge those folders or set repeats by hand"
            )
        seen[rename.dest] = rename
        if rename.dest not in sources and os.path.lexists(rename.dest):
            problems.append(f"cannot rename {rename}: {rename.dest} already exists")
        if not rename.source.is_dir():
            problems.append(f"cannot rename {rename}: {rename.source} is gone (rescan the dataset)")
    return problems


def _direct_order(plan: list[Rename]) -> list[Rename] | None:
    """The renames in an order where each destination is free when its turn comes (a rename onto a
    folder the plan moves away waits for that move), or None when the plan has a cycle (a swap)."""
    pending = list(plan)
    sources = {r.source for r in plan}
    done: list[Rename] = []
    while pending:
        moved = {r.source for r in done}
        ready = [r for r in pending if r.dest not in sources or r.dest in moved]
        if not ready:
            return None
        done += ready
        pending = [r for r in pending if r not in ready]
    return done


def apply_renames(plan: list[Rename]) -> None:
    """Rename folders; all or nothing. Raises LoratuiError before touching anything if it would clobber.

    Each folder goes straight to its new name when the order allows (the usual balance: no folder
    ever has a hidden name, so a kill between two renames leaves every concept visible and trained).
    Only a cycle (``2_a -> 4_a`` with ``4_a -> 2_a``) parks folders under temporary names that end in
    their destination; the scan names any such folder left by a killed balance, with the command
    that finishes it.
    """
    conflicts = plan_conflicts(plan)
    if conflicts:
        raise LoratuiError(conflicts[0])
    # Each entry records where a folder sits now, so a failure can move it back to its source.
    moved: list[tuple[Path, Path]] = []  # (source, current location)
    try:
        ordered = _direct_order(plan)
        if ordered is not None:
            for rename in ordered:
                if os.path.lexists(rename.dest):
                    raise LoratuiError(f"{rename.dest} appeared while renaming; nothing was overwritten")
                os.rename(rename.source, rename.dest)
                moved.append((rename.source, rename.dest))
            return
        staged = []
        for index, rename in enumerate(plan):
            temp = rename.source.with_name(temp_name(os.getpid(), index, rename.dest.name))
            if os.path.lexists(temp):
                raise LoratuiError(f"temporary name {temp} is in use; remove it and retry")
            os.rename(rename.source, temp)
            moved.append((rename.source, temp))
            staged.append((len(moved) - 1, temp, rename))
        for slot, temp, rename in staged:
            if os.path.lexists(rename.dest):
                raise LoratuiError(f"{rename.dest} appeared while renaming; nothing was overwritten")
            os.rename(temp, rename.dest)
            moved[slot] = (rename.source, rename.dest)
    except BaseException:
        _roll_back(moved)
        raise


def _roll_back(moved: list[tuple[Path, Path]]) -> None:
    """Move folders back to their sources; repeat while progress is made (swaps free each other)."""
    pending = [(source, current) for source, current in moved if current != source]
    while pending:
        left = []
        for source, current in reversed(pending):
            if os.path.lexists(source):
                left.append((source, current))
                continue
            try:
                os.rename(current, source)
            except OSError:
                pass
        if len(left) == len(pending):
            return
        pending = list(reversed(left))


# ---- the last balance, kept on disk so that undo outlives the app ----------------------------------

LAST_BALANCE = Path(".loratui") / "balance.json"


def record_balance(train_dir: str | os.PathLike, plan: list[Rename], after_entry: str | None) -> None:
    """Remember a balance just applied (``after_entry``: the newest caption-journal entry then), so
    the app's ctrl+z can rename the folders back after a restart, and after `loratui dataset balance`.
    Best effort: a file that cannot be written leaves the folders renamed, as they are."""
    import json

    from loratui.core.fsutil import atomic_write_text

    root = Path(train_dir)
    data = {"after_entry": after_entry,
            "renames": [[r.source.name, r.dest.name, r.old_repeats, r.new_repeats, r.images] for r in plan]}
    try:
        (root / LAST_BALANCE).parent.mkdir(exist_ok=True)
        atomic_write_text(root / LAST_BALANCE, json.dumps(data))
    except OSError:
        pass


def last_balance(train_dir: str | os.PathLike) -> tuple[list[Rename], str | None] | None:
    """The recorded balance, while its folders still hold their new names (and the old ones are free);
    else None."""
    import json

    root = Path(train_dir)
    try:
        data = json.loads((root / LAST_BALANCE).read_text(encoding="utf-8"))
        plan = [Rename(root / src, root / dest, int(old), int(new), int(images))
                for src, dest, old, new, images in data["renames"]]
        after = data.get("after_entry")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not plan or not all(r.dest.is_dir() and not os.path.lexists(r.source) for r in plan):
        return None
    return plan, after if isinstance(after, str) else None


def forget_balance(train_dir: str | os.PathLike) -> None:
    try:
        (Path(train_dir) / LAST_BALANCE).unlink(missing_ok=True)
    except OSError:
        pass
