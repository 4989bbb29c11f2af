"""TagEditor: editing one caption's tag list (or free text) by keys, at 80x24 with the editor 35 wide.

The editor never writes files: every test checks the messages it posts. pytest-asyncio is not
installed: each test is a plain function running its Pilot session in asyncio.run.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widgets import Footer, Static

from loratui.core.captions import TagInfo, TagVocab
from loratui.tui.widgets.tag_editor import TagEditor, TagList
from loratui.tui.widgets.tag_input import TagDropdown, TagInput

TAGS = ["1girl", "solo", "long hair", "smile"]


def make_vocab() -> TagVocab:
    return TagVocab(Counter({"long hair": 5, "blonde": 3, "solo": 9, "1girl": 9, "smile": 4}),
                    [TagInfo("long_sleeves", 0, 500), TagInfo("alice_(wonderland)", 4, 50), TagInfo("smile", 0, 900)])


class EditorApp(App):
    CSS = "#table { width: 45; } TagEditor { width: 35; }"

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[tuple] = []
        self.bells = 0

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static("image table", id="table")
            yield TagEditor(make_vocab())
        yield Footer()

    def on_mount(self) -> None:
        editor = self.query_one(TagEditor)
        editor.load(TAGS, title="img_0001.png", free_text=False, saved_state="saved ✓")
        editor.focus()

    def bell(self) -> None:
        self.bells += 1

    def on_tag_editor_tags_changed(self, message: TagEditor.TagsChanged) -> None:
        assert message.control is self.query_one(TagEditor)
        self.messages.append(("changed", message.tags, message.action))

    def on_tag_editor_copy_requested(self, message: TagEditor.CopyRequested) -> None:
        self.messages.append(("copy", message.tags))

    def on_tag_editor_paste_requested(self, message: TagEditor.PasteRequested) -> None:
        self.messages.append(("paste",))

    def on_tag_editor_navigate_requested(self, message: TagEditor.NavigateRequested) -> None:
        self.messages.append(("navigate", message.target))

    def on_tag_editor_leave_requested(self, message: TagEditor.LeaveRequested) -> None:
        self.messages.append(("leave",))


def run(test, size=(80, 24)) -> None:
    async def main() -> None:
        app = EditorApp()
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await test(app, pilot, app.query_one(TagEditor))

    asyncio.run(main())


def last_change(app: EditorApp) -> tuple:
    changes = [m for m in app.messages if m[0] == "changed"]
    return changes[-1][1:] if changes else ()


def lines(editor: TagEditor) -> list[str]:
    tag_list = editor.query_one(TagList)
    return [tag_list.render_line(y).text.rstrip() for y in range(tag_list.content_region.height)]


def test_layout_at_80x24_status_rows_and_footer(monkeypatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")  # TERM=linux draws ">" for the cursor
    async def check(app, pilot, editor: TagEditor) -> None:
        assert editor.region.width == 35
        status = editor.query_one("#tag-editor-status", Static)
        assert "img_0001.png" in str(status.render()) and "saved ✓" in str(status.render())
        rows = lines(editor)
        # the cursor row is marked by a glyph, not only by colour; known categories are hinted
        assert rows[:4] == ["▶ 1. 1girl", "  2. solo", "  3. long hair", "  4. smile  general"]
        assert editor.query_one(TagList).has_focus and editor.cursor_index == 0
        editor.set_state("conflict ✗: k keep mine / t take theirs")
        await pilot.pause()
        assert "conflict ✗: k keep mine / t take theirs" in str(status.render())
        # the footer offers what applies here: no re-insert yet (nothing removed), no ctrl+s (tags)
        active = {b.binding.id: b.enabled for b in app.screen.active_bindings.values() if b.binding.id}
        assert active["tags.add"] and active["tags.delete"] and active["tags.rename"]
        assert active["tags.reinsert"] is False and "tags.save_text" not in active
        assert app.messages == []  # loading is not an edit

    run(check)


def test_add_after_the_cursor_row_with_completion_and_refuse_duplicates() -> None:
    async def check(app, pilot, editor: TagEditor) -> None:
        await pilot.press("down", "a")
        add_input = editor.query_one("#tag-editor-add", TagInput)
        assert add_input.has_focus
        await pilot.press("l", "o")
        assert [c.tag for c in add_input.completions][0] == "long sleeves"  # "long hair" is there already
        await pilot.press("tab", "enter")
        assert last_change(app) == (["1girl", "solo", "long sleeves", "long hair", "smile"], "add long sleeves")
        assert add_input.value == "" and add_input.has_focus and editor.cursor_index == 2
        await pilot.press(*"blonde", "enter")  # the next one goes after the one just added
        assert last_change(app)[0][:4] == ["1girl", "solo", "long sleeves", "blonde"]
        count = len(app.messages)
        await pilot.press(*"Long_Hair", "enter")  # the same tag as core sees it: refused
        assert len(app.messages) == count and app.bells == 1 and add_input.value == "Long_Hair"
        add_input.value = ""
        await pilot.press(*"a, b", "enter")  # a list in the caption's spelling: each tag, one change
        assert last_change(app) == (["1girl", "solo", "long sleeves", "blonde", "a", "b", "long hair", "smile"],
                                    "add a, b")
        assert add_input.value == "" and editor.cursor_index == 5
        await pilot.press(*"smile, c,  ,solo", "enter")  # those there already are skipped, with a note
        assert last_change(app)[1] == "add c" and app.bells == 1
        assert any("already there: smile, solo" in str(n.message) for n in app._notifications)
        count = len(app.messages)
        await pilot.press(*"a, smile", "enter")  # nothing new: refused, the text stays
        assert len(app.messages) == count and app.bells == 2 and add_input.value == "a, smile"
        add_input.value = ""
        await pilot.press(*", ,", "enter")  # only separators
        assert len(app.messages) == count and app.bells == 3
        await pilot.press("escape")  # back on the list; what was typed stays in the box, with a word
        assert editor.query_one(TagList).has_focus and add_input.value == ", ,"
        assert any("kept in the add box" in str(n.message) for n in app._notifications)
        assert ("leave",) not in app.messages

    run(check)


def test_keys_typed_into_the_box_are_text_not_commands() -> None:
    async def check(app, pilot, editor: TagEditor) -> None:
        await pilot.press("a", "d", "u", "c", "v", "n", "r")
        add_input = editor.query_one("#tag-editor-add", TagInput)
        assert add_input.value == "ducvnr" and app.messages == []
        await pilot.press("escape", "end", "a", *"new tag", "enter")
        assert last_change(app) == (TAGS + ["new tag"], "add new tag")
        await pilot.press("enter")  # Enter on an empty box: done adding
        assert editor.query_one(TagList).has_focus

    run(check)


def test_delete_and_reinsert_at_the_old_position() -> None:
    async def check(app, pilot, editor: TagEditor) -> None:
        await pilot.press("down", "d")
        assert last_change(app) == (["1girl", "long hair", "smile"], "delete solo")
        assert editor.cursor_index == 1
        await pilot.press("delete")
        assert last_change(app) == (["1girl", "smile"], "delete long hair")
        await pilot.press("home", "u")
        assert last_change(app) == (["1girl", "long hair", "smile"], "re-insert long hair")
        assert editor.cursor_index == 1
        await pilot.press("u")
        assert last_change(app) == (TAGS, "re-insert solo")
        count = len(app.messages)
        await pilot.press("u")  # nothing left to put back
        assert len(app.messages) == count

    run(check)


def test_rename_in_place_merge_and_cancel() -> None:
    async def check(app, pilot, editor: TagEditor) -> None:
        await pilot.press("down", "down", "r")
        rename = editor.query_one("#tag-editor-rename", TagInput)
        tag_list = editor.query_one(TagList)
        assert rename.has_focus and rename.value == "long hair"
        assert rename.region.y == tag_list.content_region.y + 2  # over its row ...
        assert rename.region.x == tag_list.content_region.x + 5  # ... after the "▶ 3. "
        await pilot.press(*"blond")  # the old name is selected: typing replaces it
        assert rename.value == "blond"
        assert [c.tag for c in rename.completions] == ["blonde"]
        await pilot.press("tab", "enter")
        assert last_change(app) == (["1girl", "solo", "blonde", "smile"], "rename long hair to blonde")
        assert not editor.renaming and tag_list.has_focus and not editor.query("#tag-editor-rename")
        assert len(app.screen.query(TagDropdown)) == 0  # its dropdown went with it
        # renaming onto a tag already there merges: the earlier position stays
        await pilot.press("f2", "ctrl+u", *"SOLO", "enter")
        assert last_change(app) == (["1girl", "SOLO", "smile"], "rename blonde to SOLO (merged)")
        assert editor.cursor_index == 1
        count = len(app.messages)
        await pilot.press("r", "ctrl+u", *"lon", "escape")  # Escape with the list open closes it ...
        assert editor.renaming
        await pilot.press("escape")  # ... and the second cancels the rename
        assert not editor.renaming and len(app.messages) == count and tag_list.has_focus
        await pilot.press("r", "enter")  # unchanged: nothing posted
        assert len(app.messages) == count and not editor.renaming
        await pilot.press("r", "end", *" x", "enter")  # an arrow (End) keeps the old name to edit
        assert last_change(app)[1] == "rename SOLO to SOLO x"
        assert ("leave",) not in app.messages

    run(check)


def test_move_up_and_down_with_both_keys() -> None:
    async def check(app, pilot, editor: TagEditor) -> None:
        await pilot.press("ctrl+down")
        assert last_change(app) == (["solo", "1girl", "long hair", "smile"], "move 1girl down")
        await pilot.press("J")
        assert last_change(app) == (["solo", "long hair", "1girl", "smile"], "move 1girl down")
        assert editor.cursor_index == 2
        await pilot.press("K", "ctrl+up")
        assert last_change(app) == (["1girl", "solo", "long hair", "smile"], "move 1girl up")
        count = len(app.messages)
        await pilot.press("ctrl+up")  # already first
        assert len(app.messages) == count

    run(check)


def test_copy_paste_navigate_and_leave_are_requests() -> None:
    async def check(app, pilot, editor: TagEditor) -> None:
        await pilot.press("c", "v", "pagedown", "pageup", "n", "escape")
        assert app.messages == [("copy", TAGS), ("paste",), ("navigate", 1), ("navigate", -1),
                                ("navigate", "uncaptioned"), ("leave",)]

    run(check)


def test_pgdn_enters_what_was_typed_first_and_a_refused_tag_stays() -> None:
    """A rename or an added tag typed and not entered went nowhere on PgUp/PgDn."""
    async def check(app, pilot, editor: TagEditor) -> None:
        await pilot.press("down", "r", "ctrl+u", *"solo girl", "pagedown")
        await pilot.pause()
        assert app.messages[-2:] == [("changed", ["1girl", "solo girl", "long hair", "smile"],
                                      "rename solo to solo girl"), ("navigate", 1)]
        await pilot.press("a", *"blush", "pageup")
        await pilot.pause()
        assert app.messages[-2][2] == "add blush" and app.messages[-1] == ("navigate", -1)
        await pilot.press(*"smile", "pagedown")  # still in the add box; already there: refused, the box keeps it
        await pilot.pause()
        assert app.messages[-1] == ("navigate", -1) and editor.typed_not_entered() == "'smile' typed in the add box"

    run(check)


def test_reload_same_image_keeps_cursor_and_undo_another_image_starts_fresh() -> None:
    async def check(app, pilot, editor: TagEditor) -> None:
        await pilot.press("down", "down", "d")
        editor.load(["1girl", "solo", "smile"], title="img_0001.png", saved_state="saved ✓")
        await pilot.pause()
        assert editor.cursor_index == 2
        await pilot.press("u")
        assert last_change(app) == (TAGS, "re-insert long hair")
        await pilot.press("d")
        editor.load(["a", "b"], title="img_0002.png", saved_state="no caption file")
        await pilot.pause()
        assert editor.cursor_index == 0 and editor.tags == ["a", "b"] and editor.title == "img_0002.png"
        count = len(app.messages)
        await pilot.press("u")  # the removed tag belonged to the other image
        assert len(app.messages) == count
        assert "no caption file" in str(editor.query_one("#tag-editor-status", Static).render())

    run(check)


def test_empty_caption_adds_at_the_end() -> None:
    async def check(app, pilot, editor: TagEditor) -> None:
        editor.load([], title="img_0003.png", saved_state="no caption file")
        await pilot.pause()
        await pilot.press("d", "r")  # nothing to delete or rename
        await pilot.press("a", *"solo", "enter", *"smile", "enter")
        assert last_change(app) == (["solo", "smile"], "add smile")

    run(check)


def test_loaded_before_mount() -> None:
    async def main() -> None:
        class EarlyApp(App):  # not EditorApp: Textual would run its on_mount too
            messages: list = []

            def compose(self) -> ComposeResult:
                editor = TagEditor()
                editor.load(["a sentence long enough to be free text"], title="early.png", free_text=True)
                yield editor

            def on_mount(self) -> None:
                self.query_one(TagEditor).focus()

            def on_tag_editor_tags_changed(self, message: TagEditor.TagsChanged) -> None:
                self.messages.append(message)

        app = EarlyApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            text_area = app.query_one("#tag-editor-text")
            assert text_area.display and text_area.has_focus
            assert text_area.text == "a sentence long enough to be free text" and app.messages == []

    asyncio.run(main())


def test_free_text_caption_commits_on_ctrl_s_and_on_leaving() -> None:
    async def check(app, pilot, editor: TagEditor) -> None:
        editor.load(["a photo of a girl standing in a field", "with long hair"], title="img_0004.png",
                    free_text=True, saved_state="saved ✓")
        await pilot.pause()
        text_area = editor.query_one("#tag-editor-text")
        assert text_area.display and not editor.query_one(TagList).display
        assert text_area.has_focus and text_area.text == "a photo of a girl standing in a field, with long hair"
        assert app.messages == []  # load_text is not an edit
        await pilot.press("ctrl+s")
        assert app.messages == []  # nothing changed
        await pilot.press("down", "down", "down", "end", *" and a hat", "ctrl+s")
        text = "a photo of a girl standing in a field, with long hair and a hat"
        assert app.messages == [("changed", [text], "edit caption")]
        await pilot.press("d", "escape")  # typed into the text; leaving commits, then leaves
        assert app.messages[-2:] == [("changed", [text + "d"], "edit caption"), ("leave",)]
        active = {b.binding.id for b in app.screen.active_bindings.values() if b.binding.id}
        assert "tags.save_text" in active and "tags.delete" not in active
        # back to a tag caption
        editor.load(TAGS, title="img_0005.png", saved_state="saved ✓")
        await pilot.pause()
        assert editor.query_one(TagList).has_focus and not text_area.display

    run(check)


def test_ctrl_z_in_the_add_box_undoes_the_typing_a_word_at_a_time() -> None:
    """A text box's ctrl+z undoes what was typed there; it never reaches the screen's undo while the
    box holds text (finding 1 of hunt8)."""
    async def check(app, pilot, editor: TagEditor) -> None:
        undone = []
        app.action_undo = lambda: undone.append(True)  # what the screen's ctrl+z would reach
        app.bind("ctrl+z", "undo")
        await pilot.press("a", *"red hair")
        add_input = editor.query_one("#tag-editor-add", TagInput)
        assert add_input.value == "red hair"
        await pilot.press("ctrl+z")
        assert add_input.value == "red " and not undone
        await pilot.press("ctrl+z", "ctrl+z")
        assert add_input.value == "" and not undone and app.messages == []
        await pilot.press("ctrl+z")  # empty, nothing typed: the key goes on
        assert undone == [True]

    run(check)


def test_escape_keeps_the_typed_tag_and_the_placeholder_says_where_enter_adds() -> None:
    async def check(app, pilot, editor: TagEditor) -> None:
        await pilot.press("down", "a")
        add_input = editor.query_one("#tag-editor-add", TagInput)
        assert add_input.placeholder == "tag, enter: adds after 2."
        await pilot.press(*"half typed", "escape")
        assert editor.query_one(TagList).has_focus and add_input.value == "half typed"
        await pilot.press("a", "enter")  # the kept text is added as it is
        assert last_change(app) == (["1girl", "solo", "half typed", "long hair", "smile"], "add half typed")
        await pilot.press("escape", "end", "a")
        assert add_input.placeholder == "tag, enter: adds at the end"
        await pilot.press(*"later")
        editor.load(["x"], title="img_0002.png")  # another image: nothing is added, and the typing is kept
        await pilot.pause()                         # in the box (it was thrown away: hunt, session 9)
        assert add_input.value == "later" and editor.tags == ["x"]
        assert any("'later' is still in the add box" in str(n.message) for n in app._notifications)

    run(check)
