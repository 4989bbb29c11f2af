"""Captions re-saved as UTF-8 without a byte-order mark: what sd-scripts reads.

sd-scripts opens every caption as UTF-8: a Windows-1252 / Latin-1 file (``café`` saved by an old
editor) stops training with UnicodeDecodeError, a UTF-16 one too (one without a byte-order mark
trains on its NUL bytes instead), and a UTF-8 byte-order mark ends up inside the first tag. A BOM
before Windows-1252 text is read as that text, as training reads it, and re-saved the same way.
``recode_plan`` lists the captions to re-save and their new bytes (the same
text, line endings and all); ``recode_captions`` writes them as one undoable change (`loratui tags
undo` gives the old bytes back). Tag edits keep a file's encoding as the design asks; this is the
one step that changes it, and only when asked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from loratui.core.captions.files import BOM, Caption
from loratui.core.captions.writer import ChangeWriter
from loratui.core.textcodec import control_summary


@dataclass(frozen=True)
class Recode:
    """One caption to re-save: its file, what it is now (``cp1252``, ``utf-8 with BOM``...) and its
    new bytes."""

    caption: Caption
    was: str
    data: bytes

    @property
    def path(self) -> Path:
        return self.caption.path


def describe_encoding(caption: Caption) -> str:
    """``cp1252``, ``utf-16-le with BOM``, ``utf-16-le without BOM``, ``utf-8 with BOM``, ``cp1252 after a
    UTF-8 BOM`` (a BOM before text that is not UTF-8) or ``utf-8``."""
    if caption.encoding.startswith("utf-16"):
        return caption.encoding + (" with BOM" if caption.bom else " without BOM")
    if caption.bom and caption.encoding != "utf-8":
        return f"{caption.encoding} after a UTF-8 BOM"
    return caption.encoding + (" with BOM" if caption.bom else "")


def recode_plan(captions: list[Caption], skipped: list[str] | None = None) -> list[Recode]:
    """The captions that are not plain UTF-8, each with its text as UTF-8 without BOM.

    A caption whose text holds a NUL or another control character is left out: those are bytes read
    wrongly (UTF-16 the decoder could not recognise, a binary file), and writing them as UTF-8 would
    make them permanent and hide them from the check. Its one-line reason goes to ``skipped`` when given."""
    out = []
    for caption in captions:
        if not caption.exists or (caption.encoding == "utf-8" and not caption.bom):
            continue
        text = caption.first_line
        if caption.rest or caption.trailing_newline:
            text += caption.newline + caption.rest
        controls = control_summary(text)
        if controls:
            if skipped is not None:
                skipped.append(f"{caption.path}: read as {describe_encoding(caption)} it holds {controls}, so it "
                               "is not saved as UTF-8: open it in a text editor and save it as UTF-8, or write "
                               "the caption again")
            continue
        out.append(Recode(caption, describe_encoding(caption), text.removeprefix(BOM).encode("utf-8")))
    return out


def recode_captions(items: list[Recode], dataset: str | os.PathLike, *,
                    force: bool = False) -> tuple[list[Path], list[str]]:
    """Write the new bytes as one journal entry in ``dataset`` (the train folder). Returns (the files
    written, one line per file left as it is: changed on disk since it was read, read-only, ...)."""
    written: list[Path] = []
    problems: list[str] = []
    with ChangeWriter(dataset, f"save {len(items)} caption(s) as UTF-8", force=force) as writer:
        outcomes = writer.write_many([(item.path, item.data, item.caption.raw) for item in items])
        for item, outcome in zip(items, outcomes):
            if isinstance(outcome, BaseException):
                problems.append(str(outcome))
            elif outcome:
                written.append(item.path)
    return written, problems


__all__ = ["Recode", "describe_encoding", "recode_captions", "recode_plan"]
