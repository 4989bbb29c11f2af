"""s18 (a keyboard user cleaning 300 captions): the Dataset screen's selection survives the filter, and g goes
to an image by name without filtering (Pilot, 80x24).

The rule: the selection is the user's. Rows the filter hides stay selected ("3 selected (1 hidden by the
filter)") and are selected again once shown; what acts on the selection acts on the selected rows shown
(the form and the preview say the others are left out), and with none of them shown, on the filtered rows.
"""

from __future__ import annotations

from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset, run_dataset_app
from textual.keys import _character_to_key

from loratui.tui.screens.dataset_jump import JumpBar

CAPTIONS = {
    "10_alice/a01.png": "alice, solo, smile",
    "10_alice/a02.png": "alice, hat",
    "10_alice/a03.png": "alice, solo",
    "10_alice/a04.png": "alice, long hair",
    "5_bob/b01.png": "bob, solo",
    "5_bob/b02.png": "bob, glasses",
}


def _status(scr) -> str:
    return str(scr.query_one("#status").render())


def _names(rows) -> list[str]:
    return [row.name for row in rows]


def _cursor(scr) -> str:
    return scr.table.cursor_row.name


def _info(scr) -> str:
    return str(scr.query_one("#jump-info").render())


def _caption(root, rel: str) -> str:
    return (root / "img" / rel).read_text(encoding="utf-8").strip()


async def _type(pilot, text: str) -> None:
    for ch in text:  # one key at a time, as a user types (the live filter refilters at each)
        await pilot.press(_character_to_key(ch))
        await pilot.pause()


async def _select_first_three(pilot, scr) -> None:
    await pilot.press("space", "down", "space", "down", "space", "home")
    await pilot.pause()
    assert _names(scr.table.selected_rows) == ["a01.png", "a02.png", "a03.png"]


def test_a_filter_typed_key_by_key_then_cleared_keeps_the_selection(tmp_path):
    root = make_dataset(tmp_path / "proj", CAPTIONS)

    async def scenario(app, pilot):
        scr = app.screen
        await _select_first_three(pilot, scr)
        await pilot.press("slash")
        await _type(pilot, "bo")  # "b": a01-a04 hidden for a moment; "bo": only bob's
        assert _names(scr.table.rows) == ["b01.png", "b02.png"]
        assert scr.table.selected_count == 3 and scr.table.selected_rows == []
        assert "3 selected (3 hidden by the filter)" in _status(scr)
        await pilot.press("ctrl+u", "escape")
        await pilot.pause()
        assert _names(scr.table.selected_rows) == ["a01.png", "a02.png", "a03.png"]  # shown selected again
        assert _status(scr).startswith("3 selected ·") and "hidden" not in _status(scr)
        # the hunter's second case: tag:alice typed key by key ("t", "ta", "tag" hide rows for a moment)
        await pilot.press("slash")
        await _type(pilot, "tag:alice")
        await pilot.press("enter")
        await pilot.pause()
        assert _status(scr).startswith("3 selected · 4/6 shown")
        assert len(scr.table.selected_rows) == 3

    run_dataset_app(tmp_path, root, scenario)


def test_a_bulk_change_acts_on_the_selected_rows_shown_and_says_which_are_left_out(tmp_path):
    root = make_dataset(tmp_path / "proj", CAPTIONS)

    async def scenario(app, pilot):
        scr = app.screen
        await _select_first_three(pilot, scr)
        await pilot.press("slash")
        await _type(pilot, "tag:solo")
        await pilot.press("enter")
        await pilot.pause()
        assert _names(scr.table.rows) == ["a01.png", "a03.png", "b01.png"]
        assert "3 selected (1 hidden by the filter)" in _status(scr)
        assert _names(scr.table.selected_rows) == ["a01.png", "a03.png"]
        await pilot.press("plus")
        await until(pilot, lambda: type(app.screen).__name__ == "BulkOpScreen", "the add form")
        scope = str(app.screen.query_one("#bulk-scope").render())
        assert "selected: 2 image(s) (not the 1 the filter hides)" in scope
        await _type(pilot, "redtag")
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen", "the preview")
        assert "selected: 2 image(s) (not the 1 the filter hides)" in app.screen.plan_title
        assert {edit.path.name for edit in app.screen.plan.edits} == {"a01.txt", "a03.txt"}
        await pilot.press("enter")
        await until(pilot, lambda: "redtag" in _caption(root, "10_alice/a03.txt") and not scr.writing, "written")
        assert "redtag" in _caption(root, "10_alice/a01.txt")
        assert "redtag" not in _caption(root, "10_alice/a02.txt")  # selected, hidden: left alone
        assert "redtag" not in _caption(root, "5_bob/b01.txt")  # shown, not selected
        await pilot.press("escape")  # clear the filter: a02 is still selected
        await pilot.pause()
        assert _names(scr.table.selected_rows) == ["a01.png", "a02.png", "a03.png"]

    run_dataset_app(tmp_path, root, scenario)


def test_with_every_selected_row_hidden_an_action_takes_the_filtered_rows_and_says_so(tmp_path):
    root = make_dataset(tmp_path / "proj", CAPTIONS)

    async def scenario(app, pilot):
        scr = app.screen
        await pilot.press("space")  # a01
        await pilot.press("slash")
        await _type(pilot, "folder:5_bob")
        await pilot.press("enter")
        await pilot.pause()
        assert "1 selected (1 hidden by the filter)" in _status(scr)
        rows, label = scr.scope_rows()
        assert _names(rows) == ["b01.png", "b02.png"]
        assert label == "filtered: 2 of 6 (the filter hides the 1 selected)"
        await pilot.press("minus")
        await until(pilot, lambda: type(app.screen).__name__ == "BulkOpScreen", "the remove form")
        assert "the filter hides the 1 selected" in str(app.screen.query_one("#bulk-scope").render())
        await pilot.press("escape")
        await pilot.pause()
        # ctrl+a adds the rows shown; the hidden one stays selected; ctrl+d clears them all
        await pilot.press("ctrl+a")
        await pilot.pause()
        assert scr.table.selected_count == 3 and "3 selected (1 hidden by the filter)" in _status(scr)
        await pilot.press("ctrl+d")
        await pilot.pause()
        assert scr.table.selected_count == 0 and _status(scr).startswith("0 selected")

    run_dataset_app(tmp_path, root, scenario)


def test_a_rescan_drops_the_selection_of_rows_listed_again(tmp_path):
    """Rows are keyed by object: a rescan lists new ones, so a hidden selection must not outlive them."""
    root = make_dataset(tmp_path / "proj", CAPTIONS)

    async def scenario(app, pilot):
        scr = app.screen
        await _select_first_three(pilot, scr)
        await pilot.press("slash")
        await _type(pilot, "bob")
        await pilot.press("enter", "f5")
        await until(pilot, lambda: app.store.captions_loaded and app.store.scan is not None and
                    scr.table.selected_count == 0, "rescanned")
        await pilot.press("escape")
        await pilot.pause()
        assert scr.table.selected_rows == [] and _status(scr).startswith("0 selected")

    run_dataset_app(tmp_path, root, scenario)


def test_g_goes_to_an_image_by_name_and_enter_stays_there(tmp_path):
    root = make_dataset(tmp_path / "proj", CAPTIONS)

    async def scenario(app, pilot):
        scr = app.screen
        await pilot.press("space", "down", "down")  # a01 selected, cursor on a03
        await pilot.pause()
        bar = scr.query_one(JumpBar)
        assert not bar.display
        await pilot.press("g")
        await pilot.pause()
        assert bar.display and scr.focused.id == "jump"
        await _type(pilot, "b02")
        assert _cursor(scr) == "b02.png" and _info(scr).startswith("1 of 1")
        assert scr.current.name == "b02.png"  # the preview and the editor follow the cursor
        await pilot.press("enter")
        await pilot.pause()
        assert not bar.display and scr.focused is scr.table and _cursor(scr) == "b02.png"
        assert _names(scr.table.rows) == [f"a0{i}.png" for i in range(1, 5)] + ["b01.png", "b02.png"]  # no filter
        assert _names(scr.table.selected_rows) == ["a01.png"] and _status(scr).startswith("1 selected ·")

    run_dataset_app(tmp_path, root, scenario)


def test_g_steps_through_matches_and_esc_goes_back(tmp_path):
    root = make_dataset(tmp_path / "proj", CAPTIONS)

    async def scenario(app, pilot):
        scr = app.screen
        await pilot.press("down", "down")  # a03
        await pilot.press("g")
        await _type(pilot, "BOB/")  # any case; the concept folder is part of the name
        assert _cursor(scr) == "b01.png" and _info(scr).startswith("1 of 2")
        await pilot.press("down")
        await pilot.pause()
        assert _cursor(scr) == "b02.png" and _info(scr).startswith("2 of 2")
        await pilot.press("down")  # round to the first
        await pilot.pause()
        assert _cursor(scr) == "b01.png"
        await pilot.press("up")
        await pilot.pause()
        assert _cursor(scr) == "b02.png"
        await _type(pilot, "zz")  # no match: back where it started, said in the box
        assert _cursor(scr) == "a03.png" and _info(scr) == "no name holds it"
        await pilot.press("backspace", "backspace")
        await pilot.pause()
        assert _cursor(scr) == "b01.png"
        await pilot.press("escape")
        await pilot.pause()
        assert _cursor(scr) == "a03.png" and scr.focused is scr.table and not scr.query_one(JumpBar).display
        await pilot.press("g")  # the box opens empty again
        await pilot.pause()
        assert scr.query_one("#jump").value == ""
        await pilot.press("escape")

    run_dataset_app(tmp_path, root, scenario)


def test_g_says_when_the_filter_hides_the_names(tmp_path):
    root = make_dataset(tmp_path / "proj", CAPTIONS)

    async def scenario(app, pilot):
        scr = app.screen
        await pilot.press("slash")
        await _type(pilot, "folder:10_alice")
        await pilot.press("enter", "down")
        await pilot.press("g")
        await _type(pilot, "b0")
        assert _cursor(scr) == "a02.png" and _info(scr) == "0 shown; the filter hides 2"
        await pilot.press("enter")
        await pilot.pause()
        toasts = [str(n.message) for n in app._notifications]
        assert any("no image shown has 'b0' in its name; the filter hides 2 that do" in t for t in toasts), toasts
        assert _cursor(scr) == "a02.png" and scr.filter_text == "folder:10_alice"

    run_dataset_app(tmp_path, root, scenario)


def test_g_is_a_letter_in_a_text_box_and_keymap_toml_can_move_it(tmp_path):
    root = make_dataset(tmp_path / "proj", CAPTIONS)

    async def in_the_filter(app, pilot):
        scr = app.screen
        await pilot.press("slash")
        await _type(pilot, "tag:")
        await pilot.press("g")
        await pilot.pause()
        assert scr.query_one("#filter").value == "tag:g" and not scr.query_one(JumpBar).display
        await pilot.press("escape")
        await pilot.pause()
        # listed by ? with its id, as every key of the screen
        from loratui.tui.screens.help import collect_help

        entries = [entry for group in collect_help(scr) for entry in group.entries]
        jump = next(entry for entry in entries if entry.binding_id == "dataset.jump")
        assert jump.keys == "g" and "without filtering" in jump.tooltip

    run_dataset_app(tmp_path, root, in_the_filter)

    async def moved(app, pilot):
        scr = app.screen
        await pilot.press("g")
        await pilot.pause()
        assert not scr.query_one(JumpBar).display
        await pilot.press("colon")
        await pilot.pause()
        assert scr.query_one(JumpBar).display and scr.focused.id == "jump"
        await _type(pilot, "a04")
        await pilot.press("enter")
        await pilot.pause()
        assert _cursor(scr) == "a04.png"

    run_dataset_app(tmp_path / "k", make_dataset(tmp_path / "k" / "proj", CAPTIONS), moved,
                    keymap='"dataset.jump" = "colon"\n')


def test_g_from_the_tag_editor_gives_the_focus_back_to_it(tmp_path):
    root = make_dataset(tmp_path / "proj", CAPTIONS)

    async def scenario(app, pilot):
        scr = app.screen
        await pilot.press("e")
        await pilot.pause()
        editor = scr.focused
        assert editor is not None and editor is not scr.table
        await pilot.press("g")
        await _type(pilot, "a03")
        await pilot.press("enter")
        await pilot.pause()
        assert _cursor(scr) == "a03.png" and scr.focused is editor and scr.current.name == "a03.png"

    run_dataset_app(tmp_path, root, scenario)
