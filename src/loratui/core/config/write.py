"""Saving a config over an existing file: change only what changed, keep everything the user wrote.

Why: users edit their config by hand (comments, key order, blank lines, 'literal' strings). A save
from `presets apply` or the settings form must not turn that into our generated layout. So an
existing file is edited in place with tomlkit, which keeps every untouched byte:

- a changed value is replaced on its own line (its trailing comment stays; a 'literal' string stays
  literal when the new text allows it); in a list (network_args, optimizer_args, ...) only the items
  that changed are rewritten, every other item keeping its exact text: quotes, spacing, commas,
  comments and line layout (toml_array_edit.py). A list that cannot be edited so (kept items
  reordered, a nested array) is written afresh: one line stays one line, a multi-line array stays
  multi-line, each element still there keeping its comments (found by its text, else by its key);
- a key the file lacks is added after the last key of its section with the schema's help above it,
  or right below a commented-out placeholder (``# key = ...``) written by `loratui config new`;
- a key is removed only when the caller unsets it: an optional field set to None, or a key named in
  ``unset`` (the field then takes its default);
- a missing section is appended at the end, commented like a fresh file;
- nothing is written (mtime unchanged) when no value changed; \\r\\n newlines and a UTF-8 BOM are kept.

A config loaded with load_config remembers the file's bytes and mtime; saving it back over a file
that changed since then raises ConflictError instead of overwriting someone else's edit.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from loratui.core.config.schema import SECTIONS, TrainingConfig, section_fields
from loratui.core.config.fields import FIELDS, ConfigError
from loratui.core.config.load import config_to_dict, loads_config
from loratui.core.config.render import dumps_config, help_comment, toml_value
from loratui.core.config.snapshot import FileSnapshot, loaded_snapshot, remember_snapshot
from loratui.core.config.toml_array_edit import array_key, edit_array_text
from loratui.core.errors import ConflictError
from loratui.core.fsutil import atomic_create_bytes, atomic_write_bytes

BOM = "\ufeff"


# ---------------------------------------------------------------- text -> text


def _parse_unset(unset: Iterable[str]) -> set[tuple[str, str]]:
    """"section.key" or a bare key name -> (section, key); unknown names are a programming error."""
    from loratui.core.config.fields import KEY_SECTIONS

    out = set()
    for name in unset:
        section, _, key = name.rpartition(".")
        section = section or KEY_SECTIONS.get(key, "")
        if (section, key) not in FIELDS:
            raise ValueError(f"unset: no config key {name!r}")
        out.add((section, key))
    return out


def _newline_style(text: str) -> str:
    """\\r\\n when every newline of the file is one (then we edit with \\n and convert back)."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf == text.count("\n") else "\n"


def _new_item(old_item: Any, value: Any):
    import tomlkit
    from tomlkit.items import Array, String, StringType

    if (isinstance(value, str) and isinstance(old_item, String) and old_item.type == StringType.SLL
            and "'" not in value and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)):
        return tomlkit.value(f"'{value}'")  # keep the user's literal-string style
    if isinstance(value, list) and isinstance(old_item, Array):
        old_text = old_item.as_string()
        edited = edit_array_text(old_text, value)  # only the changed items' text changes
        if edited is not None:
            item = tomlkit.value(edited)
            if item.as_string() == edited:
                return item
        if "\n" in old_text:  # reordered, or not plain: laid out afresh, comments kept
            return tomlkit.value(_multiline_array_text(old_item, value))
    return tomlkit.value(toml_value(value))


@dataclass
class _ArrayEntry:
    """One element of a multi-line array as the file has it: its value, its text (quoting kept), the
    comment lines above it and the comment after it on its line."""

    value: Any
    raw: str
    above: list[str]
    after: str


def _multiline_array_text(old: Any, values: list) -> str:
    """``values`` as a multi-line array laid out like ``old`` (a tomlkit Array written over several lines):
    its indent, its trailing comma, the comment after ``[``, and the comments of each element still there,
    found by its text, else by its key (``weight_decay=0.1`` keeps the ``# wd`` of ``weight_decay=0.01``).
    The comments of an element removed go with it; the comment lines before ``]`` stay."""
    from tomlkit.items import Null

    opening, pending, entries = "", [], []
    indent, closing, trailing_comma = None, "", False
    for group in old._value:
        comment = group.comment.as_string() if group.comment is not None else ""
        if group.value is None or isinstance(group.value, Null):
            if group.indent is None and comment and not entries and not pending:
                opening = comment  # on the line of "[": `[  # note`
            elif comment:
                pending.append(comment.strip())
            elif group.indent is not None and not comment:
                closing = group.indent.as_string().rsplit("\n", 1)[-1]
            continue
        if indent is None and group.indent is not None:
            indent = group.indent.as_string().rsplit("\n", 1)[-1]
        value = group.value.unwrap() if hasattr(group.value, "unwrap") else group.value
        entries.append(_ArrayEntry(value, group.value.as_string(), pending, comment))
        pending, trailing_comma = [], group.comma is not None
    indent = "  " if indent is None else indent

    def claim(test) -> _ArrayEntry | None:
        found = next((e for e in entries if test(e)), None)
        if found is not None:
            entries.remove(found)
        return found

    # elements kept as they were first, then changed ones by their key (an unchanged one keeps its own)
    same = [claim(lambda e: e.value == v and type(e.value) is type(v)) for v in values]
    keyed = [None if s is not None or array_key(v) is None else claim(lambda e: array_key(e.value) == array_key(v))
             for v, s in zip(values, same)]
    lines = ["[" + opening]
    for number, value in enumerate(values):
        entry = same[number] or keyed[number]
        comma = "," if number < len(values) - 1 or trailing_comma else ""
        for line in entry.above if entry else []:
            lines.append(indent + line)
        text = same[number].raw if same[number] else toml_value(value)
        lines.append(indent + text + comma + (entry.after if entry else ""))
    lines += [indent + line for line in pending]
    return "\n".join(lines) + "\n" + closing + "]"


def _old_item(table: Any, key: str) -> Any:
    try:
        return table.item(key)
    except Exception:  # a split section's proxy has no items to look at: plain style then
        return None


def _comment_out(table: Any, key: str) -> None:
    """Unset ``key``: its line becomes ``# key = old value`` (a fresh file's way of showing an unset
    key), so the help above it still makes sense and the old value is one edit away."""
    from tomlkit.items import Comment, SingleKey, Table, Trivia

    if not isinstance(table, Table) or table.is_super_table():
        del table[key]
        return
    container = table.value
    index = container._map.get(SingleKey(key))
    if not isinstance(index, int):
        del table[key]
        return
    old = container.body[index][1]
    raw = old.as_string()
    if "\n" in raw or "\r" in raw:  # a multi-line array or string: one line is enough to remember it
        raw = raw.split("\n", 1)[0].rstrip() + " ..."
    note = f"# {key} = {raw}"
    if old.trivia.comment:
        note += old.trivia.comment_ws + old.trivia.comment
    container._remove_at(index)
    container.body[index] = (None, Comment(Trivia(indent=old.trivia.indent, comment_ws="", comment=note,
                                                  trail=old.trivia.trail)))


def _placeholder_index(body: list, key: str) -> int | None:
    from tomlkit.items import Comment

    pattern = re.compile(rf"#\s*{re.escape(key)}\s*=")
    for index, (k, item) in enumerate(body):
        if k is None and isinstance(item, Comment) and pattern.match(item.as_string().strip()):
            return index
    return None


def _add_to_table(table: Any, section: str, key: str, value: Any) -> None:
    """Insert ``key = value`` after the section's last key (or below its placeholder) with help."""
    from tomlkit.items import Comment, Table, Whitespace

    item = _new_item(None, value)
    if not isinstance(table, Table) or table.is_super_table():
        table[key] = item  # inline table / split section: tomlkit places it
        return
    container = table.value
    body = container.body
    keyed = [i for i, (k, it) in enumerate(body) if k is not None and not isinstance(it, Table)]
    indent = ""
    if keyed:
        last = body[keyed[-1]][1].trivia.indent
        indent = last if last.strip(" \t") == "" else ""
    placeholder = _placeholder_index(body, key)
    if placeholder is not None:
        index = placeholder + 1
        item.trivia.indent = body[placeholder][1].trivia.indent
    else:
        if keyed:
            index = keyed[-1] + 1
        else:  # no keys yet: below any notes under the header, before the trailing blank lines
            index = len(body)
            while index and isinstance(body[index - 1][1], (Whitespace, Table)):
                index -= 1
            if index and not isinstance(body[index - 1][1], Comment):
                index = 0
        help_lines = "".join(f"{indent}{line}\n" for line in help_comment(FIELDS[(section, key)]))
        item.trivia.indent = help_lines + indent
    if index < len(body):
        container._insert_at(index, key, item)
    else:
        container.append(key, item)


def _section_text(cfg: TrainingConfig, section: str, keys: list[str]) -> str:
    values = config_to_dict(cfg)[section]
    lines = [f"[{section}]"]
    for key in keys:
        lines.extend(help_comment(FIELDS[(section, key)]))
        lines.append(f"{key} = {toml_value(values[key])}")
    return "\n".join(lines) + "\n"


def update_config_text(text: str, cfg: TrainingConfig, *, unset: Iterable[str] = (),
                       source: str = "<string>") -> str:
    """The text of an existing config changed to hold ``cfg``, touching only the lines that differ.

    Returns ``text`` itself when nothing changed. Raises ConfigError when ``text`` is not a valid
    config (nothing can be merged into it) and ValueError when ``unset`` names a key whose value in
    ``cfg`` is not its default.
    """
    import tomlkit

    drop = _parse_unset(unset)
    for section, key in drop:
        if getattr(getattr(cfg, section), key) != FIELDS[(section, key)].default:
            raise ValueError(f"unset {section}.{key}: cfg holds a non-default value")
    bom = text.startswith(BOM)
    body = text[1:] if bom else text
    newline = _newline_style(body)
    if newline == "\r\n":
        body = body.replace("\r\n", "\n")
    old_cfg = loads_config(body, source)
    present = tomllib.loads(body)
    new_values = config_to_dict(cfg)
    doc = tomlkit.parse(body)
    appended: list[str] = []
    changed = False
    for section in SECTIONS:
        in_file = present.get(section, {})
        table = doc.get(section)
        to_add: list[str] = []
        for f in section_fields(section):
            key = f.name
            new, old = getattr(getattr(cfg, section), key), getattr(getattr(old_cfg, section), key)
            if key in in_file:
                if (section, key) in drop or new is None:
                    _comment_out(table, key)
                elif new != old or type(new) is not type(old):
                    table[key] = _new_item(_old_item(table, key), new_values[section][key])
                else:
                    continue
            elif new is not None and new != old:
                if table is None:
                    to_add.append(key)
                    continue
                _add_to_table(table, section, key, new_values[section][key])
            else:
                continue
            changed = True
        if to_add:
            appended.append(_section_text(cfg, section, to_add))
            changed = True
    if not changed:
        return text
    out = doc.as_string()
    if appended:
        out = out.rstrip("\n") + "\n\n" if out.strip() else ""
        out += "\n".join(appended)
    try:
        same = loads_config(out, source) == cfg
    except ConfigError:
        same = False
    if not same:  # tomlkit met a layout it cannot edit faithfully: refuse rather than guess
        raise ConfigError(f"{source}: cannot update this file's layout in place; nothing written "
                          f"(write the changed keys by hand, or save to a new file)")
    if newline == "\r\n":
        out = out.replace("\n", "\r\n")
    return (BOM if bom else "") + out


# ---------------------------------------------------------------- files


def _conflict(path: Path, what: str) -> ConflictError:
    return ConflictError(f"{path}: {what} since it was loaded; nothing written "
                         f"(reload it to see the other change, then save again)")


def publish_config_bytes(path: Path, data: bytes, *, create_only: bool = False, mode: int | None = None) -> None:
    """Write a config file's bytes atomically, as one ConfigError line when it cannot be. ``create_only``
    (save as): never replace a file, even one made after its name was checked. Otherwise a file whose
    write bit is off (``mode``, its st_mode when already read) is refused: as for captions, the missing
    bit is what the user asked for (root could write anyway)."""
    if create_only:
        try:
            atomic_create_bytes(path, data)  # os.replace would replace a name taken meanwhile
        except FileExistsError:
            raise ConfigError(f"{path} already exists: nothing written (save as never overwrites a config; f2 "
                              "again with another name)") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot write: {exc.strerror or exc}") from None
        return
    if mode is None:
        try:
            mode = path.stat().st_mode
        except OSError:
            mode = None
    if mode is not None and not mode & stat.S_IWUSR:
        raise ConfigError(f"{path}: read-only config file, not rewritten: make it writable (chmod u+w '{path}') "
                          "first")
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write: {exc.strerror or exc}") from None


def write_config(cfg: TrainingConfig, path: str | os.PathLike, *, unset: Iterable[str] = (),
                 force: bool = False) -> bool:
    """Save ``cfg`` to ``path``: a fresh commented file, or an in-place edit of an existing one.

    Returns False (no write at all) when the file already holds these settings. Raises
    ConflictError when ``cfg`` was loaded from ``path`` and the file changed since (``force``
    skips that check), ConfigError when the existing file is not a valid config.
    """
    path = Path(path)
    snapshot = loaded_snapshot(cfg)
    ours = snapshot is not None and snapshot.path == path.resolve()
    try:
        st = path.stat()
        raw = path.read_bytes()
    except FileNotFoundError:
        st = raw = None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if ours and not force:
        if raw is None:
            raise _conflict(path, "was deleted")
        if raw != snapshot.data:
            raise _conflict(path, "changed on disk")
    if raw is None or not raw.strip(BOM.encode() + b" \t\r\n"):
        text = dumps_config(cfg)
        old_text = None
    else:
        try:
            old_text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not UTF-8 text; nothing written (re-save it as UTF-8)") from None
        text = update_config_text(old_text, cfg, unset=unset, source=str(path))
        if text == old_text:
            return False
    data = text.encode("utf-8")
    if st is not None and not force:
        # A last look right before the rename: another program may have saved while we merged.
        try:
            now = path.stat()
        except FileNotFoundError:
            raise _conflict(path, "was deleted") from None
        if (now.st_mtime_ns, now.st_size, now.st_ino) != (st.st_mtime_ns, st.st_size, st.st_ino):
            raise _conflict(path, "changed on disk")
    # force is about conflicts, not the write bit
    publish_config_bytes(path, data, mode=st.st_mode if st is not None else None)
    if ours:
        # Keep the edit session going: the next save compares against what we just wrote.
        try:
            remember_snapshot(cfg, FileSnapshot.take(path, data, path.stat()))
        except OSError:
            pass
    return True


def save_config(cfg: TrainingConfig, path: str | os.PathLike, *, unset: Iterable[str] = (),
                force: bool = False) -> bool:
    """Write ``cfg`` to ``path`` atomically; returns False (no write, mtime kept) when the file
    already holds these settings, even if formatted differently by hand.

    A new file gets the fully commented layout of dumps_config. An existing file is edited in place
    (update_config_text above): only changed values are rewritten, new keys are added with their help, the
    user's comments, order, blank lines, quoting, \\r\\n newlines and BOM are kept. A key is
    removed only when its optional field is None or it is named in ``unset`` ("section.key" or
    "key"; the field must then hold its default). Raises ConflictError when ``cfg`` came from
    load_config(path) and the file changed since (``force=True`` overwrites anyway).
    """
    return write_config(cfg, path, unset=unset, force=force)
