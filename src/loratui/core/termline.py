"""One-line progress bars that redraw in place (``\\r``) must never wrap: a wrapped line leaves a
copy behind on every redraw. ``fit`` cuts a line to the terminal's width. ``silence_stream`` quiets a
stream whose reader left (`| head`). ``shell_arg`` / ``shell_path`` write a word or path the user can paste.
``needs_escape`` / ``escape_controls``: the one rule for which characters of a name cannot be shown as they
are, used by the CLI (commands.term_text), the app's cells (tui.widgets.table_text) and the scan's lines (a
backslash is doubled only in a text that needs escaping: plain names print byte for byte)."""

from __future__ import annotations

import os
import shutil
import unicodedata

# U+202A-U+202E (embeddings, overrides) and U+2066-U+2069 (isolates): printed raw they turn the text
# after them around, so `rtl\u202etxt.exe` would read as another name.
_BIDI_CONTROLS = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
# control characters (\n, \t, \x1b, C1), lone surrogates (an undecodable byte of a file name, as
# os.fsdecode reads it), line and paragraph separators
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def needs_escape(ch: str) -> bool:
    """True for a character a terminal line or a table cell cannot show as itself: a control character,
    a line or paragraph separator, a bidi override or isolate, a lone surrogate. Everything else stays,
    though ``str.isprintable`` refuses some of it: a zero-width joiner holds an emoji sequence together
    (👩\u200d👩\u200d👧), an ideographic space is a space, CJK and combining marks are text."""
    return ch in _BIDI_CONTROLS or unicodedata.category(ch) in _ESCAPED_CATEGORIES


def escape_char(ch: str) -> str:
    """``ch`` written out: ``\\n``, ``\\x1b``, ``\\u202e``; a lone surrogate as the byte it stands
    for (``\\xff``)."""
    code = ord(ch)
    if ch in _NAMED:
        return _NAMED[ch]
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for the byte it could not decode
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` for one line: every character ``needs_escape`` names escaped (``escape_char``), the rest as
    it is (``10_キャラ/new\\nline.txt``, ``bad\\xff.txt``).

    A text with nothing to escape comes back byte for byte, backslashes included (scripts parse plain
    names; a tag such as ``miku \\(cosplay\\)`` is plain). Once a text needs escaping, its own backslashes
    are doubled too, so every ``\\`` in the result starts an escape: a name holding the four characters
    ``\\x07`` and a real bell reads ``a\\\\x07\\x07``, never two bells. The result is printable, so escaping
    it again changes nothing (a line may be escaped whole after its names were)."""
    if text.isprintable() or not has_controls(text):  # the common case, and a fast one
        return text
    return "".join(escape_char(ch) if needs_escape(ch) else "\\\\" if ch == "\\" else ch for ch in text)


def has_controls(text: str) -> bool:
    """True when ``text`` holds a character ``needs_escape`` names."""
    return not text.isprintable() and any(needs_escape(ch) for ch in text)


def fit(line: str) -> str:
    """``line`` cut to one column less than the terminal (80 when it cannot be asked)."""
    width = shutil.get_terminal_size((80, 24)).columns - 1
    return line if len(line) <= width else line[: max(width - 1, 1)] + "…"


def shell_arg(value: object) -> str:
    """``value`` as one word of a shell command the user may copy (``proj ü`` -> ``'proj ü'``); a
    plain path stays as it is."""
    import shlex

    return shlex.quote(str(value))


def shell_path(path: str | os.PathLike, *, folder: bool = False) -> str:
    """``path`` as the user can paste it into a shell: relative to here when it is below here, else absolute,
    quoted where a shell needs it. ``folder``: written as the README writes a folder, ``model/`` (``./`` for
    here itself)."""
    from pathlib import Path

    absolute = Path(os.path.abspath(path))
    try:
        relative = absolute.relative_to(Path.cwd())
    except ValueError:
        return shell_arg(absolute)
    if relative == Path("."):
        return "./" if folder else "."
    shown = str(relative)
    if shown.startswith("-"):  # `-c.toml` would be read as an option
        shown = "./" + shown
    return shell_arg(shown) + ("/" if folder else "")


def silence_stream(stream, note: str = "") -> None:
    """Point ``stream``'s descriptor at the null device: its reader closed the pipe (`| head -3`), and what
    its buffer still holds, flushed again at exit, must go nowhere instead of raising once more (a stream
    without a descriptor, a test's, is left as it is). ``note`` then goes to stderr, if it is still there."""
    import sys

    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, stream.fileno())
        finally:
            os.close(null)
    except (OSError, ValueError, AttributeError):
        pass
    if note:
        try:
            print(note, file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass


def short_duration(seconds: float) -> str:
    """``42s``, ``3m07s``, ``2h05m``: a caption run's ETA and time taken, as the CLI and the app print them."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
