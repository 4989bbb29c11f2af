"""Which captions a `loratui tags` command on DIR works on: the train images', or the reg folder's.

As in the app's Dataset table, a project's reg folder (its config's reg_data_dir, "" = none; its reg/
without a config) is read beside the train images only when --where names `reg` (reg, not reg, -reg):
no --where, or one that does not name it, means the train images (the app's "every image"). A read
(`tags freq`) counts every caption the filter matches, train and reg. A change goes to one kind at a
time, as the app's bulk changes do: the reg captions are journaled in the reg folder (core's journal
keeps paths inside its own folder), and `tags undo DIR` walks whichever journal changed last
(tui.services.dataset_journals, the rule of the app's ctrl+z); a filter matching both kinds is refused.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from loratui.core.errors import LoratuiError

MIXED = ("--where {where!r} matches {train:,} train and {reg:,} reg caption(s): a change goes to one kind at a "
         "time (each has its own undo): start each or-part with `reg and` or `not reg and` (e.g. \"reg and "
         "tag:solo\"); nothing was written")


def names_reg(where: str | None) -> bool:
    """Whether a --where names the `reg` term (`reg`, `not reg`, `-reg`), read as core's filter splits it."""
    if not where or not where.strip():
        return False
    lexer = shlex.shlex(where, posix=True)
    lexer.whitespace_split, lexer.escape, lexer.commenters = True, "", ""
    try:
        return any(token.lower().lstrip("-") == "reg" for token in lexer)
    except ValueError:  # an unclosed quote: parse_where names it
        return False


def reg_folder(location) -> Path | None:
    """The reg folder whose captions are read with DIR's (a project's, or a train folder's by its config),
    as the app lists reg rows; None for a reg folder itself or one concept folder (its own captions only)."""
    if location.is_reg or location.concept is not None:
        return None
    return location.reg_dir


def reg_read(where: str | None, location) -> Path | None:
    """The reg folder to read with DIR's captions for this --where: only when it names `reg`."""
    return reg_folder(location) if names_reg(where) else None


def no_reg_folder_note(where: str | None, location) -> str | None:
    """A --where that names `reg` on a project or train folder that trains no reg folder (its config's
    reg_data_dir is "", or there is no reg/): `reg` then matches nothing, and the user is told why."""
    if not names_reg(where) or location.is_reg or location.concept is not None or location.reg_dir is not None:
        return None
    if location.kind not in ("project", "dataset"):
        return None
    return (f"note: {location.images_dir} trains no reg folder (its config's reg_data_dir is empty, or there is no "
            "reg/), so `reg` in --where matches nothing: set reg_data_dir, or run the command on the reg folder")


@dataclass
class WriteScope:
    """The captions one change goes to: ``images_dir``'s, journaled in ``root``; ``reg``: the reg folder's."""

    images_dir: Path
    root: Path
    captions: list
    reg: bool = False


def write_scope(where: str | None, predicate, location, train_captions: list, load_reg) -> WriteScope:
    """The train captions (as before), or the reg folder's when --where names `reg` and matches reg captions
    only (``load_reg(folder)`` reads them). LoratuiError, nothing written, when it matches both kinds."""
    train = WriteScope(location.images_dir, location.train_dir, train_captions)
    folder = reg_read(where, location)
    if folder is None or predicate is None:
        return train
    reg_captions = load_reg(folder)
    reg = sum(1 for c in reg_captions if predicate(c))
    if not reg:
        return train
    matched_train = sum(1 for c in train_captions if predicate(c))
    if matched_train:
        raise LoratuiError(MIXED.format(where=where, train=matched_train, reg=reg))
    return WriteScope(folder, folder, reg_captions, reg=True)


def reg_scope_note(folder: Path) -> str:
    """Said after the plan of a change to the reg captions: where they are and how the change is undone."""
    from loratui.commands.help_text import shell_arg

    return (f"--where selects regularisation images: the captions of {shell_arg(folder)} change, journaled there "
            "(`loratui tags undo DIR` takes it back)")


def journal_walked(train_root: Path, reg: Path | None, undoing: bool) -> Path:
    """The journal `tags undo` (or redo) on DIR walks: the reg folder's when its change (or undo) is the
    newer, as the app's ctrl+z / ctrl+y decide (redo entries a newer change made stale are dropped first)."""
    if reg is None:
        return train_root
    from loratui.tui.services.dataset_journals import redo_root, undo_root  # no textual: shared with the app

    store = SimpleNamespace(root=train_root, reg_root=reg)
    return undo_root(store) if undoing else redo_root(store)


def walk_history(folders: list[Path], undoing: bool) -> list[tuple[Path, Path, str, int]]:
    """(journal folder, entry, description, files) of `tags undo --list` (or redo's) over the train and reg
    journals as one history: at each step the journal whose next entry moved last, as ``journal_walked``
    picks it (each journal keeps its own order)."""
    from loratui.core.captions import entry_moved_at, history, redo_history

    lists = [[(folder, *row) for row in (history(folder) if undoing else redo_history(folder))] for folder in folders]
    rows = []
    while any(lists):
        pick = max((left for left in lists if left), key=lambda left: entry_moved_at(left[0][1]) or 0.0)
        rows.append(pick.pop(0))
    return rows
