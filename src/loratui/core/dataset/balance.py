"""Balance concept folders: pick repeats so each concept gives about the same samples per epoch.

Planning is pure (scan in, list of renames out) so the CLI and the TUI can show the plan before
anything moves; applying is separate and refuses to clobber anything. The record that lets a balance
be undone (and ``record_and_rename``, which writes it before the renames) is balance_record.py's.
"""

from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from loratui.core.dataset.balance_pending import mark_renamed, settle_records, write_pending
from loratui.core.dataset.scan import MAX_REPEATS, DatasetScan, Subset
from loratui.core.dataset.parking import temp_name
from loratui.core.errors import LoratuiError
from loratui.core.termline import shell_arg


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


def reg_balance_refusal(reg_dir: Path, train_dir: Path | None = None) -> str:
    """The one line that refuses to balance a reg folder (``train_dir``: the training folder it goes with)."""
    instead = f"the training folder {train_dir}" if train_dir is not None else "the training folder"
    return (f"{reg_dir}: reg folders are padded or cut to the train images' count: balancing them changes "
            f"nothing; balance {instead} instead")


def reg_fills(scan: DatasetScan) -> bool:
    """Whether the scan's reg folders add samples: any reg image at all. sd-scripts then repeats the reg
    images (each folder by its repeats, round and round) or cuts them until there are exactly as many as
    the train samples, so an epoch holds twice the train samples (train_util DreamBoothDataset)."""
    return any(subset.images for subset in scan.reg_subsets) and not scan.reg_only


def samples_change_line(scan: DatasetScan, before: int, after: int) -> str:
    """`samples per epoch: 43 -> 90`, with the reg fill the change brings along when there are reg images
    (they double every epoch: a balance that doubles the train samples doubles that too)."""
    line = f"samples per epoch: {before} -> {after}"
    if reg_fills(scan):
        line += f" (+ as many reg samples: {2 * before} -> {2 * after} in all)"
    return line


def renamed(subset: Subset, repeats: int) -> str:
    """The folder name with its repeat prefix replaced, everything after it kept byte for byte."""
    prefix, sep, rest = subset.name.partition("_")
    return f"{repeats}{sep}{rest}"


def nothing_to_balance_line(scan: DatasetScan) -> str:
    """Why there is nothing to balance (no concept folder with images), with the next step: a flat folder
    (its images lie directly in it) is laid out by `dataset init` first."""
    root = scan.train_data_dir
    if any(p.kind == "loose_images" and p.path == root for p in scan.problems):
        return (f"{root} holds its images directly, not in `N_name` concept folders, so there is nothing to balance: "
                f"lay them out first, e.g. `loratui dataset init PROJECT --concept NAME --repeats 10 --images "
                f"{shell_arg(root)}`, then balance PROJECT")
    return (f"{root} has no concept folders with images to balance: put the images in `N_name` folders "
            "(`loratui dataset init` makes the layout), then balance again")


def balance_plan(scan: DatasetScan, target: int | None = None, *, target_field: str = "--target") -> list[Rename]:
    """Renames that bring every train concept's repeats x images close to target (only the changes).

    Repeats are rounded to the nearest integer and never go below 1. Reg folders are left alone:
    sd-scripts repeats reg images to match the train image count by itself (a reg folder scanned on
    its own is refused: LoratuiError, reg_balance_refusal's line). ``target_field``: what the user
    typed the target into, named when it is too large (the CLI's --target, the app's field).
    """
    if scan.reg_only:
        raise LoratuiError(reg_balance_refusal(scan.train_data_dir))
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
                               f"pick a smaller {target_field}; nothing was renamed")
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


def apply_renames(plan: list[Rename], *, journal_follows: bool = True) -> None:
    """Rename folders; all or nothing. Raises LoratuiError before touching anything if it would clobber,
    or (BalanceBusyError) while another loratui writes captions in the train folder (``train_write_lock``).
    ``journal_follows``: first, under the lock, write down for the undo journals what is about to move
    (balance_pending.py), so they follow it even after a kill at any moment (``follow_folder_renames`` in
    core.captions, or else the next use of each journal, rewrites their paths).

    Each folder goes straight to its new name when the order allows (a chain ``2_a -> 4_a -> 8_a``
    moves ``4_a`` first), so a kill between two renames leaves every concept visible and trained.
    Only a cycle (a swap ``2_a -> 4_a`` with ``4_a -> 2_a``) parks one folder of it under a temporary
    name that ends in its destination, for the moment the others take its name; the scan names such
    a folder left by a killed balance, with the command that finishes it. A SIGTERM or SIGHUP that
    would end the process mid-way waits for the renames (milliseconds) to finish.
    """
    if not plan:
        return
    with train_write_lock(plan[0].source.parent):
        conflicts = plan_conflicts(plan)  # checked under the lock: a write may have just ended
        if conflicts:
            raise LoratuiError(conflicts[0])
        # Each entry records where a folder sits now, so a failure can move it back to its source.
        moved: list[tuple[Path, Path]] = []  # (source, current location)
        pending = _journal_pending(plan) if journal_follows else []
        with _deadly_signals_held():
            try:
                with _ctrl_c_between_renames() as check:
                    _rename_in_order(plan, moved, check)
                    mark_renamed(pending)  # in here: a Ctrl-C while it is written rolls the renames back too
            except OSError as exc:
                _roll_back(moved)
                settle_records(pending)
                if exc.errno not in _NOT_WRITABLE:
                    raise
                raise LoratuiError(_not_writable_line(exc, plan, moved)) from None
            except BaseException:
                _roll_back(moved)
                settle_records(pending)
                raise


def _journal_pending(plan: list[Rename]) -> list[Path]:
    """``write_pending`` for the plan, or one line (nothing renamed) when its record cannot be written."""
    try:
        return write_pending((r.source, r.dest) for r in plan)
    except OSError as exc:
        raise LoratuiError(f"{exc.filename or plan[0].source.parent}: cannot note the renames for the undo journal "
                           f"({exc.strerror or exc}), so nothing was renamed: free some space or make the folder "
                           "writable, then try again") from None


_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)


def _not_writable_line(exc: OSError, plan: list[Rename], moved: list[tuple[Path, Path]]) -> str:
    """One line for a rename refused for permissions: a rename needs write permission on the folder that
    holds the concept folders (not on the concept folder the raw error names), so that folder is named,
    with the fix."""
    holder = plan[0].source.parent
    left = [source for source, _current in moved if not source.is_dir()]
    outcome = ("nothing was renamed" if not left else
               f"{len(left)} folder(s) could not be renamed back: check {', '.join(p.name for p in left)}")
    if exc.errno == errno.EROFS:
        return f"{holder}: the disk is read-only, so its concept folders cannot be renamed; {outcome}"
    return (f"{holder}: cannot rename the concept folders in it (permission denied): make it writable "
            f"(chmod u+w {shell_arg(holder)}) and try again; {outcome}")


# The caption journal's lock file (core.captions.journal ``journal_lock``), named here because
# core.dataset may not import core.captions: a balance and a caption write (apply, undo, redo, a
# caption run's batch) in the app or a shell exclude each other, so no folder moves under a write.
WRITE_LOCK_FOLDER = Path(".loratui") / "undo"
WRITE_LOCK_NAME = "write.lock"
WRITE_LOCK_WAIT = 1.0  # seconds a balance waits for a caption write to end before refusing


class BalanceBusyError(LoratuiError):
    """Another loratui is writing in this train folder (it holds the caption journal's lock)."""


def train_write_lock(train_dir: str | os.PathLike):
    """Hold the train folder's write lock for a balance (or its undo); BalanceBusyError, nothing
    renamed, when a caption write holds it for longer than WRITE_LOCK_WAIT."""
    from loratui.core.fsutil import folder_lock

    def busy(holder: int | None) -> BalanceBusyError:
        pid = f" (pid {holder})" if holder else ""
        return BalanceBusyError(f"{train_dir}: another loratui write is running here{pid}; nothing was renamed: "
                                "try again when it has finished")

    # create=False: a train folder no caption write ever journaled has no write running (an apply makes
    # the folder before it locks); a balance leaves nothing new behind on a plain dataset
    return folder_lock(Path(train_dir) / WRITE_LOCK_FOLDER, busy, wait=WRITE_LOCK_WAIT, name=WRITE_LOCK_NAME,
                       create=False)


def _rename_in_order(plan: list[Rename], moved: list[tuple[Path, Path]], check=lambda: None) -> None:
    at = {i: rename.source for i, rename in enumerate(plan)}  # where each folder is now
    slot: dict[int, int] = {}  # its entry in ``moved``
    pending = list(at)
    while pending:
        occupied = {at[i] for i in pending}
        ready = [i for i in pending if plan[i].dest not in occupied]
        if not ready:  # only cycles left: park one folder, so the one waiting for its name can go
            i = pending[0]
            temp = at[i].with_name(temp_name(os.getpid(), i, plan[i].dest.name))
            if os.path.lexists(temp):
                raise LoratuiError(f"temporary name {temp} is in use; remove it and retry")
            check()
            _move(plan[i].source, at[i], temp, moved, slot, i)
            at[i] = temp
            continue
        for i in ready:
            if os.path.lexists(plan[i].dest):
                raise LoratuiError(f"{plan[i].dest} appeared while renaming; nothing was overwritten")
            check()
            _move(plan[i].source, at[i], plan[i].dest, moved, slot, i)
            at[i] = plan[i].dest
        pending = [i for i in pending if i not in ready]


def _move(source: Path, current: Path, dest: Path, moved: list[tuple[Path, Path]], slot: dict[int, int],
          index: int) -> None:
    os.rename(current, dest)
    if index in slot:
        moved[slot[index]] = (source, dest)
    else:
        slot[index] = len(moved)
        moved.append((source, dest))


@contextmanager
def _deadly_signals_held():
    """SIGTERM and SIGHUP (an SSH link dropping), where nothing handles them, would end the process
    between two renames: they wait until the renames (or their roll-back) are done, then act. A
    handler someone installed (the app's, KeyboardInterrupt's) is left alone."""
    import signal
    import threading

    held: dict[int, object] = {}
    caught: list[int] = []
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP"):
            sig = getattr(signal, name, None)
            if sig is not None and signal.getsignal(sig) == signal.SIG_DFL:
                held[sig] = signal.signal(sig, lambda number, frame: caught.append(number))
    try:
        yield
    finally:
        for sig, handler in held.items():
            signal.signal(sig, handler)
        if caught:
            signal.raise_signal(caught[0])


@contextmanager
def _ctrl_c_between_renames():
    """A Ctrl-C lands between two renames, never between a rename and its note in ``moved`` (the roll-back
    would miss that folder, leaving it renamed with no record: hunt h2 F1): yields the check run before
    each rename, which acts on one caught since; one caught after the last rename acts on leaving (inside
    the caller's roll-back). Only on the main thread, over a handler Python set (KeyboardInterrupt's, a
    command's); the app's Ctrl-C is a key, not a signal."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or not callable(signal.getsignal(signal.SIGINT)):
        yield lambda: None
        return
    caught: list[int] = []
    handler = signal.signal(signal.SIGINT, lambda number, frame: caught.append(number))

    def check() -> None:
        if caught:
            caught.clear()
            handler(signal.SIGINT, None)  # raises KeyboardInterrupt (the roll-back follows), or was handled

    try:
        yield check
    finally:
        signal.signal(signal.SIGINT, handler)
    if caught:
        handler(signal.SIGINT, None)


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
