"""Undo and redo on the Dataset screen (ctrl+z / ctrl+y), and balance repeats, which ctrl+z undoes by
renaming the folders back. Each walks core's journal in a worker (core.captions.undo_last / redo_last), one
write at a time (screens.dataset_write_gate); captions edited since are asked about, as `tags undo
--skip-changed / --force` asks in a shell. Reg captions are journaled in the reg folder: ctrl+z and ctrl+y
walk whichever journal holds the change made (or undone) last (services.dataset_journals). A mixin of
DatasetScreen through DatasetEdits (needs ``store``, ``begin_write`` / ``end_write``, ``reread``, ``key_does``,
``in_app``, ``write_progress_to``)."""

from __future__ import annotations

from pathlib import Path

from loratui.core.errors import ConflictError, LoratuiError
from loratui.core.termline import escape_controls
from loratui.tui.services.work import run_in_thread

BALANCE_COMMAND = "dataset: balance repeats per concept (plan first)"  # its palette title (screens.dataset)


def image_gone_note(paths: list[Path], root: Path, verb: str, reg: bool = False, undo: str = "",
                    redo: str = "") -> str:
    """core.captions.image_gone_line for an undo (``verb`` "undid") or redo ("redid") here: the reg
    folder's names as ``reg/...``; ``undo`` / ``redo``: the app's keys, for how to get the text back."""
    from loratui.core.captions import image_gone_line

    return image_gone_line([Path(p) for p in paths], root, "undo" if verb == "undid" else "redo",
                           prefix="reg/" if reg else "", undo=undo, redo=redo)


class DatasetUndo:
    """Mixin: undo, redo, balance repeats and its undo."""

    # ---- undo / redo ------------------------------------------------------------------------------

    def action_undo(self) -> None:
        from loratui.core.captions import undo_last

        if self.refuse_while_writing():  # the running write's entry is not finished: nothing to walk yet
            return
        balance = self._last_balance()
        if balance is not None and not self._reg_change_after_balance():
            self._undo_balance(balance[0])
            return
        self._undo_redo(undo_last, "undid", "undoing the last change…")

    def action_redo(self) -> None:
        from loratui.core.captions import redo_last

        if self.refuse_while_writing():
            return
        self._undo_redo(redo_last, "redid", "redoing…")

    def _reg_change_after_balance(self) -> bool:
        """A reg caption was written after the balance: ctrl+z takes that back first."""
        from loratui.core.captions import journal_dir
        from loratui.core.dataset import balance_recorded_at
        from loratui.tui.services.dataset_journals import entry_time

        if self.store.reg_root is None:
            return False
        changed = entry_time(journal_dir(self.store.reg_root), last=True)
        balanced = balance_recorded_at(self.store.root)
        return changed is not None and balanced is not None and changed > balanced

    def _undo_redo(self, step, verb: str, busy: str, **how) -> None:
        root = self.store.undo_root() if verb == "undid" else self.store.redo_root()  # train or reg journal
        train = root == self.store.root

        def work():
            result = step(root, **how, progress=progress)
            restored = [Path(p) for p in getattr(result, "restored", [])]
            return result, restored, self.store.reread(restored), self.store.check_captions(restored)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ConflictError) and not how:
                self.update_status()
                self._ask_past_conflict(step, verb, busy, str(exc))
            else:
                self._write_failed(verb.replace("id", "o"), exc)

        if not self.begin_write(busy):  # one caption write at a time: a second ctrl+z, or a bulk write
            return
        progress = self.write_progress_to("undoing" if verb == "undid" else "redoing")

        def done(out) -> None:
            try:
                self._undone(*out, verb, train, root=root)
            finally:
                self.end_write()

        def stopped(exc: BaseException) -> None:
            self.end_write()
            failed(exc)

        run_in_thread(self, work, done=done, what=verb.replace("id", "o"), failed=stopped)

    # ---- balance repeats: folder renames, undone by renaming back ---------------------------------

    def newest_journal_entry(self) -> str | None:
        from loratui.core.captions import newest_entry_name

        return newest_entry_name(self.store.root)

    def balanced(self, plan) -> None:
        """Folders were renamed (the dialog recorded the balance first, so it is on disk): ctrl+z renames
        them back while no caption change came after, after a restart too."""
        names = ", ".join(f"{r.source.name} -> {r.dest.name}" for r in plan)
        self.app.notify(f"renamed {names}: {self.key_does('dataset.undo', 'renames them back')}", timeout=10)

    def _last_balance(self):
        """The balance ctrl+z would rename back, read now: the record on disk is this app's, one from
        before a restart, or one `loratui dataset balance` wrote in another shell while the app ran."""
        from loratui.core.dataset import last_balance

        found = last_balance(self.store.root)
        if found is None or self.newest_journal_entry() != found[1]:
            return None  # a caption change came after it: ctrl+z undoes that first
        return found

    def _undo_balance(self, plan) -> None:
        from loratui.core.captions import follow_folder_renames
        from loratui.core.dataset import forget_balance, undo_balance

        try:
            back = undo_balance(plan)  # all or nothing; a swap parks one folder for a moment
        except (LoratuiError, OSError) as exc:
            self.app.notify(f"balance not undone: {exc}", severity="error", timeout=10)
            return
        forget_balance(self.store.root)
        try:
            follow_folder_renames((r.source, r.dest) for r in back)
        except (LoratuiError, OSError) as exc:
            self.app.notify(f"folders renamed back, but the undo journal could not follow: {exc}",
                            severity="warning", timeout=10)
        names = ", ".join(f"{r.source.name} -> {r.dest.name}" for r in back)
        again = self.query_one("#summary-pane").balance_key_hint() or f"'{BALANCE_COMMAND}' (ctrl+p)"
        self.app.notify(f"undid balance repeats: {names} ({again} balances again)", timeout=10)
        self._warn_live_run()
        self.rescan(keep=True, renames=back)  # the cursor stays on its image, under the folder's old name

    def _warn_live_run(self) -> None:
        """A run training from these folders keeps the repeats it started with (or, without cached latents,
        stops at a renamed folder's image): said after ctrl+z renamed them back, as the balance dialog says
        before a balance."""
        from loratui.core.project import live_run_on

        try:
            run = live_run_on(getattr(self.app, "config_path", None), self.store.root)
        except Exception:  # noqa: BLE001 - a warning only: the folders are renamed back either way
            return
        if run is not None:
            self.app.notify(run.balance_warning(), title="training goes on", severity="warning", timeout=15)

    def _ask_past_conflict(self, step, verb: str, busy: str, message: str) -> None:
        """Captions edited since the change: nothing was written; the user picks what to do here (the
        choices `tags undo --skip-changed / --force` give in a shell)."""
        from loratui.tui.screens.config_dialogs import ChoiceDialog

        self.keep_open_after_failure()
        doing = "undo" if verb == "undid" else "redo"
        edited = message.split(": nothing", 1)[0]  # "FILE: edited after the change" (core's words)
        body = (f"{edited}, so nothing was {verb.replace('id', 'one')} yet.\n"
                f"s: {doing} the other captions and leave the edited ones as they are now\n"
                f"f: {doing} all of them, overwriting the edits made since")
        choices = [("s", "skip the edited ones"), ("f", "overwrite them too")]

        def chosen(choice: str | None) -> None:
            if choice == "s":
                self._undo_redo(step, verb, busy, skip_changed=True)
            elif choice == "f":
                self._undo_redo(step, verb, busy, force=True)

        self.app.push_screen(ChoiceDialog(f"{doing}: captions edited since", body, choices), chosen)

    def _write_failed(self, what: str, exc: BaseException) -> None:
        from loratui.tui.services.work import report_failure

        self.keep_open_after_failure()
        self.update_status()
        report_failure(self.app, what, LoratuiError(self.in_app(exc)) if isinstance(exc, LoratuiError) else exc)

    def _undone(self, result, restored: list[Path], fresh: dict, checks: dict, verb: str, train: bool = True,
                root: Path | None = None) -> None:
        entry = getattr(result, "entry", None)
        if entry is not None and train:  # what recipes: save leaves out (undone) or keeps (redone); reg: none
            undone = getattr(self, "undone_entries", set())
            self.undone_entries = undone | {entry.name} if verb == "undid" else undone - {entry.name}
        if not restored and not getattr(result, "description", ""):
            self.update_status()
            self.app.notify(f"nothing to {'undo' if verb == 'undid' else 'redo'}")
            return
        from loratui.tui.screens.dataset_edits import PALETTE_TITLES  # that module holds this mixin: read here

        undo_key, redo_key = (self.key_for(binding) or f"'{PALETTE_TITLES[binding]}'"
                              for binding in ("dataset.undo", "dataset.redo"))
        gone = image_gone_note(list(getattr(result, "image_gone", [])), root or self.store.root, verb, reg=not train,
                               undo=undo_key, redo=redo_key)
        # file names are no markup (a `[1]` in one would vanish); a caption left out is worth a warning
        how = {"severity": "warning", "timeout": 12} if gone else {"timeout": 8}
        gone = f". {gone}" if gone else ""
        self.reread(restored, mark="", fresh=fresh, checks=checks)
        what = getattr(result, "description", "") or "the last change"
        again = self.key_does("dataset.redo", "redoes it") if verb == "undid" else \
            self.key_does("dataset.undo", "undoes it again")
        if not getattr(result, "walk_back_files", 1):  # the walk wrote nothing to walk back: no such promise
            again = "nothing in it to redo" if verb == "undid" else "nothing in it to undo"
        rows = [row for row in (self.store.by_caption.get(path) for path in restored) if row is not None]
        if len(rows) == 1:
            # one image (an inline edit): name it and show it, it may be far from the one on screen
            row = rows[0]
            where = f"{row.folder}/{row.name}" if row.folder else row.name
            where = escape_controls(f"reg/{where}" if row.reg else where)  # a newline in a name: one line
            if row is not self.current and not self.table.move_cursor_to_key(id(row)):
                where += " (hidden by the filter)"
            self.app.notify(f"{verb} '{what}' on {where}: {again}{gone}", markup=False, **how)
        else:
            self.app.notify(f"{verb} '{what}': {len(restored):,} caption(s); {again}{gone}", markup=False, **how)
