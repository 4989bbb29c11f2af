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

Each [[op]] has an `op` name (add, remove, replace, dedupe, sort, move_front, strip_underscores,
remove_category) and that operation's keys; `where = "..."` at the top level limits the recipe
to the captions a --where expression selects.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from loratui.core.edits import Op, op_from_dict
from loratui.core.errors import LoratuiError
from loratui.core.fsutil import atomic_write_text
from loratui.core.tomlfile import read_toml


@dataclass
class Recipe:
    ops: list[Op]
    where: str | None = None
    description: str = ""


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
    return Recipe(ops, data.get("where"), data.get("description", ""))


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


def dumps_recipe(recipe: Recipe) -> str:
    return tomli_w.dumps(recipe_to_dict(recipe))


def save_recipe(recipe: Recipe, path: str | os.PathLike) -> None:
    atomic_write_text(path, dumps_recipe(recipe))
