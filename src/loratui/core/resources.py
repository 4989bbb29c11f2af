"""Locate the data folders shipped with loratui (presets/, themes/, model configs).

In a wheel they live in ``loratui/_data/``; in a source checkout (editable install) they are the
top-level folders of the repository.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def data_dir(name: str) -> Path:
    """Return the shipped folder ``name`` (e.g. "presets", "themes")."""
    packaged = _PACKAGE_DIR / "_data" / name
    if packaged.is_dir():
        return packaged
    checkout = _PACKAGE_DIR.parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"loratui data folder '{name}' is missing from the installation")
