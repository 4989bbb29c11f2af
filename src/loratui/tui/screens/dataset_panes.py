"""The Dataset screen's side panes and moves: the tag list (its current tag in full, a tag chosen filters,
remove, rename and add on the images it counts, add to the current image), the summary (jump to a problem, balance the repeats), switching panes,
and moving the cursor to the next problem or uncaptioned image. A mixin of DatasetScreen
(screens/dataset.py), which owns the table, the filter and the store; it expects ``self.store``,
``self.table``, ``refilter()``, ``run_bulk_op()``, ``action_bulk()``, ``tag_vocab()``,
``refuse_while_writing()``, ``balanced()``, ``set_status()`` and ``_rows_listed()``.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import ContentSwitcher, Input, Static

from loratui.tui.services.dataset_store import ImageRow
from loratui.tui.widgets.image_table import ImageTable


class DatasetPanes:
    """The tag list and summary panes beside the table, and the next-problem / next-uncaptioned moves."""

    # ---- switching panes, the tag list's current tag ---------------------------------------------

    def on_tag_frequency_pane_highlighted(self, event) -> None:
        self.show_tag_name(event.pane.table.cursor_row)  # the row r and d act on now, not when posted

    def show_tag_name(self, row) -> None:
        """The tag list's current tag, whole (it wraps), with its count and category."""
        line = self.query_one("#tag-name", Static)
        line.display = row is not None and self.query_one("#side", ContentSwitcher).current == "tags-pane"
        if row is None:
            return
        text = Text(row.tag, style="bold")
        text.append(f"  {row.count:,} use{'s' if row.count != 1 else ''}" + (f", {row.label}" if row.label else ""))
        line.update(text)

    def action_pane(self, pane: str, focus_table: bool = True) -> None:
        switcher = self.query_one("#side", ContentSwitcher)
        if switcher.current == pane and pane != "editor-pane":
            pane = "editor-pane"
        leaving = switcher.current
        switcher.current = pane
        self.set_class(pane == "tags-pane", "-tags-shown")  # the tag list takes more width (dataset.tcss)
        if pane != "tags-pane":
            self.query_one("#tag-name").display = False
        # the pane just opened takes the keys (r / d / enter on a tag, b on the summary); closing one
        # gives them back to the image table
        if pane == "tags-pane":
            self.frequencies_changed()
            self.query_one("#freq-table").focus()
            self.show_tag_name(self.query_one("#freq-table", ImageTable).cursor_row)
        elif pane == "summary-pane":
            self.summary_changed()
            self.query_one("#summary-pane").focus()
        elif leaving != "editor-pane" and focus_table:
            self.table.focus()

    def move_to(self, row: ImageRow | None, what: str) -> None:
        if row is None:
            self.app.notify(f"no {what} among the images shown")
            return
        if not self.table.move_cursor_to_key(id(row)):
            self.app.notify(f"the next {what} is hidden by the filter")

    def _next_after_cursor(self, test) -> ImageRow | None:
        rows = self.table.rows  # in the table's (sorted) order, as cursor_index counts
        if not rows:
            return None
        start = self.table.cursor_index
        for step in range(1, len(rows) + 1):
            row = rows[(start + step) % len(rows)]
            if test(row):
                return row
        return None

    def action_next_problem(self) -> None:
        if self.query_one("#side", ContentSwitcher).current == "summary-pane":
            from loratui.tui.widgets.dataset_summary import DatasetSummary

            after = self.table.cursor_row.image if self.table.cursor_row else None
            path = self.query_one(DatasetSummary).next_problem_path(after)
            if path is not None:
                self.open_path(path)
                return
        self.move_to(self._next_after_cursor(lambda r: r.severity in ("error", "warning")), "image with a problem")

    def action_next_uncaptioned(self) -> None:
        self.move_to(self._next_after_cursor(lambda r: r.uncaptioned), "image without a caption")

    # ---- what the panes show and ask for ---------------------------------------------------------

    def frequencies_changed(self) -> None:
        """New tag counts: the editor's completions always, the tag list when it shows (the counts of its
        scope: the selection, else the filter, else every train image; its title says which)."""
        from loratui.tui.widgets.tag_editor import TagEditor
        from loratui.tui.widgets.tag_frequency import TagFrequencyPane

        self.query_one(TagEditor).vocab = self.tag_vocab()
        if self.query_one("#side", ContentSwitcher).current == "tags-pane":
            rows, label, kind = self.tag_scope()
            self.query_one(TagFrequencyPane).set_frequencies(self.tag_counts(rows), self.store.categories,
                                                             scope=self.tag_scope_words(rows, label, kind))

    def tag_scope_followed(self) -> None:
        """The filter or the selection changed: the tag list counts its new scope; the summary follows when the
        kind of images in view (train or reg) did."""
        self.frequencies_changed()
        if self.tag_scope()[2] != getattr(self, "shown_tag_kind", "train"):
            self.summary_changed()

    def summary_changed(self) -> None:
        """The summary, when it shows: the scan's folders and problems (kept current by the checks
        after each write), the caption counts and tags from the captions held now. 20,000 images:
        about 15 ms (50 on two busy cores), so it is done here, not in a worker."""
        from loratui.tui.widgets.dataset_summary import CaptionStats, DatasetSummary, caption_counts, captions_now

        scan = self.store.scan
        if scan is None or self.query_one("#side", ContentSwitcher).current != "summary-pane":
            return
        kind = self.tag_scope()[2]  # the whole dataset of the kind in view: the reg images' when the scope is reg
        self.shown_tag_kind = kind
        rows = {"train": self.store.rows, "reg": self.store.reg_rows}.get(kind, self.store.all_rows)
        captions = (r.caption for r in rows if r.caption is not None)
        stats = CaptionStats.from_frequency(self.store.frequency_of(kind), captions, scope=self.tag_scope_word(kind))
        self.query_one(DatasetSummary).set_scan(scan, stats, caption_counts(scan, captions_now(self.store.all_rows)))

    def on_tag_frequency_pane_tag_chosen(self, event) -> None:
        box = self.query_one("#filter", Input)
        query = self.tag_filter([event.tag])
        if box.value == query:  # the same text posts no Input.Changed: the rows may have changed since
            self.refilter()
        else:
            box.value = query  # Input.Changed refilters
        self.table.focus()

    def on_tag_frequency_pane_remove_requested(self, event) -> None:
        from loratui.core.captions import RemoveTags

        rows, label, _kind = self.tag_scope()  # the images the list counts: selected, else filtered, else all
        self.run_bulk_op(RemoveTags([event.tag], mode="exact"), f"remove {event.tag!r}{everywhere(label)}",
                         (rows, label))

    def on_tag_frequency_pane_rename_requested(self, event) -> None:
        self.action_bulk("replace", initial=event.tag, everywhere=True)  # the form says the scope

    def on_tag_frequency_pane_add_requested(self, event) -> None:
        """a: the tags onto the image under the table's cursor, written as the editor writes (one caption, one
        undo, no preview); A: onto the images the list counts, as the add form does (a preview, one undo)."""
        from loratui.core.captions import AddTags

        tags = list(event.tags)
        named = ", ".join(repr(tag) for tag in tags[:3]) + (f" and {len(tags) - 3} more" if len(tags) > 3 else "")
        if event.to_scope:
            rows, label, _kind = self.tag_scope()
            self.run_bulk_op(AddTags(tags, -1), f"add {named}{everywhere(label)}", (rows, label))
            return
        self.add_to_current(tags)

    def add_to_current(self, tags: list[str]) -> None:
        """``tags`` at the end of the current image's caption (those it has already, in any spelling, skipped)."""
        from loratui.core.captions import TagVocab

        row = self.current
        why = None
        if row is None:
            why = "no image under the table's cursor: clear the filter (esc on the table) or pick an image"
        elif row.caption is None:
            why = self.store.unreadable_reason(row) or f"{row.name}: its caption is still loading; try again"
        elif row.caption.is_free_text:
            edit = self.key_for("dataset.edit")
            why = f"{row.name}: its caption is a sentence, not tags: {edit + ' edits it' if edit else 'edit it'}"
        if why is not None:
            self.app.notify(why, severity="warning")
            return
        waiting = self.waiting_tags(row)  # a save of this image waiting for a write: what the user typed
        now = list(row.caption.tags) if waiting is None else list(waiting)
        have = {TagVocab.key(tag) for tag in now}
        new = [tag for tag in dict.fromkeys(tags) if TagVocab.key(tag) not in have]
        if not new:
            self.app.notify(f"{row.name} has {'it' if len(tags) == 1 else 'them'} already: "
                            f"{', '.join(tags[:3])}{' …' if len(tags) > 3 else ''}", severity="warning")
            return
        if self.write_tags(row, now + new, f"add {', '.join(new)}"):
            skipped = len(tags) - len(new)
            note = f" ({skipped:,} it had already)" if skipped else ""
            self.app.notify(f"added {', '.join(new)} to {row.name}{note}: {self.key_does('dataset.undo', 'undoes it')}")

    def on_dataset_summary_jump_to_problem(self, event) -> None:
        self.open_path(event.path)

    def on_dataset_summary_balance_requested(self, event) -> None:
        from loratui.tui.screens.balance_dialog import BalanceDialog

        if self.refuse_while_writing():  # renaming folders under a write would fail it part-way
            return
        if self.store.scan is None:
            self.app.notify("the dataset is still being scanned", severity="warning")
            return
        dialog = BalanceDialog(self.store.scan)

        def closed(done: bool | None) -> None:
            if done:
                self.balanced(dialog.plan)
                self.rescan(keep=True, renames=dialog.plan)

        self.app.push_screen(dialog, closed)

    def rescan(self, keep: bool = False, renames=(), carry: bool = True) -> None:
        """List the images again (F5), in a worker. ``keep``: the cursor stays on its image, under its
        folder's new name when ``renames`` (a balance's) moved it: the listing makes new row objects, so
        the table alone keeps only the row number, and a tag typed for one image would go to another.
        Typing not entered is carried over it (``carry``; False: it was just saved) and conflicts held
        stay marked (screens.dataset_moved): a listing never drops an edit (h1 F2)."""
        from loratui.tui.services.work import run_in_thread

        row = self.table.cursor_row if keep else None
        image = renamed_path(row.image, renames) if row is not None else None
        if carry:
            self.carry_typing()

        def listed(rows) -> None:
            self.listing_failed = None
            self._rows_listed(rows)
            self.listed_again()
            found = next((r for r in self.store.all_rows if r.image == image), None) if image is not None else None
            if found is not None:  # at once, before the table's cursor message shows the row number's image
                self.table.move_cursor_to_key(id(found))

        def failed(exc) -> None:
            self.uncarry()
            self.listing_failed_line(exc)

        self.set_status("rescanning…")
        run_in_thread(self, self.store.list_rows, done=listed, what="listing images", failed=failed)

    listing_failed: str | None = None  # the last listing's failure, said once (the watcher may ask again and again)

    def listing_failed_line(self, exc: BaseException) -> None:
        """A listing that failed (the train folder removed): its one line replaces "rescanning…" (h3: it
        stayed there for good), and is a toast the first time; the rows shown stay as they were. The
        watch lists again by itself once the folder is back (services.watcher)."""
        from loratui.tui.services.work import failure_line

        line, internal = failure_line("listing images", exc)
        if line != self.listing_failed:
            self.app.notify(line, severity="error", timeout=10 if internal else 6)
        self.listing_failed = line
        self.set_status(line)

    def open_path(self, path: Path) -> None:
        for row in self.store.all_rows:
            if row.image == path:
                self.move_to(row, "image")
                return


def renamed_path(image: Path, renames) -> Path:
    """Where ``image`` is after ``renames`` (concept folder renames: source -> dest) moved its folder."""
    for rename in renames:
        if image.parent == rename.source:
            return rename.dest / image.name
    return image


def everywhere(label: str) -> str:
    """" everywhere" for a change to every train image (a scope label "all …"), else "" (the label says it)."""
    return " everywhere" if label.startswith("all ") else ""
