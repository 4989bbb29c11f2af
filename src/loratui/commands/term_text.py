"""Text a command prints for a terminal: file names on one line (``shown_name``, ``relative_name``) and
columns padded by screen width (``cells``, ``pad``). Shared by every command's plain (non-JSON) output.

A file name is printed as it is, CJK, emoji and zero-width-joiner sequences included; only what would
break the line or mislead the eye is escaped, character by character (control characters, line and
paragraph separators, bidi overrides, undecodable bytes): core.termline.needs_escape is the one rule,
which the app's table cells follow too.
"""

from __future__ import annotations

import os
from pathlib import Path

from loratui.core.termline import escape_controls


def shown_name(text: str) -> str:
    """``text`` for one terminal line: printable characters as they are, the rest escaped one by one
    (``10_キャラ/new\\nline.txt``, ``bad\\xff.txt``)."""
    return escape_controls(text)


def relative_name(path: str | os.PathLike, root: str | os.PathLike) -> str:
    """``path`` relative to ``root`` (whole when it is not below it), as it is: for JSON, whose reader
    gets the exact name back."""
    path = Path(path)
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def shown_path(path: str | os.PathLike, root: str | os.PathLike) -> str:
    """``relative_name`` for a terminal line (``shown_name``)."""
    return shown_name(relative_name(path, root))


def cells(text: str) -> int:
    """Terminal columns ``text`` takes: a CJK character takes two, so len() misaligns tables."""
    from rich.cells import cell_len

    return cell_len(text)


def pad(text: str, width: int, right: bool = False) -> str:
    """``text`` padded with spaces to ``width`` terminal columns (on the left when ``right``)."""
    room = " " * max(0, width - cells(text))
    return room + text if right else text + room
