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

A conflict (the caption changed on disk while the user had an unsaved change there: an edit not
written yet, or a rename / free text typed and not entered) holds "mine" (``PendingEdit``): the
user's change, with the tags it was made from. ``k`` (keep mine) writes that change applied onto the
version on disk (``keep_mine_onto``): what the user added, removed, renamed or moved as they did it,
and what the other side changed elsewhere kept; ``T`` (take theirs) drops it. Typing that made a
conflict and is then cancelled (Esc on the rename, the text back as it was) leaves no change of the
user's: the conflict is over and the caption is read again from disk.

A mixin of DatasetScreen through DatasetEdits (needs ``store``, ``current``, ``reread``, ``table``,
``write_tags``, ``conflict_keys``, ``key_does``, ``start_busy`` / ``end_busy``, ``keep_waiting_saves``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from loratui.core.captions import TagVocab, is_free_text
from loratui.tui.services.work import run_in_thread
from loratui.tui.widgets.image_table import default_glyphs

RETRY_WAITING_S = 5.0  # seconds between tries of a save that waited for a write and met the lock held


@dataclass
class PendingEdit:
    """The user's change to a caption whose file changed on disk after it was read (a conflict)."""

    tags: list[str] | None      # the tags as the user left them; None: still typed, not entered (the editor has it)
    basis: list[str] | None     # the tags they edited; None: not known (a save kept in a draft holds only a hash)


def keep_mine_onto(basis: list[str] | None, mine: list[str], theirs: list[str]) -> tuple[list[str], list[str]]:
    """The user's change (``basis`` -> ``mine``) applied onto the version on disk (``theirs``), and the
    tags on disk it leaves out that the user did not remove (said in the toast: only where the change
    cannot be applied as a change: the basis is not known, or a free-text caption, where mine replaces
    theirs whole). Tags compare as core compares them (TagVocab.key). Where both sides changed the
    same tag, the user's change wins; the other side's changes elsewhere stay: its added tags (placed
    after the tag they follow there), its removals. The user's order is kept when they moved tags,
    else the file's."""
    key = TagVocab.key
    if basis is None or any(is_free_text(tags) for tags in (basis, mine, theirs)):
        kept = {key(t) for t in mine}
        return list(mine), [t for t in theirs if key(t) not in kept]
    if theirs == basis:
        return list(mine), []
    basis_keys, mine_keys, theirs_keys = {key(t) for t in basis}, {key(t) for t in mine}, {key(t) for t in theirs}
    spelled = {key(t): t for t in basis}
    respelled = {key(t): t for t in mine if key(t) in spelled and spelled[key(t)] != t}  # a case-only rename
    moved = [key(t) for t in mine if key(t) in basis_keys] != [key(t) for t in basis if key(t) in mine_keys]
    if moved:  # the user's order is the frame; the other side's additions join it
        result = [t for t in mine if key(t) not in basis_keys or key(t) in theirs_keys]
        extras, order = [t for t in theirs if key(t) not in basis_keys], theirs
    else:  # the file's order is the frame; the user's removals and additions are applied to it
        result = [respelled.get(key(t), t) for t in theirs if key(t) not in basis_keys - mine_keys]
        extras, order = [t for t in mine if key(t) not in basis_keys], mine
    for tag in extras:
        present = [key(t) for t in result]
        if key(tag) in present:
            continue  # both sides added it
        at = order.index(tag)
        before = next((present.index(key(t)) + 1 for t in reversed(order[:at]) if key(t) in present), None)
        after = next((present.index(key(t)) for t in order[at + 1:] if key(t) in present), len(result))
        result.insert(before if before is not None else after, tag)
    return result, []


def unreadable_line(path) -> str:
    """Why the caption file at ``path`` cannot be read, in one line with what to do (core's words)."""
    from loratui.core.captions import read_caption
    from loratui.core.errors import LoratuiError

    try:
        read_caption(path)
    except LoratuiError as exc:
        return str(exc)
    return f"{path}: cannot read caption: try again"  # readable again already: the next change says so


class WriteGate:
    """Mixin: the caption write running now, saves waiting for it, changes on disk, conflicts."""

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
        from loratui.core.diskspace import is_disk_full
        from loratui.tui.widgets.tag_editor import TagEditor

        self._waiting_busy = isinstance(exc, JournalBusyError)
        self.__dict__.setdefault("_waiting_saves", {})[row.caption_str] = (row, basis, list(tags), action)
        told = self.__dict__.setdefault("_waiting_told", set())
        if row.caption_str not in told:  # once per save, not at every try
            told.add(row.caption_str)
            why = self.in_app(exc)
            if is_disk_full(exc) and "free" not in why:  # core's journal line names the file, not the fix
                why += ": free some space on its disk"
            self.app.notify(f"{row.name}: not saved yet ({why}); kept, tried again every "
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

    def _image_went(self, row) -> None:
        """``row``'s image and caption went from its folder (a folder renamed, a delete): no conflict; an
        edit typed there is followed or kept when entered (screens.dataset_moved), the editor says so."""
        from loratui.tui.widgets.tag_editor import TagEditor

        if row is None or row is not self.current:
            return
        self.pending_edits().pop(row.caption_file, None)
        editor = self.query_one(TagEditor)
        if editor.has_pending_edit() or self.waiting_tags(row) is not None:
            editor.set_state(f"{default_glyphs().problem} image moved or deleted: Enter saves where it went, "
                             "else keeps your edit")

    def _keep_typing(self, row, path) -> bool:
        """The current image's caption changed on disk while something typed there is not entered yet:
        a conflict (the typing is the user's change: k applies it onto the file), never a reload over
        it. Cancelling the typing ends it (``typing_settled``)."""
        from loratui.tui.widgets.tag_editor import TagEditor

        editor = self.query_one(TagEditor)
        if row is not self.current or not editor.has_pending_edit():
            return False
        self.hold_conflict(row, None, row.caption)
        return True

    def _read_outside(self, paths: list) -> None:
        """Compare these caption files with what the table holds, in a worker; re-read and check only
        those that differ (a write of ours coming back is the same bytes: nothing to do). One that can
        no longer be read (a folder made under its name) is checked too: its row is marked, as at start."""
        basis, images = {}, {}
        for path in paths:
            row = self.store.by_caption.get(path)
            if row is not None:
                basis[path], images[path] = row.caption, row.image_str

        def work():
            fresh, broken, gone = {}, {}, set()
            for path, caption in basis.items():
                try:
                    data = Path(path).read_bytes()
                except FileNotFoundError:
                    if not os.path.lexists(images[path]):  # the image too: moved (a folder renamed) or deleted
                        gone.add(path)
                        continue
                    data = None
                except OSError:
                    broken[path] = unreadable_line(path)
                    continue
                if caption is not None and data == caption.raw:
                    continue  # what the table shows already
                fresh.update(self.store.reread([Path(path)]))
            return fresh, self.store.check_captions([*fresh, *broken]), broken, gone

        run_in_thread(self, work, done=lambda out: self._outside_read(basis, *out), what="reading changed captions")

    def _outside_read(self, basis: dict, fresh: dict, checks: dict, broken: dict | None = None,
                      gone: set | None = None) -> None:
        broken = broken or {}
        ours, again, marked = [], [], False
        for path in gone or ():  # not a change of its caption: the listing drops the row, an edit follows it
            self._image_went(self.store.by_caption.get(path))
        for path in [*fresh, *broken]:
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
        for path in ours:
            row = self.store.by_caption.get(path)
            if path in broken:  # shown as a caption that could not be read at start: no tags, the reason
                row.caption = None
                self.store.unreadable[row.caption_str] = broken[path]
            else:
                self.store.unreadable.pop(row.caption_str, None)
        if ours:  # read once in the worker: reread takes those captions as they are
            keys = {os.fspath(p) for p in ours}
            self.reread(ours, mark="", fresh={p: fresh[p] for p in ours if p in fresh},
                        checks={k: v for k, v in checks.items() if os.fspath(k) in keys})
        elif marked:
            self.table.refresh_rows()
        if again:
            self._read_outside(again)

    # ---- conflicts: keep mine / take theirs -----------------------------------------------------------

    def pending_edits(self) -> dict[Path, PendingEdit]:
        if not hasattr(self, "pending"):
            self.pending = {}
        return self.pending

    def conflict_text(self) -> str:
        return f"{default_glyphs().problem} changed on disk: {self.conflict_keys(' · ')}"

    def hold_conflict(self, row, tags: list[str] | None, basis) -> None:
        """``row``'s caption changed on disk under the user's change (``tags``; None: typing not entered
        yet, the editor holds it), made from ``basis`` (a Caption, or None: not known): held until
        k / T, the row and the editor say so."""
        from loratui.tui.widgets.tag_editor import TagEditor

        self.pending_edits()[row.caption_file] = PendingEdit(
            None if tags is None else list(tags), None if basis is None else list(basis.tags))
        row.state = "conflict"
        self.table.refresh_rows()
        if row is self.current:
            self.query_one(TagEditor).set_state(self.conflict_text())

    def typing_settled(self) -> None:
        """The editor's typing changed (a rename closed, the free text edited): a conflict that typing
        made is over once nothing of it is left (Esc on the rename, an unchanged name entered, the text
        as it was): the caption is read again from disk, and a toast says so."""
        from loratui.tui.widgets.tag_editor import TagEditor

        editor = self.query_one(TagEditor)
        for path, held in list(self.pending_edits().items()):
            row = self.store.by_caption.get(path)
            if held.tags is not None or (row is self.current and editor.has_pending_edit()):
                continue
            del self.pending_edits()[path]
            if row is not None:
                self.reread([path], mark="")
                self.app.notify(f"{row.name}: typing cancelled: reloaded its caption, changed on disk meanwhile",
                                timeout=6)

    def action_keep_mine(self) -> None:
        """k: the user's change written onto the caption as it is on disk now (``keep_mine_onto``)."""
        from loratui.tui.widgets.tag_editor import TagEditor

        row = self.current
        held = self.pending_edits().get(row.caption_file) if row else None
        if held is None:
            return
        mine = held.tags
        if mine is None:  # still typed (the palette's keep mine): what Enter would enter
            editor = self.query_one(TagEditor)
            if not editor.has_pending_edit():
                self.typing_settled()
                return
            mine = editor.tags_with_typing()
        from loratui.tui.screens.dataset_moved import image_gone

        if image_gone(row):  # its folder renamed (or it was deleted): no version on disk there to keep it over
            self.pending_edits().pop(row.caption_file, None)
            self.save_moved(row, mine, "keep my edit over the change on disk", row.caption, True, held.basis)
            return
        fresh = self.store.reread([row.caption_file])
        if row.caption_file in fresh:
            row.caption = fresh[row.caption_file]
        theirs = list(row.caption.tags) if row.caption is not None else []
        tags, replaced = keep_mine_onto(held.basis, mine, theirs)
        key = TagVocab.key
        kept = [] if held.basis is None else [t for t in theirs if key(t) not in {key(b) for b in held.basis}
                                              and key(t) in {key(m) for m in tags}]
        if not self.write_tags(row, tags, "keep my edit over the change on disk"):
            return
        if row.caption_file in self.pending_edits():
            return  # changed on disk once more: a conflict again (write_tags said so)
        if replaced:
            had = ", ".join(replaced)
            had = had if len(had) <= 80 else had[:79] + "…"
            self.app.notify(f"{row.name}: kept your edit over the version on disk, which had: {had} "
                            f"({self.key_does('dataset.undo', 'puts it back')})", severity="warning", timeout=10)
        elif kept:
            self.app.notify(f"{row.name}: kept your edit, with the change made on disk: {', '.join(kept)}",
                            timeout=8)

    def action_take_theirs(self) -> None:
        row = self.current
        if row is None or row.caption_file not in self.pending_edits():
            return
        self.pending_edits().pop(row.caption_file, None)
        self.reread([row.caption_file], mark="")
        self.app.notify(f"{row.name}: took the version on disk")
