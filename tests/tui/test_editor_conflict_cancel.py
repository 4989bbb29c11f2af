"""The Dataset screen's tag editor when a caption changes on disk under a rename being typed (two apps
on one project): cancelling the typing ends the conflict and reloads the file; `k` (keep mine) writes
the user's change applied onto the version on disk, never the old caption over it; the rename box stays
over its tag as the list moves; a restored add draft adds where the box said (Pilot, 80x24)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from fixtures.pilot_wait import until
from fixtures.tui_dataset import CAPTIONS, make_dataset, run_dataset_app

from loratui.tui.screens.config_dialogs import ChoiceDialog
from loratui.tui.screens.dataset_drafts import caption_draft_path
from loratui.tui.screens.dataset_write_gate import keep_mine_onto
from loratui.tui.services import drafts as drafts_service
from loratui.tui.widgets.tag_editor import TagEditor
from loratui.tui.widgets.tag_list import TagList

A01 = "alice, 1girl, solo, long hair, smile, outdoors"
THEIRS = A01 + ", evenmore"  # what the other app wrote: one tag more


@pytest.fixture(autouse=True)
def quick_drafts(monkeypatch):
    monkeypatch.setattr(drafts_service, "DEBOUNCE_S", 0.05)


def editor(app) -> TagEditor:
    return app.screen.query_one(TagEditor)


def toasts(app) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


def run(tmp_path: Path, scenario, captions: dict = CAPTIONS) -> None:
    """The app on tmp_path/proj (made the first time, with ``captions``)."""
    if not (tmp_path / "proj").exists():
        make_dataset(tmp_path / "proj", captions)
    run_dataset_app(tmp_path, tmp_path / "proj", scenario)


def a01(tmp_path: Path) -> Path:
    return tmp_path / "proj" / "img" / "10_alice" / "a01.txt"


async def rename_last_then_changed_outside(app, pilot, path: Path) -> None:
    """e, End, r, zzz typed (not entered); then the other app writes the caption."""
    await pilot.press("e", "end", "r", *"zzz")
    await until(pilot, lambda: editor(app).renaming, "the rename box")
    path.write_text(THEIRS + "\n", encoding="utf-8")
    app._captions_changed([path])  # what the watchfiles worker delivers
    await until(pilot, lambda: app.screen.current.state == "conflict", "the conflict")
    assert "changed on disk" in editor(app).state


def test_cancelled_rename_ends_the_conflict_and_reloads_the_file(tmp_path):
    path = a01(tmp_path)

    async def scenario(app, pilot):
        await rename_last_then_changed_outside(app, pilot, path)
        while editor(app).renaming:  # the first Esc may only close the completions
            await pilot.press("escape")
        await until(pilot, lambda: app.screen.current.state != "conflict", "the conflict over")
        assert app.screen.current.caption_file not in app.screen.pending_edits()
        assert editor(app).tags == THEIRS.split(", ")  # the file as it is now
        assert "changed on disk" not in editor(app).state
        assert "typing cancelled: reloaded its caption" in toasts(app)
        await pilot.press("escape", "k")  # nothing of the user's left: k writes nothing
        await pilot.pause(0.2)
        assert path.read_text() == THEIRS + "\n"

    run(tmp_path, scenario)


def test_an_unchanged_name_entered_is_no_change_either(tmp_path):
    path = a01(tmp_path)

    async def scenario(app, pilot):
        await rename_last_then_changed_outside(app, pilot, path)
        editor(app)._rename_input.value = "outdoors"  # typed back as it was
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.current.state != "conflict", "the conflict over")
        assert editor(app).tags == THEIRS.split(", ")
        assert path.read_text() == THEIRS + "\n"

    run(tmp_path, scenario)


def test_keep_mine_applies_the_rename_onto_the_change_on_disk(tmp_path):
    path = a01(tmp_path)

    async def scenario(app, pilot):
        await rename_last_then_changed_outside(app, pilot, path)
        await pilot.press("enter")  # the rename entered: still a conflict, nothing written
        await until(pilot, lambda: app.screen.pending_edits().get(path) is not None
                    and app.screen.pending_edits()[path].tags is not None, "the rename held")
        assert path.read_text() == THEIRS + "\n"
        await pilot.press("escape", "k")
        await until(pilot, lambda: "zzz" in path.read_text(), "keep mine written")
        assert path.read_text() == "alice, 1girl, solo, long hair, smile, zzz, evenmore\n"  # evenmore kept
        assert "with the change made on disk: evenmore" in toasts(app)
        assert app.screen.current.state == "saved"

    run(tmp_path, scenario)


def test_keep_mine_from_the_palette_while_the_rename_is_still_typed(tmp_path):
    path = a01(tmp_path)

    async def scenario(app, pilot):
        await rename_last_then_changed_outside(app, pilot, path)
        app.screen.action_keep_mine()  # what the palette's "tags: keep my edit" runs
        await until(pilot, lambda: "zzz" in path.read_text(), "keep mine written")
        assert path.read_text() == "alice, 1girl, solo, long hair, smile, zzz, evenmore\n"
        assert not editor(app).renaming

    run(tmp_path, scenario)


@pytest.mark.parametrize(("basis", "mine", "theirs", "expected"), [
    # a rename; they added a tag: both kept
    (["a", "b", "c"], ["a", "b", "z"], ["a", "b", "c", "new"], (["a", "b", "z", "new"], [])),
    # an add; they removed tags: their removals stand, the add joins after its neighbour
    (["a", "b", "c"], ["a", "x", "b", "c"], ["a", "c"], (["a", "x", "c"], [])),
    # a delete; they renamed another tag
    (["a", "b", "c"], ["a", "c"], ["a", "B2", "c", "d"], (["a", "B2", "c", "d"], [])),
    # both added the same tag (another spelling): once
    (["a"], ["a", "long hair"], ["a", "long_hair"], (["a", "long_hair"], [])),
    # the user moved tags: their order, with the other side's addition after its neighbour
    (["a", "b", "c"], ["c", "a", "b"], ["a", "x", "b", "c"], (["c", "a", "x", "b"], [])),
    # a case-only rename is a change too
    (["a", "b"], ["a", "B"], ["a", "b", "d"], (["a", "B", "d"], [])),
    # nothing changed on disk after all: mine as it is
    (["a", "b"], ["b", "a", "c"], ["a", "b"], (["b", "a", "c"], [])),
    # the basis not known (a save kept in a draft): mine whole, what it replaces named
    (None, ["a", "z"], ["a", "b", "new"], (["a", "z"], ["b", "new"])),
])
def test_keep_mine_onto(basis, mine, theirs, expected):
    assert keep_mine_onto(basis, mine, theirs) == expected


def test_keep_mine_on_free_text_replaces_it_and_says_what_it_had():
    basis = ["a photo of a cat on a sofa"]
    mine, theirs = ["a photo of a black cat on a sofa"], ["a photo of a cat sleeping on a red sofa"]
    assert keep_mine_onto(basis, mine, theirs) == (mine, theirs)


def rename_box_on_its_row(app) -> bool:
    box, tag_list = editor(app)._rename_input, app.screen.query_one(TagList)
    row = tag_list.content_region.y + editor(app)._renaming - int(tag_list.scroll_offset.y)
    area = tag_list.content_region
    return box is not None and box.region.y == row and area.y <= row < area.bottom


def test_the_rename_box_follows_its_tag_when_the_list_moves(tmp_path):
    many = ", ".join(f"tag{i}" for i in range(30))
    captions = dict(CAPTIONS, **{"10_alice/a01.png": many})

    async def scenario(app, pilot):
        path = a01(tmp_path)
        status = app.screen.query_one("#tag-editor-status")
        await pilot.press("e", "end", "r", *"zzz")
        await until(pilot, lambda: editor(app).renaming, "the rename box")
        await pilot.pause()
        assert rename_box_on_its_row(app)
        lines = status.size.height
        path.write_text(many + ", evenmore\n", encoding="utf-8")
        app._captions_changed([path])
        await until(pilot, lambda: app.screen.current.state == "conflict", "the conflict")
        await until(pilot, lambda: status.size.height > lines, "the status line grown above the list")
        await until(pilot, lambda: rename_box_on_its_row(app), "the box moved down with its row")
        app.screen.query_one(TagList).scroll_home(animate=False)  # a mouse wheel: its row out of sight
        await until(pilot, lambda: rename_box_on_its_row(app), "its row back in sight, under the box")
        await pilot.resize_terminal(100, 30)
        await until(pilot, lambda: rename_box_on_its_row(app), "the box placed again after a resize")
        assert editor(app)._rename_input.value == "zzz"

    run(tmp_path, scenario, captions)


def hang_up(app) -> None:
    assert app.drafts.write_now() == []
    app.exit_signal = signal.SIGHUP
    app.exit(return_code=128 + signal.SIGHUP)


def draft_entries(tmp_path: Path) -> list[dict]:
    return json.loads(caption_draft_path(tmp_path / "proj" / "img").read_text(encoding="utf-8"))["entries"]


@pytest.mark.parametrize(("keys", "at", "tag", "expected"), [
    (("end",), "end", None, A01 + ", posEnd"),
    (("down",), "after", "1girl", "alice, 1girl, posEnd, solo, long hair, smile, outdoors"),
])
def test_a_restored_add_draft_adds_where_the_box_said(tmp_path, keys, at, tag, expected):
    async def typed(app, pilot):
        await pilot.press("e", *keys, "a", *"posEnd")
        await until(pilot, lambda: caption_draft_path(tmp_path / "proj" / "img").exists()
                    and draft_entries(tmp_path)[0]["typed"] == "posEnd", "the draft")
        hang_up(app)

    run(tmp_path, typed)
    [entry] = draft_entries(tmp_path)
    assert (entry["at"], entry["tag"]) == (at, tag)

    async def reopened(app, pilot):
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the draft offered")
        assert "posEnd" in app.screen.body and ("at the end" if at == "end" else "after '1girl'") in app.screen.body
        await pilot.press("r")
        await until(pilot, lambda: editor(app)._add_input.value == "posEnd", "the add box restored")
        await pilot.press("enter")
        await until(pilot, lambda: "posEnd" in a01(tmp_path).read_text(), "the add entered")
        assert a01(tmp_path).read_text() == expected + "\n"

    run(tmp_path, reopened)


def test_an_add_draft_from_before_the_place_was_kept_adds_as_before(tmp_path):
    async def typed(app, pilot):
        await pilot.press("e", "end", "a", *"posEnd")
        await until(pilot, lambda: caption_draft_path(tmp_path / "proj" / "img").exists()
                    and draft_entries(tmp_path)[0]["typed"] == "posEnd", "the draft")
        hang_up(app)

    run(tmp_path, typed)
    draft = caption_draft_path(tmp_path / "proj" / "img")
    data = json.loads(draft.read_text(encoding="utf-8"))
    for entry in data["entries"]:  # as an older loratui wrote it
        del entry["at"]
        entry["tag"] = None
    draft.write_text(json.dumps(data), encoding="utf-8")

    async def reopened(app, pilot):
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the draft offered")
        await pilot.press("r")
        await until(pilot, lambda: editor(app)._add_input.value == "posEnd", "the add box restored")
        await pilot.press("enter")
        await until(pilot, lambda: "posEnd" in a01(tmp_path).read_text(), "the add entered")
        assert a01(tmp_path).read_text() == "alice, posEnd, 1girl, solo, long hair, smile, outdoors\n"

    run(tmp_path, reopened)


def test_free_text_typed_back_as_it_was_ends_the_conflict(tmp_path):
    path = tmp_path / "proj" / "img" / "5_bob" / "b02.txt"
    theirs = "a photo of a man with glasses sitting on a bench"

    async def scenario(app, pilot):
        await pilot.press("end", "e")
        await until(pilot, lambda: editor(app).free_text and editor(app)._text.has_focus, "b02's text box")
        await pilot.press("end", *"!!")
        path.write_text(theirs + "\n", encoding="utf-8")
        app._captions_changed([path])
        await until(pilot, lambda: app.screen.current.state == "conflict", "the conflict")
        await pilot.press("backspace", "backspace")  # the text as it was: no change of the user's left
        await until(pilot, lambda: app.screen.current.state != "conflict", "the conflict over")
        assert editor(app)._text.text == theirs
        assert path.read_text() == theirs + "\n"

    run(tmp_path, scenario)
