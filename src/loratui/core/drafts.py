"""Drafts: what the user typed and did not save, kept on disk so a dropped SSH link loses nothing.

A draft lives beside the file it belongs to, hidden: ``.NAME.loratui-draft`` (``lora.toml`` ->
``.lora.toml.loratui-draft``; the name does not end in .toml, so nothing that lists configs sees it).
It is written atomically (core.fsutil) and removed once the file is saved or the user discards it.

The Settings screen's draft (``SettingsDraft``) holds only the fields that differ from the file, as
typed (text that does not check yet included), each with the file's value when it was taken: a key
the file changed since then is a conflict the user decides, never applied blindly. The file's
SHA-256 then tells whether the config changed on disk at all after the draft.

One draft file per running app: two loratui instances on one project must not overwrite each other's
typing, so each writes (and deletes) only its own file, named with its writer (``.lora.toml.loratui-draft-
PID-START``: the process id and, where /proc tells it, the process start time in clock ticks since boot;
a reused pid has another start time). ``draft_files`` lists every draft of a target with whether its
writer still runs (the old unsuffixed name counts as an ended session's). A screen offers only the
drafts whose writer is gone (or that it wrote itself), merged; a live one belongs to that app.
Limit: a pid from another pid namespace (another container sharing the folder) cannot be checked; it
is taken as alive when a process of that pid (and start time) runs here, else as ended.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from loratui.core.errors import LoratuiError
from loratui.core.fsutil import atomic_write_text

DRAFT_SUFFIX = ".loratui-draft"
SETTINGS_KIND = "loratui settings draft"


def draft_document(text: str, path: str | os.PathLike, kind: str, what: str, body: str,
                   body_type: type) -> tuple[dict, LoratuiError]:
    """A draft file's JSON object of ``kind`` whose ``body`` key holds a ``body_type``, and the error to
    raise for anything inside it that does not fit (raised here for the rest): one line naming ``path``."""
    bad = LoratuiError(f"{path}: not a loratui {what} draft (damaged?): delete it if it is not needed")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise bad from None
    if not isinstance(data, dict) or data.get("kind") != kind or not isinstance(data.get(body), body_type):
        raise bad
    return data, bad


def process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from /proc; None where that cannot be read)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None  # field 22 of stat; [0] after the name is field 3


def writer_tag(pid: int | None = None) -> str:
    """This process's (or ``pid``'s) name part of a draft file: ``PID`` or ``PID-START``."""
    pid = os.getpid() if pid is None else pid
    start = process_start(pid)
    return f"{pid}-{start}" if start else str(pid)


def writer_alive(tag: str) -> bool:
    """Whether the app that wrote a draft tagged ``tag`` (writer_tag) still runs: its pid exists and,
    when the tag has a start time, the process of that pid started then (not a reused pid)."""
    pid_text, _, start = tag.partition("-")
    try:
        pid = int(pid_text)
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        pass  # exists, someone else's
    except OSError:
        return False
    return not start or process_start(pid) in (start, None)


def tagged_path(base: str | os.PathLike, tag: str) -> Path:
    """``base`` with a writer tag: ``.x.loratui-draft`` -> ``.x.loratui-draft-TAG``; ``d.json`` -> ``d-TAG.json``."""
    base = Path(base)
    if base.suffix == ".json":
        return base.with_name(f"{base.stem}-{tag}.json")
    return base.with_name(f"{base.name}-{tag}")


@dataclass
class DraftFile:
    path: Path
    tag: str | None      # the writer (None: the old single name, an ended session's)
    own: bool            # written by this process
    alive: bool          # its writer runs: another app's unsaved edits (own: False)

    @property
    def pid(self) -> int | None:
        return int(self.tag.partition("-")[0]) if self.tag else None


def draft_files(base: str | os.PathLike) -> list[DraftFile]:
    """Every draft file of ``base`` (an untagged draft name) in its folder, oldest name first."""
    base = Path(base)
    if base.suffix == ".json":
        pattern = re.compile(re.escape(base.stem) + r"(?:-(\d+(?:-\d+)?))?" + re.escape(base.suffix))
    else:
        pattern = re.compile(re.escape(base.name) + r"(?:-(\d+(?:-\d+)?))?")
    mine = writer_tag()
    found = []
    try:
        names = sorted(os.listdir(base.parent))
    except OSError:
        return []
    for name in names:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        tag = match.group(1)
        own = tag == mine
        found.append(DraftFile(base.parent / name, tag, own, bool(tag) and not own and writer_alive(tag)))
    return found


def base_draft_path(target: str | os.PathLike) -> Path:
    """The untagged draft name of ``target`` (``.NAME.loratui-draft``): what older versions wrote."""
    target = Path(target)
    return target.with_name(f".{target.name}{DRAFT_SUFFIX}")


def draft_path(target: str | os.PathLike, tag: str | None = None) -> Path:
    """Where this app (or the writer ``tag``) keeps the draft of ``target``: ``.NAME.loratui-draft-TAG``."""
    return tagged_path(base_draft_path(target), tag or writer_tag())


def write_draft(path: str | os.PathLike, text: str) -> None:
    atomic_write_text(path, text)


def read_draft(path: str | os.PathLike) -> str | None:
    """The draft's text, or None when there is none. An unreadable one is a LoratuiError naming it."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise LoratuiError(f"{path}: cannot read this draft ({reason}); delete it if it is not needed") from None


def remove_draft(path: str | os.PathLike) -> bool:
    """Delete a draft; False when there was none."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def file_sha256(path: str | os.PathLike) -> str | None:
    """The file's SHA-256, or None when it cannot be read (no file yet)."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


@dataclass
class FieldDraft:
    typed: str          # the text in the field, as typed (maybe not valid yet)
    file: str | None    # the value the field was compared with then (None: the config did not exist)


@dataclass
class SettingsDraft:
    """The changed Settings fields of one config ("section.key" -> FieldDraft)."""

    config: str
    fields: dict[str, FieldDraft] = field(default_factory=dict)
    config_sha256: str | None = None
    written: float = 0.0

    def to_text(self) -> str:
        return json.dumps({"kind": SETTINGS_KIND, "version": 1, "config": self.config,
                           "config_sha256": self.config_sha256, "written": self.written or time.time(),
                           "fields": {key: {"typed": f.typed, "file": f.file} for key, f in self.fields.items()}},
                          indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_text(cls, text: str, path: str | os.PathLike) -> SettingsDraft:
        """Parse a draft; anything else is a LoratuiError naming ``path`` and saying what to do."""
        data, bad = draft_document(text, path, SETTINGS_KIND, "Settings", "fields", dict)
        fields = {}
        for key, entry in data["fields"].items():
            if not (isinstance(entry, dict) and isinstance(entry.get("typed"), str)
                    and isinstance(entry.get("file"), (str, type(None)))):
                raise bad
            fields[key] = FieldDraft(entry["typed"], entry["file"])
        written = data.get("written")
        sha = data.get("config_sha256")
        return cls(config=str(data.get("config", "")), fields=fields,
                   config_sha256=sha if isinstance(sha, str) else None,
                   written=float(written) if isinstance(written, (int, float)) else 0.0)

    def changed_on_disk(self, config: str | os.PathLike) -> bool:
        """Whether the config's bytes differ from when the draft was taken (created or deleted too)."""
        return file_sha256(config) != self.config_sha256

    def conflicts(self, file_now: dict[str, str | None]) -> list[str]:
        """The drafted keys whose value in the file changed since the draft (``file_now``: key -> the
        file's value as a field shows it, None for every key while there is no file)."""
        return [key for key, f in self.fields.items() if file_now.get(key, "\0missing") != f.file]


def read_settings_draft(path: Path) -> SettingsDraft | None:
    """One Settings draft file (None: gone). ``written`` falls back to the file's mtime."""
    text = read_draft(path)
    if text is None:
        return None
    draft = SettingsDraft.from_text(text, path)
    draft.written = draft.written or file_time(path)
    return draft


def file_time(path: Path) -> float:
    """When a draft file was written, by its mtime (0.0: unknown): for drafts that do not say."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@dataclass
class GatheredSettingsDraft:
    """The drafts of one config that may be offered (their writers ended, or this app), merged."""

    draft: SettingsDraft | None          # None: nothing to offer
    files: list[Path]                    # the files merged into it (restore/delete act on all)
    live: list[int]                      # pids of other running apps with drafts of this config
    problems: list[str]                  # damaged drafts (LoratuiError lines), left alone


def gather_settings_drafts(config: str | os.PathLike) -> GatheredSettingsDraft:
    """Merge every offerable draft of ``config``: per field the newest draft's entry wins; the merged
    draft's SHA is the oldest one's when they differ (an outside change since any of them is named)."""
    merged, files, live, problems, merged_parts = None, [], [], [], []
    for found in draft_files(base_draft_path(config)):
        if found.alive:
            live.append(found.pid)
            continue
        try:
            draft = read_settings_draft(found.path)
        except LoratuiError as exc:
            problems.append(str(exc))
            continue
        if draft is None:
            continue
        files.append(found.path)
        if merged is None:
            merged = SettingsDraft(draft.config, {}, draft.config_sha256, 0.0)
        merged_parts.append(draft)
    if merged is not None:
        for draft in sorted(merged_parts, key=lambda d: d.written):
            merged.fields.update(draft.fields)
            if draft.config_sha256 != merged.config_sha256:
                merged.config_sha256 = "\0several"  # drafts taken of different files: changed since one
            merged.written = max(merged.written, draft.written)
    return GatheredSettingsDraft(merged, files, live, problems)


def load_settings_draft(config: str | os.PathLike) -> SettingsDraft | None:
    """The offerable Settings drafts of ``config`` merged (None: none); a damaged one is a LoratuiError."""
    gathered = gather_settings_drafts(config)
    if gathered.problems and gathered.draft is None:
        raise LoratuiError(gathered.problems[0])
    return gathered.draft
