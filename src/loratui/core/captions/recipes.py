"""Cleanup recipes: a list of tag operations saved as TOML and replayed on another dataset.

    # drop ratings and background tags, trigger word first
    [[op]]
    op = "remove_category"
    categories = ["rating"]

    [[op]]
    op = "remove"
    patterns = ["*background"]

    [[op]]
    op = "add"
    tags = ["alice_lora"]
    position = 0

Each [[op]] has an `op` name and that operation's keys:

    add               tags = [...], position = 0 (front) | -1 (end, default) | N, move_existing = true|false,
                      keep = N (nothing lands before the first N tags: the trigger word)
    remove            patterns = [...], mode = "auto" | "exact" | "glob" | "regex"
    replace           old = "...", new = "...", mode = "exact" | "glob" | "regex" (new may use \\1)
    dedupe
    sort              by = "alpha" | "frequency" | "category", keep = N (leave the first N in place)
    move_front        patterns = [...], mode = ..., keep = N (to just after the first N tags)
    strip_underscores keep_tags = [...] (left as they are, e.g. a trigger word)
    remove_category   categories = ["rating", "general", "character", "copyright", "artist", "meta" or a number]

`where = "..."` at the top level limits the whole recipe to the captions a --where expression
selects, as they are before the recipe runs (core/captions/filter.py); `where` inside one [[op]] limits
that operation and looks at the tags as the operations before it left them. Categories other than
rating need the tagger's selected_tags.csv when the recipe is applied.

Adding operations to a recipe with a top-level `where` (--save-recipe) moves that `where` onto each of
its operations first, so it keeps limiting them and not the new ones; a `where` that tests tags an
operation may change is refused rather than moved (it could then mean something else).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from loratui.core.captions.filter import _tokens, combine_where, parse_where
from loratui.core.captions.op_records import op_from_dict
from loratui.core.captions.ops import Op
from loratui.core.errors import LoratuiError
from loratui.core.fsutil import atomic_write_bytes, atomic_write_text
from loratui.core.tomlfile import read_toml


@dataclass
class Recipe:
    ops: list[Op]
    where: str | None = None
    description: str = ""

    def describe(self) -> str:
        return self.description or "; ".join(op.describe_where() for op in self.ops)

    def where_to_move(self, source: str | os.PathLike = "recipe") -> str | None:
        """The top-level where that adding operations moves onto the existing ones (None: none); a
        LoratuiError naming ``source`` when moving it could change what they do."""
        if not self.where:
            return None
        if len(self.ops) > 1 and not _where_stays_put(self.where):
            raise LoratuiError(f"{source}: its top-level where {self.where!r} limits every operation, and a new one "
                               "must not be limited by it; it tests tags the operations change, so it cannot be moved "
                               "onto them as they are: save to another recipe or move it onto its [[op]] tables by hand")
        return self.where

    def appending_note(self) -> str:
        """What adding operations to this recipe does besides adding them, for the save message ("" when
        nothing): its top-level where is moved onto its operations (``append_to_recipe``)."""
        if not self.where or not self.ops:
            return ""
        return (f"its top-level where {self.where!r} now sits on each of its {len(self.ops)} earlier operation(s), "
                "so it does not limit the new one(s)")


def recipe_from_dict(data: dict, source: str = "recipe") -> Recipe:
    unknown = set(data) - {"op", "where", "description"}
    if unknown:
        raise LoratuiError(f"{source}: unknown key {sorted(unknown)[0]!r} (a recipe has [[op]] tables, "
                           "and optionally where and description)")
    ops_data = data.get("op", [])
    if not isinstance(ops_data, list) or not ops_data:
        raise LoratuiError(f"{source}: no operations: add [[op]] tables (see `loratui tags apply --help`)")
    ops = []
    for index, item in enumerate(ops_data, 1):
        if not isinstance(item, dict):
            raise LoratuiError(f"{source}: op {index} is not a table: write it as [[op]]")
        ops.append(op_from_dict(item, f"{source}: op {index}"))
    where = data.get("where")
    if where is not None:
        if not isinstance(where, str):
            raise LoratuiError(f"{source}: where must be a string such as \"tag:solo\", got {where!r}")
        try:
            parse_where(where)
        except LoratuiError as exc:
            raise LoratuiError(f"{source}: {exc}") from None
    description = data.get("description", "")
    if not isinstance(description, str):
        raise LoratuiError(f"{source}: description must be a string")
    return Recipe(ops, where or None, description)


def recipe_to_dict(recipe: Recipe) -> dict:
    data: dict = {}
    if recipe.description:
        data["description"] = recipe.description
    if recipe.where:
        data["where"] = recipe.where
    data["op"] = [op.to_dict() for op in recipe.ops]
    return data


def load_recipe(path: str | os.PathLike) -> Recipe:
    data = read_toml(path, "recipe")
    return recipe_from_dict(data, str(path))


def _value(value) -> str:
    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip() if not isinstance(value, list) else \
        "[" + ", ".join(_value(v) for v in value) + "]"


def _op_table(op: Op) -> str:
    """One operation as an ``[[op]]`` table with short lists on one line (the form the docs show)."""
    lines = ["[[op]]"] + [f"{key} = {_value(value)}" for key, value in op.to_dict().items()]
    return "\n".join(lines) + "\n"


def dumps_recipe(recipe: Recipe) -> str:
    head = "".join(f"{key} = {_value(value)}\n" for key, value in
                   (("description", recipe.description), ("where", recipe.where)) if value)
    return head + "".join(("\n" if head or i else "") + _op_table(op) for i, op in enumerate(recipe.ops))


def save_recipe(recipe: Recipe, path: str | os.PathLike) -> None:
    atomic_write_text(path, dumps_recipe(recipe))


_STILL_TERMS = ("folder:", "file:")  # what no operation changes (multiline: the lines after the first)


def _where_stays_put(where: str) -> bool:
    """True when ``where`` picks the same captions before and after any operation (folders, file
    names, multiline): then it means the same at the top of a recipe and on each of its operations."""
    for token in _tokens(where):
        low = token.lower().lstrip("-")
        if low not in ("and", "or", "not", "multiline") and not low.startswith(_STILL_TERMS):
            return False
    return True


def check_recipe_target(path: str | os.PathLike) -> None:
    """Raise the LoratuiError ``append_to_recipe`` would, before anything else is written: an
    existing file must be a recipe (whose top-level where can move onto its operations), a new one
    needs a folder it can be created in."""
    path = Path(path)
    if path.exists():
        load_recipe(path).where_to_move(path)
        if not os.access(path, os.W_OK):
            raise LoratuiError(f"{path}: the recipe file is read-only: make it writable or give another --save-recipe")
        return
    folder = path.parent
    if not folder.is_dir():
        raise LoratuiError(f"{path}: the folder {folder} does not exist: create it or give another --save-recipe")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise LoratuiError(f"{path}: cannot create a file in {folder} (no permission): give another --save-recipe")


def append_to_recipe(path: str | os.PathLike, ops: list[Op], where: str | None = None,
                     description: str | None = None) -> Recipe:
    """Add ``ops`` to the recipe at ``path`` (created if missing): build a recipe step by step.

    A ``where`` given with the step is stored on each of its operations, so it keeps applying
    to them alone. A top-level where of the recipe is moved onto its earlier operations (see
    ``Recipe.appending_note``): left at the top it would limit the new operations too.
    """
    path = Path(path)
    exists = path.exists()
    recipe = load_recipe(path) if exists else Recipe([])
    moved = recipe.where_to_move(path)
    if moved:
        recipe = Recipe([_limited(op, moved, first=True) for op in recipe.ops], None, recipe.description)
    added = [_limited(op, where) for op in ops]
    recipe.ops.extend(added)
    if description:
        recipe.description = description
    if not exists:
        save_recipe(recipe, path)
        return recipe
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    newline = "\r\n" if "\r\n" in text else "\n"
    text = text.replace("\r\n", "\n")
    if moved:
        text = _moved_where_text(text, moved)
    updated = _appended_text(text, added, description).replace("\n", newline)
    again = recipe_from_dict(tomllib.loads(updated), str(path))
    if again != recipe:  # never write a changed meaning
        raise LoratuiError(f"{path}: cannot add to this recipe without rewriting it: add the steps by hand")
    atomic_write_bytes(path, (b"\xef\xbb\xbf" if bom else b"") + updated.encode("utf-8"))
    return recipe


def _limited(op: Op, where: str | None, first: bool = False) -> Op:
    """``op`` also limited by ``where`` (kept in its own ``where``, before or after what it had)."""
    if not where:
        return op
    combined = combine_where(where, op.where) if first else combine_where(op.where, where)
    return op_from_dict({**op.to_dict(), "where": combined})


def _moved_where_text(text: str, where: str) -> str:
    """The recipe text without its top-level ``where``, each operation limited by it instead; the
    comments and layout kept (but a comment on the where line itself)."""
    import tomlkit

    doc = tomlkit.parse(text)
    del doc["where"]
    for table in doc["op"]:
        table["where"] = combine_where(where, table.get("where"))
    return tomlkit.dumps(doc)


def _appended_text(text: str, added: list[Op], description: str | None = None) -> str:
    """The recipe text with ``added`` after its operations (and ``description`` set), every other
    byte (comments, layout) kept."""
    import tomlkit

    doc = tomlkit.parse(text)
    if description and doc.get("description") != description:
        if "description" in doc:
            doc["description"] = description
            text = tomlkit.dumps(doc)
        else:  # a new first line: keys after the [[op]] tables would belong to the last one
            text = f"description = {_value(description)}\n" + text
        doc = tomlkit.parse(text)
    if isinstance(doc.get("op"), tomlkit.items.AoT):  # [[op]] tables: they end the file, add more after
        return text.rstrip("\n") + "\n" + "".join("\n" + _op_table(op) for op in added)
    array = doc["op"]  # op = [ {...}, ... ]: add inline tables to that array
    for op in added:
        table = tomlkit.inline_table()
        table.update(op.to_dict())
        array.append(table)
    return tomlkit.dumps(doc)
