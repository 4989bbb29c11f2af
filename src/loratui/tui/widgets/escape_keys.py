"""Escape then a key, arriving together, stay two keys.

A terminal sends Escape as the byte ESC, and (in the legacy encoding most terminals still use) it
sends Alt+D as ESC then ``d``. Textual 8.2's parser waits ``ESCDELAY`` (100 ms) after an ESC and,
when a plain character follows within it, reports one key: ``alt+d`` (character ``d``), or ``slash``
alone for ESC then ``/`` (the Escape is dropped). Over SSH, keys typed 200 ms apart often arrive in
one packet, and a fast typist hits Escape then a letter within 100 ms: "tag", Esc, ``d`` (leave the
add box, delete the tag) typed ``d`` into the box instead.

Textual also maps ESC then a digit, ``-``, ``=`` or ``§`` to a character (``£`` for ESC ``3``:
what WezTerm on macOS sends for Option+digit), so Esc then ``3`` (leave a text box, go to
Settings) typed a ``£``.

loratui binds no Alt+key, so ``install()`` reads both as the two keys typed: Escape, then the
character. ESC ``b`` / ESC ``f`` stay word left / right (iTerm's natural text editing), and
terminals that report modifiers unambiguously (the kitty keyboard protocol) still send a real
Alt+key, which this leaves alone.
"""

from __future__ import annotations

from textual import events
from textual._ansi_sequences import ANSI_SEQUENCES_KEYS
from textual._xterm_parser import XTermParser

_MARK = "_loratui_escape_keys"


def install() -> None:
    original = XTermParser._sequence_to_key_events
    if getattr(original, _MARK, False):
        return

    def _sequence_to_key_events(self: XTermParser, sequence: str, alt: bool = False):
        if alt:  # only for ESC then one character, from the legacy encoding
            yield events.Key("escape", "\x1b")
        elif len(sequence) == 2 and sequence[0] == "\x1b" and isinstance(ANSI_SEQUENCES_KEYS.get(sequence), str):
            yield events.Key("escape", "\x1b")  # ESC 3 read as "£": Escape, then 3
            sequence = sequence[1]
        yield from original(self, sequence)

    setattr(_sequence_to_key_events, _MARK, True)
    XTermParser._sequence_to_key_events = _sequence_to_key_events
