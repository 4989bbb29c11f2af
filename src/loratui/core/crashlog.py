"""The last resort for a bug: the traceback goes to a log file in the user cache folder, the user
gets one line naming it (the CLI's ``main`` does this; the TUI can use the same files)."""

from __future__ import annotations

import os
import platform
import sys
import time
import traceback
from pathlib import Path

from loratui.core.userdirs import user_cache_dir


def crash_log_dir() -> Path:
    """``$XDG_CACHE_HOME/loratui`` or ``~/.cache/loratui`` (core/userdirs.py)."""
    return user_cache_dir()


def write_crash_log(exc: BaseException, kind: str = "crash", argv: list[str] | None = None) -> Path | None:
    """Write ``exc``'s traceback (and what was run) to ``KIND-YYYYmmdd-HHMMSS.log`` (``-2``, ``-3``...
    when taken); None when that failed too (a read-only home, a full disk)."""
    from loratui import __version__

    try:
        folder = crash_log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        command = " ".join(sys.argv if argv is None else ["loratui", *argv])
        head = (f"loratui {__version__}, Python {platform.python_version()}, {platform.platform()}\n"
                f"command: {command}\n\n")
        text = head + "".join(traceback.format_exception(exc))
        handle, path = _new_log(folder, f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}")
        with handle:
            handle.write(text)
        return path
    except Exception:  # noqa: BLE001 - the report of a crash must not crash
        return None


def _new_log(folder: Path, stem: str):
    """A log file of its own, made here (open mode "x"): several processes of one run that crash in
    the same second each get theirs (an exists() check then a write let two name one file)."""
    for number in range(1, 1000):
        path = folder / (f"{stem}.log" if number == 1 else f"{stem}-{number}.log")
        try:
            return open(path, "x", encoding="utf-8", errors="backslashreplace"), path
        except FileExistsError:
            continue
    path = folder / f"{stem}-pid{os.getpid()}.log"
    return open(path, "w", encoding="utf-8", errors="backslashreplace"), path


def one_line(text: str, limit: int = 300) -> str:
    """``text`` as one printable line (the first line, shortened)."""
    first = (str(text).strip().splitlines() or [""])[0]
    first = first.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates from odd file names
    return first if len(first) <= limit else first[: limit - 3] + "..."


def internal_error_line(exc: BaseException, log: Path | None) -> str:
    message = one_line(str(exc))
    what = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    where = f"details in {log}" if log else "rerun with LORATUI_DEBUG=1 to see the details"
    return f"internal error: {what} ({where})"


def debug_enabled() -> bool:
    """``LORATUI_DEBUG=1`` (any value but empty/0/false): show tracebacks instead of one line."""
    return os.environ.get("LORATUI_DEBUG", "").strip().lower() not in ("", "0", "false", "no")
