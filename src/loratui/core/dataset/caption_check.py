"""What sd-scripts makes of a caption file: the one list of caption problems.

`loratui dataset scan` (scan.py) and `loratui tags check` both report these, with the same kinds,
levels and words, so the two never disagree. Facts from sd-scripts' train_util.py: a caption file
is read as UTF-8 (anything else raises), ``lines[0].strip()`` is the caption and an empty file
(no line at all) fails an assert, so a 0-byte caption stops training; a blank first line trains
with an empty prompt; lines after the first are ignored (unless wildcards are on). A missing
caption means the folder's class tokens (or an empty prompt when it has none).
"""

from __future__ import annotations

import os
from pathlib import Path

from loratui.core.dataset.types import Problem, Severity
from loratui.core.fsutil import describe_os_error


def rel(path: Path) -> str:
    """`folder/file`: enough to find a file in a problem list without the full path."""
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def read_small_file(path: Path) -> bytes:
    # os.open/os.read skip the buffered file object: noticeably cheaper over thousands of captions.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def caption_problems(path: Path, data: bytes | None = None) -> list[Problem]:
    """The problems of the caption file at ``path`` (its bytes read unless ``data`` is given)."""
    if data is None:
        try:
            data = read_small_file(path)
        except IsADirectoryError:
            return [Problem("unreadable_caption", path, f"{rel(path)} is a folder, not a caption file: rename or "
                            "move it", "error")]
        except OSError as exc:
            return [Problem("unreadable_caption", path, f"{rel(path)}: cannot read ({describe_os_error(exc)})",
                            "error")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [Problem("caption_not_utf8", path, f"{rel(path)} is not UTF-8: sd-scripts stops with an error; "
                        "save it as UTF-8", "error")]
    problems = []
    if text.startswith("\ufeff"):
        problems.append(Problem("caption_bom", path, f"{rel(path)} starts with a UTF-8 byte-order mark: sd-scripts "
                                "keeps it in the first tag; save the file without BOM", "warning"))
        text = text[1:]
    if not text:
        problems.append(Problem("empty_caption", path, f"{rel(path)} is empty (0 bytes): sd-scripts stops with an "
                                "error; write a caption or delete the file", "error"))
        return problems
    # Python text files split on \n, \r and \r\n only (not str.splitlines' extra separators).
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not lines[0].strip():
        problems.append(Problem("empty_caption", path, f"{rel(path)}: the first line is blank, so the image trains "
                                "with an empty prompt", "warning"))
    if sum(1 for line in lines if line.strip()) > 1:
        problems.append(Problem("multiline_caption", path, f"{rel(path)} has several lines: sd-scripts uses only the "
                                "first (unless wildcards are on)", "warning"))
    return problems


def missing_caption_problem(image: Path, class_tokens: str, is_reg: bool = False) -> Problem:
    """An image without a caption file: trained with its folder's class tokens, or an empty prompt."""
    if class_tokens:
        message = f"{rel(image)} has no caption: sd-scripts trains it with the class tokens '{class_tokens}'"
        # Reg images usually have no captions on purpose.
        severity: Severity = "info" if is_reg else "warning"
    else:
        message = f"{rel(image)} has no caption and its folder has no class tokens: it trains with an empty prompt"
        severity = "warning"
    return Problem("missing_caption", image, message, severity)
