"""The names of loratui's temp files: what ``core.fsutil``'s atomic writes call the temp file beside a target
(``temp_prefix``: ``.NAME.`` + mkstemp's 8 random characters + ``.tmp``, or a long name's stand-in), and how
the ones a killed write left are told from anything else (``AtomicTempNames``, ``leftover_temp_files``).
Split out of core/fsutil.py, which re-exports these names.

Only mkstemp's exact shape counts (8 characters of ``[a-z0-9_]``: every loratui temp file is made through
mkstemp): a user's ``.notes.txt.bak.tmp`` beside a caption is never taken for a leftover and removed.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

NAME_MAX = 255  # bytes a file name may hold where the folder does not say (ext4, XFS, btrfs, APFS, NTFS)
_RANDOM = 8  # the characters mkstemp / mkdtemp add
RANDOM_PART = r"[a-z0-9_]{8}"  # exactly what mkstemp adds (tempfile._RandomNameSequence: a-z, 0-9, _)


def name_max(folder: str | os.PathLike) -> int:
    """The most bytes a name in ``folder`` may hold (its file system's NAME_MAX; 255 when it cannot be asked)."""
    try:
        limit = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return NAME_MAX
    return limit if isinstance(limit, int) and limit > 0 else NAME_MAX


def _short_name(name: str, room: int) -> str:
    """A stand-in for ``name`` of at most ``room`` bytes: its head (whole characters), ``~``, 16 hex of a hash of
    the whole name, and its extension, so the user still sees whose temp file it is and what kind."""
    raw = os.fsencode(name)
    ext = os.path.splitext(name)[1]
    if len(os.fsencode(ext)) > 32:
        ext = ""
    mark = "~" + hashlib.sha256(raw).hexdigest()[:16]
    budget = room - len(mark) - len(os.fsencode(ext))
    head, used = [], 0
    for char in name[:len(name) - len(ext)]:
        size = len(os.fsencode(char))
        if used + size > budget:
            break
        head.append(char)
        used += size
    return "".join(head) + mark + ext


def temp_prefix(path: str | os.PathLike, tail: str) -> str:
    """The prefix of the temp names made beside ``path`` (``.NAME.``, then mkstemp's 8 random characters,
    then ``tail``): the whole name when that fits the file system's name limit, else a short stand-in
    (``.HEAD~HASH.EXT.``), so a name of 242-255 bytes can still be written atomically."""
    path = Path(path)
    limit = name_max(path.parent)
    overhead = 2 + _RANDOM + len(os.fsencode(tail))
    if len(os.fsencode(path.name)) + overhead <= limit:
        return f".{path.name}."
    return f".{_short_name(path.name, limit - overhead)}."


# a long name's temp exactly as mkstemp makes it: ".HEAD~HASH.EXT." and its 8 random characters, ".tmp"
_STAND_IN = re.compile(rf"^\.(?P<head>.+)~[0-9a-f]{{16}}(?P<ext>\.[^.]*)?\.{RANDOM_PART}\.tmp$")
_STAND_IN_TAIL = _RANDOM + len(".tmp")
_MIN_HEAD = 32  # bytes: a real stand-in keeps a long name's first ~200; a short head is someone else's file


class AtomicTempNames:
    """The temp names ``atomic_write_bytes`` gives targets whose names match the regex ``target``
    (``.NAME.xxxxxxxx.tmp``), to find the ones a killed write left. A long name's stand-in (``temp_prefix``:
    ``.HEAD~HASH.EXT.xxxxxxxx.tmp``) keeps only ~200 bytes of the name, so it counts only when it is tied to
    this caller's targets: it is exactly the temp of one of ``targets()`` (paths: where they are given,
    ``target`` does not vouch for a name of that shape, being maybe a catch-all such as a caption's ``.+\\.txt``),
    or its HEAD and ``owner`` (what every target name starts with: a run's ``NAME-``) agree: HEAD starts
    ``owner`` (both cut from one long name), or HEAD is ``owner`` and a start of what may follow it in a target
    (``tail``: a regex of that rest's starts; without it, none may follow). Any other stand-in may be another
    run's save being written now (a run named ``a`` and one named ``a-`` and 230 more bytes), or a user's file."""

    def __init__(self, target: str, *, owner: str | None = None, targets=None, tail: str | None = None):
        ending = re.search(r"\\\.[A-Za-z0-9_]+$", target)
        self.ext = ending.group(0)[1:] if ending else None  # "\\.txt" -> ".txt"
        self.whole = re.compile(rf"^\.(?:{target})\.{RANDOM_PART}\.tmp$")
        self.tail = re.compile(rf"(?:{tail})") if tail else None
        self.target, self.owner, self.targets, self._listed = target, owner, targets, None

    def match(self, file_name: str) -> bool:
        return self.whose(file_name) is not None

    def whose(self, file_name: str) -> str | None:
        """"name": the name says whose it is (a target's whole name, or a listed target's exact stand-in);
        "head": a stand-in that only its head ties to ``owner`` (another target with that head could own it:
        leave a young one alone); None: not one of these targets' temps."""
        stand_in = _STAND_IN.match(file_name)
        if (stand_in is None or self.targets is None) and self.whole.match(file_name):
            return "name"  # without targets the regex names them: what it matches is theirs
        if stand_in is None:
            return None
        head = stand_in.group("head")
        if self.targets is not None:  # a catch-all regex (a caption's) takes any stand-in: a listed target's only
            if self._listed is None:
                named = re.compile(rf"^(?:{self.target})$")
                self._listed = [Path(path) for path in self.targets() if named.match(Path(path).name)]
            prefix = file_name[:-_STAND_IN_TAIL]
            if any(prefix in (f".{path.name}.", temp_prefix(path, ".tmp"))
                   for path in self._listed if path.name.startswith(head)):
                return "name"
        if self.owner and stand_in.group("ext") == self.ext and len(os.fsencode(head)) >= _MIN_HEAD:
            if self.owner.startswith(head):
                return "head"
            rest = head[len(self.owner):] if head.startswith(self.owner) else None
            if rest is not None and self.tail is not None and self.tail.fullmatch(rest):
                return "head"
        return None


atomic_temp_pattern = AtomicTempNames  # without owner or targets, a stand-in counts where the regex matches it whole


def names_for_ext(folder: str | os.PathLike, ext: str) -> list[Path]:
    """The files ending in ``ext`` a write in ``folder`` may have been making: each name there that ends in it,
    and each other name with its extension swapped for it (a caption beside its image)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [Path(folder, name if name.endswith(ext) else os.path.splitext(name)[0] + ext)
            for name in names if not name.startswith(".")]


def leftover_temp_files(target: str | os.PathLike, *, min_age_s: float = 0.0) -> list[Path]:
    """The temp files ``atomic_write_bytes`` left beside ``target`` when a write of it was killed
    (``.NAME.xxxxxxxx.tmp``, or the stand-in of a long name), oldest first; younger than ``min_age_s``:
    maybe a write going on now."""
    import time

    target = Path(target)
    prefixes = {f".{target.name}.", temp_prefix(target, ".tmp")}
    pattern = re.compile("^(?:" + "|".join(map(re.escape, prefixes)) + rf"){RANDOM_PART}\.tmp$")
    found = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return []
    now = time.time()
    for entry in entries:
        if not pattern.match(entry.name):
            continue
        try:
            stat = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if now - stat.st_mtime >= min_age_s:
            found.append((stat.st_mtime, Path(entry.path)))
    return [path for _, path in sorted(found)]


def remove_leftover_temps(root: str | os.PathLike, exts, *, min_age_s: float = 5.0) -> list[Path]:
    """Remove the temp files that killed atomic writes of files ending in one of ``exts`` (a caption
    extension) left in ``root`` and its folders (hidden ones skipped): only mkstemp's exact shape,
    ``.NAME.xxxxxxxx.tmp`` where NAME ends in the extension (or a listed target's long-name stand-in),
    and only those at least ``min_age_s`` old (a younger one may be a write going on now). A temp that
    cannot be removed is left. The removed ones are returned."""
    import time

    removed: list[Path] = []
    now = time.time()
    for folder, dirs, names in os.walk(root):
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        temps = [name for name in names if name.startswith(".") and name.endswith(".tmp")]
        if not temps:
            continue
        for ext in exts:
            pattern = AtomicTempNames(rf".+{re.escape(ext)}",
                                      targets=lambda folder=folder, ext=ext: names_for_ext(folder, ext))
            for name in temps:
                path = Path(folder, name)
                if path in removed or not pattern.match(name):
                    continue
                try:
                    info = path.lstat()
                    if not (info.st_mode & 0o170000 == 0o100000 and now - info.st_mtime >= min_age_s):
                        continue
                    path.unlink()
                except OSError:
                    continue
                removed.append(path)
    return removed
