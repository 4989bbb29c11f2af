"""The Dataset screen's tag list and bulk forms for a taggui user (h5 hunt, s18; Pilot at 80x24):

- (b)2: the tag list counts the scope of every bulk key (the selection, else the filter, else all), its
  first line says which, and its d / r act on that scope, their dialogs saying so;
- (b)3: `a` adds the tag to the image under the table's cursor (one write, one undo), `A` to the images
  the list counts (a preview, one undo);
- A5: `r` opens Replace with New == Old: the form says to type the new tag and Enter refuses in one line;
- (b)7: Replace takes several old tags ("long hair, long_hair, short hair" -> "hair"): one plan, one undo;
- (b)8: Down / Up in a bulk form's one-line box move to the next / previous field.
pytest-asyncio is not installed: each test runs its session in asyncio.run (run_dataset_app)."""

from __future__ import annotations

from pathlib import Path

from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset, run_dataset_app


def captions(img: Path) -> dict[str, str]:
    return {p.relative_to(img).as_posix(): p.read_text(encoding="utf-8") for p in sorted(img.rglob("*.txt"))}


def summary(pane) -> str:
    return str(pane.query_one("#freq-summary").render())


def pane_of(app):
    return app.screen.query_one("#tags-pane")


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def filter_to(pilot, text: str) -> None:
    await pilot.press("slash", "ctrl+u", *text, "enter")
    await pilot.pause()


async def tag_list(app, pilot):
    """The tag list with the keys (t opens it; when it shows already, its table takes the focus)."""
    if app.screen.query_one("#side").current != "tags-pane":
        await pilot.press("t")
    else:
        app.screen.query_one("#freq-table").focus()
    await until(pilot, lambda: app.focused is not None and app.focused.id == "freq-table", "the tag list")
    return pane_of(app)


async def on_screen(app, pilot, name: str) -> None:
    await until(pilot, lambda: type(app.screen).__name__ == name, name)


def test_the_tag_list_counts_and_changes_the_filtered_or_selected_images(tmp_path):
    img = make_dataset(tmp_path / "proj") / "img"
    before = captions(img)

    async def scenario(app, pilot):
        pane = await tag_list(app, pilot)
        assert summary(pane).startswith("16 tags of all 6 images")
        assert dict((row.tag, row.count) for row in pane.table.rows)["solo"] == 3

        await pilot.press("escape")
        await filter_to(pilot, "folder:5_bob")  # the hunter's /folder:5_style: alice is in none of them
        pane = await tag_list(app, pilot)
        assert summary(pane).startswith("6 tags of 2 filtered images")  # b02: one sentence
        assert "alice" not in pane.shown_tags and "bob" in pane.shown_tags
        pane.table.move_cursor_to_key("solo")
        await pilot.press("d")
        await on_screen(app, pilot, "PlanPreviewScreen")
        title = app.screen.plan_title
        assert "remove 'solo'" in title and "everywhere" not in title and "filtered: 2 of 6" in title
        await pilot.press("enter")
        await on_screen(app, pilot, "DatasetScreen")
        await until(pilot, lambda: not app.screen.writing, "the write's end")
        after = captions(img)
        assert after["5_bob/b01.txt"] == "bob, 1boy, glasses, simple background\n"
        assert {k: v for k, v in after.items() if k != "5_bob/b01.txt"} == \
            {k: v for k, v in before.items() if k != "5_bob/b01.txt"}  # alice's solo stays

        # r: the form applies to the same images and says so
        pane = await tag_list(app, pilot)
        pane.table.move_cursor_to_key("glasses")
        await pilot.press("r")
        await on_screen(app, pilot, "BulkOpScreen")
        assert str(app.screen.query_one("#bulk-scope").render()) == "Applies to filtered: 2 of 6"
        await pilot.press("escape")
        await on_screen(app, pilot, "DatasetScreen")

        # a selection: the selected rows shown (the filter cleared first)
        await pilot.press("escape")
        app.screen.query_one("#images").focus()
        await pilot.press("escape")  # esc on the table clears the filter
        await until(pilot, lambda: len(app.screen.shown) == 6, "every image shown")
        app.screen.table.move_cursor_to_key(id(next(r for r in app.screen.shown if r.name == "a01.png")))
        await pilot.press("space", "down", "space")
        await until(pilot, lambda: "of 2 selected images" in summary(pane_of(app)), "the selection's counts")
        counts = {row.tag: row.count for row in pane_of(app).table.rows}
        assert counts["alice"] == 2 and counts["long hair"] == 1 and "bob" not in counts

    run_dataset_app(tmp_path, img.parent, scenario)


def test_a_adds_to_the_image_under_the_cursor_and_capital_a_to_the_images_counted(tmp_path):
    img = make_dataset(tmp_path / "proj") / "img"
    before = captions(img)

    async def scenario(app, pilot):
        table = app.screen.table
        table.move_cursor_to_key(id(next(r for r in app.screen.shown if r.name == "a02.png")))
        await pilot.pause()
        pane = await tag_list(app, pilot)
        pane.table.move_cursor_to_key("smile")
        await pilot.press("a")
        await until(pilot, lambda: captions(img)["10_alice/a02.txt"].endswith(", smile\n"), "smile added to a02")
        assert "added smile to a02.png: ctrl+z undoes it" in notes(app)
        assert pane_of(app).table.cursor_row.tag == "smile" and pane_of(app).table.cursor_row.count == 2
        await pilot.press("a")  # again: it has it already
        await pilot.pause()
        assert notes(app)[-1] == "a02.png has it already: smile"
        await pilot.press("ctrl+z")  # one undo takes it back
        await until(pilot, lambda: captions(img) == before, "undone")

        # a sentence caption is refused, not turned into tags
        table.move_cursor_to_key(id(next(r for r in app.screen.shown if r.name == "b02.png")))
        await pilot.pause()
        await tag_list(app, pilot)
        await pilot.press("a")
        await pilot.pause()
        assert "b02.png: its caption is a sentence, not tags" in notes(app)[-1]
        assert captions(img) == before

        # A: onto the images the list counts (two selected), through the add preview
        await pilot.press("escape")
        table.focus()
        table.move_cursor_to_key(id(next(r for r in app.screen.shown if r.name == "a01.png")))
        await pilot.press("space", "down", "space")
        pane = await tag_list(app, pilot)
        await until(pilot, lambda: "of 2 selected images" in summary(pane), "the selection's counts")
        pane.table.move_cursor_to_key("smile")
        await pilot.press("A")
        await on_screen(app, pilot, "PlanPreviewScreen")
        assert "add 'smile' · selected: 2 image(s)" in app.screen.plan_title
        await pilot.press("enter")
        await on_screen(app, pilot, "DatasetScreen")
        await until(pilot, lambda: captions(img)["10_alice/a02.txt"].endswith(", smile\n"), "written")
        after = captions(img)
        assert after["10_alice/a01.txt"] == before["10_alice/a01.txt"]  # had it already
        assert {k: v for k, v in after.items() if k != "10_alice/a02.txt"} == \
            {k: v for k, v in before.items() if k != "10_alice/a02.txt"}

    run_dataset_app(tmp_path, img.parent, scenario)


def test_rename_from_the_tag_list_waits_for_a_new_name(tmp_path):
    img = make_dataset(tmp_path / "proj") / "img"
    before = captions(img)

    async def scenario(app, pilot):
        pane = await tag_list(app, pilot)
        pane.table.move_cursor_to_key("long hair")
        await pilot.press("r")
        await on_screen(app, pilot, "BulkOpScreen")
        form = app.screen
        message = str(form.query_one("#bulk-message").render())
        assert message == "Type the new tag: New is still the same as Old (long hair)."
        assert "ready" not in message
        await pilot.press("enter")  # refused, in one line; the form stays
        await pilot.pause()
        assert app.screen is form
        assert notes(app)[-1] == "nothing to rename: New is the same as Old (long hair): type the new tag"
        await pilot.press(*"long_hair")  # New's text is selected: typing replaces it
        await pilot.pause()
        assert str(form.query_one("#bulk-message").render()) == "ready: replace long hair -> long_hair"
        await pilot.press("escape")
        await on_screen(app, pilot, "DatasetScreen")
        assert captions(img) == before

    run_dataset_app(tmp_path, img.parent, scenario)


def test_replace_takes_several_old_tags_in_one_undo(tmp_path):
    img = make_dataset(tmp_path / "proj") / "img"
    before = captions(img)

    async def scenario(app, pilot):
        app.screen.table.focus()
        await pilot.press("R")
        await on_screen(app, pilot, "BulkOpScreen")
        form = app.screen
        await pilot.press("ctrl+l")  # the form as it first opens
        await pilot.pause()
        assert app.focused.id == "bulk-old"
        await pilot.press(*"long hair, long_hair, short hair, hair")
        await pilot.press("down")  # (b)8: to New, as tab
        await pilot.pause()
        assert app.focused.id == "bulk-new"
        await pilot.press(*"hair")
        await pilot.pause()
        # "hair" -> "hair" is left out: it is the new name already
        assert str(form.query_one("#bulk-message").render()) == \
            "ready: replace long hair, long_hair, short hair -> hair (one undo)"
        await pilot.press("enter")
        await on_screen(app, pilot, "PlanPreviewScreen")
        assert "3 of 6 caption(s) change" in " ".join(str(w.render()) for w in app.screen.query("Static"))
        await pilot.press("escape")  # the preview's escape: back to the form that built its three ops
        await on_screen(app, pilot, "BulkOpScreen")
        assert app.screen.query_one("#bulk-old").value == "long hair, long_hair, short hair, hair"
        await pilot.press("enter")
        await on_screen(app, pilot, "PlanPreviewScreen")
        await pilot.press("enter")
        await on_screen(app, pilot, "DatasetScreen")
        await until(pilot, lambda: "hair, smile" in captions(img)["10_alice/a01.txt"], "written")
        after = captions(img)
        assert after["10_alice/a01.txt"] == "alice, 1girl, solo, hair, smile, outdoors\n"
        assert after["10_alice/a02.txt"] == "alice, 1girl, solo, hair, simple background, white background\n"
        assert after["10_alice/a03.txt"] == "alice, 1girl, hair, indoors, general\n"
        await pilot.press("ctrl+z")  # one undo: all three back
        await until(pilot, lambda: captions(img) == before, "undone in one step")

    run_dataset_app(tmp_path, img.parent, scenario)


def test_down_and_up_move_between_the_fields_of_a_bulk_form(tmp_path):
    img = make_dataset(tmp_path / "proj") / "img"

    async def scenario(app, pilot):
        app.screen.table.focus()
        await pilot.press("plus")
        await on_screen(app, pilot, "BulkOpScreen")
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert app.focused.id == "bulk-tags"
        # the hunter's keys: alice, Down, Left (front), f: no "alicfe" in the box
        await pilot.press(*"alice", "down")
        await pilot.pause()
        assert app.focused.id == "bulk-position"
        await pilot.press("left", "f")
        await pilot.pause()
        assert app.screen.query_one("#bulk-tags").value == "alice"
        assert app.screen.query_one("#bulk-position").value == "front"
        await pilot.press("down")  # front: After first is the next field that takes input
        await pilot.pause()
        assert app.focused.id == "bulk-keep"
        await pilot.press("up", "up")
        await pilot.pause()
        assert app.focused.id == "bulk-tags"
        await pilot.press("escape")

    run_dataset_app(tmp_path, img.parent, scenario)
