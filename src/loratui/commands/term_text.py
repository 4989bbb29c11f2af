"""Text a command prints for a terminal: file names on one line (``shown_name``, ``relative_name``) and
columns padded by screen width (``cells``, ``pad``). Shared by every command's plain (non-JSON) output.

A file name is printed as it is, CJK, emoji and zero-width-joiner sequences included; only what would
break the line or mislead the eye is escaped, character by character: control characters (``\\n``,
``\\t``, ``\\x1b``), line and paragraph separators, the bidi overrides and isolates (they reorder the
rest of the line), and the lone surrogates an undecodable byte is read as (``\\xff``).
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
# U+202A-U+202E (embeddings, overrides) and U+2066-U+2069 (isolates): printed raw they turn the
# text after them around, so `rtl\u202etxt.exe` would read as another name.
_BIDI_CONTROLS = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def needs_escape(ch: str) -> bool:
    """True for a character a terminal line cannot show as itself (see the module's docstring)."""
    return ch in _BIDI_CONTROLS or unicodedata.category(ch) in _ESCAPED_CATEGORIES


def _escaped(ch: str) -> str:
    code = ord(ch)
    if ch in _NAMED:
        return _NAMED[ch]
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for the byte it could not decode
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown_name(text: str) -> str:
    """``text`` for one terminal line: printable characters as they are, the rest escaped one by one
    (``10_キャラ/new\\nline.txt``, ``bad\\xff.txt``)."""
    if text.isprintable():  # the common case, and a fast one
        return text
    return "".join(_escaped(ch) if needs_escape(ch) else ch for ch in text)


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
