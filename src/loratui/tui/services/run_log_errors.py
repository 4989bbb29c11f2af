"""The error a run left in its launch log (NAME.log) when its events could not say it: a refused start's
``error: ...`` line (``refusal_line``), or the last error or crash line with its hint (``log_error``).
Split out of services/followed_run.py, which re-exports these names."""

from __future__ import annotations

from pathlib import Path

from loratui.core.runs import tail_lines


def refusal_line(log_file: Path) -> str | None:
    """The ``error: ...`` line a refused `loratui train` left at the end of its log, without the prefix:
    of the latest launch only (the app starts each with a "--- TIME COMMAND" line), not an earlier
    session's."""
    for line in reversed(tail_lines(log_file, 200)):
        if line.startswith("error: "):
            return line[len("error: "):]
        if line.startswith("--- "):
            return None
    return None


LOG_ERROR_LINES = 200  # the end of NAME.log read for its error line (the log tail shows the last 20)


def log_error(lines: list[str], log_file: Path, since: float | None = None) -> dict | None:
    """An error as the events would have said it (kind, message, hint), from the last ``error: ...`` or
    ``internal error: ...`` line of the log's ``lines`` (its end, of the latest launch only, as
    ``refusal_line``; a ``hint: ...`` line after it is the hint): what the run said on stderr when its
    error event could not be written. None when there is none, or the log was last written before
    ``since`` (the run's session began then: the log is an earlier launch's)."""
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        if line.startswith("--- "):
            return None
        kind = "crash" if line.startswith("internal error: ") else "error" if line.startswith("error: ") else None
        if kind is None:
            continue
        try:
            if since is not None and log_file.stat().st_mtime < since - 1:
                return None
        except OSError:
            return None
        after = lines[index + 1] if index + 1 < len(lines) else ""
        said = after[len("hint: "):] + "; " if after.startswith("hint: ") else ""
        return {"kind": kind, "message": line.removeprefix("internal error: ").removeprefix("error: "),
                "hint": f"{said}read from {log_file.name}: the run wrote no error event"}
    return None
