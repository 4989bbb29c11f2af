"""Caption files: an ordered list of tags (or free text), read and written without losing a byte.

A caption file holds one caption on its first line (sd-scripts reads nothing else; further lines are
kept untouched and reported). The first line is split into tags at the separator, but never inside
a matched pair of parentheses or brackets, so prompt weights such as ``(red hair, blue eyes:1.2)``
stay one tag, while an emoticon such as ``:(`` opens nothing. ``\\(`` escapes a bracket (and ``\\,``
a separator). Free text (a BLIP sentence) is a caption whose tags are mostly sentences.

Round trip: ``caption.format(caption.tags)`` gives back the file's exact bytes (BOM, ``\\r\\n``,
trailing newline, odd spacing) while the tags are unchanged; only changed captions are re-joined
with the separator. Writes are atomic, keep the file's encoding and newline style, skip unchanged
files and refuse to overwrite a file that changed on disk since it was read (ConflictError).

The separator is written as given (default ``", "``, as sd-scripts' tagger writes) and split at
its non-blank part (``","``), so ``a,b`` and ``a , b`` read as the same two tags. A separator
without a trailing space (``","``) is written with one, as ``", "``, except into a file whose tags
already sit tight (``a,b``), which keeps its style (``Caption.join``). A separator with no non-blank
part (``""``, ``" "``, a tab) is refused everywhere (``check_separator``): it would glue tags
together, or split tags such as ``long hair`` at their spaces.

A caption file without write permission (mode 0444) is the user saying "leave it": no write path
rewrites it (``check_rewritable``) unless forced.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from loratui.core.dataset import entry_is_dir, iter_images, list_folder, parse_subset_name
from loratui.core.errors import ConflictError, LoratuiError, read_only_fs_error
from loratui.core.fsutil import atomic_write_bytes, describe_os_error
from loratui.core.textcodec import decode_caption_bytes

BOM = "\ufeff"
DEFAULT_SEPARATOR = ", "
_PAIRS = {")": "(", "]": "[", "}": "{"}
_SPECIAL = re.compile(r"[\\()\[\]{}]")


def check_separator(separator: str) -> str:
    """``separator`` as given, or the one LoratuiError every command gives for a separator with no
    non-blank part (``""``, ``" "``, a tab) or with a line break."""
    if not isinstance(separator, str) or not separator.strip() or "\n" in separator or "\r" in separator:
        raise LoratuiError(f"separator {separator!r}: a tag separator needs a visible character on one line, "
                           "such as ', ' (the default) or '|'; a blank one would glue tags together or split "
                           "tags like 'long hair' at their spaces")
    return separator


def _split_token(separator: str) -> str:
    return check_separator(separator).strip()


def split_tags(line: str, separator: str = DEFAULT_SEPARATOR) -> list[str]:
    """Tags of one caption line: split at the separator outside bracket pairs, stripped, empties dropped."""
    token = _split_token(separator)
    if not _SPECIAL.search(line):  # the common case (tagger output): a plain split, fast
        return [t for t in (p.strip() for p in line.split(token)) if t]
    protected = _bracketed_spans(line, token)
    tags: list[str] = []
    start = 0
    pos = line.find(token)
    while pos != -1:
        inside = any(a < pos < b for a, b in protected) or _escaped(line, pos)
        if not inside:
            tags.append(line[start:pos])
            start = pos + len(token)
        pos = line.find(token, pos + len(token))
    tags.append(line[start:])
    return [t for t in (p.strip() for p in tags) if t]


def _escaped(line: str, pos: int) -> bool:
    """True when an odd number of backslashes precede ``pos``."""
    count = 0
    while pos > 0 and line[pos - 1] == "\\":
        count += 1
        pos -= 1
    return count % 2 == 1


def _bracketed_spans(line: str, token: str) -> list[tuple[int, int]]:
    """(open, close) index pairs of the outermost matched brackets that can group tags.

    A bracket groups only where a tag starts (after the separator, the line start or another
    opener), as in ``(a, b:1.2)``; one inside a tag (the emoticon ``:(``) is plain text, and so is
    an opener that never closes.
    """
    stack: list[tuple[str, int]] = []
    pairs: list[tuple[int, int]] = []
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\":
            i += 2
            continue
        if ch in "([{":
            if _starts_tag(line, i, token):
                stack.append((ch, i))
        elif ch in _PAIRS:
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth][0] == _PAIRS[ch]:
                    pairs.append((stack[depth][1], i))
                    del stack[depth:]
                    break
        i += 1
    pairs.sort()
    outer: list[tuple[int, int]] = []
    for a, b in pairs:
        if outer and a < outer[-1][1]:
            continue  # nested in the previous span
        outer.append((a, b))
    return outer


def _starts_tag(line: str, i: int, token: str) -> bool:
    head = line[:i].rstrip()
    return not head or head[-1] in "([{" or head.endswith(token)


def join_tags(tags: list[str], separator: str = DEFAULT_SEPARATOR) -> str:
    """The canonical form of a changed caption: ``a, b, c``.

    A separator that is all punctuation (``","``) gets a space after it; one that already carries
    spacing (``", "``, ``" | "``) is used as it is.
    """
    if check_separator(separator).strip() == separator:
        separator += " "
    return separator.join(tags)


def is_free_text(tags: list[str]) -> bool:
    """A sentence rather than tags (BLIP style): most parts are five words or longer."""
    if not tags:
        return False
    long_parts = sum(1 for t in tags if t.count(" ") >= 4)
    return long_parts * 2 >= len(tags)


@dataclass(frozen=True)
class Fingerprint:
    """What a caption file looked like when it was read (to detect changes made meanwhile)."""

    exists: bool
    size: int = 0
    mtime_ns: int = 0  # kept for callers that stat; the content hash is what decides
    sha1: str = ""

    @classmethod
    def of(cls, data: bytes | None, path: Path | None = None) -> Fingerprint:
        if data is None:
            return cls(False)
        return cls(True, len(data), 0, hashlib.sha1(data).hexdigest())

    def matches(self, path: Path) -> bool:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return not self.exists
        return self.exists and len(data) == self.size and hashlib.sha1(data).hexdigest() == self.sha1


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
        return is_free_text(self.tags)

    @property
    def kind(self) -> str:
        """"tags" (a tag list) or "text" (a sentence caption: sorting leaves it alone)."""
        return "text" if self.is_free_text else "tags"

    def issues(self) -> list[str]:
        """What sd-scripts will make of this file, when it is not what the user probably wants: the
        messages of core.dataset's caption problems (`loratui dataset scan` reports the same)."""
        from loratui.core.dataset import caption_problems

        if not self.exists:
            return []
        return [p.message for p in caption_problems(self.path, self.raw)]

    def text(self, tags: list[str] | None = None) -> str:
        """The first line as it is (``tags`` None or unchanged) or as it would be with ``tags``."""
        if tags is None or tags == self.tags:
            return self.first_line if self.exists else ""
        return self.join(tags)

    def join(self, tags: list[str]) -> str:
        """``tags`` as this file writes them: a file whose tags sit tight (``a,b,c``: the separator
        never followed by a space) keeps that; any other is joined with the separator."""
        token = self.separator.strip()
        line = self.first_line
        if len(self.tags) > 1 and token in line and f"{token} " not in line:
            return token.join(tags)
        return join_tags(tags, self.separator)

    def format(self, tags: list[str]) -> bytes:
        """The file's bytes with ``tags`` on the first line; the exact original bytes if unchanged."""
        if self.raw is not None and tags == self.tags:
            return self.raw
        line = self.join(tags)
        if self.raw is None:  # a new caption file: one line, newline-terminated
            text = line + "\n" if line else ""
        elif self.rest:
            text = line + self.newline + self.rest
        else:
            text = line + (self.newline if self.trailing_newline else "")
        encoding = self.encoding
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:
            # A legacy (cp1252) file gaining a tag it cannot hold: UTF-8 is what sd-scripts reads anyway.
            encoding, data = "utf-8", text.encode("utf-8")
        return (bom_bytes(encoding) if self.bom else b"") + data


def _decode(data: bytes) -> tuple[str, str, bool]:
    """(text, encoding, had_bom); never fails: core.textcodec's rule (UTF-8, UTF-16 with or without
    its BOM, an odd trailing line-break byte kept, else Windows-1252, as training reads it), shared
    with the caption check so the two never disagree about a file."""
    return decode_caption_bytes(data)


def bom_bytes(encoding: str) -> bytes:
    """The byte-order mark a file of ``encoding`` starts with when it has one: UTF-16's own, else
    UTF-8's (a single-byte file behind a UTF-8 BOM keeps exactly that BOM)."""
    return BOM.encode(encoding) if encoding.startswith("utf-16") else BOM.encode("utf-8")


# sd-scripts reads captions in text mode: universal newlines, so a lone \r ends a line as \n does
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def parse_caption(data: bytes | None, path: str | os.PathLike, separator: str = DEFAULT_SEPARATOR) -> Caption:
    """Build a Caption from a file's bytes (None: no caption file yet). Never fails on the bytes:
    every byte sequence decodes (``_decode``)."""
    path = Path(path)
    if data is None:
        return Caption(path=path, tags=[], separator=separator, raw=None, trailing_newline=True)
    text, encoding, bom = _decode(data)
    # The first line ends at the first line break of any kind (what sd-scripts' readlines() cuts); that
    # break is kept as the file's newline, so first + newline + rest is the text again, byte for byte.
    found = _LINE_BREAK.search(text)
    if found is None:
        first, newline, rest = text, "\n", ""
    else:
        first, newline, rest = text[:found.start()], found.group(), text[found.end():]
    trailing = found is not None and rest == ""
    return Caption(
        path=path, tags=split_tags(first, separator), first_line=first, rest=rest,
        newline=newline, trailing_newline=trailing, encoding=encoding, bom=bom, separator=separator,
        fingerprint=Fingerprint.of(data), raw=data,
    )


def read_caption(path: str | os.PathLike, separator: str = DEFAULT_SEPARATOR) -> Caption:
    """Read one caption file; a missing file gives an empty Caption that does not exist yet."""
    path = Path(path)
    check_separator(separator)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = None
    except IsADirectoryError:
        raise LoratuiError(f"{path}: is a folder, not a caption file: rename or move it (its image then gets a "
                           "caption file of its own)") from None
    except OSError as exc:
        said = describe_os_error(exc)
        fix = "" if ":" in said else ": fix its permissions or move it away"  # a link loop says its own fix
        raise LoratuiError(f"{path}: cannot read caption ({said}){fix}") from None
    return parse_caption(data, path, separator)


def write_caption(caption: Caption, tags: list[str], *, force: bool = False) -> bool:
    """Write ``tags`` into the caption's file atomically. Returns False when nothing had to change.

    Raises ConflictError when the file changed on disk since ``caption`` was read, and LoratuiError
    for a read-only caption file (unless ``force``).
    """
    data = caption.format(tags)
    if caption.raw is not None and data == caption.raw:
        return False
    if caption.raw is None and not tags:
        return False
    if not caption.fingerprint.matches(caption.path):
        raise ConflictError(f"{caption.path} changed on disk since it was read: reload it, nothing was written")
    if not force:
        check_rewritable(caption.path)
    atomic_write_bytes(caption.path, data)
    return True


def read_only(path: str | os.PathLike) -> bool:
    """True for an existing file without write permission for us (mode 0444; root included, who
    could write it anyway: the missing bit is what the user asked for)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) and (not mode & stat.S_IWUSR or not os.access(path, os.W_OK))


def check_rewritable(path: str | os.PathLike, more: int = 0) -> None:
    """LoratuiError naming a read-only caption file (and how many more there are) and what to do; on a
    file system mounted read-only (os.access fails with EROFS for a 0644 file) that is what it names."""
    if read_only(path):
        read_only_fs = read_only_fs_error(Path(path).parent)
        if read_only_fs is not None:  # no chmod and no --force can help there
            raise read_only_fs
        others = f" (and {more} more)" if more else ""
        raise LoratuiError(f"{path}{others}: read-only caption file, not rewritten: make it writable "
                           f"(chmod u+w '{path}') or pass --force to rewrite it anyway")


def caption_path(image: Path, extension: str = ".txt") -> Path:
    if not extension.startswith("."):
        extension = "." + extension
    return Path(image).with_suffix(extension)


def find_caption_images(root: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """The images whose captions a tag operation edits, in a stable order.

    A flat folder's images plus those of its ``N_concept`` subfolders (a kohya train folder), as
    sd-scripts reads them. ``recursive`` walks every subfolder instead (hidden ones excepted).
    """
    root = Path(root)
    if not root.is_dir():
        raise LoratuiError(f"{root}: not a folder: pass the dataset folder (the one with the images or N_concept folders)")
    if recursive:
        return list(iter_images(root, recursive=True))
    images = list(iter_images(root, recursive=False))
    for sub in list_folder(root):
        if sub.name.startswith(".") or not entry_is_dir(sub) or parse_subset_name(sub.name) is None:
            continue  # a link loop is no folder (the scan names it), as sd-scripts skips it
        images.extend(iter_images(sub.path, recursive=False))
    return images


def non_concept_folders(root: str | os.PathLike) -> list[str]:
    """Subfolders of ``root`` that hold images but have no ``N_`` repeats prefix: sd-scripts skips
    them, and so does ``find_caption_images`` (without ``recursive``), which is worth a word."""
    names = []
    for sub in list_folder(Path(root)):
        if sub.name.startswith(".") or not entry_is_dir(sub) or parse_subset_name(sub.name) is not None:
            continue
        if next(iter(iter_images(sub.path, recursive=False)), None) is not None:
            names.append(sub.name)
    return sorted(names)


def load_captions(root: str | os.PathLike, extension: str = ".txt", separator: str = DEFAULT_SEPARATOR,
                  recursive: bool = False, unreadable: list[str] | None = None) -> list[Caption]:
    """The caption of every image under ``root`` (kohya ``N_concept`` folders or a flat folder).

    An image without a caption file gets an empty, not-yet-existing Caption, so that "add the
    trigger word" also reaches it. Images sharing a stem (a.png + a.jpg) share one caption, listed once.
    A caption that cannot be read (a folder named ``a.txt``, no permission) raises LoratuiError naming
    it, unless ``unreadable`` is a list: then its one-line message goes there and the rest load (a
    read-only view such as a frequency table or the app's browser; a write refuses instead).
    """
    check_separator(separator)
    seen: set[Path] = set()
    captions = []
    for image in find_caption_images(root, recursive):
        path = caption_path(image, extension)
        if path in seen:
            continue
        seen.add(path)
        try:
            captions.append(read_caption(path, separator))
        except LoratuiError as exc:
            if unreadable is None:
                raise
            unreadable.append(str(exc))
    return captions


def multiline_captions(captions: list[Caption]) -> list[Path]:
    """Caption files with text after the first line: sd-scripts trains on the first line only."""
    return [c.path for c in captions if c.multiline]
