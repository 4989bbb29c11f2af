"""The sample prompts a kohya_ss GUI config holds as text, written beside the imported config.

Never over a file: a file already holding the same text (newlines and a BOM aside) is used as it
is, else the first free ``NAME.prompts-N.txt``; the write itself is O_EXCL, so a file made in
between is kept too.
"""

from __future__ import annotations

import os
from pathlib import Path

from loratui.core.errors import LoratuiError


def _same_text(path: Path, text: str) -> bool:
    """Whether ``path`` is a file holding ``text`` (newlines and a final newline aside)."""
    try:
        held = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return False

    def norm(t: str) -> str:
        return t.replace("\r\n", "\n").strip()

    return norm(held) == norm(text)


def prompts_file(text: str, target: str | os.PathLike) -> tuple[Path, bool]:
    """(where ``text`` goes, whether that file must be written): ``target`` when it is free or already
    holds the same text, else the first ``STEM-N.SUFFIX`` that is free or holds it."""
    target = Path(target)
    for n in range(0, 10_000):
        path = target if n == 0 else target.with_name(f"{target.stem}-{n}{target.suffix}")
        if not os.path.lexists(path):
            return path, True
        if _same_text(path, text):
            return path, False
    raise LoratuiError(f"{target}: too many prompt files beside it; move some away")


def write_prompts(text: str, target: str | os.PathLike) -> tuple[Path, bool]:
    """Write ``text`` as prompts_file says: (the file sample_prompts should name, whether it was written)."""
    from loratui.core.fsutil import write_new_file

    data = text.encode("utf-8")
    for _ in range(100):
        path, new = prompts_file(text, target)
        if not new:
            return path, False
        try:
            write_new_file(path, data)  # O_EXCL: a file created since the look above is kept
        except FileExistsError:
            continue
        except OSError as exc:  # write_new_file removed what it created: the name stays free for the next try
            from loratui.core.diskspace import out_of_room_advice

            fix = out_of_room_advice(exc, path)
            raise LoratuiError(f"{path}: cannot write the imported sample prompts ({exc.strerror or exc}); nothing "
                               f"was written{': ' + fix if fix else ''}") from None
        return path, True
    raise LoratuiError(f"{target}: cannot find a free name for the imported sample prompts")
