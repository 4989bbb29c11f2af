"""One-line progress bars that redraw in place (``\\r``) must never wrap: a wrapped line leaves a
copy behind on every redraw. ``fit`` cuts a line to the terminal's width. ``silence_stream`` quiets a
stream whose reader left (`| head`). ``shell_arg`` / ``shell_path`` write a word or path the user can paste."""

from __future__ import annotations

import os
import shutil


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
    return shell_arg(relative) + ("/" if folder else "")


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
