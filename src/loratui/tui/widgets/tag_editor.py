"""TagEditor: the dataset screen's inline editor for one image's caption.

It edits a plain ``list[str]`` and never writes files: every change posts
``TagEditor.TagsChanged(tags, action)`` and the owner (the dataset screen) turns it into a core
plan, writes it and reports back with ``set_state("saved ✓")``. Copy, paste, moving to another
image and leaving are requests the owner carries out (it keeps the clipboard, it knows the images).

Layout, top to bottom: a status line (image name and save state, in words), the tags as a numbered
list (``12. long hair  general``), and a TagInput for adding. A free-text caption (BLIP style)
gets a TextArea instead, committed with Ctrl+S or on leaving.

Tags are compared the way core compares them (``TagVocab.key``: case folded, ``_`` as a space), so
``long_hair`` cannot be added beside ``long hair``; renaming onto a tag that is there merges the two
(the earlier position stays, as core's replace does). A tag that core could not write as one tag
(a line break, the caption's separator) is refused with the reason core gives.

The tag list widget is widgets.tag_list; the edits and what each key does, widgets.tag_editor_actions;
what is typed and not entered (drafts, the free-text commit), widgets.tag_editor_typing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.strip import Strip
from textual.widgets import Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from loratui.core.captions import DEFAULT_SEPARATOR, TagVocab
from loratui.tui.services.keymap import bound_key
from loratui.tui.widgets.tag_editor_actions import TagEditorActions
from loratui.tui.widgets.tag_editor_limits import CaptionLimits, kept_count, token_text
from loratui.tui.widgets.tag_editor_typing import TagEditorTyping
from loratui.tui.widgets.tag_input import TagInput
from loratui.tui.widgets.tag_list import TagList

NavigateTarget = int | Literal["uncaptioned"]
_NOT_DIM = Style(dim=False)
_RULE = Style(underline=True)


@dataclass
class EditorMessage(Message):
    """Base of TagEditor's messages: ``editor`` (also ``control``) is the editor that posted it."""

    editor: TagEditor | None = field(default=None, kw_only=True, repr=False)

    @property
    def control(self) -> TagEditor | None:
        return self.editor


class EditorTagList(TagList):
    """The editor's TagList: when it gets shorter (the status line above took a second line for
    "saved ✓", a resize), the highlighted tag is scrolled back into sight: d or r must never act on a tag
    the user cannot see. (The rename box places itself: TagEditorActions._place_rename_box.)

    ``kept``: how many of the first tags keep_tokens keeps in place; the last of them is underlined
    across the list's width, a thin rule where shuffling starts (its row also says "┘ keep_tokens N")."""

    kept = 0

    def on_resize(self) -> None:
        self.call_after_refresh(self.scroll_to_highlight)

    def render_line(self, y: int) -> Strip:
        """The current tag's row at full strength: its faint number (and category), dimmed toward the
        cursor's colour, faded into it (high contrast: olive on yellow; yellow on yellow in 16 colours)."""
        line = super().render_line(y)
        index = int(self.scroll_offset.y) + y
        if self.kept and index == self.kept - 1:
            line = Strip([Segment(text, (style or Style()) + _RULE, control) for text, style, control in line],
                         line.cell_length)
        if index != self.highlighted:
            return line
        return Strip([Segment(text, style + _NOT_DIM, control) if style is not None and style.dim
                      else Segment(text, style, control) for text, style, control in line], line.cell_length)


class TagEditor(TagEditorActions, TagEditorTyping, Vertical):
    """Edit one caption: a tag list (add, delete, rename, move, re-insert) or a free-text box."""

    BINDING_GROUP_TITLE = "Tag editor"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a,insert", "add", "Add", id="tags.add",
                tooltip="Type a tag (with completions); Enter adds it after the highlighted tag "
                        "(End first: at the end)"),
        Binding("d,delete", "delete", "Delete", id="tags.delete",
                tooltip="Remove the highlighted tag (u puts it back)"),
        Binding("r,f2", "rename", "Rename", id="tags.rename",
                tooltip="Rename the highlighted tag in place; onto a tag already there merges the two"),
        Binding("ctrl+up,K", "move(-1)", "Move up", show=False, id="tags.move_up",
                tooltip="Move the highlighted tag one place up"),
        Binding("ctrl+down,J", "move(1)", "Move down", show=False, id="tags.move_down",
                tooltip="Move the highlighted tag one place down"),
        Binding("ctrl+home,shift+home", "front", "Move to front", show=False, id="tags.move_front",
                tooltip="Move the highlighted tag to the front of this caption (one write, one undo)"),
        Binding("u", "reinsert", "Re-insert", id="tags.reinsert",
                tooltip="Put the last removed tag back where it was"),
        Binding("c", "copy", "Copy", id="tags.copy", tooltip="Copy this image's tags"),
        Binding("v", "paste", "Paste", id="tags.paste", tooltip="Paste the copied tags onto the selection"),
        Binding("pageup", "navigate(-1)", "Previous image", show=False, id="tags.previous_image",
                tooltip="Edit the previous image's caption (typing in the add box: its tag goes in first)"),
        Binding("pagedown", "navigate(1)", "Next image", show=False, id="tags.next_image",
                tooltip="Edit the next image's caption (typing in the add box: its tag goes in first)"),
        Binding("n", "next_uncaptioned", "Next uncaptioned", show=False, id="tags.next_uncaptioned",
                tooltip="Edit the next image that has no caption"),
        Binding("ctrl+s", "save_text", "Save caption", id="tags.save_text",
                tooltip="Commit the edited free-text caption"),
        Binding("escape", "leave", "Back", id="tags.leave",
                tooltip="Cancel a rename; leave the add box (its text is kept, entered only by the add key "
                        "then Enter); else back to the image table"),
    ]

    DEFAULT_CSS = """
    TagEditor {
        height: 1fr;
        & > #tag-editor-status {
            height: auto;
            max-height: 3;
            padding: 0 1;
            background: $boost;
        }
        & > #tag-editor-add {
            margin-top: 0;
        }
        & > #tag-editor-text {
            display: none;
            height: 1fr;
        }
        &.-free-text {
            & > TagList, & > #tag-editor-add { display: none; }
            & > #tag-editor-text { display: block; }
        }
        & > #tag-editor-rename {
            overlay: screen;
            position: absolute;
            height: 1;
        }
    }
    """

    # ---- messages ------------------------------------------------------------------------------

    @dataclass
    class TagsChanged(EditorMessage):
        """The tags were edited: ``tags`` is the whole new list (``[text]`` for a free-text caption),
        ``action`` says what happened in words ("add long hair", "delete solo", ...)."""

        tags: list[str]
        action: str

    @dataclass
    class CopyRequested(EditorMessage):
        """``c``: the owner keeps ``tags`` as its tag clipboard."""

        tags: list[str]

    @dataclass
    class PasteRequested(EditorMessage):
        """``v``: the owner pastes its clipboard onto the selection (through core)."""

    @dataclass
    class NavigateRequested(EditorMessage):
        """Edit another image: ``target`` is -1 / +1 (previous / next) or "uncaptioned"."""

        target: NavigateTarget

    @dataclass
    class LeaveRequested(EditorMessage):
        """Escape: the owner puts the focus back on its image table."""

    @dataclass
    class TypingChanged(EditorMessage):
        """Typed text went without an edit (a rename cancelled, or entered unchanged): ``unsaved_typing()``
        says what is left.
        (Typing itself shows as the boxes' Input.Changed / TextArea.Changed, a commit as TagsChanged.)"""

    # ---- construction ----------------------------------------------------------------------------

    def __init__(self, vocab: TagVocab | None = None, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._vocab = vocab
        self._tags: list[str] = []
        self._title = ""
        self._state = ""
        self._free_text = False
        self._separator = DEFAULT_SEPARATOR
        self._loaded_text = ""
        self._removed: list[tuple[int, str]] = []  # (position, tag), newest last: what u puts back
        self._renaming: int | None = None
        self._rename_input: TagInput | None = None
        self._limits = CaptionLimits()
        self._kept = 0  # how many of the first tags keep_tokens keeps in place (as drawn)
        self._refuse_edits: str | None = None  # why nothing can be edited (no image shown), else None
        self._typing_notice: tuple[str, str] | None = None  # (toast, the text it is about): text left in the add box
        self._drawn: list[str] = []  # the tags as the list shows them

    def compose(self) -> ComposeResult:
        yield Static(id="tag-editor-status", markup=False)
        yield EditorTagList(id="tag-editor-list")
        yield TagInput(vocab=self._vocab, placeholder="add a tag", compact=True, id="tag-editor-add")
        yield TextArea(id="tag-editor-text", soft_wrap=True)

    def on_mount(self) -> None:
        self._add_input.submit_to = self.on_tag_input_submitted
        self._add_input.placeholder = self.add_placeholder()  # the keymap is applied by now
        self._add_input.separator = self._separator  # a multi-line paste joins its lines with the caption's own
        self._show_loaded(same_image=False)  # what load() got before the editor was mounted
        self.watch(self._list, "scroll_y", self._list_moved, init=False)

    def _list_moved(self) -> None:
        if self._renaming is not None:
            self.call_after_refresh(self._place_rename_box)

    def on_resize(self, event: events.Resize) -> None:
        self._list_moved()  # the box is placed in screen cells: the list may be elsewhere now

    @property
    def _list(self) -> TagList:
        return self.query_one(TagList)

    @property
    def _add_input(self) -> TagInput:
        return self.query_one("#tag-editor-add", TagInput)

    @property
    def _text(self) -> TextArea:
        return self.query_one("#tag-editor-text", TextArea)

    # ---- public --------------------------------------------------------------------------------

    @property
    def vocab(self) -> TagVocab | None:
        return self._vocab

    @vocab.setter
    def vocab(self, vocab: TagVocab | None) -> None:
        """Completions and category hints come from here (the owner updates it after edits)."""
        self._vocab = vocab
        if self.is_mounted:
            self._add_input.vocab = vocab
            if self._rename_input is not None:
                self._rename_input.vocab = vocab
            self._refresh_list()

    @property
    def tags(self) -> list[str]:
        """The tags as edited (a copy); ``[text]`` for a free-text caption once committed."""
        return list(self._tags)

    @property
    def title(self) -> str:
        return self._title

    @property
    def state(self) -> str:
        return self._state

    @property
    def free_text(self) -> bool:
        return self._free_text

    @property
    def cursor_index(self) -> int | None:
        """The highlighted tag's position, or None."""
        return self._list.highlighted if self.is_mounted else None

    @property
    def renaming(self) -> bool:
        return self._renaming is not None

    def load(self, tags: Sequence[str], *, title: str, free_text: bool = False, saved_state: str = "",
             separator: str = DEFAULT_SEPARATOR, refuse_edits: str | None = None) -> None:
        """Show one image's caption. Loading is not an edit: nothing is posted.

        The same ``title`` again (the owner reloading after a save) keeps the cursor and what ``u``
        can put back; another title starts fresh. ``separator``: the caption's, to refuse tags
        that would read back as several, and to show a free-text caption whole. ``refuse_edits``:
        there is nothing to edit (no image shown), in one line: every edit key says it instead.
        """
        same_image = title == self._title
        self._refuse_edits = refuse_edits
        self._cancel_rename()
        self._tags = list(tags)
        self._title = title
        self._state = saved_state
        self._separator = separator
        if self.is_mounted:
            self._add_input.separator = separator
        self._free_text = free_text
        if not same_image:
            self._removed.clear()
        if self.is_mounted:
            self._show_loaded(same_image)

    def _show_loaded(self, same_image: bool) -> None:
        self.set_class(self._free_text, "-free-text")
        self._show_status()
        if not same_image:
            typed = self._add_input.value.strip()
            if typed and self._refuse_edits is None:  # kept, never thrown away: it stays in the box (and the draft)
                add = bound_key(self, "tags.add") or "the add box"
                self._notify_typing(f"'{typed}' is still in the add box: {add} then Enter adds it to this image, "
                                    "ctrl+u clears it", typed, severity="warning", timeout=6)
            elif typed:  # no image to add it to: a toast saying "Enter adds it" would not be true now
                self._withdraw_typing_notice()
            else:
                self._add_input.clear_typing_history()
        if self._free_text:
            self._loaded_text = self._separator.join(self._tags)
            text_area = self._text
            with text_area.prevent(TextArea.Changed):  # load_text posts Changed: not an edit
                text_area.load_text(self._loaded_text)
            self._show_status()  # its token count, of the text now in the box
            if self._focus_within() and not text_area.has_focus:
                text_area.focus()
        else:
            keep = self._list.highlighted if same_image else None
            self._refresh_list(highlight=keep if keep is not None else 0)
            if self._focus_within() and self._text.has_focus:
                self._list.focus()
        self.refresh_bindings()

    @property
    def limits(self) -> CaptionLimits:
        return self._limits

    @limits.setter
    def limits(self, limits: CaptionLimits) -> None:
        """The config's keep_tokens and max_token_length (the owner sets them; the editor reads no file):
        the status line's "31/75 tokens" and the keep_tokens line under the last kept tag."""
        if limits == self._limits:
            return
        self._limits = limits
        if self.is_mounted:
            self._show_status()
            if not self._free_text:
                self._refresh_list()

    def set_state(self, state: str) -> None:
        """The save state in words: "saved ✓", "saving…", "conflict ✗: k keep mine / t take theirs"."""
        self._state = state
        if self.is_mounted:
            self._show_status()

    def focus(self, scroll_visible: bool = True) -> TagEditor:
        """Focus the tag list (or the text box of a free-text caption)."""
        if self.is_mounted:
            # at once, not deferred like Widget.focus: a key typed right after (`e` then `a`)
            # must already find the list focused
            self.screen.set_focus(self._text if self._free_text else self._list, scroll_visible)
        return self

    # ---- drawing -------------------------------------------------------------------------------

    def _show_status(self) -> None:
        """The title, then the token count and the save state, each in one piece: on the title's line
        when it fits, else on the next (joined by " · ")."""
        title = self._title or "no image"
        parts: list[tuple[str, str]] = [(title, "bold")]
        pieces: list[tuple[str, str]] = []
        if self._refuse_edits is None:
            tokens, over = token_text(self.current_tags() if self.is_mounted else self._tags, self._separator,
                                      self._limits)
            pieces.append((tokens, "$text-warning bold" if over else "$text-muted"))
        if self._state:
            pieces.append((self._state, ""))
        room = self.size.width - 2  # the status line's padding
        used, new_line = cell_len(title), False
        for text, style in pieces:
            gap = " · " if new_line else "  "
            if not new_line and room > 0 and used % room + cell_len(gap) + cell_len(text) > room:
                parts.append(("\n", ""))
                used, new_line, gap = 0, True, ""
            parts += [(gap, ""), (text, style)]
            used += cell_len(gap) + cell_len(text)
        self.query_one("#tag-editor-status", Static).update(Content.assemble(*parts))
        self._list_moved()  # one line more or less above the list moves its rows under the rename box

    def _row(self, number: int, tag: str, width: int) -> Text:
        row = Text(no_wrap=True, overflow="ellipsis")  # no base style: "dim" there dimmed the tag too
        row.append(f"{number:>{width}}. ", style="dim")
        row.append(tag)
        if number == self._kept:  # the last tag keep_tokens keeps in place: the list underlines this row too
            row.append(f"  ┘ keep_tokens {self._limits.keep_tokens}", style="dim")
        known = self._vocab.lookup(tag) if self._vocab is not None else None
        if known is not None and known.category_name:
            row.append(f"  {known.category_name}", style="dim italic")
        return row

    def _refresh_list(self, highlight: int | None = None) -> None:
        tag_list = self._list
        if highlight is None:
            highlight = tag_list.highlighted
        width = len(str(len(self._tags)))
        self._drawn = list(self._tags)
        self._kept = kept_count(self._tags, self._limits.keep_tokens) if not self._free_text else 0
        tag_list.kept = self._kept
        tag_list.set_options(Option(self._row(n, tag, width)) for n, tag in enumerate(self._tags, 1))
        if self._tags:
            tag_list.highlighted = max(0, min(highlight or 0, len(self._tags) - 1))
        self._add_input.exclude = list(self._tags)
        self._show_status()  # the token count
        self._list_moved()  # a wider number column (10 tags and more) moves the box's text
        if self._add_input.has_focus:
            self._add_input.placeholder = self.typing_placeholder()
        self.refresh_bindings()

    def _focus_within(self) -> bool:
        focused = self.screen.focused if self.is_mounted else None
        return focused is not None and self in focused.ancestors

    # ---- messages from the children --------------------------------------------------------------

    def on_tag_input_submitted(self, message: TagInput.Submitted) -> None:
        message.stop()
        if message.input is self._rename_input:
            self._finish_rename(message.value)
        elif message.input.id == "tag-editor-add":
            self._add(message.value)

    def add_placeholder(self, inside: bool | None = None) -> str:
        """The add box's hint while it is not focused, with the key that opens it from where the focus is
        (the user's keymap applied): "add a tag (a)" -- the screen's key (dataset.add_tag) from the
        table, the editor's own (tags.add) inside the editor; ``inside``: the focus is in the editor."""
        if inside is None:
            focused = self.screen.focused
            inside = focused is not None and self in focused.ancestors
        key = bound_key(self, "tags.add") if inside else bound_key(self.screen, "dataset.add_tag")
        if not key and not inside:  # the keymap took it: the editor's key (e), then its add key (a)
            edit, add = bound_key(self.screen, "dataset.edit"), bound_key(self, "tags.add")
            key = f"{edit}, then {add}" if edit and add else ""
        return f"add a tag ({key})" if key else "add a tag"

    def typing_placeholder(self) -> str:
        """Where Enter puts the tag: after the highlighted one (as the list shows it), not at the end."""
        cursor = self._list.highlighted if self.is_mounted else None
        if not self._tags or cursor is None:
            return "tag, enter · esc: the list"
        if cursor >= len(self._tags) - 1:
            return "tag, enter: adds at the end"
        return f"tag, enter: adds after {cursor + 1}."

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self._show_add_placeholder()

    def _show_add_placeholder(self) -> None:
        """The add box's hint for where the focus is now (screen.focused: set at once, where the focus and
        blur events of two widgets may arrive in either order)."""
        focused = self.screen.focused
        if focused is self._add_input:  # in the box, "(a)" read as "press a": the a typed for the next tag went in
            self._add_input.placeholder = self.typing_placeholder()
        else:
            self._add_input.placeholder = self.add_placeholder(inside=focused is not None and self in focused.ancestors)

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        widget = event.widget
        self._show_add_placeholder()
        if widget is self._rename_input and self._renaming is not None:
            self.call_later(self._cancel_rename, False)  # focus went elsewhere: the rename is off
        elif self._free_text and widget.id == "tag-editor-text":
            self._commit_text()  # leaving the text box commits it

    def on_input_changed(self, event: Input.Changed) -> None:
        """Not stopped: the owner keeps drafts from it. The add box's text changed (entered, cleared,
        typed on): a toast about the text left there is no longer true."""
        if event.input is self._add_input and self._typing_notice is not None \
                and event.value.strip() != self._typing_notice[1]:
            self._withdraw_typing_notice()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if event.text_area is self._text:
            self._show_status()  # the token count of the text as typed

    def on_option_list_option_selected(self, message: OptionList.OptionSelected) -> None:
        if message.option_list is self._list:
            message.stop()  # Enter / a click on a tag only highlights it
