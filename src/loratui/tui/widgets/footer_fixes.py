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
lists it), and if they still do not fit the help key comes first. The focused pane's keys come first
in Textual's order and the app's last, so at 80 columns a pane with many keys (the tag editor, the
tag list, the summary) had its last keys and "? Help" cut off at the right edge. The footer is
composed again when its width changes, so a resize shows what now fits.

``install()`` applies all three, once per process (the app calls it).
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


def shown(footer: Footer) -> tuple:
    """What the footer would show: its bindings as drawn (key display, words, enabled, group)."""
    app = footer.app
    rows = []
    for _node, binding, enabled, tooltip in footer.screen.active_bindings.values():
        if binding.show:
            group = binding.group.description if binding.group is not None else None
            rows.append((binding.action, app.get_key_display(binding), binding.description, enabled, tooltip,
                         group))
    return (footer.compact, footer.show_command_palette, tuple(rows))


def _cells(widgets: list) -> int:
    """About how many columns the footer's widgets take (FooterKey: " key desc "; a group's keys
    side by side and its label; the palette key docked right with its bar)."""
    from rich.cells import cell_len
    from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

    total = 0
    for widget in widgets:
        if isinstance(widget, FooterKey):
            bar = 1 if widget.has_class("-command-palette") else 0
            total += cell_len(widget.key_display) + (cell_len(widget.description) + 3 if widget.description else 0) + bar
        elif isinstance(widget, FooterLabel):
            total += cell_len(str(widget.render()))
        elif isinstance(widget, KeyGroup):
            total += sum(cell_len(key.key_display) for key in getattr(widget, "_pending_children", ()))
    return total


def fit_width(widgets: list, width: int) -> list:
    """The footer's widgets for ``width`` columns: all of them when they fit; else without the
    command palette's key; and if they still do not fit, the app's help key moved to the front (it
    would be cut off at the right)."""
    from textual.widgets._footer import FooterKey

    if _cells(widgets) <= width:
        return widgets
    widgets = [w for w in widgets if not (isinstance(w, FooterKey) and w.has_class("-command-palette"))]
    at = next((i for i, w in enumerate(widgets) if isinstance(w, FooterKey) and w.action == "help"), None)
    if at is None or _cells(widgets) <= width:
        return widgets
    return [widgets[at], *widgets[:at], *widgets[at + 1:]]


def install() -> None:
    original = Footer.compose
    if getattr(original, _MARK, False):
        return

    def compose(self: Footer):
        prune_closed_watchers(self)  # the keys of the last composition are removed by now
        from textual.compose import compose as build  # the groups' keys inside their KeyGroup, as Textual does

        width = self.size.width or self.app.size.width
        self.__dict__[_WIDTH] = width
        return fit_width(build(self, original(self)), width)

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
