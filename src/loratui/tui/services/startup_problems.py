"""What went wrong while the app started (tui.toml, theme files, keymap.toml), told once and kept.

Each problem is one line "FILE: what is wrong: what to do". Five toasts at once do not fit at 80x24
(Textual shows the last three, then they go), so the app shows one toast that counts them and says
where to read them again: the help screen (``?`` / ``F1``, or the keys keymap.toml gives it) lists
every line at its top.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SUMMARY_TIMEOUT_S = 20.0  # long enough to read a count and a hint; the lines stay in the help
HELP_COMMAND = "'app: help' (ctrl+p)"  # named when keymap.toml leaves the help no key


@dataclass
class StartupProblems:
    """The problem lines by the file (or folder) they are about, in the order they were found."""

    by_area: dict[str, list[str]] = field(default_factory=dict)

    def add(self, area: str, lines: list[str]) -> None:
        if lines:
            self.by_area.setdefault(area, []).extend(lines)

    @property
    def lines(self) -> list[str]:
        return [line for lines in self.by_area.values() for line in lines]

    def summary(self, help_keys: str = "? or f1") -> tuple[str, str] | None:
        """(title, message) of the one toast that tells them, or None when nothing went wrong.
        ``help_keys``: the keys that open the help, as keymap.toml binds them ("" : none)."""
        lines = self.lines
        if not lines:
            return None
        opens = help_keys or HELP_COMMAND  # the keymap may have moved the help key, or left it none
        if len(lines) == 1:
            return "Start-up problem", f"{lines[0]}\n({opens} shows it again)"
        areas = ", ".join(f"{len(found)} in {area}" for area, found in self.by_area.items())
        return (f"{len(lines)} start-up problems",
                f"{areas}: {opens} lists them, each with how to fix it")
