"""The newest caption-journal entry's name, for a balance: its record keeps that name, and its undo (the
app's ctrl+z, `loratui dataset balance --undo`) renames the folders back only while it is still the
newest, i.e. no caption change came after the balance."""

from __future__ import annotations

import os

from loratui.core.captions.journal import entries, journal_dir


def newest_entry_name(dataset: str | os.PathLike) -> str | None:
    """The newest entry's file name (``000042.json``; names reserved by a killed apply count too), or None
    without a journal. From the folder listing alone: no entry is read (the journal keeps up to 2,000)."""
    found = entries(journal_dir(dataset), reserved=True)
    return found[-1].name if found else None
