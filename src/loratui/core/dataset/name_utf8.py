"""A concept folder whose name is not valid UTF-8 (made on a system with another encoding: Python reads its
odd bytes as lone surrogates). `loratui config check` and `train` refuse it (core.config.preflight) and
`dataset scan` names it as an error (scan.py), both in these words.
"""

from __future__ import annotations

# What is wrong and what to do, after the folder's name (its odd bytes shown as \xff).
NOT_UTF8_FOLDER = ("this folder's name is not valid UTF-8 (it was made on a system with another encoding) and the "
                   "run's events and the LoRA's metadata hold UTF-8 text: rename it")


def is_utf8_name(name: str) -> bool:
    """False for a name read from disk that is not valid UTF-8 (its odd bytes are lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
