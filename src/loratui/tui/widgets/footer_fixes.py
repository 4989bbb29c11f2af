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

``install()`` applies both, once per process (the app calls it).
"""

from __future__ import annotations

from textual.widgets import Footer

_SHOWN = "_loratui_shown"

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


def install() -> None:
    original = Footer.compose
    if getattr(original, _MARK, False):
        return

    def compose(self: Footer):
        prune_closed_watchers(self)  # the keys of the last composition are removed by now
        return original(self)

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

    setattr(compose, _MARK, True)
    Footer.compose = compose
    Footer.bindings_changed = bindings_changed
