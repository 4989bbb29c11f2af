"""A caption edit whose image is no longer where the table listed it: its concept folder was renamed
under the app (a balance in a shell, `mv img/5_x img/6_x`), or the image was moved or deleted.

Hunt h1 F2: a rename typed, the folder renamed, Enter said "its caption changed on disk" (it had not),
``k`` wrote to the old folder and failed, and F5 dropped the edit with no draft left. Now:

- Followed: the image's file name is found in another concept folder where the table did not list it
  (the folder is new, or the image arrived there), with its caption exactly as the edit was made from
  (same bytes; or no caption file there, as there was none): the edit is saved there, one line says so
  ("5_other was renamed 6_other: saved there"), and the images are listed again, the cursor on it.
- Kept: nothing to follow (the image deleted, its caption changed there, two places it could be): the
  edit stays in the editor and goes into the caption draft (screens.dataset_drafts, as a "save"), one
  line says what happened and how to get it back (the palette's 'tags: unsaved caption draft': save it
  where the image is found, or copy its tags to paste them).
- F5 (any listing again) never drops typing not entered: it is carried over the listing, put back into
  the editor for the same image (followed when its folder was renamed), kept in the draft meanwhile; a
  kept edit whose image is gone is named once more.

A mixin of DatasetScreen through DatasetEdits: needs ``store``, ``current``, ``table``, ``rescan``,
``pending_edits``, ``caption_offer`` and the draft methods of CaptionDrafts.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from loratui.core.dataset import parse_subset_name
from loratui.core.drafts import file_sha256
from loratui.core.errors import LoratuiError


@dataclass(frozen=True)
class FolderMove:
    """A concept folder's move (``rescan``'s ``renames`` shape: source -> dest)."""

    source: Path
    dest: Path


def image_gone(row) -> bool:
    """Whether ``row``'s image is no longer at the path the table listed."""
    return not os.path.lexists(row.image_str)


def moved_to(image: Path, caption_name: str, same, listed: set[str]) -> list[Path]:
    """The concept folders (beside ``image``'s) holding an image of its name that the table did not list
    (``listed``: the image paths of the listing), with a caption ``same`` accepts (its path: the bytes
    the edit was made from). Only a concept folder's image is followed (a loose one is not looked for)."""
    old = image.parent
    if not parse_subset_name(old.name):
        return []
    try:
        with os.scandir(old.parent) as entries:
            folders = [e.path for e in entries if not e.name.startswith(".") and parse_subset_name(e.name)
                       and e.path != os.fspath(old) and e.is_dir()]
    except OSError:
        return []
    found = []
    for folder in folders:
        moved = os.path.join(folder, image.name)
        if moved not in listed and os.path.lexists(moved) and same(Path(folder) / caption_name):
            found.append(Path(folder))
    return found


def same_bytes(raw: bytes | None):
    """A ``same`` test: the caption file holds ``raw`` (None: there is no caption file, as there was none)."""
    def test(path: Path) -> bool:
        try:
            return path.read_bytes() == raw
        except FileNotFoundError:
            return raw is None
        except OSError:
            return False
    return test


def folder_line(old: Path, new: Path, name: str) -> str:
    """"5_other was renamed 6_other" (the folder is gone), else "a.png was moved to 6_other/"."""
    if not os.path.isdir(old):
        return f"{old.name} was renamed {new.name}"
    return f"{name} was moved to {new.name}/"


class FollowMoved:
    """Mixin: an edit whose image went elsewhere is saved there, or kept (see the module doc)."""

    _carried: list = []            # typing not entered, carried over a listing (F5), put back after it
    _kept_gone: set = frozenset()  # caption files whose edit this session kept in the draft (image gone)

    # ---- saving an edit whose image is gone ---------------------------------------------------------

    def save_moved(self, row, tags: list[str], action: str, basis, keep_mine: bool = False,
                   onto: list[str] | None = None) -> bool:
        """``row``'s image is gone: the edit (``tags``, made from the Caption ``basis``) is saved where the
        image went, else kept in the draft. True: saved or kept (never lost). ``keep_mine``: k on a conflict
        (the caption had changed on disk, so its bytes cannot tell the image): followed only into a folder
        renamed (the old one gone), the change (``onto``, None: not known -> ``tags``) applied onto the
        caption there (``keep_mine_onto``)."""
        from loratui.core.captions import plan_set_tags, read_caption
        from loratui.tui.screens.dataset_write_gate import keep_mine_onto
        from loratui.tui.widgets.image_table import default_glyphs
        from loratui.tui.widgets.tag_editor import TagEditor

        raw = getattr(basis, "raw", None)
        where = row.image.parent
        listed = {r.image_str for r in self.store.all_rows} | {t for r in self.store.all_rows for t in r.twins or ()}
        if keep_mine:
            found = [] if os.path.isdir(where) else moved_to(row.image, row.caption_file.name, lambda _p: True, listed)
        else:
            found = moved_to(row.image, row.caption_file.name, same_bytes(raw), listed) if basis is not None else []
        if len(found) != 1:
            why = (f"is in {len(found)} folders now ({', '.join(f.name for f in found)})" if found else
                   "is gone from " + (f"{where.name}/ (the folder is gone too)" if not os.path.isdir(where)
                                      else f"{where.name}/ (deleted, or moved with its caption changed)"))
            return self.keep_gone(row, tags, basis, why)
        new = found[0]
        caption_file = new / row.caption_file.name
        try:
            caption = read_caption(caption_file, self.store.separator)
            if keep_mine:
                tags = keep_mine_onto(onto, tags, list(caption.tags))[0]
            plan = plan_set_tags([(caption, tags)], action)
            self.store.apply_entry(plan, action, root=self.store.reg_root if row.reg else self.store.root)
        except (LoratuiError, OSError) as exc:
            why = f"was found in {new.name}/ but not saved there ({self.in_app(exc)})"
            return self.keep_gone(row, tags, basis, why)
        self.pending_edits().pop(row.caption_file, None)
        row.state = "saved"
        self.app.notify(f"{folder_line(where, new, row.name)}: saved there", timeout=8)
        if row is self.current:
            self.query_one(TagEditor).set_state(f"saved {default_glyphs().done}".rstrip())
        self.note_live_run([caption_file])
        # the cursor follows it; nothing typed is carried over this listing: it was just saved
        self.rescan(keep=True, renames=[FolderMove(where, new)], carry=False)
        return True

    def keep_gone(self, row, tags: list[str], basis, why: str) -> bool:
        """The edit of a gone image kept: in the editor (it shows it until the listing goes) and in the
        caption draft, as a save (screens.dataset_drafts), with one line on how to get it back."""
        from loratui.tui.screens.dataset_drafts import SOURCE, TypedCaption
        from loratui.tui.widgets.image_table import default_glyphs
        from loratui.tui.widgets.tag_editor import TagEditor

        raw = getattr(basis, "raw", None)
        sha = hashlib.sha256(raw).hexdigest() if raw is not None else None
        entry = TypedCaption(row.caption_str, row.image_str, "save", json.dumps(list(tags)), None, sha, time.time())
        self.caption_offer = [e for e in self.caption_offer or []
                              if not (e.caption == entry.caption and e.what == "save")] + [entry]
        self._kept_gone = {*self._kept_gone, row.caption_str}
        self.pending_edits().pop(row.caption_file, None)  # not a conflict: nothing changed on disk there
        self._caption_draft_live = True
        problems = self.app.drafts.write_now(SOURCE)
        row.state = "error: image gone: kept in the caption draft"
        self.table.refresh_rows()
        if row is self.current:
            self.query_one(TagEditor).set_state(f"{default_glyphs().problem} not saved: kept in the draft")
        kept = (f"NOT kept in the draft ({problems[0]}): copy its tags ({self.key_for('tags.copy') or 'copy'} in "
                "the editor) before the list changes") if problems else (
                "kept in the caption draft: the palette's 'tags: unsaved caption draft' saves it where the image "
                "is found, or copies its tags")
        self.app.notify(f"{self.row_name(row)} {why}: your edit is not saved, {kept}", severity="warning",
                        timeout=15)
        return True

    def row_name(self, row) -> str:
        return f"{row.folder}/{row.name}" if row.folder else row.name

    # ---- F5: typing carried over a listing ----------------------------------------------------------

    def carry_typing(self) -> None:
        """Before a listing: typing not entered goes into the draft (the listing reloads the editor), to be
        put back once the captions are read (``put_back_carried``); the images of held conflicts are noted."""
        from loratui.tui.screens.dataset_drafts import SOURCE

        self._held_images = {os.fspath(path): row.image_str for path in self.pending_edits()
                             if (row := self.store.by_caption.get(path)) is not None}
        # the add box keeps its text over a reload by itself (TagEditor._show_loaded); a rename and free text not
        typed = [entry for entry in self.typed_captions() if entry.what != "add"]
        if not typed:
            return
        self._carried = [*self._carried, *typed]
        self.caption_offer = [*(self.caption_offer or []), *typed]
        self._caption_draft_live = True
        self.app.drafts.write_now(SOURCE)

    def uncarry(self) -> None:
        """The listing failed: the editor still holds the typing carried; it leaves the offer again."""
        carried, self._carried = self._carried, []
        if carried:
            self.caption_offer = [e for e in self.caption_offer or [] if e not in carried] or None
            self.caption_typing_changed()

    def listed_again(self) -> None:
        """A listing adopted: conflicts held are marked on the new rows; a held conflict whose image is
        gone is kept in the draft; an edit kept earlier for a gone image is named again."""
        from loratui.tui.screens.dataset_drafts import SOURCE, TypedCaption

        images = getattr(self, "_held_images", {})
        for path, held in list(self.pending_edits().items()):
            row = self.store.by_caption.get(path)
            if row is not None:
                row.state = "conflict"
                continue
            self.pending_edits().pop(path, None)
            if held.tags is not None:  # the sha is not known (a conflict holds tags): "" matches no file
                key = os.fspath(path)
                entry = TypedCaption(key, images.get(key, key), "save", json.dumps(held.tags), None, "", time.time())
                self.caption_offer = [*(self.caption_offer or []), entry]
                self._kept_gone = {*self._kept_gone, key}
                self._caption_draft_live = True
                self.app.drafts.write_now(SOURCE)
        told = getattr(self, "_gone_told", set())
        gone = [e for e in self.caption_offer or [] if e.caption in self._kept_gone and e.caption not in
                self.store.by_caption and e.caption not in told]
        self._gone_told = told | {e.caption for e in gone}  # said at the listing its row goes, not at each
        if gone:
            names = ", ".join(sorted({Path(e.image).name for e in gone}))
            self.app.notify(f"listed again: your edit of {names} (image gone) stays in the caption draft: the "
                            "palette's 'tags: unsaved caption draft' offers it", severity="warning", timeout=10)

    def put_back_carried(self) -> bool:
        """After the captions of a listing are read: the carried typing back into the editor, for its image
        (or where its folder went). True when there was some to put back."""
        carried, self._carried = self._carried, []
        if not carried:
            return False
        first = carried[0]
        row = self.store.by_caption.get(first.caption) or self.moved_row(first)
        if row is None:
            names = Path(first.image).name
            self.app.notify(f"listed again: {names} is gone: what you typed for it is kept in the caption draft "
                            "(the palette's 'tags: unsaved caption draft')", severity="warning", timeout=12)
            return True
        group = [replace(e, caption=row.caption_str, image=row.image_str) for e in carried
                 if e.caption == first.caption]
        self.caption_offer = [e for e in self.caption_offer or [] if e not in carried] or None
        self.call_after_refresh(self._restore_group, group)
        return True

    def moved_row(self, entry):
        """The listed row a draft's image went to when its folder was renamed (a balance: the repeats
        changed): its old folder gone, the same file name in a folder of the same concept, its caption as
        the draft was made from (SHA-256). None: not found, or not sure (a copy in another concept, or an
        image deleted while a copy stays elsewhere, is never taken for it)."""
        old = Path(entry.image)
        concept = parse_subset_name(old.parent.name)
        if concept is None or os.path.isdir(old.parent):
            return None
        found = [r for r in self.store.all_rows if r.name == old.name and r.image_str != entry.image
                 and Path(r.image_str).parent.parent == old.parent.parent
                 and (parse_subset_name(r.folder) or (0, None))[1] == concept[1]
                 and file_sha256(r.caption_file) == entry.sha256]
        return found[0] if len(found) == 1 else None

    def _follow_group(self, group: list, row) -> list:
        """A draft's entries for an image whose folder was renamed, now naming it there (in the offer too)."""
        followed = [replace(e, caption=row.caption_str, image=row.image_str) for e in group]
        self.caption_offer = [followed[group.index(e)] if e in group else e for e in self.caption_offer or []]
        return followed

    def copy_draft_tags(self, group: list) -> None:
        """c in the draft's offer of a gone image: what it holds copied, for the editor's paste."""
        from loratui.tui.screens.dataset_drafts import saved_tags

        tags: list[str] = []
        for entry in group:
            for tag in (saved_tags(entry) or []) if entry.what == "save" else [entry.typed.strip()]:
                if tag and tag not in tags:
                    tags.append(tag)
        self.clipboard = tags
        paste = self.key_for("tags.paste", self.query_one("#editor")) or "paste"
        self.app.notify(f"copied {len(tags):,} tag(s) from the draft: {paste} in the editor pastes them onto the "
                        "selected images; the draft stays until d deletes it", timeout=10)
