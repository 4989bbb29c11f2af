"""Escape then a key, arriving together, stay two keys.

A terminal sends Escape as the byte ESC, and (in the legacy encoding most terminals still use) it
sends Alt+D as ESC then ``d``. Textual 8.2's parser waits ``ESCDELAY`` (100 ms) after an ESC and,
when a plain character follows within it, reports one key: ``alt+d`` (character ``d``), or ``slash``
alone for ESC then ``/`` (the Escape is dropped). Over SSH, keys typed 200 ms apart often arrive in
one packet, and a fast typist hits Escape then a letter within 100 ms: "tag", Esc, ``d`` (leave the
add box, delete the tag) typed ``d`` into the box instead.

loratui binds no Alt+letter key, so ``install()`` reads ESC-then-character as the two keys typed:
Escape, then the character. Terminals that report modifiers unambiguously (the kitty keyboard
protocol) still send a real Alt+key, which this leaves alone.
"""

from __future__ import annotations

from textual import events
from textual._xterm_parser import XTermParser

_MARK = "_loratui_escape_keys"


def install() -> None:
    original = XTermParser._sequence_to_key_events
    if getattr(original, _MARK, False):
        return

    def _sequence_to_key_events(self: XTermParser, sequence: str, alt: bool = False):
        if alt:  # only for ESC then one character, from the legacy encoding
            yield events.Key("escape", "\x1b")
        yield from original(self, sequence)

    setattr(_sequence_to_key_events, _MARK, True)
    XTermParser._sequence_to_key_events = _sequence_to_key_events
