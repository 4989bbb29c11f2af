"""One caption write at a time on the Dataset screen, and changes on disk read off the UI thread.

A bulk write, an undo or a redo runs in a worker for seconds. While it runs, another change to the
captions would race it (scale hunt: ctrl+z during a bulk add "undid" the captions written so far,
dropped the journal entry, and the write went on): undo, redo, bulk operations, paste, recipes,
balance and UTF-8 re-saves are refused with a toast naming what runs; a caption saved from the editor
waits and is written when the write ends (against the caption it was edited from, so a change the
write made to it is a conflict, not overwritten); meanwhile the caption draft holds it (screens.dataset_drafts),
so a quit or a hang-up before the write ends does not lose it. If it cannot be written then (another
process holds the journal lock), it goes on waiting, in the draft, and is tried every few seconds.
core's journal lock refuses the same across processes (`loratui tags` in a shell).

The watcher reports the write's own files coming back (20,000 for a bulk add): they are left until
the write ends (it reads back what it wrote); then, like every change on disk, they are compared with
what the table holds and checked in a worker, and only the captions that really changed reach the UI.
A mixin of DatasetScreen through DatasetEdits (needs ``store``, ``current``, ``reread``,
``pending_edits``, ``conflict_text``, ``write_tags``, ``start_busy`` / ``end_busy``, ``keep_waiting_saves``).
"""

from __future__ import annotations

import os
from pathlib import Path

from loratui.tui.services.work import run_in_thread

RETRY_WAITING_S = 5.0  # seconds between tries of a save that waited for a write and met the lock held


class WriteGate:
    """Mixin: the caption write running now, saves waiting for it, changes on disk."""

    writing: str | None = None  # what the running write does ("writing 5,000 caption(s)…"), None: none runs

    # ---- one write at a time ----------------------------------------------------------------------

    def refuse_while_writing(self) -> bool:
        """True (and a toast naming what runs) while a caption write runs: the caller does nothing."""
        if not self.writing:
            return False
        self.app.notify(f"still {self.writing.rstrip('…')}: try again when it has finished", severity="warning",
                        timeout=4)
        return True

    def begin_write(self, text: str, paths=None) -> bool:
        """Claim the one caption write (False and a toast when one runs). ``paths``: the caption files
        it writes (None: not known before it runs, an undo or redo)."""
        if self.refuse_while_writing():
            return False
        self.writing = text
        self._write_paths = None if paths is None else {os.fspath(p) for p in paths}
        self.start_busy(text)
        return True

    def end_write(self) -> None:
        """The write ended (its results adopted): saves made meanwhile are written, changes on disk
        reported meanwhile are read."""
        self.writing = None
        self._write_paths = None
        self.end_busy()
        self.save_waiting()
        deferred, self._deferred_outside = getattr(self, "_deferred_outside", set()), set()
        if deferred:
            self._read_outside(sorted(deferred, key=os.fspath))

    def save_waiting(self) -> None:
        """Write the saves that waited for a write. One that cannot be written now (another process holds
        the journal lock: a caption run's batch, `loratui tags` in a shell) waits on, in memory and in the
        draft, and is tried again every RETRY_WAITING_S seconds (``wait_on``)."""
        if self.writing:
            return  # a write began again: they are written when it ends
        waiting, self._waiting_saves = getattr(self, "_waiting_saves", {}), {}
        self._waiting_busy = False
        for row, basis, tags, action in waiting.values():
            if self._waiting_busy:  # the lock is held: each try would hold the UI ~1 s for nothing
                self._waiting_saves[row.caption_str] = (row, basis, tags, action)
                continue
            self.write_tags(row, tags, action, based_on=basis, waited=True)
        if waiting:
            self.keep_waiting_saves()  # written (or a conflict now): out of the draft; still waiting: in it
            told = getattr(self, "_waiting_told", set())
            self._waiting_told = {key for key in told if key in self._waiting_saves}

    def wait_on(self, row, basis, tags: list[str], action: str, exc: BaseException) -> None:
        """A waiting save could not be written (``write_tags``): it stays waiting and is tried again."""
        from loratui.core.captions import JournalBusyError
        from loratui.tui.widgets.tag_editor import TagEditor

        self._waiting_busy = isinstance(exc, JournalBusyError)
        self._waiting_saves[row.caption_str] = (row, basis, list(tags), action)
        told = self.__dict__.setdefault("_waiting_told", set())
        if row.caption_str not in told:  # once per save, not at every try
            told.add(row.caption_str)
            self.app.notify(f"{row.name}: not saved yet ({self.in_app(exc)}); kept, tried again every "
                            f"{RETRY_WAITING_S:g} s", severity="warning", timeout=8)
        if row is self.current:
            self.query_one(TagEditor).set_state(f"not saved yet: still waiting, tried every {RETRY_WAITING_S:g} s…")
        if getattr(self, "_waiting_timer", None) is None:
            self._waiting_timer = self.set_timer(RETRY_WAITING_S, self._retry_waiting)

    def _retry_waiting(self) -> None:
        self._waiting_timer = None
        self.save_waiting()  # while a write runs: nothing, its end writes them

    def owned_by_write(self, path) -> bool:
        """Whether the running write may write ``path`` (its own change, echoed by the watcher)."""
        if not self.writing:
            return False
        paths = getattr(self, "_write_paths", None)
        return paths is None or os.fspath(path) in paths

    def wait_for_write(self, row, tags: list[str], action: str) -> None:
        """A caption saved from the editor while a write runs: written when it ends."""
        waiting = self.__dict__.setdefault("_waiting_saves", {})
        earlier = waiting.get(row.caption_str)
        basis = earlier[1] if earlier else row.caption  # what the user edited: the first edit's caption
        waiting[row.caption_str] = (row, basis, list(tags), action)
        self.keep_waiting_saves()  # in the caption draft now: the app may end before the write does
        if row is self.current:
            from loratui.tui.widgets.tag_editor import TagEditor

            self.query_one(TagEditor).set_state("saved when the write ends…")

    def waiting_tags(self, row) -> list[str] | None:
        """The tags a save waiting for the write holds for ``row`` (the editor shows them)."""
        found = getattr(self, "_waiting_saves", {}).get(row.caption_str)
        return None if found is None else found[2]

    # ---- changes on disk ----------------------------------------------------------------------------

    def outside_changes(self, paths: list[Path]) -> None:
        """Caption files changed on disk (watchfiles): reload them, unless an edit is pending there.
        The train folder itself among them: folders or images changed: the images are listed again.
        Nothing is read here: a worker compares the files with the table (``_read_outside``)."""
        if any(Path(path) == Path(self.store.root) for path in paths):
            paths = [path for path in paths if Path(path) != Path(self.store.root)]
            from loratui.tui.widgets.tag_editor import TagEditor

            typing = self.query_one(TagEditor).has_pending_edit()  # a rescan would reload the editor over it
            if typing or self.pending_edits() or getattr(self, "busy_text", None):
                self.app.notify("images or folders changed on disk: F5 lists them again (after your edit)",
                                timeout=8)
            else:
                self.call_after_refresh(self.action_rescan)  # a typed edit is kept: F5 when it is saved
        marked, todo = False, []
        for path in paths:
            row = self.store.by_caption.get(path)
            if row is None:
                continue
            if path in self.pending_edits():
                row.state, marked = "conflict", True
            elif self.owned_by_write(path):
                # most likely the write's own file coming back: looked at once the write has ended
                self.__dict__.setdefault("_deferred_outside", set()).add(path)
                marked |= self._keep_typing(row, path)
            else:
                todo.append(path)
        if todo:
            self._read_outside(todo)
        if marked:
            self.table.refresh_rows()

    def _keep_typing(self, row, path) -> bool:
        """The current image's caption changed on disk while something typed there is not entered yet:
        a conflict (k keeps it), never a reload over it."""
        from loratui.tui.widgets.tag_editor import TagEditor

        editor = self.query_one(TagEditor)
        if row is not self.current or not editor.has_pending_edit():
            return False
        self.pending_edits()[path] = editor.current_tags()
        row.state = "conflict"
        editor.set_state(self.conflict_text())
        return True

    def _read_outside(self, paths: list) -> None:
        """Compare these caption files with what the table holds, in a worker; re-read and check only
        those that differ (a write of ours coming back is the same bytes: nothing to do)."""
        basis = {}
        for path in paths:
            row = self.store.by_caption.get(path)
            if row is not None:
                basis[path] = row.caption

        def work():
            fresh = {}
            for path, caption in basis.items():
                try:
                    data = Path(path).read_bytes()
                except FileNotFoundError:
                    data = None
                except OSError:
                    continue
                if caption is not None and data == caption.raw:
                    continue  # what the table shows already
                fresh.update(self.store.reread([Path(path)]))
            return fresh, self.store.check_captions(list(fresh))

        run_in_thread(self, work, done=lambda out: self._outside_read(basis, *out), what="reading changed captions")

    def _outside_read(self, basis: dict, fresh: dict, checks: dict) -> None:
        ours, again, marked = [], [], False
        for path in fresh:
            row = self.store.by_caption.get(path)
            if row is None:
                continue
            if row.caption is not basis.get(path):
                again.append(path)  # the app wrote or read it since (reads finish in any order): look again
            elif path in self.pending_edits():
                row.state, marked = "conflict", True
            elif self.owned_by_write(path):  # a write began meanwhile: looked at when it ends
                self.__dict__.setdefault("_deferred_outside", set()).add(path)
            elif self._keep_typing(row, path):
                marked = True
            else:
                ours.append(path)
        if ours:  # read once in the worker: reread takes those captions as they are
            keys = {os.fspath(p) for p in ours}
            self.reread(ours, mark="", fresh={p: fresh[p] for p in ours},
                        checks={k: v for k, v in checks.items() if os.fspath(k) in keys})
        elif marked:
            self.table.refresh_rows()
        if again:
            self._read_outside(again)
