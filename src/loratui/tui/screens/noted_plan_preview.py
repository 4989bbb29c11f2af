"""The plan preview with notes under its counts: what was left out of the plan, and why."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from loratui.tui.screens.plan_preview import PlanPreviewScreen


class NotedPlanPreview(PlanPreviewScreen):
    """The plan preview with lines of notes under its counts (what was left out of the plan)."""

    DEFAULT_CSS = """
    NotedPlanPreview .plan-left-out { color: $text-warning; }
    """

    def __init__(self, plan, root: Path, title: str, notes: list[str], *, back: bool = False) -> None:
        super().__init__(plan, root, title, back=back)
        self.notes = list(notes)

    def on_mount(self) -> None:  # runs before PlanPreviewScreen's own on_mount (Textual calls both)
        anchor = self.query_one("#plan-nothing" if self.empty else "#plan-counts")
        for note in reversed(self.notes):
            self.query_one("#plan-dialog").mount(Static(Text(note), classes="plan-left-out"), after=anchor)
