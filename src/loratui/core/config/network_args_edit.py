"""One LyCORIS argument read from, and written into, a ``network_args`` list (the Settings form's fields).

The list stays the user's: writing one argument replaces its item in place (or appends it), removes only
its own items, and keeps every other item (unknown keys, malformed ones) where it was. A value that means
what the file's list (``file_items``) already says for that key gives back the file's own item, and a list
that then means exactly what the file's does is the file's list itself, so a field changed and changed
back leaves the TOML byte-for-byte as it was.

Pure Python. Reached through ``EDIT_ARGS[name]``'s methods (core.config's ``LYCORIS_ARGS``): network_args'
ARGS with these functions added, so network_args.LycorisArg stays plain data and this module only imports
network_args, never the other way round (no import cycle).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from loratui.core.config.network_args import (
    ALGO_ALIASES, ALIASES, ARGS, LYCORIS_DEFAULTS, LycorisArg, _normal_value, split_item,
)


def _key_of(item: str) -> str | None:
    """The argument an item sets (aliases resolved), or None for an item that is not key=value."""
    pair = split_item(item)
    return None if pair is None else ALIASES.get(pair[0], pair[0])


def _raw_of(item: str) -> str:
    """The value of a key=value item (``_key_of`` said it is one)."""
    return split_item(item)[1]


def arg_value(items: list[str] | None, name: str) -> str | None:
    """The value the list gives ``name`` (the last item wins, as sd-scripts splits them), None if absent."""
    found = None
    for item in items or []:
        if _key_of(item) == name:
            found = _raw_of(item)
    return found


def shown_default(name: str) -> str:
    """What a choice or true/false field shows while its key is absent."""
    arg = ARGS[name]
    return LYCORIS_DEFAULTS.get(name, "false" if arg.kind == "bool" else "")  # asked of choices and bools only


def shown_value(items: list[str] | None, name: str) -> str | None:
    """The field's value for a list: the value written (a choice normalised: lora -> locon), else for a
    choice or true/false field its default (decompose_both: "true" when present at all, see its help),
    else None (a number left out: LyCORIS uses its own default)."""
    arg = ARGS[name]
    raw = arg_value(items, name)
    if name == "decompose_both":
        return "false" if raw is None else "true"
    if raw is None:
        return shown_default(name) if arg.kind in ("bool", "algo", "preset") else None
    if arg.kind == "algo":
        return ALGO_ALIASES.get(raw.lower(), raw.lower())
    if arg.kind == "bool" and raw.lower() in ("true", "false"):
        return raw.lower()
    return raw


def _same(name: str, a: str, b: str) -> bool:
    return _normal_value(name, a) == _normal_value(name, b)


def _meaning(items: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        key = _key_of(item)
        pairs.append(("", str(item).strip()) if key is None else (key, _normal_value(key, _raw_of(item))))
    return sorted(pairs)


def arg_position(items: list[str] | None, name: str) -> int | None:
    """The index of the first item setting ``name`` (None: absent)."""
    return next((i for i, item in enumerate(items or []) if _key_of(item) == name), None)


def with_arg(items: list[str], name: str, value: str | None, file_items: list[str] | None = None,
             at: int | None = None) -> list[str]:
    """``items`` with ``name`` set to ``value`` (None: its items removed); see the module doc. A key not in
    ``items`` goes at index ``at`` (where a field cleared to be retyped had it), else at the end."""
    file_items = list(file_items or [])
    file_raw = arg_value(file_items, name)
    arg = ARGS[name]
    if name == "decompose_both" and value is not None and value.strip().lower() != "true":
        value = None  # any value turns it on: off is the key left out
    elif name != "decompose_both" and value is not None and file_raw is None and arg.kind in ("bool", "algo", "preset") \
            and _same(name, value, shown_default(name)):
        value = None  # a choice put back to what the absent key means: absent again
    out: list[str] = []
    placed = False
    new_item = None
    if value is not None:
        if file_raw is not None and _same(name, value, file_raw):
            new_item = next(item for item in reversed(file_items) if _key_of(item) == name)
        else:
            current = next((item for item in items if _key_of(item) == name), None)
            spelling = split_item(current)[0] if current is not None else name  # the key as the user spelt it
            new_item = f"{spelling}={value.strip()}"
    for item in items:
        if _key_of(item) != name:
            out.append(item)
        elif new_item is not None and not placed:
            out.append(new_item)
            placed = True
    if new_item is not None and not placed:
        out.insert(len(out) if at is None else min(at, len(out)), new_item)
    return list(file_items) if file_items and _meaning(out) == _meaning(file_items) else out


def value_problem(name: str, raw: str) -> str | None:
    """Why ``raw`` is not a value of ``name`` (one line naming it), or None."""
    return ARGS[name].problem(raw)


def choices_of(name: str) -> tuple[str, ...] | None:
    return ARGS[name].choices


@dataclass(frozen=True)
class EditableArg(LycorisArg):
    """A LycorisArg with the list-editing functions above as methods, for the Settings form's fields."""

    def shown_in(self, items: list[str] | None) -> str | None:
        """The value a form field shows for this list (a choice or true/false: its default when absent)."""
        return shown_value(items, self.name)

    def written_into(self, items: list[str], value: str | None, file_items: list[str] | None = None,
                     at: int | None = None) -> list[str]:
        """``items`` with this argument set to ``value`` (None: removed), other items kept in place (a new
        key at index ``at``, else last); the file's own item (and list) back when the value is the file's."""
        return with_arg(items, self.name, value, file_items, at)

    def position_in(self, items: list[str] | None) -> int | None:
        """Where this argument's (first) item is in the list; None when absent."""
        return arg_position(items, self.name)


EDIT_ARGS: dict[str, EditableArg] = {name: EditableArg(**asdict(arg)) for name, arg in ARGS.items()}
