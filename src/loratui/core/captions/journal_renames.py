"""Undo journals follow renamed concept folders (`loratui dataset balance`, the app's Balance dialog):
every entry's caption paths are rewritten under the journal lock, so undo and redo still find them."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from loratui.core.captions.journal import _entries, entries, journal_dir, journal_lock, parse_entry, redo_dir
from loratui.core.errors import LoratuiError
from loratui.core.fsutil import atomic_write_text


def remap_folders(dataset: str | os.PathLike, mapping: dict[str, str]) -> int:
    """Follow renamed folders of ``dataset`` in every journal entry, so undo and redo still find the
    captions. ``mapping`` holds paths relative to ``dataset`` (``{"5_b": "20_b"}``, or
    ``{"img/5_b": "img/20_b"}`` for a journal further up), e.g. from `dataset balance`. Returns the
    entries rewritten; an unreadable entry is left as it is (undo reports it). Waits (a while: the
    folders are renamed already) for a write running on these captions to end."""
    with journal_lock(dataset, "the undo journal was not updated", create=False, wait=10.0):
        return _remap_locked(dataset, mapping)


def _remap_locked(dataset, mapping: dict[str, str]) -> int:
    changed = 0
    for entry in _entries(dataset) + entries(redo_dir(dataset)):
        try:
            record = parse_entry(entry.read_text(encoding="utf-8"))
            files = record["files"]
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            continue
        touched = False
        for item in files if isinstance(files, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("path"), str):
                continue
            path = item["path"].replace(os.sep, "/")
            for old, new in mapping.items():
                if path.startswith(old + "/"):
                    item["path"] = new + path[len(old):]
                    touched = True
                    break
        if touched:
            try:
                atomic_write_text(entry, json.dumps(record))
            except OSError as exc:
                raise LoratuiError(f"{entry}: cannot update the undo journal after renaming folders "
                                   f"({exc.strerror or exc}); undo of earlier tag edits may not find their files") from None
            changed += 1
    return changed


def follow_folder_renames(renames: Iterable[tuple[Path, Path]]) -> None:
    """Concept folders were renamed (source, dest), e.g. by `loratui dataset balance`: journals hold
    caption paths relative to the folder they sit in, so rename them in the train folder's journal
    and in any journal further up (`tags --recursive` on a project folder)."""
    by_parent: dict[Path, dict[str, str]] = {}
    for source, dest in renames:
        by_parent.setdefault(source.parent, {})[source.name] = dest.name
    for parent, names in by_parent.items():
        for holder in [parent, *parent.resolve().parents]:
            if not journal_dir(holder).is_dir():
                continue
            prefix = os.path.relpath(parent.resolve(), holder.resolve()).replace(os.sep, "/")
            head = "" if prefix == "." else prefix + "/"
            remap_folders(holder, {head + old: head + new for old, new in names.items()})
