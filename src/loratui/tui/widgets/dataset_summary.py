"""DatasetSummary: what a dataset scan found, in words that fit a 35-column pane or a full panel.

Per concept folder `repeats × images = samples` with its caption counts (reg folders marked "(reg)"),
the train samples per epoch, captions missing and empty (0 bytes or a blank first line: counted apart
from the captioned ones), the problems counted by severity (a mark and a word
each, never colour alone) and the first few problems by name. Everything comes from
`loratui.core.dataset.DatasetScan` (and, optionally, `CaptionStats` built by core's tag_frequency),
except the caption counts, which `caption_counts` takes from the captions the app holds now (a write,
an undo or an outside change never rescans); nothing here looks at the files.

A reg folder on its own (``DatasetScan.reg_only``) shows its images, not train samples, and `b` says why
it is not balanced.

Keys: Enter posts `JumpToProblem` for the next problem image, `b` posts `BalanceRequested`. The
owner screen binds `p` itself and calls `next_problem_path` to move its images table.

The text itself is built by the pure functions of dataset_summary_content.py (re-exported here).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from loratui.core.dataset import DatasetScan
# what the pane says is built in dataset_summary_content.py; its names are imported from here too
from loratui.tui.widgets.dataset_summary_content import (
    ASCII_MARKS, DEFAULT_MAX_PROBLEMS, SEVERITIES, SEVERITY_STYLES, UNICODE_MARKS, CaptionCounts, CaptionsNow,
    CaptionStats, caption_counts, captions_now, default_marks, plural, problem_image_paths, short_path,
    summary_content,
)

__all__ = ["ASCII_MARKS", "DEFAULT_MAX_PROBLEMS", "SEVERITIES", "SEVERITY_STYLES", "UNICODE_MARKS", "CaptionCounts",
           "CaptionsNow", "CaptionStats", "DatasetSummary", "caption_counts", "captions_now", "default_marks",
           "plural", "problem_image_paths", "summary_content"]

# ---- the widget -------------------------------------------------------------------------------


class DatasetSummary(VerticalScroll):
    """The scan summary; `set_scan(scan, caption_stats)` replaces what it shows."""

    BINDING_GROUP_TITLE = "Dataset summary"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "jump", "Next problem", id="summary.jump",
                tooltip="Show the next image with a problem in the images table"),
        Binding("b", "balance", "Balance", id="summary.balance",
                tooltip="Plan folder renames so every concept gives about the same samples per epoch"),
    ]

    DEFAULT_CSS = """
    DatasetSummary {
        height: 1fr;
        scrollbar-gutter: stable;
        & > #summary-body { width: 1fr; height: auto; padding: 0 0 0 1; }
    }
    """

    class JumpToProblem(Message):
        """Show `path`, the next image with a problem."""

        def __init__(self, summary: DatasetSummary, path: Path) -> None:
            super().__init__()
            self.summary = summary
            self.path = path

        @property
        def control(self) -> DatasetSummary:
            return self.summary

    class BalanceRequested(Message):
        """`b`: the owner opens the balance dialog for the current scan."""

        def __init__(self, summary: DatasetSummary) -> None:
            super().__init__()
            self.summary = summary

        @property
        def control(self) -> DatasetSummary:
            return self.summary

    def __init__(self, scan: DatasetScan | None = None, caption_stats: CaptionStats | None = None, *,
                 max_problems: int = DEFAULT_MAX_PROBLEMS, name: str | None = None, id: str | None = None,
                 classes: str | None = None, disabled: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.max_problems = max_problems
        self._scan = scan
        self._stats = caption_stats
        self._counts: Mapping[Path, CaptionCounts] | None = None
        self._problem_paths: list[Path] | None = None  # computed on first use
        self._last_jump: Path | None = None
        self._body = Static(id="summary-body")
        self._width = 0

    def compose(self):
        yield self._body

    # ---- public API -------------------------------------------------------------------------

    @property
    def scan(self) -> DatasetScan | None:
        return self._scan

    @property
    def caption_stats(self) -> CaptionStats | None:
        return self._stats

    def set_scan(self, scan: DatasetScan | None, caption_stats: CaptionStats | None = None,
                 caption_counts: Mapping[Path, CaptionCounts] | None = None) -> None:
        """Show another scan (e.g. after a rescan); `caption_stats` None drops the tag line;
        `caption_counts` (by concept folder): newer than the scan's, after writes (None: the scan's)."""
        self._scan = scan
        self._stats = caption_stats
        self._counts = caption_counts
        self._problem_paths = None
        self._redraw()

    def set_caption_stats(self, caption_stats: CaptionStats | None) -> None:
        self._stats = caption_stats
        self._redraw()

    @property
    def problem_paths(self) -> list[Path]:
        """Images with a problem, in the order `next_problem_path` visits them."""
        if self._problem_paths is None:
            self._problem_paths = problem_image_paths(self._scan) if self._scan is not None else []
        return list(self._problem_paths)

    def next_problem_path(self, after: Path | None = None) -> Path | None:
        """The problem image after `after` (the first when None, wrapping at the end); None if none.

        An `after` that is not a problem image finds the first problem image after it in dataset order.
        """
        paths = self.problem_paths
        if not paths:
            return None
        if after is None:
            return paths[0]
        after = Path(after)
        try:
            return paths[(paths.index(after) + 1) % len(paths)]
        except ValueError:
            pass
        folder_rank = {s.path: rank for rank, s in enumerate(self._scan.subsets)} if self._scan else {}

        def key(path: Path) -> tuple[int, str, str]:
            return folder_rank.get(path.parent, len(folder_rank)), str(path.parent), path.name

        wanted = key(after)
        return next((path for path in paths if key(path) > wanted), paths[0])

    # ---- actions ----------------------------------------------------------------------------

    def action_jump(self) -> None:
        path = self.next_problem_path(self._last_jump)
        if path is None:
            self.notify("No image has a problem.", timeout=3)
            return
        self._last_jump = path
        self.post_message(self.JumpToProblem(self, path))

    def action_balance(self) -> None:
        if self._scan is not None and self._scan.reg_only:  # nothing to balance: say why, open nothing
            from loratui.core.dataset import reg_balance_refusal

            train = getattr(getattr(getattr(self.app, "store", None), "location", None), "reg_of", None)
            self.notify(reg_balance_refusal(Path(short_path(self._scan.train_data_dir)), train and Path(short_path(train))),
                        severity="warning", timeout=8)
            return
        self.post_message(self.BalanceRequested(self))

    def balance_key_hint(self) -> str:
        """"b in the summary" with the key the user's keymap gives Balance; "" when it left it none."""
        from loratui.tui.services.keymap import bound_key

        key = bound_key(self, "summary.balance")
        return f"{key} in the summary" if key else ""

    # ---- internals --------------------------------------------------------------------------

    def on_mount(self) -> None:
        self._redraw()

    def on_resize(self, event: events.Resize) -> None:
        if self.scrollable_content_region.width != self._width:
            self._redraw()

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        self._width = self.scrollable_content_region.width
        width = max(self._width - 1, 20)  # the body's left padding
        self._body.update(summary_content(self._scan, self._stats, width=width, max_problems=self.max_problems,
                                          counts=self._counts))
