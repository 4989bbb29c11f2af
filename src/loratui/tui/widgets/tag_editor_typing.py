"""What the tag editor holds typed and not entered: the add box, a rename box, changed free text.

``TagEditorTyping`` is a mixin of TagEditor (split out of tag_editor.py to keep it readable): what
quitting would drop, what is kept as a draft, where Enter in the add box puts the tag, and the
free-text commit. It needs from TagEditor: ``_tags``, ``_list``, ``_add_input``, ``_text``,
``_renaming``, ``_rename_input``, ``_free_text``, ``_loaded_text``, ``_renamed`` and TagsChanged.
"""

from __future__ import annotations


class TagEditorTyping:
    """Mixin of TagEditor: text typed and not entered, and the free-text caption's commit."""

    def typed_not_entered(self) -> str | None:
        """What quitting now would drop, in words (None: nothing): a rename, a tag in the add box,
        changed free text."""
        if not self.is_mounted:
            return None
        if self._renaming is not None and self._rename_input is not None:
            return f"the rename of '{self._tags[self._renaming]}' to '{self._rename_input.value.strip()}'"
        typed = self._add_input.value.strip()
        if typed and not self._free_text:
            return f"'{typed}' typed in the add box"
        if self.has_pending_edit():
            return "changes to the caption text"
        return None

    def unsaved_typing(self) -> list[tuple[str, str, str | None, str | None]]:
        """What is typed and not entered, to keep as a draft: ("rename", new name, the tag renamed, None),
        ("add", the add box's text, *add_place()), ("text", the changed free text, None, None)."""
        if not self.is_mounted:
            return []
        found: list[tuple[str, str, str | None, str | None]] = []
        if self._renaming is not None and self._rename_input is not None and self._renaming < len(self._tags):
            found.append(("rename", self._rename_input.value, self._tags[self._renaming], None))
        typed = self._add_input.value
        if typed.strip() and not self._free_text:
            found.append(("add", typed, *self.add_place()))
        if self._free_text and self._text.text.strip() != self._loaded_text.strip():
            found.append(("text", self._text.text, None, None))
        return found

    def add_place(self) -> tuple[str | None, str | None]:
        """Where Enter in the add box puts the tag, as (tag, at) for a draft: (None, "end") at the end
        (the box says "adds at the end"), (the highlighted tag, "after") after it, (None, None) in an
        empty list. ``restore_typing`` puts the highlight back from it."""
        cursor = self._list.highlighted if self.is_mounted else None
        if not self._tags or cursor is None:
            return None, None
        if cursor >= len(self._tags) - 1:
            return None, "end"
        return self._tags[cursor], "after"

    def has_pending_edit(self) -> bool:
        """True while something typed is not committed yet (a rename box, changed free text)."""
        if self.renaming:
            return True
        return self._free_text and self.is_mounted and self._text.text.strip() != self._loaded_text.strip()

    def current_tags(self) -> list[str]:
        """What the editor holds now, uncommitted free text included."""
        if self._free_text and self.is_mounted:
            text = self._text.text.strip()
            return [text] if text else []
        return list(self._tags)

    def tags_with_typing(self) -> list[str]:
        """The tags as they would be with what is typed and not entered applied: the rename in its box
        (merged as Enter would), the changed free text; the add box is not an edit until Enter."""
        if self._renaming is not None and self._rename_input is not None:
            renamed = self._renamed(self._renaming, self._rename_input.value.strip())
            return renamed[0] if renamed is not None else list(self._tags)
        return self.current_tags()

    def _commit_text(self) -> None:
        text = self._text.text.strip()
        if text == self._loaded_text.strip():
            return
        self._loaded_text = text
        self._tags = [text] if text else []
        self.post_message(self.TagsChanged(list(self._tags), "edit caption", editor=self))
