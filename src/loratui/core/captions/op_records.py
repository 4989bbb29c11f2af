"""Tag operations as plain dicts (a TOML recipe's ``[[op]]`` tables): ``OPS`` by recipe name, and
``op_from_dict``, which rebuilds one and names the recipe key that is wrong. Kept out of ops.py,
which holds what the operations do."""

from __future__ import annotations

from dataclasses import MISSING, fields

from loratui.core.captions.filter import parse_where
from loratui.core.captions.ops import (
    AddTags, Dedupe, MoveToFront, Op, RemoveCategory, RemoveTags, ReplaceTag, SORT_KEYS, SortTags, StripUnderscores,
    check_ops,
)
from loratui.core.captions.patterns import MATCH_MODES
from loratui.core.errors import LoratuiError

OPS: dict[str, type[Op]] = {cls.op: cls for cls in
                            (AddTags, RemoveTags, ReplaceTag, Dedupe, SortTags, MoveToFront, StripUnderscores,
                             RemoveCategory)}
_LIST_KEYS = ("tags", "patterns", "categories", "keep_tags")


def op_from_dict(data: dict, where: str = "recipe") -> Op:
    """Rebuild an operation from its recipe form; errors name ``where`` and the bad key."""
    data = dict(data)
    name = data.pop("op", None)
    if not isinstance(name, str) or name not in OPS:
        raise LoratuiError(f"{where}: unknown op {name!r}: use one of {', '.join(OPS)}")
    cls = OPS[name]
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise LoratuiError(f"{where}: op {name!r} has no key {sorted(unknown)[0]!r} "
                           f"(keys: {', '.join(sorted(names))})")
    for key in _LIST_KEYS:
        if key in data and isinstance(data[key], str):
            data[key] = [data[key]]
        if key in data and not (isinstance(data[key], list) and all(isinstance(v, (str, int)) for v in data[key])):
            raise LoratuiError(f"{where}: op {name!r}: {key} must be a list of strings")
        if key in data:
            data[key] = [str(v) for v in data[key]]
            if not any(v.strip() for v in data[key]):
                raise LoratuiError(f"{where}: op {name!r}: {key} is empty: list at least one")
    for key, kind in (("position", int), ("keep", int), ("move_existing", bool), ("ignore_case", bool)):
        if key in data and (type(data[key]) is not kind):
            raise LoratuiError(f"{where}: op {name!r}: {key} must be {'an integer' if kind is int else 'true or false'}, "
                               f"got {data[key]!r}")
    if data.get("keep", 0) < 0:  # as the CLI's --keep: "the first -3 tags" means nothing
        raise LoratuiError(f"{where}: op {name!r}: keep must be 0 or more (the first N tags stay), got {data['keep']}")
    for key in ("old", "new", "mode", "by", "where"):
        if key in data and not isinstance(data[key], str):
            raise LoratuiError(f"{where}: op {name!r}: {key} must be a string, got {data[key]!r}")
    try:
        op = cls(**data)
    except TypeError as exc:
        missing = [f.name for f in fields(cls) if f.default is MISSING and f.name not in data]
        detail = f"missing key {missing[0]!r}" if missing else str(exc)
        raise LoratuiError(f"{where}: op {name!r}: {detail}") from None
    if getattr(op, "mode", "auto") not in MATCH_MODES:
        raise LoratuiError(f"{where}: op {name!r}: mode must be one of {', '.join(MATCH_MODES)}")
    if isinstance(op, SortTags) and op.by not in SORT_KEYS:
        raise LoratuiError(f"{where}: op 'sort': by must be one of {', '.join(SORT_KEYS)}")
    if isinstance(op, RemoveCategory):
        try:
            op.numbers()
        except LoratuiError as exc:
            raise LoratuiError(f"{where}: {exc}") from None
    try:
        check_ops([op])
    except LoratuiError as exc:
        raise LoratuiError(f"{where}: op {name!r}: {exc}") from None
    if op.where:
        try:
            parse_where(op.where)
        except LoratuiError as exc:
            raise LoratuiError(f"{where}: {exc}") from None
    return op
