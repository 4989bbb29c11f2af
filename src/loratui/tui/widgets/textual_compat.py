"""Textual's private names that loratui relies on, each behind one small function (Textual 8.2.8).

Textual has no public way to do these, so each is done here only: a Textual bump that renames one
breaks this module, and tests/tui/test_textual_compat_s14.py names which (instead of a key that
quietly stops being dropped, or a footer key that stops coming and going with no error).

- ``key_clock()``: the clock Textual stamps each message (a key) with (``textual._time.get_time``), so a
  screen can tell a key read before it opened (typed ahead for the screen under it) from one read since.
- ``input_suggestion(box)`` / ``watch_input_suggestion(box, callback)``: the completion an Input shows
  faint after the cursor (its ``_suggestion`` reactive).
- ``show_bindings(node, ids, shown)``: which of a node's own bindings the footer shows, changed for that
  node only (its ``_bindings`` map, a copy of its class's).

``DropsTypeAhead``, the one user of ``key_clock``, lives here too: the mixin of the screens the app opens
over one the user may be typing into (OfferDialog, PlanPreviewScreen).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual.events import Key
from textual.widgets import Input

SUGGESTION = "_suggestion"  # Input's reactive: the completion drawn after the cursor ("" when none)


def key_clock() -> float:
    """Now, on the clock Textual stamps a key event with when it reads the key (``event.time``)."""
    from textual import _time

    return _time.get_time()


def input_suggestion(box: Input) -> str:
    """The completion ``box`` holds (drawn faint after the cursor while focused), "" when none."""
    return getattr(box, SUGGESTION)


def watch_input_suggestion(box: Input, callback: Callable[[], object]) -> None:
    """Call ``callback`` each time ``box``'s suggestion changes. Refused at once (RuntimeError) when Input
    no longer has the reactive: a watch of a missing name would never fire and never say so."""
    from textual.reactive import Reactive

    if not isinstance(Input.__dict__.get(SUGGESTION), Reactive):
        raise RuntimeError(f"textual's Input has no reactive {SUGGESTION!r} any more: "
                           "update loratui.tui.widgets.textual_compat for this Textual version")
    box.watch(box, SUGGESTION, callback, init=False)


def show_bindings(node, ids: Iterable[str], shown: Iterable[str]) -> None:
    """Of ``node``'s bindings whose id is in ``ids``, show in the footer those in ``shown`` and hide the
    others. New lists replace the old ones in ``node``'s own map (a shallow copy of its class's), so no other
    node of the class sees the change. The caller refreshes the bindings."""
    from dataclasses import replace

    ids, shown = frozenset(ids), frozenset(shown)
    bindings = node._bindings.key_to_bindings
    for key, bound in list(bindings.items()):
        bindings[key] = [replace(binding, show=binding.id in shown) if binding.id in ids else binding
                         for binding in bound]


class DropsTypeAhead:
    """Mixin for a screen opened over one the user may be typing into: a key read before it opened was
    typed for the screen under it (hunt s14: a ``d`` deleted a draft, a ``y`` applied a removal), so it
    is dropped, never an answer here. ``shown_at`` is taken at construction, not at mount: a key read in
    between was typed at most a few milliseconds before the screen showed. ``dropped`` counts the keys
    dropped; ``typed_ahead_dropped()`` is told after each (to say so).

    Textual calls every class's ``on_key`` down the MRO until one prevents the default: a class with its
    own ``on_key`` calls ``drop_typed_ahead(event)`` first and returns when it is True."""

    shown_at: float = float("-inf")  # nothing is dropped until start_dropping_typed_ahead()
    dropped: int = 0

    def start_dropping_typed_ahead(self) -> None:
        self.shown_at = key_clock()
        self.dropped = 0

    def drop_typed_ahead(self, event: Key) -> bool:
        """Drop ``event`` when it was read before this screen opened; True then."""
        if event.time >= self.shown_at:
            return False
        event.stop()
        event.prevent_default()
        self.dropped += 1
        self.typed_ahead_dropped()
        return True

    def typed_ahead_dropped(self) -> None:
        """A key typed ahead was dropped (``dropped`` counts them): a subclass says so its own way."""

    def on_key(self, event: Key) -> None:
        self.drop_typed_ahead(event)
