"""The undo journal's records: one entry's file format, read and written (journal.py writes and walks
the entries; undo.py walks them back).

An entry is one JSON document (``apply_plan``, and any entry an undo or redo walked) or, written by a
caption run (writer.ChangeWriter), a JSON header line followed by one file record per line. Each file
record holds the caption's old bytes (base64) and the sha1 of what the change wrote there.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from loratui.core.errors import Hint, LoratuiError


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def parse_entry(text: str) -> dict:
    """An entry's record: one JSON object, or (written by a ChangeWriter) a JSON header line followed
    by one file record per line. A torn last line is a record whose caption was never written."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if not exc.msg.startswith("Extra data"):
            raise
    lines = [line for line in text.split("\n") if line.strip()]
    record = json.loads(lines[0])
    files = record.setdefault("files", [])
    for number, line in enumerate(lines[1:], 2):
        try:
            files.append(json.loads(line))
        except ValueError:
            if number != len(lines) or text.endswith("\n"):
                raise
    return record


def read_header(entry: Path) -> tuple[dict, int] | None:
    """(the entry's record without its files, how many file records it holds) without decoding the
    records (they hold whole captions in base64), for either layout: one JSON document (``apply_plan``,
    and any entry an undo and redo walked) or a ChangeWriter's header line and one record per line (a
    torn last record is not counted: its caption was never written). None for an unreadable entry."""
    try:
        with open(entry, "rb") as fh:
            first = fh.readline()
            records, last = 0, b"\n"
            for line in fh:
                if line.strip():
                    records, last = records + 1, line
    except OSError:
        return None
    if not last.endswith(b"\n"):
        records -= 1
    try:
        header = json.loads(first)
    except ValueError:
        return None
    if not isinstance(header, dict):
        return None
    files = header.pop("files", None)
    if isinstance(files, list):  # one document: its files are inside it
        records = len(files)
    return header, max(0, records)


def landed(path: Path, old: bytes | None) -> bool:
    """Whether a journalled write of ``path`` happened: the file no longer holds its ``old`` bytes (None:
    there was no file). A kill between journalling and writing leaves records of files never written; undo
    skips them, and a caption edited since still counts as written. Unreadable now: not known to be as
    it was, so written."""
    try:
        return path.read_bytes() != old
    except FileNotFoundError:
        return old is not None
    except OSError:
        return True


def load_entry(entry: Path) -> dict:
    try:
        record = parse_entry(entry.read_text(encoding="utf-8"))
        if not isinstance(record.get("files"), list):
            raise ValueError("no file list")
        return record
    except FileNotFoundError:  # another loratui (or `tags undo`) walked it a moment ago
        raise LoratuiError(f"{entry.name}: that change was just undone or redone by another loratui",
                           Hint(" (or `loratui tags undo`)", ""), "; nothing done here: press it again for the next "
                           "one") from None
    except (OSError, ValueError, AttributeError) as exc:
        raise LoratuiError(f"{entry}: unreadable undo journal ({exc}): delete it to undo older edits") from None


def entry_item(entry: Path, number: int, item, dataset: Path) -> tuple[Path, bytes | None, str | None]:
    """(caption path, bytes to put back or None: delete, sha1 of what the file should hold now or
    None: absent) of one file record of a journal entry, checked."""
    bad = f"{entry}: unreadable undo journal (file record {number} is damaged): delete it to undo older edits"
    if not isinstance(item, dict) or not isinstance(item.get("path"), str) or "new_sha1" not in item:
        raise LoratuiError(bad)
    expected = item["new_sha1"]
    if expected is not None and not isinstance(expected, str):
        raise LoratuiError(bad)
    raw = item.get("old")
    try:
        old = None if raw is None else base64.b64decode(raw, validate=True)
    except (ValueError, TypeError):
        raise LoratuiError(bad) from None
    if old is not None and isinstance(item.get("old_sha1"), str) and sha1(old) != item["old_sha1"]:
        raise LoratuiError(bad)
    if ".." in Path(item["path"]).parts or Path(item["path"]).is_absolute():
        raise LoratuiError(f"{entry}: file record {number} points outside the dataset ({item['path']}); "
                           "delete the entry to undo older edits")
    return dataset / item["path"], old, expected


def file_record(dataset, path: Path, old: bytes | None, new: bytes | None) -> dict:
    """One file of a journal entry: walking the entry puts ``old`` back (None: deletes the file)
    where the file holds ``new`` (None: where it is absent)."""
    return {"path": os.path.relpath(path, dataset),
            "old": None if old is None else base64.b64encode(old).decode("ascii"),
            "old_sha1": None if old is None else sha1(old),
            "new_sha1": None if new is None else sha1(new)}
