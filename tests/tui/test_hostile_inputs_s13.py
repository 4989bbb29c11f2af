"""Hostile inputs in the app (hunt h6): a caption that cannot be read never blanks the others, a
multi-line paste into the add box adds every line, and a bulk preview names read-only captions
before the write refuses them (Pilot, plus the store and the note on their own)."""

from __future__ import annotations

import asyncio
import os

import pytest
from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset, run_dataset_app
from textual import events

from loratui.core.captions import AddTags, plan_edits, read_caption
from loratui.core.dataset import locate_dataset
from loratui.core.errors import LoratuiError
from loratui.tui.screens.bulk_preview import read_only_note
from loratui.tui.services.dataset_store import DatasetStore
from loratui.tui.widgets.tag_editor import TagEditor
from loratui.tui.widgets.tag_input import TagInput


def test_a_folder_named_like_a_caption_is_named_and_the_other_captions_load(tmp_path):
    img = make_dataset(tmp_path / "proj") / "img"
    (img / "10_alice" / "a01.txt").unlink()
    (img / "10_alice" / "a01.txt").mkdir()
    store = DatasetStore(locate_dataset(img))
    store.adopt_rows(store.list_rows())
    load = store.read_captions()
    store.adopt_captions(load.captions)
    assert "a01.txt: is a folder, not a caption file: rename or move it" in load.error
    assert "the other captions loaded" in load.error
    rows = {row.name: row for row in store.rows}
    assert rows["a02.png"].caption.tags[:2] == ["alice", "1girl"]  # the valid captions show
    assert rows["a01.png"].caption is None
    assert "is a folder" in store.unreadable_reason(rows["a01.png"])
    assert store.unreadable_reason(rows["a02.png"]) is None
    with pytest.raises(LoratuiError, match="is a folder, not a caption file") as caught:
        store.set_tags(rows["a01.png"], ["x"], "add x")
    assert "still loading" not in str(caught.value)


def test_a_bom_before_cp1252_text_loads_in_the_app_with_the_others(tmp_path):
    img = make_dataset(tmp_path / "proj") / "img"
    (img / "10_alice" / "a01.txt").write_bytes(b"\xef\xbb\xbfcaf\xe9, x\n")
    store = DatasetStore(locate_dataset(img))
    store.adopt_rows(store.list_rows())
    load = store.read_captions()
    assert load.error is None
    store.adopt_captions(load.captions)
    assert {row.name: row.caption.tags for row in store.rows}["a01.png"] == ["café", "x"]


# ---- a multi-line paste into the add box -------------------------------------------------------

def _editor_app():
    """A TagEditor alone, recording its changes (as test_tag_editor's app does)."""
    from textual.app import App, ComposeResult

    class EditorApp(App):
        def __init__(self) -> None:
            super().__init__()
            self.changes: list[tuple] = []

        def compose(self) -> ComposeResult:
            yield TagEditor()

        def on_mount(self) -> None:
            editor = self.query_one(TagEditor)
            editor.load(["1girl", "solo"], title="a.png", free_text=False, saved_state="")
            editor.focus()

        def on_tag_editor_tags_changed(self, message: TagEditor.TagsChanged) -> None:
            self.changes.append((list(message.tags), message.action))

    return EditorApp()


def test_a_multi_line_paste_adds_every_line_not_only_the_first():
    async def main():
        app = _editor_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press("a")
            box = app.query_one("#tag-editor-add", TagInput)
            assert app.focused is box
            box.post_message(events.Paste("alpha\nbeta,\r\n\ngamma\n"))
            await until(pilot, lambda: box.value, "the paste in the box")
            assert box.value == "alpha, beta, gamma"
            await pilot.press("enter")
            await until(pilot, lambda: app.changes, "the tags added")
            tags, _action = app.changes[-1]
            start = tags.index("alpha")  # added after the highlighted tag, in the pasted order
            assert tags[start:start + 3] == ["alpha", "beta", "gamma"] and len(tags) == 5

    asyncio.run(main())


def test_a_one_line_paste_after_blank_lines_keeps_its_line():
    async def main():
        app = _editor_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press("a")
            box = app.query_one("#tag-editor-add", TagInput)
            box.post_message(events.Paste("\n\nred, blue\n"))  # Input kept "" (its empty first line)
            await until(pilot, lambda: box.value, "the paste in the box")
            assert box.value == "red, blue"

    asyncio.run(main())


# ---- read-only captions in a bulk preview ------------------------------------------------------

def test_the_read_only_note_names_the_files_and_says_nothing_is_written(tmp_path):
    folder = tmp_path / "10_x"
    folder.mkdir()
    for name in ("a", "b"):
        (folder / f"{name}.txt").write_text("t\n")
    os.chmod(folder / "a.txt", 0o444)
    plan = plan_edits([read_caption(folder / "a.txt"), read_caption(folder / "b.txt"),
                       read_caption(folder / "c.txt")], [AddTags(["new"], 0)])
    note = read_only_note(plan, tmp_path)
    assert note.startswith("1 caption file(s) are read-only: 10_x/a.txt.")
    assert "refuses the whole change and writes nothing" in note and "chmod u+w" in note
    os.chmod(folder / "a.txt", 0o644)
    assert read_only_note(plan, tmp_path) == ""


def test_a_bulk_add_preview_notes_a_read_only_caption(tmp_path):
    from loratui.tui.screens.noted_plan_preview import NotedPlanPreview

    img = make_dataset(tmp_path / "proj") / "img"
    locked = img / "10_alice" / "a02.txt"
    os.chmod(locked, 0o444)
    before = locked.read_bytes()

    async def scenario(app, pilot):
        await pilot.press("slash", *"tag:solo", "enter")  # captioned images only: the no-worker path
        await pilot.pause()
        await pilot.press("plus", *"bulkt", "enter")
        await until(pilot, lambda: isinstance(app.screen, NotedPlanPreview), "the preview with its note")
        assert any("10_alice/a02.txt" in note and "read-only" in note for note in app.screen.notes)
        await pilot.press("escape")
        await pilot.pause()

    run_dataset_app(tmp_path, img, scenario)
    assert locked.read_bytes() == before


def test_the_editor_says_why_an_unreadable_caption_has_no_tags_not_loading(tmp_path):
    img = make_dataset(tmp_path / "proj") / "img"
    (img / "10_alice" / "a01.txt").unlink()
    (img / "10_alice" / "a01.txt").mkdir()

    async def scenario(app, pilot):
        screen = app.screen
        assert screen.table.cursor_row.name == "a01.png"  # the first image
        screen.show_current(force=True)
        await pilot.pause()
        state = screen.query_one(TagEditor).state
        assert "is a folder" in state and "loading" not in state

    run_dataset_app(tmp_path, img, scenario)


def test_a_multi_line_paste_joins_with_the_captions_own_separator():
    async def main():
        app = _editor_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            editor = app.query_one(TagEditor)
            editor.load(["1girl", "solo"], title="b.png", free_text=False, saved_state="", separator=" | ")
            await pilot.pause()
            await pilot.press("a")
            box = app.query_one("#tag-editor-add", TagInput)
            box.post_message(events.Paste("alpha\nbeta\n"))
            await until(pilot, lambda: box.value, "the paste in the box")
            assert box.value == "alpha | beta"

    asyncio.run(main())
