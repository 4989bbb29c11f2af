"""Reading a user's TOML file (recipe, preset, ...) with one-line errors that name the file, and the
temp files a killed save of one left behind (``leftover_toml_temps``).

``toml_syntax_problem`` turns tomllib's error into that line: "FILE, line N: not valid TOML: WHAT
(column C)"; a key or table given twice (tomllib: "Cannot overwrite a value", "Cannot declare ...
twice") names the key, both lines and what to do instead.
"""

from __future__ import annotations

import os
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

from loratui.core.errors import LoratuiError


def read_toml(path: str | os.PathLike, what: str, error: type[LoratuiError] = LoratuiError) -> dict:
    """Parse ``path``; ``what`` names the kind of file in the messages ("recipe", "preset")."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text; re-save the {what} as UTF-8") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(toml_syntax_problem(str(path), text, exc)) from None
    except RecursionError:
        raise error(f"{path}: nested too deeply to be a {what}") from None


_HEADER = re.compile(r"\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"""\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+))*)\s*=""")


def _bare(key: str) -> str:
    """'"a" . b' -> 'a.b' (quotes and spaces around dots dropped)."""
    return ".".join(part.strip().strip("\"'") for part in re.split(r"\.(?=(?:[^\"']*[\"'][^\"']*[\"'])*[^\"']*$)", key))


def _first_twice(text: str) -> tuple[str, int, int, str | None] | None:
    """(key, first line, second line, table) of the first key or table given twice; None when none is.
    A line scan (multi-line strings are not followed), used only after tomllib found a duplicate."""
    seen: dict[tuple[str | None, str], int] = {}
    tables: dict[str, int] = {}
    table: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            table = _bare(header.group(2))
            if header.group(1) == "[[":  # each [[x]] is a new table: its keys start afresh
                seen = {k: v for k, v in seen.items() if k[0] != table}
                continue
            if table in tables:
                return f"[{table}]", tables[table], number, None
            tables[table] = number
            if (None, table) in seen:  # `x = 1`, then `[x]`
                return f"[{table}]", seen[(None, table)], number, "value"
            continue
        key = _KEY.match(line)
        if key:
            name = _bare(key.group(1))
            if (table, name) in seen:
                return name, seen[(table, name)], number, table
            seen[(table, name)] = number
    return None


def toml_syntax_problem(source: str, text: str, exc: Exception) -> str:
    """One line for a tomllib error in ``text`` (read from ``source``): where, what, and for a key set
    twice which key, its two lines and what to do ("remove one of them")."""
    message = str(exc)
    where = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", message)
    end = re.search(r"\s*\(at end of document\)\s*$", message)
    what = message[: where.start()] if where else message[: end.start()] if end else message
    if what.startswith(("Cannot overwrite a value", "Cannot declare", "Duplicate inline table key")):
        twice = _first_twice(text)
        if twice is not None:
            key, first, second, table = twice
            if table == "value":
                return (f"{source}, line {second}: {key[1:-1]} is a value on line {first} and the table {key} here: "
                        "remove one of them (a name is either a value or a table)")
            if key.startswith("["):
                return (f"{source}, line {second}: the table {key} is declared twice (first on line {first}): "
                        "merge the two into one (a key may appear once in a table)")
            place = f" in [{table}]" if table else ""
            return (f"{source}, line {second}: {key} is set twice{place} (first on line {first}): remove one "
                    "of them (keep the value you mean)")
    if where:
        return f"{source}, line {where.group(1)}: not valid TOML: {what} (column {where.group(2)})"
    if end:
        return f"{source}, at the end: not valid TOML: {what}"
    return f"{source}: not valid TOML: {message}"


LEFTOVER_MIN_AGE_S = 2.0  # a config save takes milliseconds: a temp file older than this is a killed one


@dataclass
class LeftoverToml:
    """A temp file a killed save of a TOML file left (``.NAME.XXXXXXXX.tmp`` beside it)."""

    path: Path
    target: Path
    valid_toml: bool  # it parses (maybe the whole new file: the kill came between the write and the rename)
    newer: bool     # written after the target's last change

    def line(self) -> str:
        """One line: what the file is and what to do with it."""
        quoted = shlex.quote(str(self.path))
        if self.valid_toml and self.newer:
            return (f"{self.path}: valid TOML that a killed save of {self.target.name} left, newer than "
                    f"{self.target.name}: compare them (diff {shlex.quote(str(self.target))} {quoted}); to keep "
                    f"it, move it over {self.target.name}; else delete it (rm {quoted})")
        what = "an unfinished copy" if not self.valid_toml else "an older copy"
        return (f"{self.path}: {what} of {self.target.name} that a killed save left "
                f"({self.target.name} kept what it held before): delete it (rm {quoted})")


def leftover_toml_temps(target: str | os.PathLike, *, min_age_s: float = LEFTOVER_MIN_AGE_S) -> list[LeftoverToml]:
    """The temp files a killed atomic save of ``target`` left, each read to tell a valid newer copy
    (say so, never delete it unasked) from a truncated or older one (safe to delete). A kill mid-write
    can leave a cut that still parses: "valid and newer" is worded as maybe, for the user to compare."""
    from loratui.core.fsutil import leftover_temp_files

    target = Path(target)
    try:
        target_mtime = target.stat().st_mtime
    except OSError:
        target_mtime = None
    found = []
    for path in leftover_temp_files(target, min_age_s=min_age_s):
        try:
            text = path.read_text(encoding="utf-8-sig")
            tomllib.loads(text)
            valid = bool(text.strip())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
            valid = False
        try:
            newer = target_mtime is None or path.stat().st_mtime > target_mtime
        except OSError:
            continue  # gone meanwhile
        found.append(LeftoverToml(path, target, valid, newer))
    return found
