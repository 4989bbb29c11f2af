"""Resuming an interrupted caption run from its undo journal (`loratui caption ... --resume`).

A caption run journals every caption it writes (core.captions.ChangeWriter) in one entry whose
description names the captioner and the write mode: ``caption run: wd14 (append)``. That entry is
exactly "what the run already did", so a resume skips those images only (not every image with a
caption, which would leave the user's own captions of an append or overwrite run untouched) and
keeps the run's mode. A resumed run's entry says ``(append, resumed)``, so resuming it again also
skips what the runs before it wrote.

A run that ended with every image captioned is marked finished (``.loratui/caption-run.json`` beside
the journal), so that there is nothing to resume; a run that was interrupted, killed (kill -9, out of
memory) or had failed images is not, and resuming it captions what it did not write.

Pure file work (no onnxruntime, no torch): the app reads it too. Only the first line of each entry
(its header) is parsed to find the run; the records are read for the run being resumed only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from loratui.core.captions import journal_dir
from loratui.core.errors import LoratuiError
from loratui.core.fsutil import atomic_write_text

FINISHED_FILE = "caption-run.json"  # beside the journal folder: {"finished": "<entry name>"}
_DESCRIPTION = re.compile(r"^caption run: (?P<captioner>[\w-]+) \((?P<mode>overwrite|append|skip)(?P<resumed>, resumed)?\)$")


def run_description(captioner: str, mode: str, resumed: bool = False) -> str:
    """The journal entry's description (shown by `tags undo --list` and the app's undo)."""
    return f"caption run: {captioner} ({mode}{', resumed' if resumed else ''})"


@dataclass(frozen=True)
class RunEntry:
    """One caption run's journal entry, from its header."""
    path: Path
    captioner: str
    mode: str
    resumed: bool
    created: float
    written: int  # file records: the captions the run wrote


@dataclass
class InterruptedRun:
    """The run a resume continues: its captioner and mode, and every caption it (and the runs it
    resumed) wrote."""
    captioner: str
    mode: str
    entries: list[RunEntry]
    written: set[str] = field(default_factory=set)  # normalised absolute caption paths

    @property
    def entry(self) -> RunEntry:
        return self.entries[0]

    def wrote(self, caption: Path) -> bool:
        return _norm(caption) in self.written


def _norm(path: str | os.PathLike) -> str:
    return os.path.normcase(os.path.normpath(os.path.abspath(path)))


def _read_header(entry: Path) -> tuple[dict, int] | None:
    """(header, file records) of a ChangeWriter entry, or None for another kind of entry or an
    unreadable one. Counts lines without decoding them (records hold whole captions in base64)."""
    try:
        with open(entry, "rb") as fh:
            first = fh.readline()
            records = 0
            last = b"\n"
            for line in fh:
                if line.strip():
                    records += 1
                    last = line
    except OSError:
        return None
    if not last.endswith(b"\n"):
        records -= 1  # a torn last record: its caption was never written
    try:
        header = json.loads(first)
    except ValueError:
        return None  # a one-document entry of `tags` (never a caption run's)
    return (header, records) if isinstance(header, dict) else None


def caption_run_entries(train_dir: str | os.PathLike) -> list[RunEntry]:
    """The caption runs in the undo journal of ``train_dir``, newest first (undone ones are not there)."""
    folder = journal_dir(train_dir)
    if not folder.is_dir():
        return []
    found = []
    for entry in sorted((p for p in folder.glob("*.json") if p.stem.isdigit()), reverse=True):
        read = _read_header(entry)
        if read is None:
            continue
        header, records = read
        match = _DESCRIPTION.match(str(header.get("description", "")))
        if match:
            found.append(RunEntry(entry, match["captioner"], match["mode"], bool(match["resumed"]),
                                  float(header.get("created") or 0.0), max(0, records)))
    return found


def run_entry_since(train_dir: str | os.PathLike, captioner: str, since: float) -> RunEntry | None:
    """The entry of a ``captioner`` run that started at ``since`` (wall clock) or later: how the app
    finds what a killed run wrote (it sent no ``finished`` event naming its journal)."""
    for entry in caption_run_entries(train_dir):
        if entry.created < since:
            return None
        if entry.captioner == captioner:
            return entry
    return None


def _finished_file(train_dir: str | os.PathLike) -> Path:
    return journal_dir(train_dir).parent / FINISHED_FILE


def mark_finished(train_dir: str | os.PathLike, entry: Path) -> None:
    """Note that the run of ``entry`` captioned every image: a --resume then has nothing to do.
    Best effort: without the note a resume re-captions only what the run did not write."""
    try:
        atomic_write_text(_finished_file(train_dir), json.dumps({"finished": Path(entry).name}) + "\n")
    except OSError:
        pass


def _finished_entry(train_dir: str | os.PathLike) -> str | None:
    try:
        return str(json.loads(_finished_file(train_dir).read_text(encoding="utf-8")).get("finished"))
    except (OSError, ValueError, AttributeError):
        return None


def find_interrupted_run(train_dir: str | os.PathLike, dataset_arg: str = "") -> InterruptedRun:
    """The last caption run of ``train_dir`` that did not finish, with what it wrote; LoratuiError
    (one line) when there is none to resume."""
    where = dataset_arg or str(train_dir)
    runs = caption_run_entries(train_dir)
    if not runs:
        raise LoratuiError(f"--resume: {where} has no caption run in its undo journal to resume (a run that wrote "
                           "nothing, or one undone, has nothing to continue): start a new run instead")
    newest = runs[0]
    if _finished_entry(train_dir) == newest.path.name:
        raise LoratuiError(f"--resume: the last caption run of {where} ({newest.captioner}, {newest.mode}) finished "
                           "with every image captioned: nothing to resume (a run stopped before it wrote anything: "
                           "start it again)")
    chain = [newest]
    for older in runs[1:]:  # a resumed run continues the one before it: skip what both wrote
        if not chain[-1].resumed or (older.captioner, older.mode) != (newest.captioner, newest.mode):
            break
        chain.append(older)
    run = InterruptedRun(newest.captioner, newest.mode, chain)
    root = Path(train_dir)
    for entry in chain:
        run.written.update(_norm(root / path) for path, old_sha1 in _records(entry.path)
                           if _landed(root / path, old_sha1))
    return run


def _landed(path: Path, old_sha1: str | None) -> bool:
    """A journalled caption that was written: its file no longer holds the old bytes (a kill between
    journalling a batch and writing it leaves records of captions never written; core's undo skips
    them the same way). A caption the user edited since still counts as written."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return old_sha1 is not None  # no file before, none now: never written
    except OSError:
        return True
    return old_sha1 is None or hashlib.sha1(data).hexdigest() != old_sha1


def _records(entry: Path) -> list[tuple[str, str | None]]:
    """(caption path relative to the journal's folder, sha1 of its old bytes) of an entry's records."""
    paths = []
    try:
        with open(entry, "rb") as fh:
            fh.readline()  # the header
            for line in fh:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a torn last record: never written
                if isinstance(record, dict) and isinstance(record.get("path"), str):
                    paths.append((record["path"], record.get("old_sha1")))
    except OSError as exc:
        raise LoratuiError(f"--resume: cannot read the undo journal {entry} ({exc.strerror or exc})") from None
    return paths
