"""User key overrides: ``$XDG_CONFIG_HOME/loratui/keymap.toml`` (else ``~/.config/loratui``).

Format: one ``[keys]`` table mapping a binding id to the key (or keys) that should trigger it::

    [keys]
    "tags.add" = "a"
    "app.help" = "f1,question_mark"     # several keys: comma-separated ...
    "app.quit" = ["ctrl+q", "f10"]      # ... or a list

Every Binding in the TUI carries an ``id`` (``Binding(..., id="tags.add")``); Textual's
``App.set_keymap`` replaces the key of the bindings whose id is in the map, wherever they are
declared. Ids cannot be checked at load time (screens are not imported yet); ``unknown_binding_ids``
does it once the app knows its widget classes.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.binding import Binding

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode

KEYMAP_FILE_NAME = "keymap.toml"

# One key: modifiers joined by '+', then a key name ("ctrl+shift+a", "f1", "question_mark") or a
# single printable character ("?", "a"). A lone "+" is written "plus".
_MODIFIER = r"(?:ctrl|shift|alt|meta|super|hyper)"
_KEY_RE = re.compile(rf"^(?:{_MODIFIER}\+)*(?:[a-z0-9_]+|[^\s,+])$", re.IGNORECASE)


def keymap_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "loratui" / KEYMAP_FILE_NAME


def load_keymap(path: str | os.PathLike | None = None) -> tuple[dict[str, str], list[str]]:
    """Read the keymap file; returns ({binding id: "key,key"}, problems) and never raises.

    A missing file is an empty keymap. A broken file gives an empty keymap; a bad entry is skipped
    while the good ones are kept. Problems are at most one line, naming the file.
    """
    path = Path(path) if path is not None else keymap_path()
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}, []
    except tomllib.TOMLDecodeError as exc:
        return {}, [f"{path}: not valid TOML ({exc}): fix it; the default keys are used meanwhile"]
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return {}, [f"{path}: cannot be read ({reason}): check its permissions; the default keys are used"]

    keymap, issues = parse_keymap(data)
    if issues:
        return keymap, [f"{path}: " + "; ".join(issues)]
    return keymap, []


def parse_keymap(data: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Check a parsed keymap file; returns the usable entries and a list of issues (no file name)."""
    issues: list[str] = []
    for key, value in data.items():
        if key == "keys":
            continue
        if isinstance(value, dict) and difflib.get_close_matches(key, ["keys"], n=1):
            issues.append(f"unknown table [{key}] (did you mean [keys]?): rename it")
        else:
            issues.append(f"'{key}' is outside the [keys] table: move it below the [keys] line")
    table = data.get("keys", {})
    if not isinstance(table, dict):
        return {}, issues + ["'keys' must be a table: write it as a [keys] section"]

    keymap: dict[str, str] = {}
    for binding_id, value in _flatten(table):
        keys, problem = _key_list(value)
        if problem:
            issues.append(f"'{binding_id}': {problem}")
            continue
        keymap[binding_id] = keys
    return keymap, issues


def _flatten(table: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    """Unquoted dotted ids (tags.add = "a") parse as nested tables: join them back into "tags.add"."""
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _key_list(value: Any) -> tuple[str, str | None]:
    """Normalise a value to "key,key"; or return a problem."""
    if isinstance(value, str):
        parts = [part.strip() for part in value.split(",")]
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        parts = [item.strip() for item in value]
    else:
        return "", f"{value!r} is not a key: write a string such as \"ctrl+s\" or \"f1,question_mark\""
    if not parts or any(not part for part in parts):
        return "", f"{value!r} has an empty key: write keys like \"a\" or \"f1,question_mark\""
    bad = [part for part in parts if not _KEY_RE.match(part)]
    if bad:
        return "", (
            f"{', '.join(repr(part) for part in bad)} is not a key name: use forms like \"a\", "
            "\"ctrl+s\", \"f2\", \"question_mark\" (modifiers: ctrl, shift, alt, super)"
        )
    return ",".join(parts), None


def apply_keymap(app: App, keymap: dict[str, str]) -> None:
    """Install the overrides (replacing any earlier ones); Textual rebinds on the next key press."""
    app.set_keymap(keymap)


def binding_ids(node_classes: Iterable[type[DOMNode]]) -> set[str]:
    """Every binding id declared in BINDINGS by these classes and their base classes."""
    ids: set[str] = set()
    for node_class in node_classes:
        for klass in node_class.__mro__:
            declared = klass.__dict__.get("BINDINGS")
            if not declared:
                continue
            for binding in Binding.make_bindings(declared):
                if binding.id:
                    ids.add(binding.id)
    return ids


def unknown_binding_ids(keymap: dict[str, str], node_classes: Iterable[type[DOMNode]],
                        path: str | os.PathLike | None = None) -> list[str]:
    """One problem line when the keymap names ids that none of ``node_classes`` declares."""
    known = binding_ids(node_classes)
    unknown = [binding_id for binding_id in keymap if binding_id not in known]
    if not unknown:
        return []
    described = []
    for binding_id in unknown:
        close = difflib.get_close_matches(binding_id, sorted(known), n=1)
        described.append(f"'{binding_id}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
    where = Path(path) if path is not None else keymap_path()
    return [f"{where}: no key binding has the id {', '.join(described)}: fix or remove those lines"]


def loratui_binding_classes() -> list[type[DOMNode]]:
    """Every screen, dialog and widget class of the app that may declare bindings (their modules
    imported here: a screen not shown yet is still a place a keymap may name)."""
    import importlib
    import pkgutil

    from textual.dom import DOMNode

    import loratui.tui.screens
    import loratui.tui.widgets

    for package in (loratui.tui.screens, loratui.tui.widgets):
        for info in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{info.name}")
    found: list[type[DOMNode]] = []
    pending = [DOMNode]
    while pending:
        klass = pending.pop()
        for sub in klass.__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith("loratui.") and sub not in found:
                found.append(sub)
    return found

