"""Drafts: what the user typed and did not save, kept on disk so a dropped SSH link loses nothing.

A draft lives beside the file it belongs to, hidden: ``.NAME.loratui-draft`` (``lora.toml`` ->
``.lora.toml.loratui-draft``; the name does not end in .toml, so nothing that lists configs sees it).
It is written atomically (core.fsutil) and removed once the file is saved or the user discards it.

The Settings screen's draft (``SettingsDraft``) holds only the fields that differ from the file, as
typed (text that does not check yet included), each with the file's value when it was taken: a key
the file changed since then is a conflict the user decides, never applied blindly. The file's
SHA-256 then tells whether the config changed on disk at all after the draft.
"""

from __future__ import annotations

import hashlib
import json
import os
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


def draft_path(target: str | os.PathLike) -> Path:
    """Where the draft of ``target`` goes: ``.NAME.loratui-draft`` in the same folder."""
    target = Path(target)
    return target.with_name(f".{target.name}{DRAFT_SUFFIX}")


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


def load_settings_draft(config: str | os.PathLike) -> SettingsDraft | None:
    """The Settings draft of ``config`` (None: none). ``written`` falls back to the file's mtime."""
    path = draft_path(config)
    text = read_draft(path)
    if text is None:
        return None
    draft = SettingsDraft.from_text(text, path)
    if not draft.written:
        try:
            draft.written = path.stat().st_mtime
        except OSError:
            pass
    return draft
