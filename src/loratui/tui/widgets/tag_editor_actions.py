"""What the tag editor's keys do: which are live now, and the edits behind them.

``TagEditorActions`` is a mixin of TagEditor, kept apart so each file stays readable. It holds the
edits of the tag list (add, delete, rename with merge, move, re-insert; tags compared as core
compares them and refused when core could not write them), ``check_action`` (keys typed into a box
are text, not commands) and the actions that are requests to the owner (copy, paste, navigate,
leave). It needs from TagEditor: ``_tags``, ``_list``, ``_add_input``, ``_vocab``, ``_separator``,
``_removed``, ``_renaming``, ``_rename_input``, ``_free_text``, ``_limits``, ``_drawn``, ``_refuse_edits``,
``_typing_notice``, ``_refresh_list``, ``_commit_text`` and the message classes.

Text left in the add box (Esc, or another image loaded) is entered only by the add key then Enter, as
its toast says; PgUp/PgDn enter it first only while the box has the focus (the keys' tooltips say so).
"""

from __future__ import annotations

from loratui.core.captions import TagVocab, split_tags, unwritable_tag
from loratui.tui.services.keymap import bound_key
from loratui.tui.widgets.tag_editor_limits import kept_change_line
from loratui.tui.widgets.tag_input import TagInput
from loratui.tui.widgets.tag_list import TagList


class TagEditorActions:
    """Mixin of TagEditor: the edits of the tag list and what each key does."""

    # ---- changes -------------------------------------------------------------------------------

    def _changed(self, action: str, highlight: int | None = None) -> None:
        before = self._drawn  # the tags as the list showed them before this edit
        self._refresh_list(highlight)
        self.post_message(self.TagsChanged(list(self._tags), action, editor=self))
        crossed = kept_change_line(before, self._tags, self._limits.keep_tokens)
        if crossed:  # shuffling keeps other tags in place now: never silently
            self.notify(crossed, timeout=6)

    def _index_of(self, tag: str, skip: int | None = None) -> int | None:
        """Where a tag that core counts as the same as ``tag`` is, or None."""
        key = TagVocab.key(tag)
        for index, existing in enumerate(self._tags):
            if index != skip and TagVocab.key(existing) == key:
                return index
        return None

    def _refuse(self, message: str) -> None:
        self.app.bell()
        self.notify(message, severity="warning", timeout=4)

    def refuse_edit(self) -> bool:
        """True when there is nothing to edit (no image shown), after saying why in one line."""
        if self._refuse_edits is None:
            return False
        self._refuse(self._refuse_edits)
        return True

    def _notify_typing(self, message: str, typed: str, **kwargs) -> None:
        """A toast about ``typed``, the text left in the add box; it goes when that text does (entered,
        cleared, changed) or another such toast replaces it: none stays saying something no longer true."""
        self._withdraw_typing_notice()
        self._typing_notice = (message, typed)
        self.notify(message, **kwargs)

    def _withdraw_typing_notice(self) -> None:
        notice, self._typing_notice = self._typing_notice, None
        if notice is None or not self.is_mounted:
            return
        message = notice[0]
        app = self.app
        try:  # Textual keeps no handle to a toast: found by its text (private, so guarded)
            for notification in list(app._notifications):
                if notification.message == message:
                    app._unnotify(notification)
        except (AttributeError, KeyError, TypeError):
            pass

    def _writable(self, tag: str) -> bool:
        problem = unwritable_tag(tag, self._separator)
        if problem:
            self._refuse(f"'{tag}' {problem}")
            return False
        return True

    def _add(self, tag: str) -> None:
        """Add what the add box holds after the highlighted tag (End first: at the end; the box's
        placeholder says where). A list in the caption's own
        spelling (``red, blue, green``, typed or pasted) adds each tag in order, skipping those the
        image has already, as one change."""
        add_input = self._add_input
        if not tag:
            self._list.focus()  # Enter on an empty box: done adding
            return
        if self.refuse_edit():  # the text stays in the box
            return
        if "\n" in tag or "\r" in tag:
            self._writable(tag)  # refused with the reason
            return
        parts = split_tags(tag, self._separator)
        if not parts:  # only separators ("," or ", ,")
            self._refuse(f"'{tag}' holds no tag: type a tag, or Esc to leave the box")
            return
        new: list[str] = []
        skipped: list[str] = []
        for part in parts:
            if self._index_of(part) is not None or any(TagVocab.key(part) == TagVocab.key(n) for n in new):
                skipped.append(part)
            elif not self._writable(part):
                return  # nothing added; the text stays in the box to be fixed
            else:
                new.append(part)
        if not new:
            there = self._index_of(parts[0])
            if len(parts) == 1 and there is not None:
                self._refuse(f"'{self._tags[there]}' is already there (tag {there + 1})")
            else:
                self._refuse(f"already there: {', '.join(parts)}")
            return
        cursor = self._list.highlighted
        position = cursor + 1 if cursor is not None and self._tags else len(self._tags)
        self._tags[position:position] = new
        add_input.value = ""
        add_input.clear_typing_history()
        if skipped:
            self.notify(f"added {len(new)}; already there: {', '.join(skipped)}", timeout=4)
        self._changed(f"add {', '.join(new)}", highlight=position + len(new) - 1)

    def _renamed(self, index: int | None, new: str) -> tuple[list[str], str, int] | None:
        """The tags with tag ``index`` renamed to ``new`` (onto a tag already there: merged, the earlier
        position stays, as in core), what it did in words and where the cursor goes; None when it is no
        change (an empty or the same name). Nothing is changed here."""
        if index is None or index >= len(self._tags):
            return None
        old = self._tags[index]
        if not new or new == old:
            return None
        tags = list(self._tags)
        other = self._index_of(new, skip=index)
        if other is None:
            tags[index] = new
            return tags, f"rename {old} to {new}", index
        keep, drop = min(index, other), max(index, other)
        tags[keep] = new
        del tags[drop]
        return tags, f"rename {old} to {new} (merged)", keep

    def _finish_rename(self, new: str) -> None:
        index = self._renaming
        self._cancel_rename(typing_gone=False)  # an edit follows, or TypingChanged says there is none
        renamed = self._renamed(index, new)
        if renamed is None or not self._writable(new):
            self.post_message(self.TypingChanged(editor=self))  # nothing entered: the typing just went
            return
        self._tags, action, highlight = renamed
        self._changed(action, highlight=highlight)

    def _cancel_rename(self, refocus: bool = True, typing_gone: bool = True) -> None:
        """Close the rename box. ``typing_gone``: say so (TypingChanged: its draft goes, a conflict it
        made is over); False when an edit of it follows (TagsChanged says that)."""
        rename_input = self._rename_input
        self._renaming = None
        self._rename_input = None
        if rename_input is not None:
            if refocus and rename_input.has_focus:
                self._list.focus()
            rename_input.remove()
            if typing_gone:
                self.post_message(self.TypingChanged(editor=self))  # the typed name is gone: its draft too
        if self.is_mounted:
            self.refresh_bindings()

    def _place_rename_box(self) -> None:
        """Put the rename box over its tag's row, after the number: when it opens, and whenever the list
        moves under it (the status line grows or shrinks above it, a scroll, a resize). A row scrolled
        out of sight is scrolled back: the box never covers another tag."""
        rename_input, index = self._rename_input, self._renaming
        if rename_input is None or index is None or not self.is_mounted:
            return
        tag_list = self._list
        area = tag_list.content_region
        top = int(tag_list.scroll_offset.y)
        if area.height > 0 and not top <= index < top + area.height:
            tag_list.scroll_to(y=max(0, index - area.height + 1) if index >= top else index, animate=False,
                               immediate=True)
            top = int(tag_list.scroll_offset.y)
        number = TagList.GUTTER + len(str(len(self._tags))) + 2
        origin = self.content_region
        offset = (area.x + number - origin.x, area.y + index - top - origin.y)
        width = max(8, area.width - number)
        if getattr(rename_input, "placed_at", None) != (offset, width):  # a style set again lays out again
            rename_input.placed_at = (offset, width)
            rename_input.styles.offset = offset
            rename_input.styles.width = width

    # ---- keys --------------------------------------------------------------------------------------

    _LIST_ACTIONS = frozenset({"add", "delete", "rename", "move", "front", "reinsert", "copy", "paste",
                               "next_uncaptioned"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.is_mounted:
            return True
        if action == "save_text":
            return self._free_text
        if action in self._LIST_ACTIONS:
            if self._free_text or self._renaming is not None or not self._list.has_focus:
                return False  # keys typed into a box are text, not commands
            cursor = self._list.highlighted
            if action in ("delete", "rename"):
                return True if cursor is not None and self._tags else None
            if action == "move":
                step = int(parameters[0]) if parameters else 0
                return True if cursor is not None and 0 <= cursor + step < len(self._tags) else None
            if action == "front":
                return True if cursor is not None and 0 < cursor < len(self._tags) else None
            if action == "reinsert":
                return True if self._removed else None
        return True

    def action_add(self) -> None:
        if self.refuse_edit():
            return
        self.screen.set_focus(self._add_input)  # at once: the tag typed next must land in the box

    def action_delete(self) -> None:
        index = self._list.highlighted
        if index is None or not self._tags:
            return
        tag = self._tags.pop(index)
        self._removed.append((index, tag))
        self._changed(f"delete {tag}", highlight=index)

    async def action_rename(self) -> None:
        index = self._list.highlighted
        if index is None or not self._tags:
            return
        # Over the row, after its number (one line per row: the list never wraps); kept there as the
        # list moves (``_place_rename_box``).
        rename_input = TagInput(self._tags[index], vocab=self._vocab, exclude=[self._tags[index]],
                                compact=True, select_on_focus=False, id="tag-editor-rename")
        rename_input.submit_to = self.on_tag_input_submitted
        self._renaming = index
        self._rename_input = rename_input
        self._place_rename_box()
        await self.mount(rename_input)
        self.screen.set_focus(rename_input)  # at once: the new name typed next must land in the box
        rename_input.select_all()  # typing replaces the old name; an arrow key keeps it to edit
        self.refresh_bindings()

    async def restore_typing(self, what: str, typed: str, tag: str | None = None,
                             at: str | None = None) -> str | None:
        """Put text typed and never entered back where it was typed (a draft a closed app left): the add
        box, the rename box of ``tag``, or the free-text box. Nothing is entered: Enter (ctrl+s for
        text) does that. An add goes where the box said it would (``at``, from ``add_place``): "end"
        at the end, "after" after ``tag`` (gone since: after the highlighted tag, as the box then says);
        None (an older draft): after the highlighted tag. Returns why it could not be put back, in
        words, or None."""
        if what == "rename":
            index = self._tags.index(tag) if tag in self._tags else None
            if index is None or self._free_text:
                return f"'{tag}' is no longer in this caption: the rename to '{typed}' was not put back"
            self._list.highlighted = index
            await self.action_rename()
            self._rename_input.value = typed
            self._rename_input.cursor_position = len(typed)
            return None
        if what == "text" and self._free_text:
            self._text.load_text(typed)
            self.focus()
            self._text.move_cursor(self._text.document.end)
            return None
        if self._free_text:  # tags typed for the add box, and the caption is a sentence now
            return f"this caption is free text now: '{typed}' was not put back into it"
        box = self._add_input  # an add, or free text of a caption that is a tag list now (Enter splits it)
        if what == "add" and self._tags:
            if at == "end":
                self._list.highlighted = len(self._tags) - 1
            elif at == "after" and tag in self._tags:
                self._list.highlighted = self._tags.index(tag)
        self.screen.set_focus(box)  # its placeholder says where Enter adds, from the highlight set above
        box.value = typed
        box.cursor_position = len(typed)
        return None

    def action_move(self, step: int) -> None:
        index = self._list.highlighted
        if index is None or not 0 <= index + step < len(self._tags):
            return
        target = index + step
        tags = self._tags
        tags[index], tags[target] = tags[target], tags[index]
        self._changed(f"move {tags[target]} {'up' if step < 0 else 'down'}", highlight=target)

    def action_front(self) -> None:
        """The highlighted tag to the front: one edit (one write, one undo entry), however far it goes."""
        index = self._list.highlighted
        if index is None or not 0 < index < len(self._tags):
            return
        tag = self._tags.pop(index)
        self._tags.insert(0, tag)
        self._changed(f"move {tag} to the front", highlight=0)

    def action_reinsert(self) -> None:
        if not self._removed:
            return
        position, tag = self._removed.pop()
        there = self._index_of(tag)
        if there is not None:
            self._refuse(f"'{self._tags[there]}' is already there (tag {there + 1})")
            return
        position = min(position, len(self._tags))
        self._tags.insert(position, tag)
        self._changed(f"re-insert {tag}", highlight=position)

    def action_copy(self) -> None:
        self.post_message(self.CopyRequested(list(self._tags), editor=self))

    def action_paste(self) -> None:
        self.post_message(self.PasteRequested(editor=self))

    def action_navigate(self, step: int) -> None:
        """PgUp/PgDn: what is being typed goes in first, as Enter would (a rename, a tag in the add
        box while it has the focus, the free text); a tag refused (already there, a separator in it)
        keeps the box and the image, with the reason shown. Text left in the add box by Esc is not
        entered: its toast said the add key then Enter does that (the next image's toast says it is
        still there)."""
        if self._renaming is not None and self._rename_input is not None:
            self._finish_rename(self._rename_input.value.strip())
        typed = self._add_input.value.strip()
        if typed and not self._free_text and self._add_input.has_focus:
            self._add(typed)
            if self._add_input.value.strip():
                return  # refused: the text stays where it was typed
        if self._free_text:
            self._commit_text()
        self.post_message(self.NavigateRequested(step, editor=self))

    def action_next_uncaptioned(self) -> None:
        self.post_message(self.NavigateRequested("uncaptioned", editor=self))

    def action_save_text(self) -> None:
        if self._free_text:
            self._commit_text()

    def action_leave(self) -> None:
        if self._renaming is not None:
            self._cancel_rename()
            return
        add_input = self._add_input
        if add_input.has_focus:
            # what was typed stays in the box (the add key then Enter adds it, ctrl+u clears it): never dropped
            typed = add_input.value.strip()
            self._list.focus()
            if typed:
                add = bound_key(self, "tags.add") or "the add box"  # the user's keymap may have moved it
                self._notify_typing(f"'{typed}' kept in the add box: {add} then Enter adds it, ctrl+u in the box "
                                    "clears it", typed, timeout=4)
            return
        if self._free_text:
            self._commit_text()
        self.post_message(self.LeaveRequested(editor=self))
