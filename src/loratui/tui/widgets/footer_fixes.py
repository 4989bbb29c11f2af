"""Two fixes to Textual 8.2's Footer, which the Dataset table pays for on every cursor move.

1. The Footer forgets the keys it has removed (Textual keeps them for ever).

Each FooterKey watches its Footer's ``compact`` through ``data_bind``; Textual drops a watcher of a
closed node only when the watched value changes, and ``compact`` never does. The Footer recomposes
whenever the bindings change (every cursor move on the Dataset table, where keys come and go with
the row), so each move added ~20 closed FooterKeys to that list: after ten bursts of 40 arrow
presses the app held thousands of dead widgets, and each new key scanned the whole list (a move
took 220 ms instead of 75). The Footer now drops its closed watchers before it composes anew.

2. The Footer is rebuilt only when what it shows changes. A binding refresh (any cursor move: a
key's enabled state may depend on the row) rebuilt all ~20 FooterKeys even when every one stayed
the same, the largest part of a move's cost.

3. When the keys do not all fit, the command palette's key goes (ctrl+p still opens it, and the help
lists it), and if they still do not fit the help key comes first, then whole keys go from the right
end (the least specific: Textual puts the focused pane's keys first and the app's last) until the
rest fit: never half a key ("/ Fi"). At 80 columns a pane with many keys (the tag editor, the tag
list, the summary) had its last keys cut at the right edge. The footer is composed again when its
width changes, so a resize shows what now fits.

4. While a text box (Input, TextArea) has focus, the keys of printable characters are not shown:
typing "/" or "+" there types it. Textual hides such keys itself (1234 Screens goes), but its
``key_to_character`` does not know the names "slash", "plus", "minus", ..., so "/ Filter",
"+ Add", "- Remove" stayed in the footer of the tag editor's add box.

5. A group whose key keymap.toml moved ("app.dataset" = "f7") is drawn in one piece: Textual groups only
neighbouring keys and the keymap's key comes last, so the footer read "234 Screens  ? Help  f7 Dataset"
(or "234f7 Screens"). Its keys are gathered where the group starts, and spaced when one of them is longer
than a character: "2 3 4 f7 Screens".

``install()`` applies all five, once per process (the app calls it).
"""

from __future__ import annotations

from textual.widgets import Footer

_SHOWN = "_loratui_shown"

_WIDTH = "_loratui_width"

_MARK = "_loratui_prunes_watchers"


def prune_closed_watchers(node) -> int:
    """Remove the watchers of ``node``'s reactives whose watching node is closed; how many went."""
    watchers = getattr(node, "__watchers", None)
    if not watchers:
        return 0
    removed = 0
    for callbacks in watchers.values():
        kept = [(owner, callback) for owner, callback in callbacks
                if not (getattr(owner, "_closing", False) or getattr(owner, "_closed", False))]
        removed += len(callbacks) - len(kept)
        callbacks[:] = kept
    return removed


def key_character(key: str) -> str | None:
    """The character a key name types ("slash" -> "/", "plus" -> "+"), or None (a modifier, "escape").
    Textual's ``key_to_character`` looks "slash" up as a Unicode name and finds none: its own table
    (``REPLACED_KEYS``) gives the Unicode name back first."""
    from textual.keys import REPLACED_KEYS, key_to_character

    character = key_to_character(REPLACED_KEYS.get(key, key))
    return character if character is not None and character.isprintable() else None


def typed_keys(screen, active_bindings=None) -> frozenset[str]:
    """The shown keys that the focused widget takes as typing (a text box and "/"), so they do
    nothing else there; a priority binding still acts, and stays."""
    focused = screen.focused
    if focused is None:
        return frozenset()
    active = screen.active_bindings if active_bindings is None else active_bindings
    typed = set()
    for key, (_node, binding, _enabled, _tooltip) in active.items():
        character = key_character(key)
        if character is not None and not binding.priority and focused.check_consume_key(key, character):
            typed.add(key)
    return frozenset(typed)


def shown(footer: Footer) -> tuple:
    """What the footer would show: its bindings as drawn (key display, words, enabled, group), less
    the keys the focused text box types."""
    app = footer.app
    active = footer.screen.active_bindings
    typed = typed_keys(footer.screen, active)
    rows = []
    for key, (_node, binding, enabled, tooltip) in active.items():
        if binding.show and key not in typed:
            group = binding.group.description if binding.group is not None else None
            rows.append((binding.action, app.get_key_display(binding), binding.description, enabled, tooltip,
                         group))
    return (footer.compact, footer.show_command_palette, tuple(rows))


def without_typed(widgets: list, typed: frozenset[str]) -> list:
    """The footer's widgets less the keys in ``typed`` (a group left with no key loses its label)."""
    from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

    if not typed:
        return widgets
    kept: list = []
    dropped_group = False
    for widget in widgets:
        if isinstance(widget, FooterKey) and widget.key in typed:
            continue
        if isinstance(widget, KeyGroup):
            keys = [key for key in getattr(widget, "_pending_children", ()) if key.key not in typed]
            dropped_group = not keys
            if dropped_group:
                continue
            widget._pending_children[:] = keys
        elif isinstance(widget, FooterLabel) and dropped_group:
            dropped_group = False
            continue
        kept.append(widget)
    return kept


def gathered_groups(widgets: list, active_bindings) -> list:
    """The keys of a binding group put back in one piece, where the group first shows, when another key
    stands between them (see the module doc); ``widgets`` as they are when nothing is split."""
    from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

    def group_of(key) -> object | None:
        item = active_bindings.get(key.key)
        return item.binding.group if item is not None else None

    units = _units(widgets)
    unit_groups = []  # per unit: (the group it shows, its keys) or None
    for unit in units:
        keys = list(getattr(unit[0], "_pending_children", ())) if isinstance(unit[0], KeyGroup) else             [unit[0]] if isinstance(unit[0], FooterKey) and not unit[0].has_class("-command-palette") else []
        group = group_of(keys[0]) if keys else None
        unit_groups.append((group, keys) if group is not None else None)
    groups = [entry[0] for entry in unit_groups if entry is not None]
    split = {group for group in groups if groups.count(group) > 1}
    if not split:
        return widgets
    from textual.widgets import Footer

    gathered: list = []
    done: set = set()
    for unit, entry in zip(units, unit_groups, strict=True):
        if entry is None or entry[0] not in split:
            gathered.extend(unit)
            continue
        group = entry[0]
        if group in done:
            continue
        done.add(group)
        keys = [key for other in unit_groups if other is not None and other[0] is group for key in other[1]]
        fresh = [FooterKey(key.key, key.key_display, "", key.action, disabled=key.has_class("-disabled"),
                           tooltip=str(key.tooltip or active_bindings[key.key].binding.description),
                           classes="-grouped").data_bind(compact=Footer.compact) for key in keys]
        gathered += [KeyGroup(*fresh, classes="-compact" if group.compact else ""), FooterLabel(group.description)]
    return gathered


def spaced_groups(widgets: list) -> list:
    """The compact groups among ``widgets`` with a key of more than one cell (keymap.toml's "f7" among
    1-4) get a space before each key but the first: "2 3 4 f7", not "234f7"."""
    from rich.cells import cell_len
    from textual.widgets._footer import KeyGroup

    for widget in widgets:
        if not isinstance(widget, KeyGroup) or not widget.has_class("-compact"):
            continue
        keys = list(getattr(widget, "_pending_children", ()))
        if any(cell_len(key.key_display) > 1 for key in keys):
            for key in keys[1:]:
                if not key.key_display.startswith(" "):
                    key.key_display = " " + key.key_display
    return widgets


def _cells(widgets: list, compact: bool = False) -> int:
    """How many columns the footer's widgets take, their margins included, as Footer's CSS lays
    them out (FooterKey " key desc "; a group's keys side by side, then its label; the palette key
    docked right with its bar)."""
    return sum(_advance(widget, compact) for widget in widgets)


def _advance(widget, compact: bool) -> int:
    from rich.cells import cell_len
    from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

    if isinstance(widget, FooterKey):
        key, words = cell_len(widget.key_display), cell_len(widget.description)
        if widget.has_class("-command-palette"):
            return key + words + 3 + 1  # and its bar
        if not words:
            return key + (1 if compact else 0)
        return key + words + (2 if compact else 3)  # compact: "key desc" and a margin; else " key desc "
    if isinstance(widget, FooterLabel):
        return cell_len(str(widget.render())) + (0 if compact else 1)
    if isinstance(widget, KeyGroup):
        keys = [cell_len(key.key_display) for key in getattr(widget, "_pending_children", ())]
        if widget.has_class("-compact"):
            return 1 + sum(keys) + 1  # padding-left and margin-right
        return sum(keys) + 2 * len(keys)  # each key with a margin either side
    return 0


def _units(widgets: list) -> list[list]:
    """The widgets in the pieces that go together: a key, or a group's keys and its label."""
    from textual.widgets._footer import FooterLabel, KeyGroup

    units: list[list] = []
    for widget in widgets:
        if isinstance(widget, FooterLabel) and units and isinstance(units[-1][-1], KeyGroup):
            units[-1].append(widget)
        else:
            units.append([widget])
    return units


def fit_width(widgets: list, width: int, compact: bool = False) -> list:
    """The footer's widgets for ``width`` columns: all of them when they fit; else without the
    command palette's key; and if they still do not fit, the app's help key moved to the front (it
    would be cut off at the right) and whole keys dropped from the right end until the rest fit."""
    from textual.widgets._footer import FooterKey

    if _cells(widgets, compact) <= width:
        return widgets
    widgets = [w for w in widgets if not (isinstance(w, FooterKey) and w.has_class("-command-palette"))]
    at = next((i for i, w in enumerate(widgets) if isinstance(w, FooterKey) and w.action == "help"), None)
    if _cells(widgets, compact) <= width:
        return widgets
    if at is not None:
        widgets = [widgets[at], *widgets[:at], *widgets[at + 1:]]
    units = _units(widgets)
    keep_first = 1 if at is not None else 0  # the help key stays, even when nothing else fits
    while len(units) > keep_first and _cells([w for unit in units for w in unit], compact) > width:
        units.pop()
    return [w for unit in units for w in unit]


def install() -> None:
    original = Footer.compose
    if getattr(original, _MARK, False):
        return

    def compose(self: Footer):
        prune_closed_watchers(self)  # the keys of the last composition are removed by now
        from textual.compose import compose as build  # the groups' keys inside their KeyGroup, as Textual does

        width = self.size.width or self.app.size.width
        self.__dict__[_WIDTH] = width
        widgets = without_typed(build(self, original(self)), typed_keys(self.screen))
        if widgets and getattr(self.app, "_keymap", None):  # only a keymap splits a group or lengthens a key
            widgets = spaced_groups(gathered_groups(widgets, self.screen.active_bindings))
        return fit_width(widgets, width, self.compact)

    async def recompose_if_changed(self: Footer) -> None:
        if not self.is_attached:
            return
        try:
            now = shown(self)
        except Exception:  # a screen going away: let Textual's own path decide
            await self.recompose()
            return
        if now == self.__dict__.get(_SHOWN) and self.children:
            return
        self.__dict__[_SHOWN] = now
        await self.recompose()

    def bindings_changed(self: Footer, screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(recompose_if_changed, self)

    def on_resize(self: Footer, event) -> None:
        if self.__dict__.get(_WIDTH) not in (None, event.size.width) and self._bindings_ready:
            self.__dict__.pop(_SHOWN, None)
            self.call_after_refresh(recompose_if_changed, self)

    setattr(compose, _MARK, True)
    Footer.compose = compose
    Footer.bindings_changed = bindings_changed
    Footer.on_resize = on_resize
