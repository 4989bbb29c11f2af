"""Which undo journal a Dataset screen write, undo or redo uses: the train folder's, or the reg folder's.

core's journal records paths inside its own folder only (an entry pointing outside it is refused), so reg
captions, whose folder sits beside the train folder (``reg/`` beside ``img/``) or anywhere a config says,
are journaled in the reg folder. A write never mixes the two kinds (the screen refuses such a scope), so
each change is still one ctrl+z; ctrl+z walks the journal whose newest change came last, ctrl+y the one
whose next redo was undone last, by the "created" time each entry records. Nothing here imports textual.
"""

from __future__ import annotations

from pathlib import Path

from loratui.core.errors import LoratuiError


def journal_root(store, paths) -> Path:
    """The reg folder for reg captions, the train folder otherwise; LoratuiError (nothing written) for both."""
    rows = [store.by_caption.get(path) for path in paths]
    reg = [row is not None and row.reg for row in rows]
    if store.reg_root is None or not any(reg):
        return store.root
    if not all(reg):
        raise LoratuiError("a change of train and reg captions at once: nothing was written; filter with "
                           "`reg` or `not reg` to change one kind at a time")
    return store.reg_root


def entry_time(folder: Path, last: bool) -> float | None:
    """The "created" time of a journal folder's last (or first) entry; None: no entry. An empty file is
    a name a killed apply reserved (core's journal skips it too)."""
    from loratui.core.captions import read_header

    try:
        found = sorted(p for p in folder.glob("*.json") if p.stem.isdigit() and p.stat().st_size > 0)
    except OSError:
        return None
    if not found:
        return None
    header = read_header(found[-1] if last else found[0])
    created = header[0].get("created") if header else None
    return float(created) if isinstance(created, (int, float)) else 0.0


def undo_root(store) -> Path:
    """Whose journal ctrl+z walks: the reg folder's when its newest change came after the train folder's."""
    from loratui.core.captions import journal_dir

    if store.reg_root is None:
        return store.root
    reg = entry_time(journal_dir(store.reg_root), last=True)
    train = entry_time(journal_dir(store.root), last=True)
    return store.reg_root if reg is not None and (train is None or reg > train) else store.root


def redo_root(store) -> Path:
    """Whose journal ctrl+y walks: the one whose next redo was undone last (its change is the older one)."""
    from loratui.core.captions import redo_dir

    if store.reg_root is None:
        return store.root
    reg = entry_time(redo_dir(store.reg_root), last=False)
    train = entry_time(redo_dir(store.root), last=False)
    return store.reg_root if reg is not None and (train is None or reg < train) else store.root
