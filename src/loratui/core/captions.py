"""Caption files: an ordered list of tags (or free text), read and written without losing a byte.

A caption file holds one caption on its first line (sd-scripts reads nothing else; further lines are
kept untouched and reported). The first line is split into tags at the separator, but never inside
parentheses or brackets, so prompt weights such as ``(red hair, blue eyes:1.2)`` and escaped
parentheses ``\\(cat\\)`` stay one tag. Free text (a BLIP sentence) is simply a caption with one tag.

Round trip: ``Caption.format(caption.tags)`` gives back the file's exact bytes (BOM, ``\\r\\n``,
trailing newline, odd spacing) while the tags are unchanged; only changed captions are re-joined
with the separator. Writes are atomic, keep the file's encoding and newline style, skip unchanged
files and refuse to overwrite a file that changed on disk since it was read (ConflictError).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from loratui.core.errors import ConflictError, LoratuiError
from loratui.core.fsutil import atomic_write_bytes
from loratui.core.images import iter_images

BOM = "\ufeff"
DEFAULT_SEPARATOR = ","
_OPEN = "([{"
_CLOSE = ")]}"


def split_tags(line: str, separator: str = DEFAULT_SEPARATOR) -> list[str]:
    """Tags of one caption line: split at ``separator`` outside brackets, stripped, empties dropped."""
    tags: list[str] = []
    depth = 0
    start = 0
    i = 0
    sep_len = len(separator)
    while i < len(line):
        ch = line[i]
        if ch == "\\":  # an escaped character never opens, closes or separates
            i += 2
            continue
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE and depth:
            depth -= 1
        elif depth == 0 and line.startswith(separator, i):
            tags.append(line[start:i])
            i += sep_len
            start = i
            continue
        i += 1
    tags.append(line[start:])
    return [t.strip() for t in tags if t.strip()]


def join_tags(tags: list[str], separator: str = DEFAULT_SEPARATOR) -> str:
    """The canonical form of a changed caption: ``a, b, c`` (separator followed by one space)."""
    glue = separator + " " if separator.strip() else separator
    return glue.join(tags)


@dataclass(frozen=True)
class Fingerprint:
    """What a caption file looked like when it was read (to detect changes made meanwhile)."""

    exists: bool
    size: int = 0
    mtime_ns: int = 0  # kept for callers that stat; the content hash is what decides
    sha1: str = ""

    @classmethod
    def of(cls, data: bytes | None, path: Path) -> Fingerprint:
        if data is None:
            return cls(False)
        return cls(True, len(data), 0, hashlib.sha1(data).hexdigest())

    def matches(self, path: Path) -> bool:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return not self.exists
        return self.exists and hashlib.sha1(data).hexdigest() == self.sha1


@dataclass
class Caption:
    """One caption file as read: its tags plus everything needed to write it back faithfully."""

    path: Path
    tags: list[str]
    first_line: str = ""
    rest: str = ""                # everything after the first line, verbatim (sd-scripts ignores it)
    newline: str = "\n"           # the file's line ending
    trailing_newline: bool = True
    encoding: str = "utf-8"
    bom: bool = False
    separator: str = DEFAULT_SEPARATOR
    fingerprint: Fingerprint = field(default_factory=lambda: Fingerprint(False))
    raw: bytes | None = None      # the file's bytes; None when there is no caption file yet

    @property
    def exists(self) -> bool:
        return self.raw is not None

    @property
    def multiline(self) -> bool:
        """True when the file has text after its first line (sd-scripts never reads it)."""
        return bool(self.rest.strip())

    @property
    def is_free_text(self) -> bool:
        """A sentence rather than tags: a single long tag with spaces (BLIP style)."""
        return len(self.tags) == 1 and self.tags[0].count(" ") >= 3

    def format(self, tags: list[str]) -> bytes:
        """The file's bytes with ``tags`` on the first line; the exact original bytes if unchanged."""
        if self.raw is not None and tags == self.tags:
            return self.raw
        line = join_tags(tags, self.separator)
        if self.raw is None:  # a new caption file: one line, newline-terminated
            text = line + "\n" if line else ""
        elif self.rest:
            text = line + self.newline + self.rest
        else:
            text = line + (self.newline if self.trailing_newline else "")
        data = text.encode(self.encoding)
        return (BOM.encode(self.encoding) if self.bom else b"") + data


def _decode(data: bytes, path: Path) -> tuple[str, str, bool]:
    """(text, encoding, had_bom). UTF-8 first; UTF-16 with a BOM; else Windows-1252 (never fails)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8", True
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16-le" if data.startswith(b"\xff\xfe") else "utf-16-be"
        return data[2:].decode(enc), enc, True
    try:
        return data.decode("utf-8"), "utf-8", False
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252"), "cp1252", False
        except UnicodeDecodeError:
            return data.decode("latin-1"), "latin-1", False


def parse_caption(data: bytes | None, path: Path, separator: str = DEFAULT_SEPARATOR) -> Caption:
    """Build a Caption from a file's bytes (None: no caption file yet)."""
    if data is None:
        return Caption(path=Path(path), tags=[], separator=separator, raw=None, trailing_newline=True)
    try:
        text, encoding, bom = _decode(data, path)
    except UnicodeDecodeError as exc:
        raise LoratuiError(f"{path}: caption is not valid text ({exc.reason}): re-save it as UTF-8") from None
    newline = "\r\n" if "\r\n" in text else ("\r" if "\r" in text and "\n" not in text else "\n")
    first, sep, rest = text.partition(newline)
    trailing = sep != "" and rest == ""
    return Caption(
        path=Path(path), tags=split_tags(first, separator), first_line=first, rest=rest,
        newline=newline, trailing_newline=trailing, encoding=encoding, bom=bom, separator=separator,
        fingerprint=Fingerprint.of(data, Path(path)), raw=data,
    )


def read_caption(path: str | os.PathLike, separator: str = DEFAULT_SEPARATOR) -> Caption:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = None
    except OSError as exc:
        raise LoratuiError(f"{path}: cannot read caption ({exc.strerror})") from None
    caption = parse_caption(data, path, separator)
    if data is None:
        caption.fingerprint = Fingerprint(False)
    return caption


def write_caption(caption: Caption, tags: list[str]) -> bool:
    """Write ``tags`` into the caption's file atomically. Returns False when nothing had to change.

    Raises ConflictError when the file changed on disk since ``caption`` was read.
    """
    data = caption.format(tags)
    if caption.raw is not None and data == caption.raw:
        return False
    if caption.raw is None and not tags:
        return False
    if not caption.fingerprint.matches(caption.path):
        raise ConflictError(f"{caption.path} changed on disk since it was read: reload it, nothing was written")
    atomic_write_bytes(caption.path, data)
    return True


def caption_path(image: Path, extension: str = ".txt") -> Path:
    if not extension.startswith("."):
        extension = "." + extension
    return image.with_suffix(extension)


def load_captions(root: str | os.PathLike, extension: str = ".txt", separator: str = DEFAULT_SEPARATOR,
                  recursive: bool = True) -> list[Caption]:
    """The caption of every image under ``root`` (kohya ``N_concept`` folders or a flat folder).

    An image without a caption file gets an empty, not-yet-existing Caption, so that "add the
    trigger word" also reaches it.
    """
    root = Path(root)
    if not root.is_dir():
        raise LoratuiError(f"{root}: not a folder: pass the dataset folder (the one with the images or N_concept folders)")
    return [read_caption(caption_path(image, extension), separator) for image in iter_images(root, recursive)]


def multiline_captions(captions: list[Caption]) -> list[Path]:
    """Caption files with text after the first line: sd-scripts trains on the first line only."""
    return [c.path for c in captions if c.multiline]
