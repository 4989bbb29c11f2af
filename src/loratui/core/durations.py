"""One way to write a duration (an ETA, an elapsed time) for the TUI's status line and the headless
progress lines: short enough for 80 columns at any length, never wrapping at 24 h.

    45s · 1m23s · 5h03m · 4d09h
"""

from __future__ import annotations

DAY = 86_400


def duration_text(seconds: float | None, missing: str = "-") -> str:
    """``seconds`` as 45s / 1m23s / 5h03m / 4d09h (two units: a week-long run's ETA stays 5 characters);
    ``missing`` when it is not known (None) or not a real number (NaN, inf, negative)."""
    if seconds is None or seconds != seconds or seconds in (float("inf"), float("-inf")) or seconds < 0:
        return missing
    seconds = int(round(seconds))
    days, rest = divmod(seconds, DAY)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
