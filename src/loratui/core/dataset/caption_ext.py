"""Which caption extensions can be used: one rule for the config, the commands and the app.

The usual caption extensions a dataset may hold beside the one it reads (``OTHER_CAPTION_EXTENSIONS``,
``other_caption_file``) live with the scan's missing_caption check in caption_check.py (importing them
here would loop: this module reads scan.py, which reads caption_check.py); import them from core.dataset.
"""

from __future__ import annotations

from loratui.core.dataset.images import IMAGE_EXTENSIONS
from loratui.core.errors import LoratuiError
from loratui.core.dataset.scan import OTHER_IMAGE_EXTENSIONS


def caption_extension_problem(extension: object) -> str | None:
    """What is wrong with a caption extension, in words (None: fine). An image's own extension is
    refused: the "caption" of img.png would be img.png itself, written over with text."""
    if not isinstance(extension, str) or not extension.startswith(".") or len(extension) < 2 \
            or any(ch in extension for ch in "/\\\n\r") or extension.strip() != extension or extension == "..":
        return "give a file extension with its dot, such as .txt or .caption"
    if any(ch in extension for ch in "*?[]"):
        return "is a pattern, not an extension: give the extension alone, such as .caption (not *.caption)"
    if extension.lower() in IMAGE_EXTENSIONS | OTHER_IMAGE_EXTENSIONS:
        return "is an image extension: the captions would be written over the images; use .txt or .caption"
    return None


def caption_extension_option(value: str, *, add_dot: bool = True) -> str:
    """A ``--caption-extension`` as typed (``txt`` or ``.txt``; only ``.txt`` when not ``add_dot``)
    as the extension ``.txt``, or the one-line LoratuiError every command gives, quoting what was typed."""
    if value.startswith("*.") and len(value) > 2:
        value = value[1:]  # `*.caption`, as in a file pattern: the extension is meant
    extension = value if value.startswith(".") or not add_dot else "." + value
    problem = caption_extension_problem(extension)
    if problem:
        raise LoratuiError(f"--caption-extension {value!r}: {problem}")
    return extension
