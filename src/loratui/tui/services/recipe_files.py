"""Recipe files for the TUI: naming, saving, reading, finding and describing them (no screens).

``recipe_path`` turns a typed name or path into the recipe file it means (portable names only),
``save_ops_to_recipe`` adds operations through core's append_to_recipe, ``read_recipe`` gives a
recipe or a one-line error, ``find_recipes`` lists the ``*.toml`` files of folders and
``describe_recipe`` gives a recipe as rich Text for the recipe dialogs (screens.recipe_dialogs).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rich.text import Text

from loratui.core.captions import Op, Recipe, append_to_recipe, load_recipe
from loratui.core.errors import LoratuiError

RECIPE_SUFFIX = ".toml"
_BAD_NAME_CHARS = '<>:"|?*'  # not allowed in a Windows file name: keep recipes portable
MAX_NAME = 120


def recipe_path(text: str, folder: Path) -> Path:
    """The recipe file a typed name or path means; raises LoratuiError naming what is wrong.

    ``cleanup`` -> ``folder/cleanup.toml``; ``sub/cleanup.toml`` is under ``folder``; ``~/r/x`` and
    absolute paths are used as typed. The file name must be portable (no ``<>:"|?*``, no control
    characters, not ending in a dot or space).
    """
    text = text.strip()
    if not text:
        raise LoratuiError("give the recipe a name (or a path)")
    path = Path(text).expanduser()
    name = path.name
    if not name or name in (".", ".."):
        raise LoratuiError(f"{text!r}: give a file name, not only a folder")
    bad = next((ch for ch in name if ch in _BAD_NAME_CHARS or not ch.isprintable()), None)
    if bad is not None:
        raise LoratuiError(f"recipe name {name!r} has {bad!r}: use letters, digits, spaces, - and _")
    if name.endswith((".", " ")):
        raise LoratuiError(f"recipe name {name!r} ends with a dot or a space: drop it")
    if len(name) > MAX_NAME:
        raise LoratuiError(f"recipe name is {len(name)} characters long: keep it under {MAX_NAME}")
    if path.suffix.lower() != RECIPE_SUFFIX:
        path = path.with_name(name + RECIPE_SUFFIX)
    if not path.is_absolute():
        path = folder / path
    if path.is_dir():
        raise LoratuiError(f"{path}: is a folder: give a file name")
    return path


def save_ops_to_recipe(path: Path, ops: Sequence[Op], where: str | None = None, description: str = "") -> Recipe:
    """Add ``ops`` to the recipe at ``path`` (created, with its folders, when missing) through core's
    append_to_recipe; a non-empty ``description`` becomes the recipe's description."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LoratuiError(f"{path.parent}: cannot create the folder ({exc.strerror or exc})") from None
    try:
        recipe = append_to_recipe(path, list(ops), where, description.strip() or None)  # one write, comments kept
    except OSError as exc:
        raise LoratuiError(f"{path}: cannot write the recipe ({exc.strerror or exc})") from None
    return recipe


def read_recipe(path: Path) -> tuple[Recipe | None, str | None]:
    """(recipe, None) or (None, one-line error): never raises, never a traceback."""
    try:
        return load_recipe(path), None
    except LoratuiError as exc:
        return None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    except (OSError, ValueError) as exc:  # e.g. a path that is a folder or not a file name at all
        return None, f"{path}: cannot read the recipe ({exc})".splitlines()[0]


def describe_recipe(recipe: Recipe) -> Text:
    """The description, the top-level where and one numbered line per operation."""
    text = Text()
    if recipe.description:
        text.append(recipe.description + "\n", style="bold")
    if recipe.where:
        text.append(f"only where {recipe.where}\n", style="italic")
    for index, op in enumerate(recipe.ops, 1):
        text.append(f"{index}. {op.describe_where()}\n")
    text.rstrip()
    return text


def find_recipes(folders: Sequence[Path]) -> list[Path]:
    """``*.toml`` files of each folder (not recursive), by name, each file once."""
    found: list[Path] = []
    seen: set[str] = set()
    for folder in folders:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name.casefold())
        except OSError:
            continue
        for entry in entries:
            if entry.name.lower().endswith(RECIPE_SUFFIX) and not entry.name.startswith("."):
                key = os.path.realpath(entry.path)
                if key not in seen and entry.is_file():
                    seen.add(key)
                    found.append(Path(entry.path))
    return found
