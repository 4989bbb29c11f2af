"""User key overrides: ``$XDG_CONFIG_HOME/loratui/keymap.toml`` (else ``~/.config/loratui``).

Format: one ``[keys]`` table mapping a binding id to the key (or keys) that should trigger it::

    [keys]
    "tags.add" = "a"
    "app.help" = "f1,question_mark"     # several keys: comma-separated ...
    "app.quit" = ["ctrl+q", "f10"]      # ... or a list

Every Binding in the TUI carries an ``id`` (``Binding(..., id="tags.add")``); Textual's
``App.set_keymap`` replaces the key of the bindings whose id is in the map, wherever they are
declared. Ids cannot be checked at load time (screens are not imported yet); ``unknown_binding_ids``
does it once the app knows its widget classes, and ``keymap_clash_lines`` names a key the keymap gives
to an action while another one of the same widget had it (Textual drops the other without a word).

Ids are the stable part: a default key may move (s17: ctrl+r became "run this screen's job" everywhere,
so settings.train moved from ctrl+t to ctrl+r, settings.revert_field from ctrl+r to ctrl+z and bulk.clear
from ctrl+r to ctrl+l), but an id is never renamed, since users' keymap.toml files name them.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.binding import Binding, BindingsMap
from textual.keys import format_key

try:  # Textual is pinned: its own key spelling ("?" -> "question_mark"); private, so guarded
    from textual.keys import _normalize_key_list
except ImportError:  # a Textual that moved it: keys are kept as written (a word, not "?", then binds)
    def _normalize_key_list(keys: str) -> str:
        return ",".join(key.strip() for key in keys.split(","))

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode

KEYMAP_FILE_NAME = "keymap.toml"

# One key: modifiers joined by '+' ("ctrl+shift+a"), then a key name Textual reports ("f1", "pageup",
# "question_mark") or a single printable character ("?", "a"). A lone "+" is written "plus".
MODIFIERS = ("alt", "ctrl", "hyper", "meta", "shift", "super")  # the order Textual reports them in
# the shape of Textual's key names ("f1", "pageup", "question_mark"): the check when its tables are not there
KEY_NAME = re.compile(r"[a-z][a-z0-9_]*")


@functools.cache
def textual_key_names() -> frozenset[str] | None:
    """The names (without modifiers) a key press can have in Textual: its ``Keys`` enum, the keys of the
    kitty keyboard protocol, and the names it gives printable characters ("slash", "question_mark").
    None when Textual's private tables are not where 8.2 keeps them: names are then checked by shape
    (``KEY_NAME``), so a keymap still loads (load_keymap never raises)."""
    try:
        from textual._keyboard_protocol import FUNCTIONAL_KEYS
        from textual.keys import KEY_ALIASES, KEY_NAME_REPLACEMENTS, Keys, _character_to_key

        names = {key.value.rpartition("+")[2] for key in Keys if not key.value.startswith("<")}
        names.update(FUNCTIONAL_KEYS.values())
        names.update(alias.rpartition("+")[2] for aliases in KEY_ALIASES.values() for alias in aliases)
        names.update(KEY_NAME_REPLACEMENTS.values())
        # printable ASCII and Latin-1 (what a keyboard types without a compose key): "slash", "section_sign"
        names.update(_character_to_key(chr(code)) for code in [*range(0x21, 0x7F), *range(0xA1, 0x100)])
    except (ImportError, AttributeError, TypeError, ValueError):  # moved, or changed shape
        return None
    return frozenset(name for name in names if name)


def key_problem(key: str) -> str | None:
    """Why ``key`` is not a key Textual can report (with a "did you mean"), or None when it is one.

    A typo ("slashh", "ctrl+zz") would otherwise bind the action to a key no press ever makes, and the
    footer would show the typo (or worse: "ctrl+banana" shows as "^🍌", Textual's name for that emoji).
    """
    *modifiers, name = key.split("+") if key != "+" else ["+"]
    name_ok = _is_character(name) or _is_key_name(name)
    modifiers_ok = all(modifier in MODIFIERS for modifier in modifiers)
    in_order = modifiers == sorted(set(modifiers), key=MODIFIERS.index) if modifiers_ok else True
    if name_ok and modifiers_ok and in_order and modifiers and name.isalpha() and name.isupper():
        # Textual reports ctrl with a shifted letter as ctrl+shift+s (shift alone: "S"): "ctrl+S" binds no press
        kept = [modifier for modifier in modifiers if modifier != "shift"]
        guess = "+".join([*sorted({*kept, "shift"}, key=MODIFIERS.index), name.lower()]) if kept else name
        return (f"'{key}' is not a key Textual reports (did you mean '{guess}'?): a shifted letter is 'S' alone, "
                "'ctrl+shift+s' with another modifier")
    if name_ok and modifiers_ok and in_order:
        return None
    guess = "plus" if key == "+" else _key_guess(modifiers, name)
    if name_ok and modifiers_ok:
        return (f"'{key}' repeats a modifier or has them out of order (did you mean '{guess}'?): Textual "
                f"reports them in the order {'+'.join(MODIFIERS)}")
    if guess and guess != key:
        return f"'{key}' is not a key name (did you mean '{guess}'?)"
    return (f"'{key}' is not a key name: use forms like \"a\", \"ctrl+s\", \"f2\", \"slash\", "
            f"\"question_mark\" (modifiers: {', '.join(MODIFIERS)})")


def _key_guess(modifiers: list[str], name: str) -> str | None:
    """The key the user most likely meant: each part replaced by its closest real spelling."""
    fixed_modifiers = []
    for modifier in modifiers:
        close = difflib.get_close_matches(modifier.strip().lower(), MODIFIERS, n=1, cutoff=0.5)
        if not close:
            return None
        fixed_modifiers.append(close[0])
    name = name.strip()
    if not _is_character(name) and not _is_key_name(name):
        if _is_key_name(name.lower()):
            name = name.lower()
        else:
            close = difflib.get_close_matches(name.lower(), sorted(textual_key_names() or ()), n=1, cutoff=0.65)
            if not close:
                return None
            name = close[0]
    return "+".join([*sorted(set(fixed_modifiers), key=MODIFIERS.index), name])


def _is_key_name(name: str) -> bool:
    names = textual_key_names()
    return name in names if names is not None else bool(KEY_NAME.fullmatch(name))


def _is_character(name: str) -> bool:
    """One printable character: Textual's key for it is the character ("a", "X", "é")."""
    return len(name) == 1 and name.isprintable() and not name.isspace() and name not in ",+"


def keymap_path() -> Path:
    from loratui.core.userdirs import user_config_dir

    return user_config_dir() / KEYMAP_FILE_NAME


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
    except IsADirectoryError:  # not a permissions problem: the fix is to replace the folder with a file
        return {}, [f"{path} is a folder: {KEYMAP_FILE_NAME} must be a file (move the folder away and write the "
                    "[keys] table in a file of that name); the default keys are used"]
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
    problems = [problem for problem in map(key_problem, parts) if problem]
    if problems:  # the whole entry is refused: the action keeps its default key rather than none
        return "", "; ".join(problems) + "; it keeps its default key"
    return ",".join(parts), None


def apply_keymap(app: App, keymap: dict[str, str]) -> None:
    """Install the overrides (replacing any earlier ones); Textual rebinds on the next key press."""
    app.set_keymap(keymap)


def bound_key(node: DOMNode, binding_id: str) -> str:
    """The key that runs ``binding_id`` among ``node``'s bindings with the user's keymap applied (as
    Textual applies it: a key the keymap reuses is taken from its default owner), spelled as the app's
    messages spell keys ("ctrl+z", "a", "+"); "" when the keymap left it no key there. Messages and hints
    name keys through this, so a remapped key is the one they name."""
    return key_in(node._bindings, getattr(node.app, "_keymap", None), binding_id)


def class_bound_key(app: App, node_class: type[DOMNode], binding_id: str) -> str:
    """``bound_key`` for a screen or widget that may not exist yet ("ctrl+s on Settings" said before
    Settings was ever opened): the bindings each instance of ``node_class`` starts from."""
    return key_in(class_bindings(node_class), getattr(app, "_keymap", None), binding_id)


def key_in(bindings: BindingsMap, keymap: dict[str, str] | None, binding_id: str) -> str:
    """The key of ``binding_id`` in ``bindings`` with ``keymap`` (what App.set_keymap stored) applied."""
    keys = keys_in(bindings, keymap, binding_id)
    return keys[0] if keys else ""


def keys_in(bindings: BindingsMap, keymap: dict[str, str] | None, binding_id: str) -> list[str]:
    """Every key that runs ``binding_id`` in ``bindings`` with ``keymap`` applied, in their order ("?", "f1")."""
    return list(dict.fromkeys(shown for _name, shown in named_keys_in(bindings, keymap, binding_id)))


def or_words(keys: list[str]) -> str:
    """["?", "f1", "f12"] -> "?, f1 or f12"; "" for none."""
    return ", ".join(keys[:-1]) + " or " + keys[-1] if len(keys) > 1 else "".join(keys)


def named_keys_in(bindings: BindingsMap, keymap: dict[str, str] | None, binding_id: str) -> list[tuple[str, str]]:
    """(Textual's key name, the key as messages spell it) for each key that runs ``binding_id`` in
    ``bindings`` with ``keymap`` applied: ("question_mark", "?"), ("f1", "f1")."""
    bindings = bindings.copy()
    if keymap:
        bindings.apply_keymap(keymap)
    keys: list[tuple[str, str]] = []
    for name, bound in bindings.key_to_bindings.items():
        if bound and bound[0].id == binding_id:  # the first of a key's bindings is the one it runs
            if bound[0].key_display:
                shown = bound[0].key_display
            else:
                modifiers, key = bound[0].parse_key()
                shown = "+".join([*modifiers, format_key(key)])
            keys.append((name, shown))
    return keys


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


@dataclass(frozen=True)
class KeyClash:
    """A key the keymap gives to ``winner`` while ``losers`` (of the same widget) had it or want it too."""

    key: str
    winner: Binding
    """The binding the key runs: the keymap's (the first declared when two keymap entries share it)."""
    losers: tuple[Binding, ...]
    """Bindings the key no longer reaches: the default owner, or a second keymap entry on the key."""


def normalize_keymap(keymap: dict[str, str]) -> dict[str, str]:
    """The keymap in Textual's spelling ("?" -> "question_mark"), as ``App.set_keymap`` stores it."""
    return {binding_id: _normalize_key_list(keys) for binding_id, keys in keymap.items()}


def key_clashes(bindings: BindingsMap, keymap: dict[str, str]) -> list[KeyClash]:
    """The keys of one widget's bindings that the keymap makes ambiguous.

    Textual's ``BindingsMap.apply_keymap`` removes every default binding of a key the keymap reuses and
    reports nothing (its clash test is inverted in 8.2.8): the user's key wins and the other action
    silently loses it. Two keymap entries on one key both stay; the first declared runs.
    """
    normal = normalize_keymap(keymap)
    after = bindings.copy()
    after.apply_keymap(normal)
    clashes = []
    for key, bound in after.key_to_bindings.items():
        if not any(binding.id in normal for binding in bound):
            continue  # a default key the keymap did not touch
        displaced = [binding for binding in bindings.key_to_bindings.get(key, []) if binding.id not in normal]
        losers = _distinct_actions([*bound[1:], *displaced], bound[0])
        if losers:
            clashes.append(KeyClash(key, bound[0], tuple(losers)))
    return clashes


def _distinct_actions(bindings: list[Binding], winner: Binding) -> list[Binding]:
    """One binding per action, leaving out the winner's ("a,a" in the keymap is no clash)."""
    seen = {binding_name(winner)}
    distinct = []
    for binding in bindings:
        if binding_name(binding) not in seen:
            seen.add(binding_name(binding))
            distinct.append(binding)
    return distinct


def binding_name(binding: Binding) -> str:
    """What to call a binding to the user: its id (the keymap's name), else its action."""
    return binding.id or binding.action


def lost_bindings(bindings: BindingsMap, keymap: dict[str, str]) -> dict[str, KeyClash]:
    """{binding name: the clash that took its last key} for the bindings the keymap leaves without a key."""
    normal = normalize_keymap(keymap)
    after = bindings.copy()
    after.apply_keymap(normal)
    still_bound = set()  # a key runs its first binding; the rest of a list the keymap made never run
    for bound in after.key_to_bindings.values():
        clashed = any(binding.id in normal for binding in bound)
        still_bound.update(binding_name(binding) for binding in (bound[:1] if clashed else bound))
    lost: dict[str, KeyClash] = {}
    for clash in key_clashes(bindings, keymap):
        for loser in clash.losers:
            if binding_name(loser) not in still_bound:
                lost.setdefault(binding_name(loser), clash)
    return lost


def describe_clash(clash: KeyClash, bindings: BindingsMap, keymap: dict[str, str],
                   path: str | os.PathLike | None = None) -> str:
    """One line: the key, who has it and from where, which one runs, what the others keep, the fix."""
    file_name = Path(path).name if path is not None else KEYMAP_FILE_NAME
    normal = normalize_keymap(keymap)
    lost = lost_bindings(bindings, keymap)

    def origin(binding: Binding) -> str:
        return f"{binding_name(binding)} ({file_name if binding.id in normal else 'default'})"

    key = format_key(clash.key)
    names = [binding_name(loser) for loser in clash.losers]
    fates = [f"{name} has no key now" if name in lost else f"{name} keeps its other keys" for name in names]
    fix = "one of them another key" if len(names) == 1 else "each its own key"
    return (f"'{key}' is bound to {_and([origin(clash.winner), *map(origin, clash.losers)])}: '{key}' runs "
            f"{binding_name(clash.winner)}; {_and(fates)}; give {fix} in {file_name}")


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def keymap_clash_lines(keymap: dict[str, str], node_classes: Iterable[type[DOMNode]],
                       path: str | os.PathLike | None = None) -> list[str]:
    """One line per key the keymap gives to two actions of one widget class, or to a screen's action and
    the app's (each clash named once)."""
    lines: list[str] = []
    if not keymap:
        return lines
    node_classes = list(node_classes)
    for node_class in node_classes:
        bindings = class_bindings(node_class)
        for clash in key_clashes(bindings, keymap):
            line = describe_clash(clash, bindings, keymap, path)
            if line not in lines:
                lines.append(line)
    return lines + _screen_app_clash_lines(keymap, node_classes, path)


def class_bindings(node_class: type[DOMNode]) -> BindingsMap:
    """The bindings each instance of ``node_class`` starts from (Textual's own merge of the class tree),
    with the palette key an App adds when it starts."""
    from textual.app import App

    bindings = node_class._merge_bindings()
    if issubclass(node_class, App) and node_class.ENABLE_COMMAND_PALETTE:
        bindings._add_binding(Binding(node_class.COMMAND_PALETTE_BINDING, "command_palette", "palette",
                                      priority=True))
    return bindings


def _screen_app_clash_lines(keymap: dict[str, str], node_classes: list[type[DOMNode]],
                            path: str | os.PathLike | None) -> list[str]:
    """A key the keymap puts on both a screen and the app: the screen's binding wins there (it is nearer
    in Textual's chain) unless the app's has priority; the other one has lost that key on that screen."""
    from textual.app import App
    from textual.screen import ModalScreen, Screen

    normal = normalize_keymap(keymap)
    file_name = Path(path).name if path is not None else KEYMAP_FILE_NAME
    screens = [klass for klass in node_classes if issubclass(klass, Screen) and not issubclass(klass, ModalScreen)]
    lines: list[str] = []
    for app_class in (klass for klass in node_classes if issubclass(klass, App)):
        app_after = _after_keymap(class_bindings(app_class), normal)
        for screen_class in screens:
            screen_after = _after_keymap(class_bindings(screen_class), normal)
            for key, screen_bound in screen_after.key_to_bindings.items():
                app_bound = app_after.key_to_bindings.get(key)
                if not app_bound or not any(binding.id in normal for binding in (*screen_bound, *app_bound)):
                    continue  # not there, or a default the keymap did not make
                app_wins = any(binding.priority for binding in app_bound)
                winner, loser = (app_bound[0], screen_bound[0]) if app_wins else (screen_bound[0], app_bound[0])
                if binding_name(winner) == binding_name(loser):
                    continue
                loser_map = app_after if loser is app_bound[0] else screen_after
                others = [other for other, bound in loser_map.key_to_bindings.items()
                          if other != key and binding_name(bound[0]) == binding_name(loser)]
                where = "the " + re.sub(r"Screen$", "", screen_class.__name__) + " screen"

                def origin(binding: Binding, place: str) -> str:
                    return f"{binding_name(binding)} ({file_name if binding.id in normal else 'default'}{place})"

                fate = "keeps its other keys" if others else "has no key"
                line = (f"'{format_key(key)}' is bound to {origin(screen_bound[0], ', ' + where)} and "
                        f"{origin(app_bound[0], ', everywhere')}: on {where} '{format_key(key)}' runs "
                        f"{binding_name(winner)}; {binding_name(loser)} {fate} there; give one of them another "
                        f"key in {file_name}")
                if line not in lines:
                    lines.append(line)
    return lines


def _after_keymap(bindings: BindingsMap, normal: dict[str, str]) -> BindingsMap:
    after = bindings.copy()
    after.apply_keymap(normal)
    return after


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

