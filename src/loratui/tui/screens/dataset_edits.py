"""What the Dataset screen writes: inline tag edits, conflicts, undo/redo, bulk operations, paste.

Every write goes through core's plan + journal (services.dataset_store), so each change is one
undoable step, also for `loratui tags undo` in a shell. A mixin of DatasetScreen, kept apart so
each file stays readable; recipes are in screens.dataset_recipes, the bulk preview in screens.bulk_preview,
one write at a time and changes on disk in screens.dataset_write_gate, undo / redo / balance in
screens.dataset_undo, a write's progress and ctrl+q during one in screens.dataset_write_progress.
"""

from __future__ import annotations

from pathlib import Path

from textual.binding import Binding

from loratui.core.diskspace import is_disk_full
from loratui.core.errors import ConflictError, LoratuiError, PartialWriteError
from loratui.tui.palette import PaletteCommand
from loratui.tui.screens.bulk_preview import BulkPreview
from loratui.tui.screens.dataset_recipes import DatasetRecipes
from loratui.tui.screens.dataset_reg_scope import DatasetRegScope
from loratui.tui.screens.dataset_moved import FollowMoved, image_gone
from loratui.tui.screens.dataset_undo import DatasetUndo
from loratui.tui.screens.dataset_write_progress import WriteProgress
from loratui.tui.screens.dataset_write_gate import WriteGate
from loratui.tui.services.dataset_store import ImageRow
from loratui.tui.services.work import run_in_thread
from loratui.tui.widgets.image_table import default_glyphs

BULK_TITLES = {
    "add": "add a tag", "remove": "remove tags", "replace": "replace / rename a tag", "dedupe": "remove duplicates",
    "sort": "sort tags", "move_front": "move tags to the front", "strip_underscores": "strip underscores",
    "remove_category": "remove a category",
}
# the palette command that runs an action, named in a message when the user's keymap left it no key
PALETTE_TITLES = {"dataset.undo": "tags: undo the last change", "dataset.redo": "tags: redo",
                  "dataset.keep_mine": "tags: keep my edit (conflict)",
                  "dataset.take_theirs": "tags: take the version on disk (conflict)"}
# the scan's fixes (core.dataset.caption_check) that the Dataset screen has a key for
FIX_KEYS = [("`loratui tags dedupe`", "tags.bulk_dedupe", "dedupe"),
            ("`tags strip-underscores`", "tags.bulk_strip", "strip underscores")]


class DatasetEdits(WriteProgress, DatasetUndo, WriteGate, FollowMoved, BulkPreview, DatasetRecipes, DatasetRegScope):
    """Mixin: needs ``store``, ``table``, ``shown``, ``current``, ``show_current`` from the screen."""

    EDIT_BINDINGS = [
        Binding("ctrl+z", "undo", "Undo", id="dataset.undo"),
        Binding("ctrl+y", "redo", "Redo", id="dataset.redo", show=False),
        Binding("k", "keep_mine", "Keep mine", id="dataset.keep_mine", show=False),
        Binding("T", "take_theirs", "Take theirs", id="dataset.take_theirs", show=False),
        Binding("plus", "bulk('add')", "Add", id="tags.bulk_add",
                tooltip="Add tags to the selected (else filtered, else all) images, with a preview"),
        Binding("minus", "bulk('remove')", "Remove", id="tags.bulk_remove",
                tooltip="Remove tags from the selected (else filtered, else all) images, with a preview"),
        Binding("R", "bulk('replace')", "Replace", id="tags.bulk_replace", show=False),
        Binding("D", "bulk('dedupe')", "Dedupe", id="tags.bulk_dedupe", show=False),
        Binding("O", "bulk('sort')", "Sort tags", id="tags.bulk_sort", show=False),
        Binding("F", "bulk('move_front')", "Move to front", id="tags.bulk_move_front", show=False),
        Binding("U", "bulk('strip_underscores')", "Strip underscores", id="tags.bulk_strip", show=False),
        Binding("X", "bulk('remove_category')", "Remove category", id="tags.bulk_category", show=False),
    ]

    pending: dict  # Path -> PendingEdit (screens.dataset_write_gate): conflicts held for k / T
    clipboard: list[str] | None = None
    applied_ops: list
    undone_entries: set  # journal entry names this session undid (and did not redo since)

    # ---- inline edits ---------------------------------------------------------------------------

    def write_tags(self, row: ImageRow, tags: list[str], action: str, based_on=None, waited: bool = False) -> bool:
        """Save one image's tags; ``based_on``: the caption they were edited from (a save that waited
        for a bulk write), else the row's. ``waited``: a save that waited for a write: when it cannot be
        written now it waits on (screens.dataset_write_gate). False when it was not saved and nothing
        keeps it (the user was told); True when saved, waiting, or a conflict (keep mine / take theirs)."""
        from loratui.core.captions import JournalBusyError
        from loratui.tui.widgets.tag_editor import TagEditor

        if self.writing:  # a bulk write, undo or redo runs: this save waits for it (screens.dataset_write_gate)
            self.wait_for_write(row, tags, action)
            return True
        if not waited and self.waiting_tags(row) is not None:
            # an earlier save of this image waits to be retried: this one replaces it, tried now
            self.wait_for_write(row, tags, action)
            self.save_waiting()
            return True
        if image_gone(row):  # its folder renamed under the app, or it was deleted: followed, or kept (h1 F2)
            return self.save_moved(row, tags, action, based_on or row.caption)
        editor = self.query_one(TagEditor)
        try:
            self.store.set_tags(row, tags, action, based_on=based_on)
        except ConflictError:
            self.hold_conflict(row, tags, row.caption if based_on is None else based_on)
            self.app.notify(f"{row.name}: its caption changed on disk: {self.conflict_keys(', ')}", severity="warning")
            return True
        except (LoratuiError, OSError) as exc:
            # kept in memory and in the draft, tried again: a caption run holds the lock (for its whole run:
            # it lands when the run ends), or the disk is full (h1: a failed inline edit was gone once the
            # cursor moved; it lands once space is freed)
            if waited or is_disk_full(exc) or isinstance(exc, JournalBusyError):
                basis = based_on if waited or based_on is not None else row.caption  # what the user edited
                self.wait_on(row, basis, tags, action, exc)
                if not waited:
                    self.keep_waiting_saves()  # save_waiting does it for a waited one
                return True
            row.state = f"error: {exc}"
            self.table.refresh_rows()
            if row is self.current:
                editor.set_state(f"{default_glyphs().problem} not saved")
            self.app.notify(f"not saved: {self.in_app(exc)}", severity="error")
            return False
        self.pending_edits().pop(row.caption_file, None)
        self.reread([row.caption_file], mark="saved")
        if row is self.current:
            editor.set_state(f"saved {default_glyphs().done}".rstrip())
        self.note_live_run([row.caption_file])
        return True

    def note_live_run(self, written: list[Path]) -> None:
        """A run training from these captions read them at start: say once per live run that a change
        applies from its next run (services.live_run; h14: saved with no word that the run ignores it)."""
        if written:
            from loratui.tui.services.live_run import tell_once

            tell_once(self, Path(written[0]).parent)

    def conflict_keys(self, joint: str) -> str:
        return joint.join((self.key_does("dataset.keep_mine", "keep mine"),
                           self.key_does("dataset.take_theirs", "take theirs")))

    # ---- keys named in messages: the user's keymap applied -----------------------------------------

    def key_for(self, binding_id: str, node=None) -> str:
        """The key that runs ``binding_id`` on this screen (or ``node``), "" when the keymap left it none."""
        from loratui.tui.services.keymap import bound_key

        return bound_key(self if node is None else node, binding_id)

    def key_does(self, binding_id: str, does: str) -> str:
        """"ctrl+z undoes it" with the bound key; without one, the palette command that does it."""
        key = self.key_for(binding_id)
        return f"{key} {does}" if key else f"'{PALETTE_TITLES[binding_id]}' (ctrl+p) {does}"

    def in_app(self, exc: BaseException) -> str:
        """A core error (shared with the CLI, which prints str(exc)) as the app says it: its Hint parts in
        the app's words, with the app's undo and redo keys for `tags undo` / `tags redo`."""
        undo = self.key_for("dataset.undo") or f"'{PALETTE_TITLES['dataset.undo']}'"
        redo = self.key_for("dataset.redo") or f"'{PALETTE_TITLES['dataset.redo']}'"
        if isinstance(exc, IsADirectoryError):  # a folder made under the caption's name (h3: a raw "[Errno 21]")
            return (f"{exc.filename or 'the caption file'}: is a folder, not a caption file: remove or rename "
                    "the folder, then save again")
        message = exc.worded(undo=undo, redo=redo) if isinstance(exc, LoratuiError) else str(exc)
        # core.captions.check_rewritable says it in one string still: no --force here, make the file writable
        return message.replace(" or pass --force to rewrite it anyway", ", then try again")

    def problem_in_app(self, message: str) -> str:
        """A scan problem (worded for the CLI: `loratui tags dedupe`) with the app's key for the fix."""
        for command, binding_id, what in FIX_KEYS:
            key = self.key_for(binding_id) if command in message else ""
            if key:
                message = message.replace(command, f"{key} ({what})")
        return message

    def on_tag_editor_tags_changed(self, event) -> None:
        row = self.current
        if row is None:
            return
        self.write_tags(row, list(event.tags), event.action)
        self.caption_typing_changed()  # entered: its draft goes (screens.dataset_drafts)

    def reread(self, paths: list[Path], mark: str | None = None, fresh: dict | None = None,
               checks: dict | None = None) -> None:
        """Read these caption files again (they were written, undone or changed outside) and check
        them again (problem marks, the count and ``p`` stay current without a rescan); ``fresh`` and
        ``checks``: already done by a worker (a bulk change of thousands of files is not re-read on
        the UI thread)."""
        if fresh is None:
            fresh = self.store.reread(paths)
        if checks is None:
            checks = self.store.check_captions(paths)
        changed = self.store.adopt_captions(fresh)
        self.store.adopt_checks(checks)
        if mark is not None:
            for path in paths:
                row = self.store.by_caption.get(path)
                if row is not None:
                    row.state = mark
        self.table.refresh_rows()
        if self.current is not None and (self.current in changed or self.current.caption_file in paths):
            self.show_current(force=True)
        self.frequencies_changed()
        self.summary_changed()
        self.update_status()

    # ---- copy / paste / navigation from the editor ------------------------------------------------

    def on_tag_editor_copy_requested(self, event) -> None:
        self.clipboard = list(event.tags)
        paste = self.key_for("tags.paste", event.editor or self.query_one("#editor")) or "paste"
        self.app.notify(f"copied {len(self.clipboard):,} tag(s): {paste} pastes them onto the selected images (or "
                        "onto every image shown, when none is selected)")

    def on_tag_editor_paste_requested(self, event) -> None:
        from loratui.core.captions import AddTags

        if not self.clipboard:
            copy = self.key_for("tags.copy", event.editor or self.query_one("#editor")) or "copy"
            self.app.notify(f"nothing copied yet: {copy} in the editor copies an image's tags", severity="warning")
            return
        self.run_bulk_op(AddTags(list(self.clipboard), -1), "paste copied tags", self.scope_rows(prefer_selection=True))

    def on_tag_editor_navigate_requested(self, event) -> None:
        if event.target == "uncaptioned":
            self.action_next_uncaptioned()
        elif event.target == 1:
            self.table.action_move(1)
        elif event.target == -1:
            self.table.action_move(-1)

    def on_tag_editor_leave_requested(self, event) -> None:
        self.table.focus()

    # ---- bulk operations --------------------------------------------------------------------------

    def scope_rows(self, prefer_selection: bool = True) -> tuple[list[ImageRow], str]:
        """The images a bulk operation applies to: the selection, else the filtered rows, else all the train
        images (reg images only when selected or filtered: screens.dataset_reg_scope).

        Selected rows the filter hides stay selected, but nothing acts on them: the selection means the
        selected rows shown, and with none of them shown, the filtered rows. The label says which were left."""
        selected = self.table.selected_rows if prefer_selection else []
        hidden = self.table.hidden_selected_count
        if selected:
            note = f" (not the {hidden:,} the filter hides)" if hidden else ""
            return list(selected), f"selected: {len(selected):,} image(s){note}"
        if len(self.shown) != len(self.store.all_rows):
            note = f" (the filter hides the {hidden:,} selected)" if hidden and hidden == self.table.selected_count \
                else ""
            return list(self.shown), f"filtered: {len(self.shown):,} of {len(self.store.all_rows):,}{note}"
        if self.current is not None and not self.store.all_rows:
            return [self.current], "the current image"
        return self.everywhere_scope()

    def action_bulk(self, kind: str, initial: str | None = None, everywhere: bool = False) -> None:
        from loratui.tui.screens.bulk_op import BulkOpScreen

        if self.refuse_while_writing():
            return
        rows, label = self.tag_scope()[:2] if everywhere else self.scope_rows()  # everywhere: the tag list's
        if not rows:
            self.app.notify("no images to change", severity="warning")
            return
        if self.refuse_mixed_scope(rows, label):  # asked before the form is typed
            return
        screen = BulkOpScreen(kind, label, known_tags=self.complete_tag, categories_available=self.has_categories(),
                              rename=initial, keep_tokens=self.config_keep_tokens())
        self.app.push_screen(screen, lambda op: op is not None and self.run_bulk_op(op, BULK_TITLES[kind], (rows, label)))

    def config_keep_tokens(self) -> int:
        """The open config's keep_tokens (0 without a config, or when it cannot be read)."""
        path = getattr(self.app, "config_path", None)
        if path is None:
            return 0
        try:
            from loratui.core.config import load_config

            return int(load_config(path).dataset.keep_tokens or 0)
        except Exception:  # noqa: BLE001 - only a default: a broken config shows on Settings
            return 0

    def complete_tag(self, text: str) -> list[str]:
        vocab = self.tag_vocab()
        return [c.tag for c in vocab.complete(text, limit=10)] if vocab else []

    def tag_vocab(self):
        """The dataset's tags by frequency, merged with the tagger's vocabulary when there is one."""
        from loratui.core.captions import TagVocab

        vocab = getattr(self, "_vocab", None)
        if vocab is None or getattr(self, "_vocab_frequency", None) is not self.store.frequency:
            vocab = TagVocab(self.store.frequency, self.store.tagger_tags or None)
            self._vocab, self._vocab_frequency = vocab, self.store.frequency
        return vocab

    def has_categories(self) -> bool:
        return bool(self.store.categories)

    def run_bulk_op(self, op, title: str, scope: tuple[list[ImageRow], str]) -> None:
        from loratui.core.captions import EditContext, check_ops, plan_edits

        if self.refuse_while_writing():  # paste, the tag list's remove, a bulk operation
            return
        rows, label = scope
        if self.refuse_mixed_scope(rows, label):
            return
        captions = [r.caption for r in rows if r.caption is not None]
        if len(captions) < len(rows):
            self.app.notify("captions are still loading: try again in a moment", severity="warning")
            return
        where = self.scope_where(rows, label)  # for a recipe saved later: the scope it was applied to
        ctx = EditContext(frequency=self.store.frequency, categories=self.store.categories)
        ops = list(op) if isinstance(op, list) else [op]  # a Replace of several old tags: its ops, one plan

        def planned(left_out: set[Path] = frozenset()):  # left_out: new captions of unreadable images
            return plan_edits([c for c in captions if c.path not in left_out], ops, ctx=ctx,
                              description=f"{title} ({label})")

        try:
            check_ops(ops)
            plan = planned()
        except LoratuiError as exc:
            self.app.notify(str(exc), severity="error")
            return
        self.preview_plan(plan, planned, f"{title} · {label}{self.reg_note(plan)}", lambda final: self.write_plan(
            final, title, lambda *out: self._bulk_done(op, where, label, *out)))

    def write_plan(self, plan, what: str, done) -> None:
        """Apply a plan in a worker (journal, atomic writes, fsync: seconds for thousands of files)
        and read the written captions back there too; the status line says it is writing."""
        def work():
            from loratui.core.captions import dropped_note

            try:
                written, entry, dropped = self.store.apply_entry(plan, plan.description)
            except PartialWriteError as exc:
                # some captions changed on disk before the failure (a full disk): read them back here
                # too, or the table and editor would go on showing their old text
                landed = [Path(p) for p in getattr(exc, "written", None) or [e.path for e in plan.edits]]
                return exc, landed, self.store.reread(landed), self.store.check_captions(landed)
            # read here: a file, off the UI thread; the journal the write used (reg captions: the reg folder's)
            note = dropped_note(self.store.journal_root(written)) if dropped else ""
            return written, self.store.reread(written), self.store.check_captions(written), entry, note

        def finished(out) -> None:
            try:
                if isinstance(out[0], PartialWriteError):
                    self._partly_written(what, *out)
                else:
                    *results, dropped = out
                    done(*results)
                    if dropped:  # this write pushed the oldest changes out of undo: said now, not when ctrl+z runs out
                        self.app.notify(dropped, severity="warning", timeout=10)
                self.note_live_run(out[1] if isinstance(out[0], PartialWriteError) else out[0])
            finally:
                self.end_write()  # after the results are adopted: saves that waited see them

        if not self.begin_write(f"writing {len(plan.edits):,} caption(s)…", [e.path for e in plan.edits]):
            return
        self.store.write_progress = self.write_progress_to("writing")  # "writing 2,082 of 20,000 caption(s)…"
        run_in_thread(self, work, done=finished, what=what,
                      failed=lambda exc: (self.end_write(), self._write_failed(what, exc)))

    def _partly_written(self, what: str, exc, written: list[Path], fresh: dict, checks: dict) -> None:
        """A write that stopped part-way: the captions written are shown as they are now, and the
        message says how many landed and how to take them back."""
        self.keep_open_after_failure()
        exact = getattr(exc, "written", None) is not None
        self.reread(written, mark="saved" if exact else "", fresh=fresh, checks=checks)
        undo = f"; {self.key_does('dataset.undo', f'undoes the {len(written):,} written')}" if exact and written else ""
        self.app.notify(f"{what}: stopped part-way: {self.in_app(exc)}{undo}", severity="error", timeout=15)

    def _bulk_done(self, op, where: str | None, label: str, written: list[Path], fresh: dict, checks: dict,
                   entry: Path | None) -> None:
        self._remember_ops(op if isinstance(op, list) else [op], where, label, entry, written)  # reg too: `reg`
        self.reread(list(written), mark="saved", fresh=fresh, checks=checks)
        self.app.notify(f"wrote {len(written):,} caption(s): {self.key_does('dataset.undo', 'undoes it')}")

    def edit_palette_commands(self) -> list[PaletteCommand]:
        ids = ["add", "remove", "replace", "dedupe", "sort", "move_front", "strip", "category"]
        cmds = [PaletteCommand(f"tags: {title} (selected / filtered / all)", self.key_for(f"tags.bulk_{key}"),
                               lambda k=kind: self.action_bulk(k))
                for (kind, title), key in zip(BULK_TITLES.items(), ids)]
        cmds += [PaletteCommand(PALETTE_TITLES[binding_id], self.key_for(binding_id), action)
                 for binding_id, action in (("dataset.undo", self.action_undo), ("dataset.redo", self.action_redo),
                                            ("dataset.keep_mine", self.action_keep_mine),
                                            ("dataset.take_theirs", self.action_take_theirs))]
        cmds += [
            PaletteCommand("captions: save non-UTF-8 captions as UTF-8",
                           "selected / filtered / all: Windows-1252, UTF-16 or a byte-order mark, what sd-scripts "
                           "cannot read; one undo",
                           self.action_to_utf8),
            PaletteCommand("recipes: save the operations applied so far",
                           "those not undone, each with its scope, as TOML for `loratui tags apply`",
                           self.action_save_recipe),
            PaletteCommand("recipes: replay a recipe on this dataset (with preview)", "selected / filtered / all",
                           self.action_replay_recipe),
        ]
        return cmds
