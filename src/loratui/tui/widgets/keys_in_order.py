"""Keys typed fast into a text box act in the order they were typed.

Textual 8.2 inserts a printable key in ``Input._on_key`` at once, but a bound key (backspace,
delete, the arrows, home/end, ctrl+u...) bubbles up to the App first and its action runs from
there: in a burst of keys (fast typing over SSH, a paste of keystrokes, tmux send-keys, a slow
moment of the app) the letters after a backspace land before it. "no humans", then 7 backspaces
and "people", gave "no humanp" and wrote it to the caption (Textual issue #6605).

``install()`` does two things, once per process (the app calls it):

- An Input runs its own bindings inline, in ``_on_key``, so they keep their place among the
  letters; keys it has no binding for go on as before (to its parents' bindings and key handlers).
- The App hands the widgets one key at a time (a paste waits its turn among them). Textual routes each key to the widget focused when
  the App reads it, before the widgets have acted on the keys before it: "a" (add a tag) then
  "red" in one burst sent "r", "e", "d" to the tag list, where "r" renames and "d" deletes. Now a
  key waits in the App until the one before it is done: stopped by a widget, or through the
  bindings of the App at the end of its bubbling (at most ``HOLD_S``: a key whose handler never
  finishes, or one dropped on the way, does not block the keyboard).

A screen key that opens a box or a dialog (ctrl+g, ctrl+f in Settings, "/" on the Dataset screen) has
``priority=True``: it acts when the App reads it, so the keys typed after it are routed to what it
opened even while the screen is busy. ``key_kept_below`` is the check_action guard that hands such a key
back where the focused widget types it or binds it itself.
"""

from __future__ import annotations

import time
from collections import deque

from textual import events
from textual.app import App
from textual.message_pump import MessagePump
from textual.widgets import Input

_MARK = "_loratui_keys_in_order"
HOLD_S = 0.5  # the longest a key waits for the one before it


async def run_own_binding(widget, event: events.Key) -> bool:
    """Run the widget's own (non-priority, keymap-applied) binding for this key; True if one acted."""
    bindings = widget._bindings.copy()
    keymap = widget.app._keymap
    if keymap:
        bindings.apply_keymap(keymap)
    for binding in bindings.key_to_bindings.get(event.key, ()):
        if not binding.priority and await widget.app.run_action(binding.action, widget):
            return True
    return False


def key_kept_below(screen, action: str) -> bool:
    """Whether a key the keymap gives the screen's priority ``action`` belongs, where the focus is, to a
    widget below the screen: the focused one types it (a printable key in a text box) or it or a parent binds
    it to an action that is on (the tag list's own "/"). Without a priority binding those came first.
    The key being read decides (with "ctrl+g,g" ctrl+g still opens the picker from a field where g is
    typed); asked with no such key (the footer), the action is kept below only when all its keys are."""
    from loratui.tui.widgets.footer_fixes import key_character

    focused = screen.focused
    if focused is None:
        return False
    keymap = getattr(screen.app, "_keymap", None)

    def bindings_of(node):
        bindings = node._bindings.copy()
        if keymap:  # as Textual's binding chain applies it
            bindings.apply_keymap(keymap)
        return bindings.key_to_bindings

    def kept(key: str) -> bool:
        character = key_character(key)
        if character is not None and focused.check_consume_key(key, character):
            return True
        for node in focused.ancestors_with_self:
            if node is screen:
                return False
            if any(not b.priority and screen.app._check_action_state(b.action, node)
                   for b in bindings_of(node).get(key, ())):
                return True
        return False

    keys = [key for key, bindings in bindings_of(screen).items() if any(b.action == action for b in bindings)]
    current = _gate(screen.app).current
    if current is not None and current.key in keys:
        return kept(current.key)
    return bool(keys) and all(kept(key) for key in keys)


class _KeyGate:
    """The App's key in flight and the input that came after it (keys and pastes), in order."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.current: events.Key | None = None
        self.routed = False  # whether ``current`` has reached the App's routing (its timer runs from then)
        self.backlog: deque[events.Event] = deque()
        self.released: set[int] = set()  # pastes sent on from the backlog: the App routes them as they come
        self.timer = None

    def hold(self, event: events.Event) -> bool:
        """True when ``event`` must wait (it is kept); False when the App routes it now."""
        if event is self.current:
            if not self._screen_ready(event):
                return True  # asked again shortly: the screen just pushed is not mounted yet
            self._route(event)
            return False
        if id(event) in self.released:
            self.released.discard(id(event))
            return False
        if self.current is not None or self.backlog:
            self.backlog.append(event)
            return True
        if isinstance(event, events.Key):
            self.current = event
            if not self._screen_ready(event):
                return True
            self._route(event)
        return False  # a paste with nothing before it: routed now, nothing waits for it

    def _screen_ready(self, event: events.Key) -> bool:
        """Whether the top screen can take keys: one pushed by the key before (a form opened by a
        binding) is composed and focused a moment later, and a key routed before that reached no
        widget. Until then the key is asked about again every 10 ms, for at most HOLD_S."""
        try:
            screen = self.app.screen
        except Exception:  # no screen (the app is closing): Textual decides
            return True
        if screen.is_mounted:
            return True
        started = event.__dict__.setdefault("_loratui_waited_from", time.monotonic())
        if time.monotonic() - started >= HOLD_S:
            return True
        self.app.set_timer(0.01, lambda: self.app.post_message(event), name="key waits for its screen")
        return False

    def _route(self, event: events.Key) -> None:
        # from here the widgets have it: HOLD_S for them to finish. A key still in the App's queue has
        # no deadline (it is read in order; a deadline there let the keys after it overtake it).
        self.routed = True
        self.timer = self.app.set_timer(HOLD_S, lambda: self.done(event), name="key in order")

    def done(self, event: events.Key) -> None:
        if event is not self.current or not self.routed:
            return
        self.current, self.routed = None, False
        if self.timer is not None:
            self.timer.stop()
            self.timer = None
        while self.backlog:
            following = self.backlog.popleft()
            if isinstance(following, events.Key):
                self.current = following  # routed when the App reads it: behind nothing it held
                self.app.post_message(following)
                return
            self.released.add(id(following))
            self.app.post_message(following)


def _gate(app: App) -> _KeyGate:
    gate = app.__dict__.get("_loratui_key_gate")
    if gate is None:
        gate = app.__dict__["_loratui_key_gate"] = _KeyGate(app)
    return gate


def install() -> None:
    original = Input._on_key
    if getattr(original, _MARK, False):
        return

    async def _on_key(self: Input, event: events.Key) -> None:
        if not event.is_printable:
            self._restart_blink()  # as the original does first: the cursor shows after a burst of arrows
            if await run_own_binding(self, event):
                event.stop()
                event.prevent_default()
                return
        await original(self, event)

    setattr(_on_key, _MARK, True)
    Input._on_key = _on_key

    app_on_event = App.on_event

    async def on_event(self: App, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded and _gate(self).hold(event):
            return
        await app_on_event(self, event)

    App.on_event = on_event

    bubble_to = events.Key._bubble_to

    def _bubble_to(self: events.Key, widget: MessagePump) -> None:
        self.__dict__.setdefault(_MARK, set()).add(id(widget))  # it goes on to this parent: not done yet
        bubble_to(self, widget)

    events.Key._bubble_to = _bubble_to

    dispatch = MessagePump._dispatch_message

    async def _dispatch_message(self: MessagePump, message) -> None:
        if not isinstance(message, events.Key):
            await dispatch(self, message)
            return
        forwarded = message.is_forwarded
        try:
            await dispatch(self, message)
        finally:
            app = self.app if not isinstance(self, App) else self
            if isinstance(self, App):
                finished = forwarded or not message.is_forwarded  # back from the widgets, or a priority binding took it
            else:  # done here unless it went on to this pump's parent (each pump asks about its own)
                parent = self._parent
                finished = parent is None or id(parent) not in message.__dict__.get(_MARK, ())
            if finished:
                _gate(app).done(message)

    MessagePump._dispatch_message = _dispatch_message
