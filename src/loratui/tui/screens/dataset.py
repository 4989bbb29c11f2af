"""The Dataset screen: the image table with its filter, and beside it the preview and tag editor
(or the tag list, or the dataset summary). Edits and bulk operations are in screens/dataset_edits.py, the
draft of typing never entered in screens/dataset_drafts.py, the table's columns in screens/dataset_columns.py,
the side panes (tag list, summary) and the next-problem moves in screens/dataset_panes.py.

Start-up order keeps the first frame fast: the directory listing (file names only) fills the table,
then captions, then the scan (image sizes and problems) arrive from thread workers.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import ContentSwitcher, Footer, Header, Input, Static

from loratui.tui.palette import PaletteCommand
from loratui.tui.screens.dataset_columns import (COLUMNS, columns_for, fit_lines, mark_unmatched,
                                                 problem_line)
from loratui.tui.screens.dataset_drafts import CaptionDrafts
from loratui.tui.screens.dataset_edits import DatasetEdits
from loratui.tui.screens.dataset_jump import DatasetJump, JumpBar
from loratui.tui.screens.dataset_undo import BALANCE_COMMAND
from loratui.tui.screens.dataset_panes import DatasetPanes
from loratui.tui.screens.focus_in_view import FocusInView
from loratui.tui.services.dataset_store import DatasetStore, ImageRow
from loratui.tui.services.work import run_in_thread
from loratui.tui.widgets.image_table import ImageTable, default_glyphs
from loratui.tui.widgets.keys_in_order import key_kept_below

PANES = ("editor-pane", "tags-pane", "summary-pane")
# Typing in the filter box: on a dataset this small a filter takes a few ms and is applied at each key;
# on a bigger one (20,000 images: 40-130 ms a filter) it runs in a worker once the typing pauses for
# FILTER_PAUSE_S, the newest text winning, so a key never waits for a filter.
SYNC_FILTER_ROWS = 5_000
FILTER_PAUSE_S = 0.1


class DatasetScreen(DatasetJump, DatasetPanes, DatasetEdits, CaptionDrafts, FocusInView):
    """Browse images, filter, select, and edit captions inline."""

    # below the table's min-width + the side column's width, e, a, t and i show the side column they
    # focus at the whole width (screens.focus_in_view); the table comes back with the focus
    FOCUS_COLUMNS = ("#table-side", "#side-column")

    CSS_PATH = "dataset.tcss"
    BINDINGS = [
        # priority: the box has the focus when the App reads "/", so the letters after it go into it even
        # while the screen is busy (they were routed to the table, and "t", "a", "p"... are keys here)
        Binding("slash", "focus_filter", "Filter", id="dataset.filter", priority=True,
                tooltip="The filter box: tag:X, folder:X, file:X, text:X, tags>N, tokens>N (about N CLIP tokens), "
                        "empty, missing, multiline, "
                        "reg (the reg images; not reg: the train images), joined by and / or / not; "
                        "other words match names and captions"),
        Binding("e", "edit", "Edit", id="dataset.edit", tooltip="Edit the current image's tags"),
        Binding("a", "add_tag", "Add a tag", id="dataset.add_tag", show=False,
                tooltip="Type a tag to add to the current image (the editor's add box, with completions)"),
        Binding("t", "pane('tags-pane')", "Tags", id="dataset.tags_pane", show=False,
                tooltip="Every tag with its count"),
        Binding("i", "pane('summary-pane')", "Info", id="dataset.summary_pane", show=False,
                tooltip="Concepts, repeats, captions missing, problems"),
        Binding("p", "next_problem", "Next problem", id="dataset.next_problem", show=False),
        Binding("n", "next_uncaptioned", "Next uncaptioned", id="dataset.next_uncaptioned", show=False),
        Binding("f5", "rescan", "Rescan", id="dataset.rescan", show=False),
        Binding("asterisk", "select_all", "Select all shown", id="dataset.select_all", show=False,
                tooltip="Same as ctrl+a, which tmux and screen often keep for themselves"),
        Binding("escape", "leave", "Back", id="dataset.back", show=False,
                tooltip="Back to the table; on the table, clears the filter (up in the filter box brings it back)"),
        Binding("up", "previous_filter", "Previous filter", id="dataset.previous_filter", show=False,
                tooltip="In the empty filter box: the filter esc cleared"),
        *DatasetEdits.EDIT_BINDINGS,
        *DatasetJump.JUMP_BINDINGS,
    ]

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[ImageRow] = []
        self.filter_text = ""
        self.cleared_filter = ""  # what esc on the table cleared: up in the empty filter box brings it back
        self.current: ImageRow | None = None
        # the image edited inline that no longer matches the filter: kept in the table (marked "no match")
        # until the cursor leaves it or a filter, bulk write, undo or redo refilters (refilter)
        self.kept_row: ImageRow | None = None
        self.matched = 0  # rows the filter matches (self.shown less a kept row)
        self._filter_generation = 0  # bumped by every filter asked for: a worker's older result is dropped
        self._filter_timer = None    # the pause after a key, before the filter worker starts
        self.filter_pending = False  # typed text not yet applied to the table (a timer or worker has it)

    @property
    def store(self) -> DatasetStore:
        return self.app.store

    # ---- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        from loratui.tui.widgets.dataset_summary import DatasetSummary
        from loratui.tui.widgets.image_preview import ImagePreview
        from loratui.tui.widgets.tag_editor import TagEditor
        from loratui.tui.widgets.tag_frequency import TagFrequencyPane

        yield Header()
        with Horizontal(id="dataset-body"):
            with Vertical(id="table-side"):
                yield Input(placeholder="/ filter: tag:solo and not reg, or words", id="filter")
                yield Static("", id="filter-error", markup=False)
                yield JumpBar(id="jump-bar")  # g: go to an image by name (screens.dataset_jump), hidden until then
                yield ImageTable(COLUMNS, row_key=id, id="images")
                yield Static("listing images…", id="status", markup=False)
            with Vertical(id="side-column"):
                with ContentSwitcher(initial="editor-pane", id="side"):
                    with Vertical(id="editor-pane"):
                        yield ImagePreview(mode=self.app.settings.image_preview, id="preview")
                        yield TagEditor(id="editor")
                    yield TagFrequencyPane(id="tags-pane")
                    yield DatasetSummary(id="summary-pane")
                # under the tag list: the tag under its cursor in full (the Tag column cuts long names)
                yield Static("", id="tag-name", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.store.config_path = getattr(self.app, "config_path", None)  # its max_token_length: long captions
        self.query_one("#filter-error").display = False
        self.query_one("#tag-name").display = False
        self.query_one(ImageTable).focus()
        self.start_caption_drafts()  # typing never entered is kept on disk (screens.dataset_drafts)
        # The listing reads directory entries only (65 ms for 10,000 images here): done before the
        # first frame so that frame already shows rows; captions and the scan come from workers.
        try:
            rows = self.store.list_rows()
        except Exception as exc:  # noqa: BLE001 - shown as one line like any worker failure
            from loratui.tui.services.work import report_failure

            report_failure(self.app, "listing images", exc)
            rows = []
        self._rows_listed(rows)
        self._cursor_to_concept()

    def _cursor_to_concept(self) -> None:
        """`loratui proj/img/5_bob` (or `loratui` inside it): every concept is listed (repeats and the
        summary need them all), the cursor starts on that concept's first row."""
        concept = self.store.location.concept
        first = next((row for row in self.table.rows if row.folder == concept and not row.reg), None) \
            if concept else None
        if first is not None:
            self.table.move_cursor_to_key(id(first))

    def on_unmount(self) -> None:
        self.stop_caption_drafts()

    def on_resize(self, event) -> None:
        self.set_class(event.size.width >= 110, "wide")

    # ---- loading --------------------------------------------------------------------------------

    def _rows_listed(self, rows: list[ImageRow]) -> None:
        self.store.adopt_rows(rows)
        self.table.set_columns(columns_for(rows))  # the names' room; the caption takes the rest
        self.refilter()
        # after the rows are painted: the caption reader would otherwise compete with the first frame
        self.call_after_refresh(run_in_thread, self, self.store.read_captions, done=self._captions_read,
                                what="reading captions")
        if self.app.watch_dataset:
            self.call_after_refresh(self.app.start_watching)

    def _captions_read(self, load) -> None:
        if load.error:
            self.app.notify(load.error, severity="error")
        self.store.adopt_captions(load.captions)
        self.refilter()
        self.show_current(force=True)
        self.call_after_refresh(self.offer_caption_draft)  # typing a closed app kept (once)
        self.frequencies_changed()
        self.summary_changed()  # after a rescan (a caption run ended): the counts before the scan is in
        self.store.config_path = getattr(self.app, "config_path", None)  # another config may be open by now
        run_in_thread(self, self.store.read_scan, done=self._scan_read, what="scanning the dataset")
        run_in_thread(self, self.store.read_tagger, done=self._tagger_read, what="reading the tagger's tag list")

    def _tagger_read(self, found) -> None:
        self.store.adopt_tagger(found)
        if self.store.tagger_csv is not None:
            self._vocab = None  # rebuilt with the tagger's tags on next use
            self.frequencies_changed()

    def _scan_read(self, scan) -> None:
        self.store.adopt_scan(scan)
        self.table.refresh_rows()
        self.summary_changed()
        self.update_status()

    def action_rescan(self) -> None:
        self.rescan()  # dataset_panes: the one way to list the images again

    # ---- filter and status ----------------------------------------------------------------------

    @property
    def table(self) -> ImageTable:
        return self.query_one("#images", ImageTable)

    def refilter(self, keep: ImageRow | None = None) -> None:
        """Show the rows the filter matches now. ``keep``: the image being edited inline, left in view
        (marked) when its edit made it stop matching; the cursor stays on its image, else the nearest row."""
        self._drop_pending_filter()  # this one uses the newest text: a result still on its way is older
        self._show_filtered(self.store.filter(self.filter_text, None), keep)

    def filter_typed(self) -> None:
        """The filter box changed: filtered at once on a small dataset (or an empty box); on a big one in
        a worker after a pause in the typing (SYNC_FILTER_ROWS)."""
        if len(self.store.all_rows) < SYNC_FILTER_ROWS or not self.filter_text.strip():
            self.refilter()
            return
        self._drop_pending_filter()
        self.filter_pending = True
        self._filter_timer = self.set_timer(FILTER_PAUSE_S, self._filter_in_worker)

    def _drop_pending_filter(self) -> None:
        self._filter_generation += 1
        self.filter_pending = False
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None

    def _filter_in_worker(self) -> None:
        self._filter_timer = None
        text, generation = self.filter_text, self._filter_generation

        def filtered(result) -> None:
            # typing went on, or a refilter since (a write, the cursor leaving an edited row) showed newer rows
            if generation == self._filter_generation and text == self.filter_text:
                self.filter_pending = False
                self._show_filtered(result)

        run_in_thread(self, self.store.filter, text, None, done=filtered, what="filtering", group="filter")

    def flush_filter(self) -> None:
        """The typed filter applied now if a pause or worker still holds it (Enter in the box: the keys
        that follow are for the table, which must show what the box says)."""
        if self.filter_pending:
            self.refilter()

    def _show_filtered(self, result, keep: ImageRow | None = None) -> None:
        error = self.query_one("#filter-error", Static)
        error.update(result.error or "")
        error.display = bool(result.error)
        rows = result.rows
        self.matched = len(rows)
        self.kept_row = None
        everything = self.store.all_rows  # the train images, then the reg images
        if keep is not None and not any(row is keep for row in rows) and any(row is keep for row in everything):
            self.kept_row = keep
            ids = {id(row) for row in rows} | {id(keep)}
            rows = [row for row in everything if id(row) in ids]  # in the listing's order, as filtered
        mark_unmatched(self.kept_row)
        self.shown = rows
        # the selection is the user's: rows the filter hides stay selected (said in the status line); what acts
        # on the selection acts on the ones shown (scope_rows). Keys of rows gone (a rescan) are dropped.
        known = {id(row) for row in everything} if self.table.selected_count else None
        self.table.set_rows(rows, known=known)
        self.update_status()
        self.tag_scope_followed()  # `reg` in the filter: the tag list counts the reg captions

    def reread(self, paths, mark=None, fresh=None, checks=None) -> None:
        """Captions changed (an edit, undo, a bulk write, a change on disk): refiltered, so what is shown (and
        what the next bulk operation applies to) is what matches now. A bulk write, undo or redo (a write
        runs) refilters at once; an inline edit or a change on disk keeps the image being edited in view."""
        super().reread(paths, mark, fresh, checks)
        row, keep = self.table.cursor_row, None
        if not getattr(self, "writing", None) and row is not None:
            editing = self.focused is not None and self.query_one("#editor") in self.focused.ancestors_with_self
            keep = row if editing or row is self.kept_row else None
        if self.filter_text.strip() or self.kept_row is not None:
            self.refilter(keep)

    def scope_rows(self, prefer_selection: bool = True):
        self.refilter()  # what matches now: an image kept in view after its edit no longer does
        return super().scope_rows(prefer_selection)

    def run_bulk_op(self, op, title: str, scope) -> None:
        rows, label = scope
        if label.startswith("filtered:"):  # recomputed at op time: a change since may have moved rows out
            rows, label = self.scope_rows(prefer_selection=False)
            if not rows:
                self.app.notify("no image matches the filter now: nothing to change", severity="warning")
                return
        super().run_bulk_op(op, title, (rows, label))

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.filter_text = event.value
            self.filter_typed()
        elif event.input.id in ("tag-editor-add", "tag-editor-rename"):
            self.caption_typing_changed()  # kept as a draft within 2 s; entered or cleared: the draft goes

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.flush_filter()
            self.set_focus(self.table)  # at once: a key typed right after Enter (End) is for the table

    def on_descendant_blur(self, event) -> None:
        if getattr(event.widget, "id", None) == "filter":  # esc, tab, a click: the table shows what the box says
            self.flush_filter()

    def action_focus_filter(self) -> None:
        self.set_focus(self.query_one("#filter", Input))  # at once: the filter typed next lands in it

    def set_status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)
        self.call_after_refresh(self._place_toasts)

    def _place_toasts(self) -> None:
        """Toasts sit above the status line, which grows to 4 lines for a long problem message."""
        bottom = 1 + self.query_one("#status", Static).outer_size.height  # the footer, then the status
        for rack in self.query("ToastRack"):
            if rack.styles.margin.bottom != bottom:
                rack.styles.margin = (0, 0, bottom, 0)

    def update_status(self) -> None:
        total = len(self.store.all_rows)
        shown = self.matched
        reg = len(self.store.reg_rows)
        everything = f"{total:,} images" + (f" ({reg:,} reg)" if reg else "")  # reg images: rows marked reg/
        parts = [self.selection_words(), f"{shown:,}/{total:,} shown" if shown != total else everything]
        if self.kept_row is not None:
            parts[-1] += " +1 edited, no match"
        if not self.store.captions_loaded and self.store.rows:
            parts.append("reading captions…")
        elif self.store.scan is None:
            parts.append("scanning…")
        else:
            problems = self.store.problem_count()
            if problems:
                key = self.key_for("dataset.next_problem")
                parts.append(f"{problems:,} problem{'s' if problems != 1 else ''}" + (f" ({key})" if key else ""))
        current = self.table.cursor_row if self.is_mounted else None
        if current is not None and current.problem:  # the counts stay; the image's problem after them
            parts = [*parts[:2], self._problem_line(current)]
        if not total and self.store.captions_loaded:  # said on every refresh, so nothing wipes it
            # the folder by its name (the title bar has the project): a long path cut the hint off
            parts = [f"no images in {Path(self.store.root).name or self.store.root}/: put images in N_concept "
                     "folders (loratui dataset init makes the layout)"]
        busy = self.busy_line()  # screens.dataset_write_progress: "writing 2,082 of 20,000 caption(s)…"
        if busy:  # a write, undo or redo in a worker: said first, until it ends
            parts = [busy, *parts]
        width = (self.query_one("#status", Static).size.width or self.size.width) - 2  # its padding
        self.set_status(fit_lines(" · ".join(parts), width, 4, self.app.console))  # dataset.tcss: max-height 4

    def _problem_line(self, row: ImageRow) -> str:
        return problem_line(row, self.problem_in_app(row.problem or ""))

    def on_image_table_selection_changed(self, event: ImageTable.SelectionChanged) -> None:
        self.update_status()
        if event.table.id == "images":  # the tag list counts the selected images (screens.dataset_panes)
            self.tag_scope_followed()

    # ---- the current image ----------------------------------------------------------------------

    def on_image_table_cursor_moved(self, event: ImageTable.CursorMoved) -> None:
        if event.table.id == "images":
            if self.kept_row is not None and self.table.cursor_row is not self.kept_row:
                self.refilter()  # the cursor left the edited image that no longer matches: it goes now
            self.show_current()

    def on_image_table_row_opened(self, event: ImageTable.RowOpened) -> None:
        if event.table.id == "images" and event.row is self.table.cursor_row:
            self.action_edit()  # a double-click edits the row, as the edit key does

    def show_current(self, force: bool = False) -> None:
        row = self.table.cursor_row
        if row is self.current and not force:
            return
        self.current = row
        self.update_status()
        from loratui.tui.widgets.image_preview import ImagePreview
        from loratui.tui.widgets.tag_editor import TagEditor

        self.query_one(ImagePreview).show(row.image if row else None)
        from loratui.tui.screens.dataset_caption_limits import caption_limits, no_image_line

        editor = self.query_one(TagEditor)
        if row is None:  # nothing to edit: an edit key says why (a tag "added" here went nowhere)
            editor.load([], title="no image", free_text=False, saved_state="", refuse_edits=no_image_line(self))
            return
        editor.limits = caption_limits(self)  # its token count and keep_tokens line
        title = f"{row.folder}/{row.name}" if row.folder else row.name
        title = f"reg/{title}" if row.reg else title
        if row.caption is None:
            editor.load([], title=title, free_text=False,
                        saved_state=self.store.unreadable_reason(row) or "loading…")
            return
        saved = f"saved {default_glyphs().done}".rstrip()  # as the editor says it after a write
        state = {"saved": saved, "conflict": self.conflict_text()}.get(row.state, "")
        if not row.caption.exists:
            state = state or "no caption file yet"
        tags = self.waiting_tags(row)  # a save waiting for a bulk write: what the user typed
        if tags is not None:  # no write runs: it met a held lock or a full disk and is tried again
            state = "saved when the write ends…" if self.writing else "not saved yet: still waiting, tried again…"
        editor.load(list(row.caption.tags) if tags is None else tags, title=title, free_text=row.caption.is_free_text,
                    saved_state=state)

    def preview_mode_changed(self, mode: str) -> None:
        from loratui.tui.widgets.image_preview import ImagePreview

        self.query_one(ImagePreview).mode = mode

    def action_edit(self) -> None:
        from loratui.tui.widgets.tag_editor import TagEditor

        self.action_pane("editor-pane", focus_table=False)  # the editor takes the keys, not the table
        self.query_one(TagEditor).focus()

    def action_add_tag(self) -> None:
        """a on the table (what the editor's add box says): the editor, typing a tag to add."""
        from loratui.tui.widgets.tag_editor import TagEditor

        editor = self.query_one(TagEditor)
        if editor.refuse_edit():  # no image shown: said why, and the focus stays where it was
            return
        self.action_edit()
        if not editor.free_text:  # a sentence caption: the text box takes the typing instead
            editor.action_add()

    def action_select_all(self) -> None:
        self.table.action_select_all()

    def action_leave(self) -> None:
        """esc: from a pane or the filter box back to the table; on the table, clear the filter."""
        box = self.query_one("#filter", Input)
        if self.focused is self.table and box.value:
            self.cleared_filter = box.value
            box.value = ""
            opens = self.key_for("dataset.filter") or "the filter box"
            self.app.notify(f"filter cleared: {opens} then up brings it back")
            return
        self.table.focus()

    def action_previous_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if self.focused is box and not box.value and self.cleared_filter:
            box.value = self.cleared_filter
            box.cursor_position = len(box.value)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "previous_filter":
            return self.focused is self.query_one("#filter", Input)
        if action == "focus_filter":  # "/" typed in a box (the tag editor's) or the tag list's own find
            return not key_kept_below(self, action)
        return super().check_action(action, parameters)

    # ---- commands -------------------------------------------------------------------------------

    def palette_commands(self) -> list[PaletteCommand]:
        key = self.key_for  # the user's keymap applied: "" for an action it left without a key
        cmds = [
            PaletteCommand("dataset: filter", f"{key('dataset.filter')} (the --where language of `loratui tags`, "
                           "plus words)".lstrip(), self.action_focus_filter),
            PaletteCommand("dataset: rescan", f"{key('dataset.rescan')}: list images, read captions, scan again"
                           .lstrip(": "), self.action_rescan),
            PaletteCommand("dataset: next problem image", key("dataset.next_problem"), self.action_next_problem),
            PaletteCommand("dataset: next image without a caption", key("dataset.next_uncaptioned"),
                           self.action_next_uncaptioned),
            PaletteCommand("dataset: show tag list", key("dataset.tags_pane"), lambda: self.action_pane("tags-pane")),
            PaletteCommand("dataset: show summary", key("dataset.summary_pane"),
                           lambda: self.action_pane("summary-pane")),
            PaletteCommand("dataset: go to an image by name (no filter)", key("dataset.jump"), self.action_jump),
            PaletteCommand("dataset: select all shown", key("table.select_all", self.table),
                           self.table.action_select_all),
            PaletteCommand("dataset: deselect all", key("table.clear_selection", self.table),
                           self.table.action_clear_selection),
            PaletteCommand("dataset: sort by the next column", key("table.sort_next", self.table),
                           self.table.action_cycle_sort),
            PaletteCommand("dataset: reverse the sort", key("table.sort_reverse", self.table),
                           self.table.action_reverse_sort),
            PaletteCommand(BALANCE_COMMAND, self.query_one("#summary-pane").balance_key_hint(),
                           lambda: self.on_dataset_summary_balance_requested(None)),
            PaletteCommand("tags: edit the current image", key("dataset.edit"), self.action_edit),
            PaletteCommand("tags: add a tag to the current image", key("dataset.add_tag"), self.action_add_tag),
            PaletteCommand("tags: unsaved caption draft", "offer again what a closed app kept typed in the editor",
                           lambda: self.offer_caption_draft(force=True)),
        ]
        return cmds + self.edit_palette_commands()
