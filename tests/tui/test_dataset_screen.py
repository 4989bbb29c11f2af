"""The Dataset screen driven by keys only, over a real dataset on disk (Pilot, 80x24)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from fixtures.tui_dataset import make_dataset

from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp


def _app(tmp_path: Path) -> tuple[LoratuiApp, Path]:
    root = make_dataset(tmp_path / "proj")
    app = LoratuiApp(locate_dataset(root), settings_file=tmp_path / "cfg" / "tui.toml",
                     keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=False)
    return app, root / "img"


async def _loaded(app, pilot, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not (app.store.captions_loaded and app.store.scan is not None):
        assert time.monotonic() < deadline, "captions and scan never arrived"
        await pilot.pause(0.05)
    await pilot.pause()


def run(tmp_path: Path, scenario, size=(80, 24)):
    app, img = _app(tmp_path)

    async def main():
        async with app.run_test(size=size) as pilot:
            await _loaded(app, pilot)
            await scenario(app, pilot, img)

    asyncio.run(main())
    return app, img


def screen(app):
    return app.screen


def caption(img: Path, rel: str) -> str:
    """The caption file of image ``rel``."""
    return (img / rel).with_suffix(".txt").read_text(encoding="utf-8")


async def until(pilot, test, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, "condition never became true"
        await pilot.pause(0.05)


def test_rows_filter_and_range_selection(tmp_path):
    async def scenario(app, pilot, img):
        scr = screen(app)
        assert len(scr.shown) == 6
        await pilot.press("slash", *"tag:solo", "enter")
        assert [r.name for r in scr.shown] == ["a01.png", "a02.png", "b01.png"]
        await pilot.press("shift+down", "shift+down")
        assert scr.table.selected_count == 3
        status = str(scr.query_one("#status").render())
        assert "3 selected" in status and "3/6 shown" in status
        await pilot.press("ctrl+d")
        assert scr.table.selected_count == 0
        # free text and --where together; a bad term is shown, not raised
        await pilot.press("slash", "ctrl+u", *"glasses folder:5_*", "enter")
        assert [r.name for r in scr.shown] == ["b01.png", "b02.png"]
        await pilot.press("slash", "ctrl+u", *"tags>x", "enter")
        assert "tags>x" in str(scr.query_one("#filter-error").render()) or scr.shown

    run(tmp_path, scenario)


def test_esc_on_the_table_clears_the_filter_and_up_in_the_box_brings_it_back(tmp_path):
    async def scenario(app, pilot, img):
        scr = screen(app)
        await pilot.press("slash", *"tag:solo", "escape")  # esc in the box: back to the table, filter kept
        await pilot.pause()
        assert scr.focused is scr.table and len(scr.shown) == 3
        await pilot.press("escape")  # on the table: cleared
        await pilot.pause()
        assert len(scr.shown) == 6 and scr.query_one("#filter").value == ""
        await pilot.press("slash", "up", "enter")
        await pilot.pause()
        assert len(scr.shown) == 3 and scr.query_one("#filter").value == "tag:solo"

    run(tmp_path, scenario)


def test_add_rename_delete_with_autocomplete_write_through_core(tmp_path):
    async def scenario(app, pilot, img):
        await pilot.press("down")  # a02
        await pilot.press("e", "a", *"smi", "tab", "enter")
        await until(pilot, lambda: "smile" in caption(img, "10_alice/a02.png"))
        assert caption(img, "10_alice/a02.png").startswith("alice, smile, 1girl")
        assert screen(app).current.state == "saved"
        # rename the highlighted tag (smile) in place
        await pilot.press("escape")  # leave the add box
        await pilot.press("r", "ctrl+u", *"grin", "enter")
        await until(pilot, lambda: "grin" in caption(img, "10_alice/a02.png"))
        await pilot.press("d")
        await until(pilot, lambda: "grin" not in caption(img, "10_alice/a02.png"))
        assert caption(img, "10_alice/a02.png") == "alice, 1girl, solo, short hair, simple background, white background\n"
        # every edit is in core's undo journal
        await pilot.press("ctrl+z")
        await until(pilot, lambda: "grin" in caption(img, "10_alice/a02.png"))
        await pilot.press("ctrl+y")
        await until(pilot, lambda: "grin" not in caption(img, "10_alice/a02.png"))

    run(tmp_path, scenario)


def test_bulk_remove_with_preview_then_undo(tmp_path):
    async def scenario(app, pilot, img):
        before = caption(img, "10_alice/a02.png")
        await pilot.press("minus", *"*background")
        await pilot.pause()
        await pilot.press("enter")  # build the op -> plan preview
        await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen")
        await pilot.press("enter")  # apply
        await until(pilot, lambda: "background" not in caption(img, "10_alice/a02.png"))
        assert "background" not in caption(img, "5_bob/b01.png")
        await pilot.press("ctrl+z")
        await until(pilot, lambda: caption(img, "10_alice/a02.png") == before)
        assert "simple background" in caption(img, "5_bob/b01.png")

    run(tmp_path, scenario)


def test_bulk_cancel_in_preview_writes_nothing(tmp_path):
    async def scenario(app, pilot, img):
        before = caption(img, "10_alice/a02.png")
        await pilot.press("minus", *"*background", "enter")
        await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen")
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert caption(img, "10_alice/a02.png") == before

    run(tmp_path, scenario)


def test_change_on_disk_while_editing_is_a_conflict_with_a_choice(tmp_path):
    async def scenario(app, pilot, img):
        path = img / "10_alice" / "a01.txt"
        await pilot.press("e")
        path.write_text("alice, edited elsewhere\n", encoding="utf-8")  # another program
        await pilot.press("a", *"blue eyes", "enter")
        await until(pilot, lambda: screen(app).current.state == "conflict")
        assert path.read_text() == "alice, edited elsewhere\n"  # nothing overwritten
        await pilot.press("escape", "escape")
        await pilot.press("k")  # keep mine
        await until(pilot, lambda: "blue eyes" in path.read_text())
        assert path.read_text() == "alice, blue eyes, edited elsewhere\n"  # my add onto theirs

    run(tmp_path, scenario)


def test_conflict_take_theirs_keeps_the_file(tmp_path):
    async def scenario(app, pilot, img):
        path = img / "10_alice" / "a01.txt"
        await pilot.press("e")
        path.write_text("alice, edited elsewhere\n", encoding="utf-8")
        await pilot.press("a", *"blue eyes", "enter")
        await until(pilot, lambda: screen(app).current.state == "conflict")
        await pilot.press("escape", "escape", "T")
        await until(pilot, lambda: screen(app).current.caption.tags == ["alice", "edited elsewhere"])
        assert path.read_text() == "alice, edited elsewhere\n"

    run(tmp_path, scenario)


def test_outside_change_without_pending_edit_reloads(tmp_path):
    async def scenario(app, pilot, img):
        path = img / "10_alice" / "a01.txt"
        path.write_text("alice, new from tagger\n", encoding="utf-8")
        app._captions_changed([path])  # what the watchfiles worker delivers
        await until(pilot, lambda: screen(app).current.caption.tags == ["alice", "new from tagger"])

    run(tmp_path, scenario)


def test_next_uncaptioned_and_next_problem(tmp_path):
    async def scenario(app, pilot, img):
        await pilot.press("n")
        assert screen(app).current.name == "a04.png"
        await pilot.press("home", "p")
        assert screen(app).current.severity in ("error", "warning")

    run(tmp_path, scenario)


def test_tag_list_filters_the_table(tmp_path):
    async def scenario(app, pilot, img):
        await pilot.press("t")
        await pilot.pause()
        pane = app.screen.query_one("#tags-pane")
        pane.table.focus()
        await pilot.press("slash", *"1boy", "enter", "enter")
        await until(pilot, lambda: [r.name for r in screen(app).shown] == ["b01.png"])

    run(tmp_path, scenario)


def test_theme_switch_is_remembered(tmp_path):
    async def scenario(app, pilot, img):
        app.theme = "loratui-light"
        await pilot.pause(0.2)

    app, _ = run(tmp_path, scenario)
    assert 'theme = "loratui-light"' in (tmp_path / "cfg" / "tui.toml").read_text()


def test_help_lists_the_screen_keys(tmp_path):
    async def scenario(app, pilot, img):
        await pilot.press("question_mark")
        await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        described = {entry.description for group in app.screen.groups for entry in group.entries}
        assert {"Filter", "Undo", "Redo", "Remove", "Add", "Next problem", "Select", "Help"} <= described
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "DatasetScreen")

    run(tmp_path, scenario)


def test_screens_switch_by_keys(tmp_path):
    async def scenario(app, pilot, img):
        for key, mode in (("2", "caption"), ("3", "settings"), ("4", "train"), ("1", "dataset")):
            await pilot.press(key)
            await until(pilot, lambda m=mode: app.current_mode == m)

    run(tmp_path, scenario)


def test_palette_saves_a_recipe_and_replays_it(tmp_path):
    async def scenario(app, pilot, img):
        await pilot.press("minus", *"*background", "enter")
        await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen")
        await pilot.press("enter")
        await until(pilot, lambda: "background" not in caption(img, "5_bob/b01.png"))
        await pilot.press("ctrl+p", *"recipes: save")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "SaveRecipeScreen")
        await pilot.press(*"nobg", "enter")
        recipe = img.parent / "recipes" / "nobg.toml"
        await until(pilot, recipe.exists)
        assert 'op = "remove"' in recipe.read_text()
        await pilot.press("ctrl+z")
        await until(pilot, lambda: "simple background" in caption(img, "5_bob/b01.png"))
        # replay it with preview
        await pilot.press("ctrl+p", *"recipes: replay")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "PickRecipeScreen")
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen")
        await pilot.press("enter")
        await until(pilot, lambda: "background" not in caption(img, "5_bob/b01.png"))

    run(tmp_path, scenario)


def test_tagger_vocabulary_completes_and_gives_categories(tmp_path):
    async def scenario(app, pilot, img):
        await until(pilot, lambda: app.store.tagger_csv is not None)
        await pilot.press("e", "a", *"twintai")
        await pilot.pause(0.2)
        editor_input = app.focused
        assert [c.tag for c in editor_input.completions][:1] == ["twintails"]
        await pilot.press("escape", "escape", "escape")
        await pilot.press("X")  # remove a category: needs the tagger's categories
        await until(pilot, lambda: type(app.screen).__name__ == "BulkOpScreen")

    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "selected_tags.csv").write_text(
        "tag_id,name,category,count\n1,general,9,100\n2,twintails,0,50\n3,alice_(wonderland),4,10\n")
    run(tmp_path, scenario)


def test_page_keys_in_the_editor_change_image_without_leaving_it(tmp_path):
    async def scenario(app, pilot, img):
        await pilot.press("e", "pagedown", "pagedown")
        assert screen(app).current.name == "a03.png"
        await pilot.press("pageup")
        assert screen(app).current.name == "a02.png"
        assert "tag-editor" in (app.focused.id or "")  # still in the editor
        await pilot.press("n")  # next without a caption, from the editor
        assert screen(app).current.name == "a04.png"

    run(tmp_path, scenario)


def test_every_screen_key_has_a_palette_command(tmp_path):
    async def scenario(app, pilot, img):
        from loratui.tui.palette import commands_for

        titles = " | ".join(c.title for c in commands_for(app.screen, app))
        for word in ("filter", "rescan", "next problem", "without a caption", "tag list", "summary", "select all",
                     "deselect", "sort", "undo", "redo", "keep my edit", "take the version", "add a tag",
                     "remove tags", "replace", "duplicates", "move tags to the front", "underscores", "category",
                     "balance", "recipes: save", "recipes: replay", "theme:", "preview:", "help", "quit"):
            assert word in titles, word

    run(tmp_path, scenario)


def test_free_text_caption_edits_in_a_text_area(tmp_path):
    async def scenario(app, pilot, img):
        await pilot.press("end")  # b02: "a photo of a man with glasses standing in a park"
        assert screen(app).current.name == "b02.png"
        await pilot.press("e")
        assert type(app.focused).__name__ == "TextArea"
        await pilot.press("end", *" at noon", "ctrl+s")
        await until(pilot, lambda: "at noon" in caption(img, "5_bob/b02.png"))
        assert caption(img, "5_bob/b02.png").startswith("a photo of a man")  # "end" is the wrapped line's end
        await pilot.press("escape", "ctrl+z")  # in the text box ctrl+z is the box's own undo
        await until(pilot, lambda: caption(img, "5_bob/b02.png") == "a photo of a man with glasses standing in a park\n")

    run(tmp_path, scenario)


def test_copy_tags_of_one_image_and_paste_onto_the_selection(tmp_path):
    async def scenario(app, pilot, img):
        await pilot.press("e", "c", "escape")          # copy a01's tags, back to the table
        await pilot.press("end", "space", "up", "space")  # select b02 and b01
        assert screen(app).table.selected_count == 2
        await pilot.press("e", "v")
        await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen")
        await pilot.press("enter")
        await until(pilot, lambda: "smile" in caption(img, "5_bob/b01.png"))
        assert caption(img, "5_bob/b01.png").startswith("bob, 1boy, solo, glasses, simple background, alice")
        assert caption(img, "10_alice/a02.png").count("smile") == 0  # not selected: untouched

    run(tmp_path, scenario)


def test_undo_over_a_caption_edited_since_offers_the_choices_in_the_app(tmp_path):
    """ctrl+z after a bulk edit, with one caption changed outside the app since: nothing is written,
    and the dialog's s restores the others and leaves the edited one (`--skip-changed` in a shell)."""
    from loratui.tui.screens.config_dialogs import ChoiceDialog

    async def scenario(app, pilot, img):
        before_b = caption(img, "5_bob/b01.png")
        await pilot.press("minus", *"*background")
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen")
        await pilot.press("enter")
        await until(pilot, lambda: "background" not in caption(img, "10_alice/a02.png"))
        (img / "10_alice/a02.txt").write_text("mine, edited by hand\n", encoding="utf-8")
        await pilot.press("ctrl+z")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), timeout=10)
        assert "a02.txt: edited after the change" in app.screen.body
        assert caption(img, "5_bob/b01.png") != before_b  # nothing undone yet
        await pilot.press("s")
        await until(pilot, lambda: caption(img, "5_bob/b01.png") == before_b, timeout=10)
        assert caption(img, "10_alice/a02.png") == "mine, edited by hand\n"

    run(tmp_path, scenario)


def test_tag_list_and_summary_take_the_keys_when_opened(tmp_path):
    async def scenario(app, pilot, img):
        await pilot.press("t")
        await until(pilot, lambda: app.focused is not None and app.focused.id == "freq-table")
        await pilot.press("r")  # rename the highlighted tag: Old is filled in, the new name goes in New
        await until(pilot, lambda: type(app.screen).__name__ == "BulkOpScreen")
        await until(pilot, lambda: app.focused is not None and app.focused.id == "bulk-new")
        old = app.screen.query_one("#bulk-old").value
        assert old == app.screen.query_one("#bulk-new").value != ""
        await pilot.pause(0.2)
        await pilot.press(*"renamed")  # typed over the old name, not after it
        assert app.screen.query_one("#bulk-new").value == "renamed" and app.screen.query_one("#bulk-old").value == old
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "DatasetScreen")
        await pilot.press("i")
        await until(pilot, lambda: app.focused is not None and app.focused.id == "summary-pane")
        await pilot.press("i")  # closed again: the image table has the keys back
        await until(pilot, lambda: app.focused is not None and app.focused.id == "images")

    run(tmp_path, scenario)


def test_a_burst_after_r_on_the_tag_list_lands_in_the_rename_form(tmp_path):
    """`r zz` in one burst: the form opened a moment later, zz reached the image table (where p, n
    and space moved and selected) and the prefill then wrote the old name back."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from test_keys_in_order import _burst

    async def scenario(app, pilot, img):
        await pilot.press("t")
        await until(pilot, lambda: app.focused is not None and app.focused.id == "freq-table")
        _burst(app, ["r", *"zz p"])
        await until(pilot, lambda: type(app.screen).__name__ == "BulkOpScreen")
        await until(pilot, lambda: app.screen.query_one("#bulk-new").value == "zz p")
        old = app.screen.query_one("#bulk-old").value
        assert old and old != "zz p"
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "DatasetScreen")
        assert screen(app).table.selected_count == 0

    run(tmp_path, scenario)


def test_palette_enter_in_a_burst_runs_the_match_for_the_whole_text(tmp_path):
    """ctrl+p, the text and Enter in one burst (SSH): Enter waited for nothing and ran the top row
    for a partial text ("preview: auto" for "preview: off", Textual's Theme picker for a theme)."""
    from textual import events

    def burst(app, keys):
        for key in keys:
            event = events.Key(key, key if len(key) == 1 else None)
            event.set_sender(app)
            app._driver.send_message(event)

    async def scenario(app, pilot, img):
        ran = []
        app.set_preview_mode = ran.append
        burst(app, ["ctrl+p", *"preview: off", "enter"])
        await until(pilot, lambda: ran != [])
        assert ran == ["off"]
        await until(pilot, lambda: type(app.screen).__name__ == "DatasetScreen")
        burst(app, ["ctrl+p", *"theme: loratui-light", "enter"])
        await until(pilot, lambda: app.theme == "loratui-light")
        assert type(app.screen).__name__ == "DatasetScreen"

    run(tmp_path, scenario)


# ---- hunt8 findings ------------------------------------------------------------------------------

def test_ctrl_z_while_typing_undoes_the_typing_then_names_and_shows_what_the_journal_undid(tmp_path):
    """Finding 1: ctrl+z in the add box never undoes another image's change unseen."""
    async def scenario(app, pilot, img):
        scr = screen(app)
        await pilot.press("down", "down", "e", "a", *"foo", "enter")  # a03
        await until(pilot, lambda: "foo" in caption(img, "10_alice/a03.png"))
        await pilot.press("escape", "escape", "home", "e", "a", *"foo2")
        await pilot.press("ctrl+z")
        await pilot.pause(0.3)
        assert "foo" in caption(img, "10_alice/a03.png")  # the other image is untouched
        box = scr.query_one("#tag-editor-add")
        assert box.value == "" and box.has_focus
        await pilot.press("ctrl+z")  # the box is empty: now the journal undo, named and shown
        await until(pilot, lambda: "foo" not in caption(img, "10_alice/a03.png"))
        await until(pilot, lambda: scr.current.name == "a03.png")
        assert any("undid 'add foo' on 10_alice/a03.png" in str(n.message) for n in app._notifications)

    run(tmp_path, scenario)


def test_problem_marks_and_count_follow_every_write(tmp_path):
    """Finding 2: no F5 needed after an inline edit, a bulk change or an undo."""
    async def scenario(app, pilot, img):
        scr = screen(app)
        a04 = next(r for r in app.store.rows if r.name == "a04.png")
        assert a04.problem_kind == "missing_caption"
        before = sum(1 for r in app.store.rows if r.severity in ("error", "warning"))
        scr.table.move_cursor_to_key(id(a04))
        await pilot.press("e", "a", *"foo", "enter")
        await until(pilot, lambda: a04.severity is None)
        assert sum(1 for r in app.store.rows if r.severity in ("error", "warning")) == before - 1
        assert not any(p.kind == "missing_caption" for p in app.store.scan.problems)
        await pilot.press("escape", "escape", "ctrl+z")
        await until(pilot, lambda: a04.problem_kind == "missing_caption")
        await pilot.press("home", "p")
        await until(pilot, lambda: scr.current.severity in ("error", "warning"))
        # an empty caption written outside: marked as the scan marks it
        (img / "10_alice" / "a01.txt").write_text("", encoding="utf-8")
        app._captions_changed([img / "10_alice" / "a01.txt"])
        a01 = next(r for r in app.store.rows if r.name == "a01.png")
        await until(pilot, lambda: a01.problem_kind == "empty_caption" and a01.severity == "error")
        scr.table.move_cursor_to_key(id(a01))
        await pilot.pause()
        assert " · ✗ empty (0 bytes)" in str(scr.query_one("#status").render())  # after the counts

    run(tmp_path, scenario)


def test_a_saved_recipe_leaves_out_undone_ops_and_keeps_each_scope(tmp_path):
    """Finding 3: only the operations in effect, each with the images it was applied to."""
    async def scenario(app, pilot, img):
        scr = screen(app)
        await pilot.press("slash", *"folder:5_*", "enter")  # a filter: saved as its --where
        await pilot.press("plus", *"filtered")
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen")
        await pilot.press("enter")
        await until(pilot, lambda: "filtered" in caption(img, "5_bob/b01.png"))
        await pilot.press("escape")  # clears the filter
        await until(pilot, lambda: len(scr.shown) == 6)
        await pilot.press("home", "space")  # one image picked by hand: saved by its file name
        await pilot.press("plus", *"picked", "enter")
        await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen")
        await pilot.press("enter")
        await until(pilot, lambda: "picked" in caption(img, "10_alice/a01.png"))
        await pilot.press("ctrl+d")
        await pilot.press("plus", *"undone", "enter")
        await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen")
        await pilot.press("enter")
        await until(pilot, lambda: "undone" in caption(img, "10_alice/a01.png"))
        await pilot.press("ctrl+z")
        await until(pilot, lambda: "undone" not in caption(img, "10_alice/a01.png"))
        ops, left_out = scr.recipe_ops()
        assert left_out == []
        assert [(op.tags, op.where) for op in ops] == [
            (["filtered"], "folder:5_*"), (["picked"], "folder:10_alice and file:a01.txt")]

    run(tmp_path, scenario)


def test_e_after_the_tag_list_or_the_summary_focuses_the_editor(tmp_path):
    """Finding 4."""
    async def scenario(app, pilot, img):
        for pane in ("t", "i"):
            await pilot.press(pane, "escape", "e")
            await pilot.pause()
            assert app.focused is not None and app.focused.id == "tag-editor-list", pane
            await pilot.press("escape")

    run(tmp_path, scenario)


def test_balance_repeats_is_undone_by_ctrl_z(tmp_path):
    """Finding 19: ctrl+z renames the folders back while no caption change came after."""
    async def scenario(app, pilot, img):
        await pilot.press("i", "b")
        await until(pilot, lambda: type(app.screen).__name__ == "BalanceDialog")
        await pilot.press("enter")
        await until(pilot, lambda: sorted(p.name for p in img.iterdir() if p.is_dir() and p.name[0].isdigit())
                    != ["10_alice", "5_bob"])
        await until(pilot, lambda: app.store.scan is not None and app.store.captions_loaded)
        await pilot.press("escape", "ctrl+z")
        await until(pilot, lambda: sorted(p.name for p in img.iterdir() if p.is_dir() and p.name[0].isdigit())
                    == ["10_alice", "5_bob"])
        assert any("undid balance repeats" in str(n.message) for n in app._notifications)

    run(tmp_path, scenario)


def test_a_recipe_scope_picks_exactly_the_chosen_files_or_is_left_out(tmp_path):
    """A selection's where matched `ab.txt` for `a'b'.png`, and a loose `img1.png` matched
    `10_a/img1.png` too: a scope is kept only when it picks exactly the chosen images again."""
    from fixtures.tui_dataset import make_dataset

    from loratui.core.dataset import locate_dataset

    root = make_dataset(tmp_path / "odd", {"10_a/a'b'.png": "x", "10_a/ab.png": "x", "10_a/say \"hi\".png": "x",
                                           "10_a/img1.png": "x", "10_a/st*r.png": "x", "10_a/stxr.png": "x",
                                           "img1.png": "x"})
    app = LoratuiApp(locate_dataset(root), settings_file=tmp_path / "cfg" / "tui.toml",
                     keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await _loaded(app, pilot)
            scr = screen(app)
            from loratui.core.captions import parse_where

            rows = {r.name: r for r in app.store.rows}
            for name in ("a'b'.png", 'say "hi".png', "st*r.png", "img1.png"):
                where = scr.scope_where([rows[name]], "1 selected")
                assert where is not None, name
                matches = parse_where(where)
                assert [r.name for r in app.store.rows if matches(r.caption)] == [name], (name, where)
            loose = next((r for r in app.store.rows if r.name == "img1.png" and not r.folder), None)
            if loose is not None:  # a loose image: no folder term can tell it from 10_a/img1.png
                where = scr.scope_where([loose], "1 selected")
                assert where is None or [r for r in app.store.rows if parse_where(where)(r.caption)] == [loose]

    asyncio.run(main())
