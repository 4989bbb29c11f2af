"""The Dataset screen's caption draft: text typed in the tag editor and not entered, kept on disk.

Mixed into ``DatasetScreen`` (it expects ``store``, ``table``, ``current``, ``show_current``,
``action_edit`` and the ``#filter`` box). What the editor holds typed and not written to the caption
file (a tag in the add box with where Enter would add it, a rename under way, changed free text:
``TagEditor.unsaved_typing``) is
kept in ``.loratui/caption-draft.json`` of the dataset, with the caption file's path and its SHA-256
as the editor showed it; the app's DraftKeeper writes it at most every 2 s and at once on
SIGHUP/SIGTERM (services.drafts). Entering the text (or cancelling it: ctrl+u, esc on a rename, the
quit question's "drop it") deletes the draft.

On the next opening, once the captions are read, a dialog names each image with what was typed and
offers to put it back into the editor for that image (nothing is written until the user enters it).
If the caption file changed since the draft was taken, it says so and restoring needs its own key.
Esc decides later (the palette's "tags: unsaved caption draft" asks again): until then the draft stays
in every later draft of the dataset, so nothing is lost for putting it off.

A caption entered while a bulk write runs waits for it (screens.dataset_write_gate) and is held in
memory only: it goes into the draft too (``what`` "save", the tags as a JSON list, the SHA-256 of the
caption it was edited from), written at once, kept by a clean quit as well, and removed once saved.
Offered back, ``s`` saves it (a caption changed on disk since becomes a conflict: keep mine / take
theirs), never restored into the editor as typing.

Each running app keeps its own file (``caption-draft-PID-START.json``, core.drafts ``draft_files``), so
two apps on one dataset never overwrite each other's typing. On opening, the entries of every draft
whose writer has ended (the old ``caption-draft.json`` too) or that this app wrote are gathered; once a
part is restored or deleted, this app's file holds what is left and the gathered files go. Another
running app's draft is not offered: a toast names its pid once.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from loratui.core.drafts import (
    draft_document, draft_files, file_sha256, file_time, read_draft, remove_draft, tagged_path, writer_tag,
)
from loratui.core.errors import LoratuiError

SOURCE = "caption"
KIND = "loratui caption draft"
WHAT = {"add": "typed in the add box", "rename": "a rename", "text": "changed caption text",
        "save": "entered while a bulk write ran, never saved: the app ended first"}
SAVE_ACTION = "save a caption that waited for a bulk write"


def caption_draft_base(root: str | Path) -> Path:
    """Beside the undo journal: ``TRAIN_DIR/.loratui/caption-draft.json`` (the untagged, older name)."""
    from loratui.core.captions import journal_dir

    return journal_dir(root).parent / "caption-draft.json"


def caption_draft_path(root: str | Path, tag: str | None = None) -> Path:
    """This app's (or writer ``tag``'s) caption draft: ``TRAIN_DIR/.loratui/caption-draft-TAG.json``."""
    return tagged_path(caption_draft_base(root), tag or writer_tag())


@dataclass
class TypedCaption:
    """One piece of typing never entered into a caption file."""

    caption: str              # the caption file it was typed for
    image: str
    what: str                 # "add", "rename", "text" or "save" (WHAT)
    typed: str                # "save": the tags entered, as a JSON list
    tag: str | None = None    # a rename: the tag being renamed; an add "after": the tag it adds after
    sha256: str | None = None  # the caption file as the editor showed it (None: there was no file)
    written: float = 0.0
    at: str | None = None     # an add: "end" (the box said "adds at the end") or "after" ``tag``;
    #                           None: an empty list, or a draft from before this was kept (after the highlight)

    def describe(self, limit: int = 60) -> str:
        # cut for the dialog, which says so: restoring puts the whole text back, and the file holds it
        text = self.typed
        if self.what == "save":
            tags = saved_tags(self)
            text = ", ".join(tags) if tags is not None else text
        typed = text if len(text) <= limit else text[:limit - 1] + f"… ({len(text)} chars)"
        if self.what == "rename":
            return f"rename of '{self.tag}' to '{typed}'"
        where = {"end": ", to add at the end", "after": f", to add after '{self.tag}'"}.get(self.at or "", "")
        return f"'{typed}' ({WHAT.get(self.what, self.what)}){where}"

    def changed_on_disk(self) -> bool:
        return file_sha256(self.caption) != self.sha256


def saved_tags(entry: TypedCaption) -> list[str] | None:
    """The tags of a waiting save (``what`` "save"); None when the draft does not hold a list of them."""
    try:
        tags = json.loads(entry.typed)
    except ValueError:
        return None
    return tags if isinstance(tags, list) and all(isinstance(t, str) for t in tags) else None


def drafts_to_text(entries: list[TypedCaption], root: str | Path | None = None) -> str:
    """The draft file's text; with ``root`` (the train folder) its paths are written relative to it:
    the app may be opened from another folder next time (`loratui proj` here, `loratui .` there)."""
    def entry(e: TypedCaption) -> dict:
        data = asdict(e)
        if root is not None:
            data["caption"], data["image"] = os.path.relpath(e.caption, root), os.path.relpath(e.image, root)
        return data

    return json.dumps({"kind": KIND, "version": 2 if root is not None else 1,
                       "entries": [entry(e) for e in entries]}, indent=1, ensure_ascii=False) + "\n"


def drafts_from_text(text: str, path: Path) -> list[TypedCaption]:
    """Parse a caption draft; anything else is a LoratuiError naming ``path`` and what to do."""
    data, bad = draft_document(text, path, KIND, "caption", "entries", list)
    entries = []
    for item in data["entries"]:
        try:
            entry = TypedCaption(**item)
        except TypeError:
            raise bad from None
        if not all(isinstance(v, str) for v in (entry.caption, entry.image, entry.what, entry.typed)):
            raise bad
        if entry.at not in (None, "end", "after") or not isinstance(entry.tag, (str, type(None))):
            raise bad
        entries.append(entry)
    return entries


@dataclass
class GatheredCaptionDrafts:
    entries: list[TypedCaption]   # of every offerable file, each piece of typing once
    files: list[Path]             # the files they came from (ended sessions', or this app's)
    live: list[int]               # pids of other running apps with a draft of this dataset
    problems: list[str]           # damaged drafts (one line each), left alone


def gather_caption_drafts(root: str | Path) -> GatheredCaptionDrafts:
    entries, files, live, problems, seen = [], [], [], [], set()
    for found in draft_files(caption_draft_base(root)):
        if found.alive:
            live.append(found.pid)
            continue
        try:
            loaded = read_caption_draft(root, found.path)
        except LoratuiError as exc:
            problems.append(str(exc))
            continue
        files.append(found.path)
        for entry in loaded:  # a put-off draft is also copied into the next session's file
            key = (entry.caption, entry.what, entry.typed, entry.tag)
            if key not in seen:
                seen.add(key)
                entries.append(entry)
    return GatheredCaptionDrafts(entries, files, live, problems)


def load_caption_drafts(root: str | Path) -> list[TypedCaption]:
    """The offerable caption drafts of the dataset at ``root``, merged; a damaged one is a LoratuiError."""
    gathered = gather_caption_drafts(root)
    if gathered.problems and not gathered.entries:
        raise LoratuiError(gathered.problems[0])
    return gathered.entries


def read_caption_draft(root: str | Path, path: Path) -> list[TypedCaption]:
    text = read_draft(path)
    if text is None:
        return []
    entries = drafts_from_text(text, path)
    for entry in entries:  # relative to the train folder (version 2): back to the store's form of paths
        if not os.path.isabs(entry.caption):
            entry.caption = os.path.normpath(os.path.join(root, entry.caption))
            entry.image = os.path.normpath(os.path.join(root, entry.image))
        entry.written = entry.written or file_time(path)
    return entries


class CaptionDrafts:
    """Draft keeping and offering for the Dataset screen's tag editor (see the module doc)."""

    caption_offer: list[TypedCaption] | None = None   # found on opening, not restored or dropped yet
    _caption_offered = False
    _typing_dropped = False
    _shown_sha: tuple[object, str | None] = (None, None)  # (the Caption shown, its file's SHA-256)
    _caption_offer_files: list[Path] = []   # the gathered draft files caption_offer came from

    # ---- keeping ----------------------------------------------------------------------------------

    def start_caption_drafts(self) -> None:
        self.app.drafts.register(SOURCE, path=lambda: caption_draft_path(self.store.root),
                                 snapshot=self.caption_draft_text, safe="Enter writes it to the caption")
        gathered = gather_caption_drafts(self.store.root)
        for problem in gathered.problems:
            self.notify(problem, severity="warning", timeout=10)
        if gathered.live:
            pids = ", ".join(str(pid) for pid in gathered.live)
            self.notify(f"another loratui (pid {pids}) has unsaved edits to this dataset: they stay with it",
                        severity="warning", timeout=10)
        self.caption_offer = gathered.entries or None
        self._caption_offer_files = gathered.files

    def stop_caption_drafts(self) -> None:
        """The screen goes. A clean quit asked about the typing first (the quit question): it is
        dropped, a draft put off stays. A signal or a crash keeps everything (written already)."""
        keeper = self.app.drafts
        if self.app.exit_signal is None and self.app.return_code in (0, None):  # 1: a crash
            self._typing_dropped = True
            try:
                keeper.write_now(SOURCE)
            except Exception:  # noqa: BLE001 - on the way out: nothing more to do
                pass
        keeper.unregister(SOURCE)

    def typed_captions(self) -> list[TypedCaption]:
        from loratui.tui.widgets.tag_editor import TagEditor

        row = self.current
        if self._typing_dropped or row is None or row.caption is None or not self.is_mounted:
            return []
        typing = self.query_one(TagEditor).unsaved_typing()
        if not typing:
            return []
        if self._shown_sha[0] is not row.caption:  # hashed once per caption shown, not every 2 s
            self._shown_sha = (row.caption, file_sha256(row.caption_file))
        now = time.time()
        return [TypedCaption(row.caption_str, row.image_str, what, typed, tag, self._shown_sha[1], now, at)
                for what, typed, tag, at in typing]

    def waiting_captions(self) -> list[TypedCaption]:
        """Saves waiting for a bulk write (screens.dataset_write_gate): kept whatever the quit, as
        the user entered them (``_typing_dropped`` is about typing never entered)."""
        now, found = time.time(), []
        for row, basis, tags, _action in getattr(self, "_waiting_saves", {}).values():
            raw = getattr(basis, "raw", None)
            sha = hashlib.sha256(raw).hexdigest() if raw is not None else None
            found.append(TypedCaption(row.caption_str, row.image_str, "save", json.dumps(list(tags)), None, sha, now))
        return found

    def keep_waiting_saves(self) -> None:
        """A save began or stopped waiting: the draft holds it (or no longer) now, not in 2 s (a quit
        or a hang-up may come at once)."""
        if self.caption_offer is None and not self.typed_captions() and not self.waiting_captions():
            self.caption_typing_changed()  # nothing left to keep: the draft goes
            return
        self._caption_draft_live = True
        problems = self.app.drafts.write_now(SOURCE)
        if problems:
            self.notify(f"{problems[0]}: the caption waiting for the write is lost if the app ends now",
                        severity="warning", timeout=10)

    def caption_draft_text(self) -> str | None:
        """The draft now (None: nothing typed, nothing put off, no save waiting)."""
        entries = [*(self.caption_offer or []), *self.typed_captions(), *self.waiting_captions()]
        if not entries:
            return None
        caption_draft_path(self.store.root).parent.mkdir(exist_ok=True)  # .loratui/ comes with the first write
        return drafts_to_text(entries, self.store.root)

    def caption_typing_changed(self) -> None:
        """After anything that changes what the editor holds typed: kept within 2 s, or, entered or
        cancelled with nothing else to keep, the draft goes now."""
        keeper = self.app.drafts
        if self.caption_offer is None and not self.typed_captions() and not self.waiting_captions():
            if getattr(self, "_caption_draft_live", False):
                self._caption_draft_live = False
                keeper.discard(SOURCE)
            return
        self._caption_draft_live = True
        keeper.changed(SOURCE)

    def on_text_area_changed(self, event) -> None:
        self.typing_settled()  # the text back as it was: a conflict it made is over (screens.dataset_write_gate)
        self.caption_typing_changed()

    def on_tag_editor_typing_changed(self, event) -> None:
        self.typing_settled()  # a rename cancelled: a conflict it made is over
        self.caption_typing_changed()

    # ---- offering ---------------------------------------------------------------------------------

    def offer_caption_draft(self, force: bool = False) -> None:
        """Once the captions are read (first time, or from the palette): offer the first image's draft.
        Typing carried over a listing (F5) is put back first (screens.dataset_moved)."""
        if self.store.captions_loaded and self.put_back_carried():
            return
        if self._caption_offered and not force:
            return
        if not self.is_current or not self.store.captions_loaded:
            return  # asked when the screen shows again (another screen or a dialog is on top)
        self._caption_offered = True
        if not self.caption_offer:
            if force:
                self.notify("no unsaved caption draft")
            return
        from loratui.tui.screens.config_dialogs import OfferDialog

        first = self.caption_offer[0].caption
        group = [e for e in self.caption_offer if e.caption == first]
        row = self.store.by_caption.get(first)
        name = self._draft_name(group[0])
        moved = self.moved_row(group[0]) if row is None else None
        if moved is not None:  # its folder was renamed: offered for the image there, the caption as typed on
            group, row = self._follow_group(group, moved), moved
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(group[0].written)) if group[0].written else "earlier"
        if group[0].caption in self._kept_gone:  # this session's edit of an image gone (screens.dataset_moved)
            lines = [f"Entered in the tag editor for {name} at {when[-5:]}, not saved: its image was gone:"]
            for entry in group:
                text = ", ".join(saved_tags(entry) or [entry.typed])
                lines.append(f"   '{text}'" if len(text) <= 300 else f"   '{text[:299]}…' ({len(text)} chars)")
        else:
            lines = [f"Typed in the tag editor for {name} and never entered, kept {when} (the app ended without "
                     "saving: a dropped connection or a kill):"]
            lines += [f"   {entry.describe()}" for entry in group]
        saves = any(entry.what == "save" for entry in group)
        if moved is not None:
            lines.append(f"{name} is no longer there: {self._draft_name(group[0])} is, with the caption this "
                         "was typed on (its folder was renamed).")
        if row is None:
            lines.append(f"{name} is no longer in the dataset (or its caption file is named otherwise now): c "
                         "copies what it holds, to paste onto an image.")
            choices = [("c", "copy its tags"), ("d", "delete the draft")]
        elif group[0].changed_on_disk():
            lines.append(f"! {Path(first).name} changed on disk after this was typed: check the caption before "
                         "entering it (restoring writes nothing).")
            choices = [("s", "save as a conflict (keep mine / take theirs)") if saves else
                       ("a", "restore anyway, into the editor"), ("d", "delete the draft")]
        else:
            choices = [("s", "save it to the caption") if saves else
                       ("r", "restore into the editor (Enter enters it)"), ("d", "delete the draft")]
        more = len(self.caption_offer) - len(group)
        if more:
            lines.append(f"({more} more typed for other images: asked after this one is deleted, or from the "
                         "palette)")
        lines.append("Esc decides later (palette: tags: unsaved caption draft; kept meanwhile).")
        # opened unasked once the captions are read: keys typed ahead (a tag search) are dropped; d asks y
        self.app.push_screen(OfferDialog("unsaved caption draft", "\n".join(lines), choices,
                                         confirm={"d": "delete the draft"}),
                             lambda choice: self._caption_draft_answer(choice, group))

    def _draft_name(self, entry: TypedCaption) -> str:
        try:
            return str(Path(entry.image).relative_to(self.store.root))
        except ValueError:
            return entry.image

    def _caption_draft_answer(self, choice: str | None, group: list[TypedCaption]) -> None:
        if choice is None:
            self.notify(f"the draft stays in {caption_draft_base(self.store.root).parent}: the palette's "
                        "'tags: unsaved caption draft' offers it again", timeout=8)
            return
        if choice == "c":  # the image is gone: its tags to paste elsewhere; the draft stays until d
            self.copy_draft_tags(group)
            return
        # a save leaves the offer (and the draft) only once written (_restore_group): it may fail
        keep = [e for e in group if e.what == "save"] if choice == "s" else []
        self.caption_offer = [e for e in self.caption_offer or [] if e not in group or e in keep] or None
        if choice in ("r", "a", "s"):
            self.call_after_refresh(self._restore_group, group)
        else:
            self.notify(f"deleted the draft typed for {self._draft_name(group[0])}")
            self._draft_settled()

    def on_screen_resume(self, event) -> None:
        if self.caption_offer and not self._caption_offered:
            self.call_after_refresh(self.offer_caption_draft)

    def _draft_settled(self, offer_next: bool = True) -> None:
        """Part of the draft was restored or deleted: the file holds what is left now, and the next part
        is offered."""
        self._caption_draft_live = True
        problems = self.app.drafts.write_now(SOURCE)  # what is left (our file), or nothing (the file goes)
        if not problems:  # our file holds what is left: the gathered ones of ended sessions go
            own = self.app.drafts.written_path(SOURCE)
            for path in self._caption_offer_files:
                if path != own:
                    try:
                        remove_draft(path)
                    except OSError as exc:
                        self.notify(f"{path}: could not delete this draft ({exc.strerror or exc})", severity="warning")
            self._caption_offer_files = []
        if self.caption_offer and offer_next:
            self.call_after_refresh(self.offer_caption_draft, True)

    async def _restore_group(self, group: list[TypedCaption]) -> None:
        from textual.widgets import Input

        from loratui.tui.widgets.tag_editor import TagEditor

        row = self.store.by_caption.get(group[0].caption)
        if row is None:
            self.notify(f"{self._draft_name(group[0])} is no longer in the dataset: nothing restored",
                        severity="warning")
            self._draft_settled()
            return
        if not self.table.move_cursor_to_key(id(row)):
            self.query_one("#filter", Input).value = ""  # hidden by the filter: shown again
            self.refilter()
            self.table.move_cursor_to_key(id(row))
        self.show_current(force=True)
        self.action_edit()
        editor = self.query_one(TagEditor)
        problems, kept = [], []
        saves = [entry for entry in group if entry.what == "save"]
        group = [entry for entry in group if entry.what != "save"]
        for entry in saves:  # still in caption_offer: taken out once saved (or waiting, or a conflict)
            problem = self._restore_save(row, entry)
            if problem:
                problems.append(problem)
            else:
                self.caption_offer = [e for e in self.caption_offer or [] if e != entry] or None
        if not group and not problems:
            self._draft_settled(offer_next=False)
            return
        for entry in group:
            problem = await editor.restore_typing(entry.what, entry.typed, entry.tag, entry.at)
            if problem:
                problems.append(problem)
                kept.append(entry)  # not put back: it stays in the draft, never dropped unseen
        if problems:
            self.caption_offer = [*kept, *(self.caption_offer or [])] or None
            self.notify("; ".join(problems) + " (kept in the draft: the palette's 'tags: unsaved caption draft' "
                        "offers it again, to delete it)", severity="warning", timeout=12)
        else:
            more = len(self.caption_offer or [])
            # the others are not offered now: moving to their image would drop what was just put back
            later = f"; {more} more typed for other images: the palette's 'tags: unsaved caption draft'" if more else ""
            # ctrl+u is Textual's Input key (no binding id: keymap.toml cannot move it); esc may be moved
            leave = self.key_for("tags.leave", editor)
            on_rename = f" ({leave} on a rename)" if leave else ""
            self.notify(f"restored what was typed for {self._draft_name(group[0])}: Enter enters it, "
                        f"ctrl+u{on_rename} drops it{later}", timeout=10)
        self._draft_settled(offer_next=False)

    def _restore_save(self, row, entry: TypedCaption) -> str | None:
        """Save the tags of a save that waited for a bulk write the app did not outlive; the caption
        changed on disk since: a conflict (keep mine / take theirs), never written over. Returns why
        it could not be done, in words, or None."""
        tags = saved_tags(entry)
        if tags is None:
            return f"the draft's save for {self._draft_name(entry)} holds no tag list: it was not saved"
        if entry.changed_on_disk():
            self.hold_conflict(row, tags, None)  # the draft holds only the basis's hash: k writes these whole
            self.notify(f"{row.name}: its caption changed on disk since: {self.conflict_keys(', ')}",
                        severity="warning", timeout=10)
            return None
        if not self.write_tags(row, tags, SAVE_ACTION, based_on=row.caption):
            return f"the save for {self._draft_name(entry)} could not be written"
        return None
