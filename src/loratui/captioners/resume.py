"""Resuming an interrupted caption run from its undo journal (`loratui caption ... --resume`).

A caption run journals every caption it writes (core.captions.ChangeWriter) in one entry whose
description names the captioner and the write mode: ``caption run: wd14 (append)``. That entry is
exactly "what the run already did", so a resume skips those images only (not every image with a
caption, which would leave the user's own captions of an append or overwrite run untouched) and
keeps the run's mode.

Every run that may write (not a dry run) is recorded when it starts, in ``.loratui/caption-run.json``
beside the journal folder: ``{"last": {captioner, mode, started, entry, resumes, finished[, options]}}``
(``options``, the command's options, where the starter gives them: a resume that would change the
captions' style, another model or threshold, can then be told apart from one that only adds --force). A resume
continues that last attempt only: its own entry and those of the runs it resumed (``resumes``). So a
run cancelled while its model loaded (it wrote nothing) never makes --resume pick an older run, in
an older mode; it says that the last run wrote nothing instead. A run that captioned every image is
marked ``finished``: nothing to resume. Where there is no record (runs of an older loratui) the newest
caption run in the journal is resumed, and the line naming it says so.

Pure file work (no onnxruntime, no torch): the app reads it too. Entries are read with the journal's
own readers (core.captions: read_header, load_entry), which know both of its layouts.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from loratui.core.captions import entry_item, journal_dir, landed, load_entry, read_header
from loratui.core.errors import Hint, LoratuiError
from loratui.core.fsutil import atomic_write_text

RUN_FILE = "caption-run.json"  # beside the journal folder (older versions kept {"finished": "<entry>"} there)
FINISHED_FILE = RUN_FILE
# The way out of "nothing to resume": a flag to drop in a shell, the start key ({start}) in the app
# (LoratuiError.worded(start=...)).
RESUME = Hint("--resume: ", "")
NEW_RUN = Hint("start a new run without --resume", "{start} starts a new run")
AGAIN = Hint("start it again without --resume", "{start} starts it again")
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
    started: float = 0.0   # wall clock: when the run (its last attempt) started
    recorded: bool = True  # False: no record of the runs (an older loratui): the journal's newest was taken
    options: list[str] | None = None  # the last attempt's command options, where its record holds them

    @property
    def entry(self) -> RunEntry:
        return self.entries[0]

    def wrote(self, caption: Path) -> bool:
        return _norm(caption) in self.written

    def line(self, now: float | None = None, start_key: str = "") -> str:
        """One line naming the run resumed (the CLI prints it; the app shows it with ``start_key``, the key
        that starts a new run there, in place of the CLI's flag)."""
        names = ", ".join(entry.path.name for entry in self.entries)
        said = (f"resuming the {self.captioner} run ({self.mode}) of {ago(self.started, now)}: it wrote "
                f"{len(self.written)} caption(s) ({names}), skipped now")
        if not self.recorded:
            new_run = f"{start_key} starts a new run" if start_key else "start a new run without --resume"
            said += ("; no record of later runs (an older loratui ran them): if this is not the run you mean, "
                     f"{new_run}")
        return said


def captioner_family(name: str) -> tuple[str, ...]:
    """The captioner names a run of ``name`` may journal: `caption blip` loads BLIP, BLIP-2 or GIT."""
    return ("blip", "blip2", "git") if name == "blip" else (name,)


def ago(when: float, now: float | None = None) -> str:
    """``12 min ago``: when a run started, in the unit a person counts it in."""
    seconds = max(0, int((time.time() if now is None else now) - when))
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if unit == 'day' and count > 1 else ''} ago"
    return f"{seconds} s ago"


def _norm(path: str | os.PathLike) -> str:
    return os.path.normcase(os.path.normpath(os.path.abspath(path)))


def _run_entry(entry: Path) -> RunEntry | None:
    read = read_header(entry)
    if read is None:
        return None
    header, records = read
    match = _DESCRIPTION.match(str(header.get("description", "")))
    if not match:
        return None
    return RunEntry(entry, match["captioner"], match["mode"], bool(match["resumed"]),
                    float(header.get("created") or 0.0), records)


def caption_run_entries(train_dir: str | os.PathLike) -> list[RunEntry]:
    """The caption runs in the undo journal of ``train_dir``, newest first (undone ones are not there)."""
    folder = journal_dir(train_dir)
    if not folder.is_dir():
        return []
    found = (_run_entry(entry) for entry in sorted((p for p in folder.glob("*.json") if p.stem.isdigit()),
                                                   reverse=True))
    return [entry for entry in found if entry is not None]


def run_entry_since(train_dir: str | os.PathLike, captioner: str, since: float) -> RunEntry | None:
    """The entry of a ``captioner`` run that started at ``since`` (wall clock) or later: how the app
    finds what a killed run wrote (it sent no ``finished`` event naming its journal)."""
    for entry in caption_run_entries(train_dir):
        if entry.created < since:
            return None
        if entry.captioner == captioner:
            return entry
    return None


def _run_file(train_dir: str | os.PathLike) -> Path:
    return journal_dir(train_dir).parent / RUN_FILE


def _read_record(train_dir: str | os.PathLike) -> dict:
    try:
        record = json.loads(_run_file(train_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


@dataclass
class RunAttempt:
    """A caption run that may write, recorded as the last one from its start (see the module doc).
    Every save is best effort: a folder where the record cannot be written gets no journal either."""
    train_dir: Path
    captioner: str
    mode: str
    resumes: list[str] = field(default_factory=list)  # entry names of the runs it continues
    started: float = field(default_factory=time.time)
    entry: str | None = None
    options: list[str] | None = None  # the command's options (not the folder): what a resume compares against

    def begin(self) -> None:
        """Recorded where a journal folder exists (with none there is no older run to mistake for it;
        a folder the run leaves unchanged gets no ``.loratui``)."""
        if journal_dir(self.train_dir).parent.is_dir():
            self._save()

    def journal_started(self, entry: Path) -> None:
        """The run's journal entry was made (its first caption is being written)."""
        if self.entry != Path(entry).name:
            self.entry = Path(entry).name
            self._save()

    def finished(self) -> None:
        """Every image captioned: --resume has nothing left to continue."""
        if self.entry is not None or self.resumes or journal_dir(self.train_dir).parent.is_dir():
            self._save(finished=True)

    def _save(self, finished: bool = False) -> None:
        record = _read_record(self.train_dir)
        record["last"] = {"captioner": self.captioner, "mode": self.mode, "started": self.started,
                          "entry": self.entry, "resumes": list(self.resumes), "finished": finished}
        if self.options is not None:
            record["last"]["options"] = list(self.options)
        if finished and (self.entry or self.resumes):  # what older versions read
            record["finished"] = self.entry or self.resumes[0]
        try:
            _run_file(self.train_dir).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(_run_file(self.train_dir), json.dumps(record) + "\n")
        except OSError:
            pass


def find_interrupted_run(train_dir: str | os.PathLike, dataset_arg: str = "") -> InterruptedRun:
    """The last caption run of ``train_dir`` when it did not finish, with what it wrote; LoratuiError
    (one line) when there is nothing to resume."""
    where = dataset_arg or str(train_dir)
    last = _read_record(train_dir).get("last")
    if isinstance(last, dict) and isinstance(last.get("captioner"), str):
        run = _recorded_run(train_dir, where, last)
    else:
        run = _newest_run(train_dir, where)
    root = Path(train_dir)
    for entry in run.entries:
        record = load_entry(entry.path)
        for number, item in enumerate(record["files"], 1):
            path, old, _expected = entry_item(entry.path, number, item, root)
            if landed(path, old):
                run.written.add(_norm(path))
    return run


def _recorded_run(train_dir, where: str, last: dict) -> InterruptedRun:
    """The last attempt's run: its own entry and those of the runs it resumed."""
    captioner, mode = str(last["captioner"]), str(last.get("mode", ""))
    started = float(last.get("started") or 0.0)
    what = f"the last caption run of {where} ({captioner}, {mode}, {ago(started)})"
    if last.get("finished"):
        raise LoratuiError(RESUME, f"{what} finished with every image captioned: nothing to resume; ", NEW_RUN)
    by_name = {entry.path.name: entry for entry in caption_run_entries(train_dir)}
    names = [name for name in [last.get("entry"), *(last.get("resumes") or [])] if isinstance(name, str)]
    if last.get("entry") is None:  # killed before it could record its entry: the entry made since it started
        own = next((e for e in by_name.values() if e.created >= started and e.mode == mode
                    and e.captioner in captioner_family(captioner) and e.path.name not in names), None)
        names = ([own.path.name] if own is not None else []) + names
    entries = [by_name[name] for name in names if name in by_name]
    if not entries:
        if names:
            raise LoratuiError(RESUME, f"{what}: its captions were undone, so there is nothing to continue; ", AGAIN)
        raise LoratuiError(RESUME, f"nothing to resume: {what} wrote nothing; ", AGAIN)
    options = last.get("options")
    options = [str(o) for o in options] if isinstance(options, list) else None
    return InterruptedRun(captioner, mode, entries, started=started, options=options)


def _newest_run(train_dir, where: str) -> InterruptedRun:
    """No record of the runs (an older loratui): the newest caption run in the journal, unless marked
    finished, with the runs it resumed before it."""
    runs = caption_run_entries(train_dir)
    if not runs:
        raise LoratuiError(RESUME, f"{where} has no caption run in its undo journal to resume (a run that wrote "
                           "nothing, or one undone, has nothing to continue): ",
                           Hint("start a new run instead", "{start} starts a new run"))
    newest = runs[0]
    if str(_read_record(train_dir).get("finished")) == newest.path.name:
        raise LoratuiError(RESUME, f"the last caption run of {where} ({newest.captioner}, {newest.mode}) finished "
                           "with every image captioned: nothing to resume (a run stopped before it wrote anything: ",
                           AGAIN, ")")  # the bracket closes the sentence: no part of either wording
    chain = [newest]
    for older in runs[1:]:  # a resumed run continues the one before it: skip what both wrote
        if not chain[-1].resumed or (older.captioner, older.mode) != (newest.captioner, newest.mode):
            break
        chain.append(older)
    return InterruptedRun(newest.captioner, newest.mode, chain, started=chain[-1].created, recorded=False)

