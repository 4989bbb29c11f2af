"""Telling a caption's encoding from its bytes where the bytes alone say it.

Shared by core.captions (which reads and keeps a file's encoding) and core.dataset's caption check
(which reports what sd-scripts will make of the file): neither may import the other's internals,
so the rule lives here, once.

UTF-16 without a byte-order mark (``iconv -t UTF-16LE``, some Windows tools) decodes as valid UTF-8
when its text is ASCII, a NUL byte after every letter, so sd-scripts trains on text full of NULs.
It is recognised by that pattern: an even length and NUL bytes in (nearly) every second position
and (nearly) none in the others.
"""

from __future__ import annotations


def utf16_without_bom(data: bytes) -> str | None:
    """``"utf-16-le"`` or ``"utf-16-be"`` for text that is UTF-16 without a byte-order mark, else None."""
    if len(data) < 2 or len(data) % 2 or b"\x00" not in data:
        return None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None  # it has a byte-order mark: not this case
    pairs = len(data) // 2
    even_nuls, odd_nuls = data[0::2].count(0), data[1::2].count(0)
    # mostly-ASCII text: the high byte of (nearly) every character is NUL, the low byte (nearly) never
    for encoding, high, low in (("utf-16-le", odd_nuls, even_nuls), ("utf-16-be", even_nuls, odd_nuls)):
        if high * 10 >= pairs * 7 and low * 10 <= pairs:
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            if "\x00" not in text:
                return encoding
    return None


__all__ = ["utf16_without_bom"]
