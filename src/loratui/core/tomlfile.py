"""Reading a user's TOML file (recipe, preset, ...) with one-line errors that name the file."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from loratui.core.errors import LoratuiError


def read_toml(path: str | os.PathLike, what: str, error: type[LoratuiError] = LoratuiError) -> dict:
    """Parse ``path``; ``what`` names the kind of file in the messages ("recipe", "preset")."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text; re-save the {what} as UTF-8") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise error(f"{path}: nested too deeply to be a {what}") from None
