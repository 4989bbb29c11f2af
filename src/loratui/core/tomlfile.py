"""Reading a user's TOML file (recipe, preset, ...) with one-line errors that name the file, and the
temp files a killed save of one left behind (``leftover_toml_temps``)."""

from __future__ import annotations

import os
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
        raise error(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise error(f"{path}: nested too deeply to be a {what}") from None


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
