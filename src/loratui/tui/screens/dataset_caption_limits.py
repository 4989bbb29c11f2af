"""What the Dataset screen tells its tag editor besides the caption: the config's caption limits, and why
there is nothing to edit when no image is shown.

Kept apart from dataset.py (another part of the screen): the editor reads no file itself.
"""

from __future__ import annotations

import os

from loratui.tui.widgets.tag_editor_limits import CaptionLimits


def caption_limits(screen) -> CaptionLimits:
    """The open config's keep_tokens and max_token_length, through the screen's own readers (the bulk
    forms' keep_tokens, the long-caption check's limit: the same numbers everywhere); read again only when
    the config file changed (PgDn held would read it for every image)."""
    path = getattr(screen.app, "config_path", None)
    try:
        stat = os.stat(path) if path is not None else None
    except OSError:
        stat = None
    signature = (str(path), stat.st_mtime_ns, stat.st_size) if stat is not None else None
    cached = getattr(screen, "_editor_caption_limits", None)
    if signature is not None and cached is not None and cached[0] == signature:
        return cached[1]
    limits = CaptionLimits(keep_tokens=max(0, screen.config_keep_tokens()), max_tokens=screen.store.token_limit())
    screen._editor_caption_limits = (signature, limits)
    return limits


def no_image_line(screen) -> str:
    """Why the editor has nothing to edit, in one line, with the key that helps."""
    if screen.filter_text.strip():
        back = screen.key_for("dataset.back")
        where = f" ({back} on the table)" if back else ""
        return f"no image shown: clear the filter first{where}"
    return "no image in this dataset to edit"
