"""The preview of an edit plan before anything is written: counts, tags gained and lost, per-file diff.

``PlanPreviewScreen(plan, root, title)`` dismisses with True (apply: enter or y) or False (escape
or n); with ``back=True`` (a plan a bulk form built) escape dismisses with None: back to the form.
Keys read before it was opened (typed ahead for the form) are dropped: only a key pressed while it
shows applies a bulk write.
It only reads the core ``EditPlan``; applying it is the caller's job (core's apply_plan).

It opens fast on a 10,000-file plan: both panes draw only the lines on screen (Textual's Line
API), the diff takes a file's added/removed tags only when its line scrolls into view, and the
gained/lost totals (``plan.tag_changes()``, which diffs every file: ~0.4 s for 10,000 files of
30 changed tags) run in a thread worker for plans over ``SYNC_COUNT_LIMIT`` files. The two panes
(``TagChangesView``, ``DiffView``) are in screens/plan_diff_views.py.

No colour-only signals: every gained tag or new caption line starts with ``+``, every lost one
with ``-`` (a removed extra copy adds ``(repeat)``), a reorder with ``~``; colours only repeat that.
In the text view (``t``) the changed tags are marked (reverse video), and a caption wider than the
view starts (after ``…``) a little before its first change in both lines.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static
from textual.worker import get_current_worker

from loratui.core.captions import EditPlan
from loratui.tui.widgets.textual_compat import DropsTypeAhead
# the panes live in plan_diff_views.py; the tests import them (and its helpers) from here too
from loratui.tui.screens.plan_diff_views import (  # noqa: F401 - re-exported
    ORDER_PREVIEW, TOP_TAGS, DiffView, TagChangesView, caption_words, changed_words, order_changed, relative_path,
    unchanged_tags_note, window_start,
)

SYNC_COUNT_LIMIT = 2_000  # plans up to this many files count their tag changes before the first frame


class PlanPreviewScreen(DropsTypeAhead, ModalScreen[bool]):
    """What a plan would change; enter/y applies (True), escape/n cancels (False); with ``back``,
    escape goes back to the form that built the plan (None)."""

    DEFAULT_CSS = """
    PlanPreviewScreen {
        align: center middle;
    }
    PlanPreviewScreen > #plan-dialog {
        width: 100%;
        max-width: 120;
        height: 1fr;
        max-height: 44;
        border: round $primary;
        border-title-style: bold;
        background: $surface;
        padding: 0 1;
    }
    PlanPreviewScreen > #plan-dialog.-empty {
        height: auto;
    }
    PlanPreviewScreen #plan-description { text-style: bold; }
    PlanPreviewScreen #plan-counts { color: $text; }
    PlanPreviewScreen #plan-note { color: $text-muted; }
    PlanPreviewScreen .plan-heading-row {
        height: auto;
    }
    PlanPreviewScreen .plan-heading {
        margin-top: 1;
        color: $text-accent;
        text-style: bold;
        width: 1fr;
    }
    PlanPreviewScreen #plan-tags {
        height: 5;
    }
    PlanPreviewScreen.-short #plan-tags {
        height: 3;
    }
    PlanPreviewScreen #plan-nothing {
        margin: 1 0;
        text-style: bold;
    }
    PlanPreviewScreen TagChangesView:focus, PlanPreviewScreen DiffView:focus {
        background: $boost;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # before cancel and close: escape goes back to the form when there is one (check_action)
        Binding("escape", "back", "Back", id="plan.back",
                tooltip="Back to the form, as you typed it, to change the operation; nothing is written"),
        Binding("enter,y", "apply", "Apply", id="plan.apply", tooltip="Write the changed caption files"),
        Binding("escape,n", "cancel", "Cancel", id="plan.cancel", tooltip="Close without writing anything"),
        Binding("escape,enter,q", "close", "Close", id="plan.close", tooltip="Nothing would change: close"),
        Binding("tab", "switch_pane", "Switch pane", id="plan.switch_pane",
                tooltip="Move between the tag totals and the file list"),
        Binding("t", "toggle_view", "Tags/text", id="plan.toggle_view",
                tooltip="Show each file's changed tags, or its old and new caption line"),
        Binding("pagedown", "diff_page(1)", "Page down", show=False, priority=True, id="plan.page_down"),
        Binding("pageup", "diff_page(-1)", "Page up", show=False, priority=True, id="plan.page_up"),
    ]

    class TagCounts(Message):
        def __init__(self, gained: Counter, lost: Counter, changes: tuple[int, int, int]) -> None:
            super().__init__()
            self.gained = gained
            self.lost = lost
            self.changes = changes

    def __init__(self, plan: EditPlan, root: Path, title: str, *, back: bool = False) -> None:
        super().__init__()
        self.back = back  # built by a form: escape goes back to it
        self.plan = plan
        self.root = Path(root)
        self.plan_title = title
        self.created_at = time.perf_counter()
        # a key read before the preview was opened was typed for the form under it (hunt s14: the new name
        # typed after an Enter in Old reached the preview, and its y applied a removal): dropped
        self.start_dropping_typed_ahead()
        self.first_frame_s: float | None = None  # seconds from construction to the first frame
        self.reordered: int | None = None  # captions only reordered (None: still counting)
        self.repeats = 0                   # extra copies of a tag removed (a caption keeps the tag)
        self.order_changes = 0             # captions whose kept tags change order

    @property
    def empty(self) -> bool:
        return not self.plan.edits

    def compose(self) -> ComposeResult:
        plan = self.plan
        with Vertical(id="plan-dialog", classes="-empty" if self.empty else "") as dialog:
            dialog.border_title = self.plan_title
            yield Static(Text(plan.describe()), id="plan-description")
            if self.empty:
                yield Static(Text(f"Nothing would change: none of the {plan.considered:,} caption(s) considered "
                                  "differs."), id="plan-nothing")
                if plan.notes:  # why an add changed nothing: the captions have the tag under another spelling
                    yield Static(Text("\n".join(plan.notes)), id="plan-note")
            else:
                yield Static(self._counts_text(), id="plan-counts")
                notes = list(plan.notes)
                if plan.skipped_text:
                    notes.append(f"{plan.skipped_text:,} free-text caption(s) (sentences) are not reordered.")
                if notes:
                    yield Static(Text("\n".join(notes)), id="plan-note")
                with Horizontal(classes="plan-heading-row"):
                    yield Label("Tags gained (files)", classes="plan-heading")
                    yield Label("Tags lost (files)", classes="plan-heading")
                yield TagChangesView(id="plan-tags")
                yield Label("Files (t: tags / text)", classes="plan-heading")
                yield DiffView(plan.edits, self.root, id="plan-diff")
        yield Footer()

    def _counts_text(self) -> Text:
        plan = self.plan
        text = f"{plan.changed:,} of {plan.considered:,} caption(s) change"
        if plan.new_files:
            text += f" ({plan.new_files:,} new caption file(s))"
        if self.reordered:
            text += f"; {self.reordered:,} only reordered"
        if self.repeats:
            text += f"; {self.repeats:,} repeated tag(s) removed"
        return Text(text + ".")

    def on_mount(self) -> None:
        self.call_after_refresh(self._first_frame)
        if self.empty:
            return
        self.query_one("#plan-diff").focus()
        if len(self.plan.edits) <= SYNC_COUNT_LIMIT:
            self._show_counts(*self.plan.tag_changes(), self._changes())

    def on_resize(self) -> None:
        self.set_class(self.size.height < 30, "-short")

    def _first_frame(self) -> None:
        self.first_frame_s = time.perf_counter() - self.created_at
        if not self.empty and len(self.plan.edits) > SYNC_COUNT_LIMIT:
            self._count_tags()  # after the first frame: the thread would compete for the GIL with it

    def _changes(self) -> tuple[int, int, int]:
        """(captions only reordered, repeated tags removed, captions whose order changes)."""
        edits = self.plan.edits
        return (sum(1 for edit in edits if edit.reordered_only), sum(self.plan.duplicate_changes().values()),
                sum(1 for edit in edits if order_changed(edit)))

    @work(thread=True, exit_on_error=False, exclusive=True, group="plan-counts")
    def _count_tags(self) -> None:
        gained, lost = self.plan.tag_changes()
        changes = self._changes()
        if not get_current_worker().is_cancelled:
            self.post_message(self.TagCounts(gained, lost, changes))

    @on(TagCounts)
    def _counts_ready(self, message: TagCounts) -> None:
        self._show_counts(message.gained, message.lost, message.changes)

    def _show_counts(self, gained: Counter, lost: Counter, changes: tuple[int, int, int]) -> None:
        self.reordered, self.repeats, self.order_changes = changes
        note = unchanged_tags_note(self.repeats, self.order_changes)
        self.query_one("#plan-tags", TagChangesView).set_counts(gained, lost, note)
        self.query_one("#plan-counts", Static).update(self._counts_text())

    @property
    def counts_ready(self) -> bool:
        return self.empty or self.reordered is not None

    def typed_ahead_dropped(self) -> None:
        if self.dropped == 1:
            self.notify("keys typed before this preview opened were ignored: look, then press a key", timeout=4)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return self.back
        if action == "close":
            return self.empty
        if action in ("apply", "cancel", "switch_pane", "toggle_view", "diff_page"):
            return not self.empty
        return True

    def action_apply(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(False)

    def action_switch_pane(self) -> None:
        tags = self.query_one("#plan-tags", TagChangesView)
        diff = self.query_one("#plan-diff", DiffView)
        (tags if diff.has_focus else diff).focus()

    def action_toggle_view(self) -> None:
        diff = self.query_one("#plan-diff", DiffView)
        diff.set_mode("text" if diff.mode == "tags" else "tags")

    def action_diff_page(self, direction: int) -> None:
        diff = self.query_one("#plan-diff", DiffView)
        if direction > 0:
            diff.scroll_page_down(animate=False)
        else:
            diff.scroll_page_up(animate=False)
