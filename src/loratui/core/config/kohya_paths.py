"""Paths in a kohya_ss GUI JSON that cannot mean the same on this machine: Windows paths, and relative paths
(kohya_ss resolved them against its own working folder; loratui resolves them against the config file's folder).
The import keeps such values as they are and says, in one line per key, that they need setting here."""

from __future__ import annotations

import re
from pathlib import Path

# "C:\\Users\\me\\img", "C:/Users/me/img", "\\\\server\\share\\img"
_WINDOWS = re.compile(r"^(?:[A-Za-z]:[\\/]|[A-Za-z]:$|\\\\)")
# what loratui reads as a Hugging Face repo id for pretrained_model_name_or_path (see load.resolve_path)
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
_WEIGHT_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".bin")


def is_windows_path(value: str) -> bool:
    """A drive-letter or UNC path (a Windows machine's path, meaningless here)."""
    return bool(_WINDOWS.match(value.strip()))


def path_note(key: str, value: object, *, source: str = "") -> str | None:
    """One line saying why ``key``'s path must be set for this machine, or None when it can be used as is.

    ``source`` names where the value came from when that is not the JSON itself (a dataset_config TOML).
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    where = f"{source}: " if source else ""
    if is_windows_path(text):
        return f"{where}{key}: a Windows path ({text}): set it for this machine (imported as is)"
    if Path(text).expanduser().is_absolute():
        return None
    if key == "pretrained_model_name_or_path" and _REPO_ID.match(text) and not text.lower().endswith(_WEIGHT_SUFFIXES):
        return None  # a Hugging Face repo id, not a path
    return (f"{where}{key} {text!r} was relative to the kohya_ss folder; in loratui it is relative to the config "
            "file: check it")
