"""Telling a caption's encoding from its bytes where the bytes alone say it.

Shared by core.captions (which reads and keeps a file's encoding) and core.dataset's caption check
(which reports what sd-scripts will make of the file, and whether `tags to-utf8` can fix it):
neither may import the other's internals, so the rules live here, once.

UTF-16 without a byte-order mark (``iconv -t UTF-16LE``, some Windows tools) decodes as valid UTF-8
when its text is ASCII, a NUL byte after every letter, so sd-scripts trains on text full of NULs.
It is recognised by its NUL pattern: the high byte of an ASCII character is NUL, the low byte never
is. Text that mixes ASCII and CJK (``1girl, 少女``) has NULs in only part of the high-byte lane, so
one lane with (nearly) no NULs and the other at least 30% NUL is enough, provided the decoded text
holds no NUL or other control character (random bytes read as UTF-16 do). A tool that appends a
one-byte ``\\n`` (``echo``) leaves an odd length: that trailing ``\\n`` or ``\\r`` is kept as the line
break it is.

No decoding here ever hides a NUL or a control character: ``control_summary`` names them, and
the callers refuse to convert (or warn about) text that holds them.
"""

from __future__ import annotations

import re

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
# C0 controls other than tab, line feed and carriage return: never part of a caption anyone typed
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_LINE_BREAK_BYTES = (b"\n", b"\r")


def control_summary(text: str) -> str:
    """``""`` when ``text`` holds no NUL or other control character (tab and line breaks aside), else
    what it holds: ``"12 NUL characters"``, ``"2 control characters (U+0011, U+001B)"`` or both."""
    found = _CONTROL.findall(text)
    if not found:
        return ""
    nuls = found.count("\x00")
    others = sorted({c for c in found if c != "\x00"})
    parts = [f"{nuls} NUL character{'s' if nuls > 1 else ''}"] if nuls else []
    if others:
        count = len(found) - nuls
        codes = ", ".join(f"U+{ord(c):04X}" for c in others[:3]) + (", ..." if len(others) > 3 else "")
        parts.append(f"{count} {'other ' if nuls else ''}control character{'s' if count > 1 else ''} ({codes})")
    return " and ".join(parts)


def _odd_tail(data: bytes) -> tuple[bytes, bytes]:
    """(the even-length body, the odd trailing byte or b"")."""
    return (data[:-1], data[-1:]) if len(data) % 2 else (data, b"")


def decode_utf16(data: bytes, encoding: str) -> str | None:
    """UTF-16 ``data`` (after any byte-order mark) as text, or None when it is not valid UTF-16.

    An odd trailing ``\\n`` or ``\\r`` byte is kept as that line break; any other odd trailing byte
    (a truncated file) reads as U+FFFD, so the text before it is still read as what it is."""
    body, tail = _odd_tail(data)
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError:
        return None
    if not tail:
        return text
    return text + (tail.decode("ascii") if tail in _LINE_BREAK_BYTES else "\ufffd")


def utf16_without_bom(data: bytes) -> str | None:
    """``"utf-16-le"`` or ``"utf-16-be"`` for text that is UTF-16 without a byte-order mark, else None."""
    if len(data) < 2 or b"\x00" not in data or data.startswith(tuple(UTF16_BOMS)):
        return None  # no NUL: not this pattern; a byte-order mark: the BOM branch reads it
    body, tail = _odd_tail(data)
    if tail and tail not in _LINE_BREAK_BYTES:
        return None  # an odd length is only UTF-16 when the extra byte is a one-byte line break
    pairs = len(body) // 2
    if not pairs:
        return None
    even_nuls, odd_nuls = body[0::2].count(0), body[1::2].count(0)
    for encoding, high, low in (("utf-16-le", odd_nuls, even_nuls), ("utf-16-be", even_nuls, odd_nuls)):
        # ASCII text: (nearly) every high byte NUL, (nearly) no low byte; ASCII mixed with CJK: fewer
        # high NULs (30% up), while a low NUL comes only from a rare U+xx00 character (U+3000, 一, 最)
        mostly_ascii = high * 10 >= pairs * 7 and low * 10 <= pairs
        mixed = high * 10 >= pairs * 3 and low * 5 <= high
        if not (mostly_ascii or mixed):
            continue
        text = decode_utf16(data, encoding)
        if text is not None and not control_summary(text):
            return encoding
    return None


def decode_caption_bytes(data: bytes) -> tuple[str, str, bool]:
    """(text, encoding, had_bom) of a caption file's bytes; never fails. UTF-8 (after its BOM, if
    any); UTF-16 with a BOM, or without one when the NUL pattern says so; else Windows-1252, as
    training reads it (Latin-1 for the five bytes cp1252 leaves undefined). A UTF-8 BOM before bytes
    that are not UTF-8 gives ("...", "cp1252", True): the BOM stays on write."""
    bom = data.startswith(UTF8_BOM)
    if bom:
        data = data[3:]
    elif (encoding := UTF16_BOMS.get(data[:2])) is not None:
        text = decode_utf16(data[2:], encoding)
        if text is not None:
            return text, encoding, True
        # not UTF-16 after all (a lone surrogate): read as the single-byte text below
    elif (encoding := utf16_without_bom(data)) is not None:
        return decode_utf16(data, encoding) or "", encoding, False
    try:
        return data.decode("utf-8"), "utf-8", bom
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252"), "cp1252", bom
        except UnicodeDecodeError:
            return data.decode("latin-1"), "latin-1", bom


__all__ = ["UTF8_BOM", "UTF16_BOMS", "control_summary", "decode_caption_bytes", "decode_utf16", "utf16_without_bom"]
