"""Which undo journal a Dataset screen write, undo or redo uses: the train folder's, or the reg folder's.

core's journal records paths inside its own folder only (an entry pointing outside it is refused), so reg
captions, whose folder sits beside the train folder (``reg/`` beside ``img/``) or anywhere a config says,
are journaled in the reg folder. A write never mixes the two kinds (the screen refuses such a scope), so
each change is still one ctrl+z; ctrl+z walks the journal whose newest entry landed last (made or redone),
ctrl+y the one whose next redo was undone last, by the time each entry last moved (core's "moved"; its
"created" stays the change's). A change in either journal ends redo in both. Nothing here imports textual.
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
    """When a journal folder's last (or first) entry last moved: made, undone or redone (core's
    ``last_moved_at``; an entry keeps its "created" when walked, so that cannot order two journals).
    None: no entry."""
    from loratui.core.captions import last_moved_at

    return last_moved_at(folder, newest=last)


def undo_root(store) -> Path:
    """Whose journal ctrl+z walks: the reg folder's when its newest entry landed there (made or redone)
    after the train folder's."""
    from loratui.core.captions import journal_dir

    if store.reg_root is None:
        return store.root
    reg = entry_time(journal_dir(store.reg_root), last=True)
    train = entry_time(journal_dir(store.root), last=True)
    return store.reg_root if reg is not None and (train is None or reg > train) else store.root


def redo_root(store) -> Path:
    """Whose journal ctrl+y walks: the one whose next redo was undone last. Redo entries a newer change in
    the other journal made stale are dropped first (``drop_stale_redo``): redo works until the next change."""
    from loratui.core.captions import redo_dir

    if store.reg_root is None:
        return store.root
    drop_stale_redo(store)
    reg = entry_time(redo_dir(store.reg_root), last=False)
    train = entry_time(redo_dir(store.root), last=False)
    return store.reg_root if reg is not None and (train is None or reg > train) else store.root


def drop_stale_redo(store) -> int:
    """A change journaled in one folder (train or reg) ends redo in the other too, as in one editor:
    drop each folder's redo entries undone before the other's newest change. Core's apply clears its
    own folder's; ``DatasetStore.apply_entry`` calls this after each write, ``redo_root`` before each
    redo (a change made in a shell, or by a caption run, clears them then). Returns how many went."""
    from loratui.core.captions import clear_redo_before, newest_change_at

    if store.reg_root is None:
        return 0
    dropped = 0
    for mine, other in ((store.root, store.reg_root), (store.reg_root, store.root)):
        since = newest_change_at(other)
        if since is not None:
            dropped += clear_redo_before(mine, since)
    return dropped
