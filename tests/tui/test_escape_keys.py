"""Escape then a character in one read stays two keys (escape_keys): Textual's legacy parser made
it one Alt+key, and the Escape was lost."""

from __future__ import annotations

from textual import events
from textual._xterm_parser import XTermParser

from loratui.tui.widgets import escape_keys


def _keys(data: str) -> list[tuple[str, str | None]]:
    parser = XTermParser()
    tokens = list(parser.feed(data)) + list(parser.feed(""))  # "" is the end: flushes a lone ESC
    return [(t.key, t.character) for t in tokens if isinstance(t, events.Key)]


def test_escape_then_a_character_is_two_keys() -> None:
    escape_keys.install()
    assert _keys("\x1bd") == [("escape", "\x1b"), ("d", "d")]
    assert _keys("\x1bD") == [("escape", "\x1b"), ("D", "D")]
    assert _keys("\x1b/") == [("escape", "\x1b"), ("slash", "/")]  # before: "slash" alone
    assert _keys("\x1b3") == [("escape", "\x1b"), ("3", "3")]  # before: "£" (a WezTerm mapping)
    assert _keys("\x1b-") == [("escape", "\x1b"), ("minus", "-")]
    assert _keys("\x1bdog") == [("escape", "\x1b"), ("d", "d"), ("o", "o"), ("g", "g")]
    assert _keys("tag\x1bd") == [("t", "t"), ("a", "a"), ("g", "g"), ("escape", "\x1b"), ("d", "d")]


def test_real_sequences_and_a_lone_escape_are_unchanged() -> None:
    escape_keys.install()
    assert _keys("\x1b[A") == [("up", None)]
    assert _keys("\x1b[1;5C") == [("ctrl+right", None)]
    assert _keys("\x1b") == [("escape", "\x1b")]
    assert _keys("\x1b\x1b") == [("escape", "\x1b"), ("escape", "\x1b")]
    assert _keys("\x1b[6~") == [("pagedown", None)]
    assert _keys("\x1bb") == [("ctrl+left", None)]  # iTerm's word left stays
