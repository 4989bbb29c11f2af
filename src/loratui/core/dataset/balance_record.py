"""The last balance, kept on disk (``.loratui/balance.json`` in the train folder) so that its undo
outlives the app: the app's ctrl+z and `loratui dataset balance --undo` rename the folders back.

A balance is recorded before any folder moves (``record_and_rename``, what the CLI and the app do), so a
balance that could not be undone is never made; renames that then fail put the record back as it was.
Planning and the renames themselves live in balance.py.
"""

from __future__ import annotations

import os
from pathlib import Path

from loratui.core.dataset.balance import Rename, apply_renames
from loratui.core.errors import LoratuiError
from loratui.core.termline import shell_arg

LAST_BALANCE = Path(".loratui") / "balance.json"


def record_balance(train_dir: str | os.PathLike, plan: list[Rename], after_entry: str | None) -> None:
    """Remember a balance before its renames (``after_entry``: the newest caption-journal entry then), so
    the app's ctrl+z can rename the folders back after a restart, and after `loratui dataset balance`.
    Each folder's inode is kept too, read from the sources (a rename keeps a folder's inode): a swap
    (``2_a <-> 4_a``) swapped back by hand has the same names, but not the same folders.

    A record that cannot be written raises OSError whose text names the file, why (a full disk with its
    free space, a folder not writable) and the fix, so nothing is renamed that could not be undone. The
    record it replaces is kept inside it, for ``forget_balance(renames_failed=True)`` to put back when
    the renames then fail."""
    import json

    from loratui.core.fsutil import atomic_write_text

    root = Path(train_dir)
    record = root / LAST_BALANCE
    data: dict = {"after_entry": after_entry,
                  "renames": [[r.source.name, r.dest.name, r.old_repeats, r.new_repeats, r.images,
                               _inode(r.source)] for r in plan]}
    replaced = _raw_record(record)
    if replaced is not None:  # with its time: ctrl+z weighs it against reg caption changes
        data["replaces"] = {**replaced, "recorded_at": balance_recorded_at(root)}
    try:
        record.parent.mkdir(exist_ok=True)
        atomic_write_text(record, json.dumps(data))
    except OSError as exc:
        why, fix = _record_problem(root, exc)
        raise OSError(exc.errno, f"{record}: cannot record the balance ({why}), so nothing was renamed "
                                 f"(its undo could not be kept): {fix}") from exc


class BalanceNotRecordedError(LoratuiError):
    """``record_and_rename`` refused before any folder moved: the record could not be written. The
    text is record_balance's one line (the file, why, "so nothing was renamed", the fix)."""


def record_and_rename(train_dir: str | os.PathLike, plan: list[Rename], after_entry: str | None) -> None:
    """Record the balance, then rename its folders (all or nothing): what the CLI and the app do, so
    `--undo` and ctrl+z can always rename them back. A record that cannot be written raises
    BalanceNotRecordedError and renames nothing; renames that fail drop the record again (the one it
    replaced is put back) and raise as ``apply_renames`` does."""
    try:
        record_balance(train_dir, plan, after_entry)
    except OSError as exc:
        raise BalanceNotRecordedError(exc.strerror or str(exc)) from exc
    try:
        apply_renames(plan)  # the undo journals follow, even after a kill mid-way
    except BaseException:
        if not balance_still_applied(plan):  # a Ctrl-C that came just after the last rename keeps the record
            forget_balance(train_dir, renames_failed=True)
        raise


RECORD_ROOM = 1 << 20  # free bytes under which a record (a few KB) that failed to write is put down to a full disk


def _record_problem(root: Path, exc: OSError) -> tuple[str, str]:
    """(why the balance record could not be written, what to do): a full disk (or almost no space left:
    a write refused for room may say EIO on some file systems), a folder not writable, or the error."""
    import shutil

    from loratui.core.diskspace import is_disk_full, no_space_advice

    try:
        free = shutil.disk_usage(root).free
    except OSError:
        free = None
    if is_disk_full(exc) or (free is not None and free < RECORD_ROOM):
        return "the disk is full", no_space_advice(root, again="balance again")
    folder = root / LAST_BALANCE.parent
    holder = folder if folder.is_dir() else root
    if not os.access(holder, os.W_OK):
        return f"{holder} is not writable", f"make it writable (chmod u+w {shell_arg(holder)}) and balance again"
    return exc.strerror or type(exc).__name__, f"check {folder} and balance again"


def _raw_record(record: Path, *, replaced: bool = False) -> dict | None:
    """The record on disk as a dict without the one it replaced (one level is kept), or (``replaced``)
    that one; None when there is none."""
    import json

    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    kept = data.pop("replaces", None) if isinstance(data, dict) else None
    data = kept if replaced else data
    return data if isinstance(data, dict) else None


def _inode(path: Path) -> list[int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return [found.st_dev, found.st_ino]


def _read_record(root: Path) -> tuple[list[Rename], list, object]:
    """The balance record's renames, each folder's inode (None in older records) and ``after_entry``;
    OSError, ValueError, KeyError, TypeError or AttributeError when it is missing or unreadable."""
    import json

    data = json.loads((root / LAST_BALANCE).read_text(encoding="utf-8"))
    plan, inodes = [], []
    for src, dest, old, new, images, *inode in data["renames"]:
        plan.append(Rename(root / src, root / dest, int(old), int(new), int(images)))
        inodes.append(inode[0] if inode else None)  # older records have none
    return plan, inodes, data.get("after_entry")


_RECORD_ERRORS = (OSError, ValueError, KeyError, TypeError, AttributeError)


def balance_recorded_at(train_dir: str | os.PathLike) -> float | None:
    """When the last balance of ``train_dir`` was recorded (the record's mtime, a ``time.time()``), or
    None without one: the app's ctrl+z weighs it against caption changes journaled elsewhere (reg)."""
    try:
        return (Path(train_dir) / LAST_BALANCE).stat().st_mtime
    except OSError:
        return None


def last_balance(train_dir: str | os.PathLike) -> tuple[list[Rename], str | None] | None:
    """The recorded balance, while its folders still hold their new names (and the old names the
    plan does not reuse are free); else None. Read fresh each time: `loratui dataset balance` in
    another shell may have written it a moment ago."""
    try:
        plan, inodes, after = _read_record(Path(train_dir))
    except _RECORD_ERRORS:
        return None
    if not balance_still_applied(plan):
        return None
    if any(known is not None and _inode(r.dest) != list(known) for r, known in zip(plan, inodes)):
        return None  # other folders under those names now (a swap undone by hand)
    return plan, after if isinstance(after, str) else None


def no_balance_undo_line(train_dir: str | os.PathLike) -> str:
    """Why there is no balance to undo in ``train_dir`` (``last_balance`` found none), as one line: none
    was recorded, or its folders changed since (renamed by hand, removed, or their old names taken)."""
    root = Path(train_dir)
    if not os.path.lexists(root / LAST_BALANCE):
        return f"{root}: no balance to undo (none was made here, or it was undone already); nothing was renamed"
    try:
        plan, inodes, _after = _read_record(root)
    except _RECORD_ERRORS:
        return (f"{root / LAST_BALANCE}: the record of the last balance cannot be read; nothing was renamed: "
                "rename the concept folders back by hand")
    dests = {r.dest for r in plan}
    gone = next((r for r in plan if not r.dest.is_dir()), None)
    taken = next((r for r in plan if r.source not in dests and os.path.lexists(r.source)), None)
    swapped = next((r for r, known in zip(plan, inodes) if known is not None and _inode(r.dest) != list(known)), None)
    if gone is not None:
        why = f"{gone.dest.name} (from {gone.source.name}) is gone"
    elif taken is not None:
        why = f"{taken.source.name} exists again"
    elif swapped is not None:
        why = f"{swapped.dest.name} is another folder now"
    else:
        why = "the record is empty"
    return (f"{root}: the folders changed since the last balance ({why}), so it cannot be undone; nothing was "
            "renamed: rename the concept folders by hand")


def balance_still_applied(plan: list[Rename]) -> bool:
    """Each folder of ``plan`` holds its new name and each old name no other folder took is free: a
    chain (``2_a -> 4_a -> 8_a``) or a swap reuses old names, so those are not asked to be free."""
    dests = {r.dest for r in plan}
    return bool(plan) and all(r.dest.is_dir() for r in plan) and \
        not any(os.path.lexists(r.source) for r in plan if r.source not in dests)


def undo_balance(plan: list[Rename]) -> list[Rename]:
    """Rename the folders of an applied balance back (all or nothing, as ``apply_renames``: a chain
    in a safe order, a swap through one parked folder); returns the renames done."""
    back = [Rename(r.dest, r.source, r.new_repeats, r.old_repeats, r.images) for r in plan]
    apply_renames(back)
    return back


def forget_balance(train_dir: str | os.PathLike, *, renames_failed: bool = False) -> None:
    """Drop the balance record (it was undone). ``renames_failed``: the balance just recorded
    (``record_balance``, before its renames) renamed nothing, so the record it replaced, if any, is put back: that
    earlier balance is still applied and ctrl+z may still rename it back."""
    import json

    from loratui.core.fsutil import atomic_write_text

    record = Path(train_dir) / LAST_BALANCE
    if renames_failed:
        data = _raw_record(record, replaced=True)
        if data is not None:
            recorded_at = data.pop("recorded_at", None)
            try:
                atomic_write_text(record, json.dumps(data))
                if isinstance(recorded_at, (int, float)):
                    os.utime(record, (recorded_at, recorded_at))
                return
            except OSError:
                pass  # no room to put it back: no record at all beats one of a balance never made
    try:
        record.unlink(missing_ok=True)
        if renames_failed:
            record.parent.rmdir()  # made for the record alone: a balance that renamed nothing leaves nothing
    except OSError:
        pass  # not empty (undo journals live there too), or gone already

