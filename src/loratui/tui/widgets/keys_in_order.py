"""Keys typed fast into a text box act in the order they were typed.

Textual 8.2 inserts a printable key in ``Input._on_key`` at once, but a bound key (backspace,
delete, the arrows, home/end, ctrl+u...) bubbles up to the App first and its action runs from
there: in a burst of keys (fast typing over SSH, a paste of keystrokes, tmux send-keys, a slow
moment of the app) the letters after a backspace land before it. "no humans", then 7 backspaces
and "people", gave "no humanp" and wrote it to the caption (Textual issue #6605).

``install()`` makes an Input run its own bindings inline, in ``_on_key``, so they keep their place
among the letters; keys it has no binding for go on as before (to its parents' bindings and key
handlers). Called once by the app; a Textual release with the fix makes it a no-op in effect.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input

_MARK = "_loratui_keys_in_order"


async def _run_own_binding(widget, event: events.Key) -> bool:
    """Run the widget's own (non-priority, keymap-applied) binding for this key; True if one acted."""
    bindings = widget._bindings.copy()
    keymap = widget.app._keymap
    if keymap:
        bindings.apply_keymap(keymap)
    for binding in bindings.key_to_bindings.get(event.key, ()):
        if not binding.priority and await widget.app.run_action(binding.action, widget):
            return True
    return False


def install() -> None:
    original = Input._on_key
    if getattr(original, _MARK, False):
        return

    async def _on_key(self: Input, event: events.Key) -> None:
        if not event.is_printable:
            self._restart_blink()  # as the original does first: the cursor shows after a burst of arrows
            if await _run_own_binding(self, event):
                event.stop()
                event.prevent_default()
                return
        await original(self, event)

    setattr(_on_key, _MARK, True)
    Input._on_key = _on_key
