"""Findings of a 3,000-image Dataset-screen user test (Pilot, small datasets): the table is filtered again
after every write (bulk, undo, inline edits keep the edited image in view until the cursor leaves it), bulk
operations apply to what matches at op time, the tag list's Enter builds an exact filter term for any tag,
`file:` matches the image's name, the status line keeps its counts beside a problem, and the tag editor keeps
the highlighted tag in sight when "saved" takes a second line."""

from __future__ import annotations

from pathlib import Path

from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset, run_dataset_app
from PIL import Image

from loratui.core.captions import parse_where
from loratui.core.captions.files import parse_caption
from loratui.core.captions import tag_term as filter_term_for_tag
from loratui.tui.services.dataset_store import split_filter

SOLO = {
    "10_alice/a01.png": "alice, solo, smile",
    "10_alice/a02.png": "alice, solo, hat",
    "10_alice/a03.png": "alice, 2girls",
    "10_alice/a04.png": None,
    "5_bob/b01.png": "bob, solo",
}


def _caption(img: Path, rel: str) -> str:
    path = img / rel
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _names(scr) -> list[str]:
    return [row.name for row in scr.table.rows]


def _status(scr) -> str:
    return str(scr.query_one("#status").render())


async def _filter(pilot, text: str) -> None:
    await pilot.press("slash", "ctrl+u", *text, "enter")
    await pilot.pause()


def test_bulk_remove_refilters_and_the_next_op_sees_what_matches_now(tmp_path):
    root = make_dataset(tmp_path / "proj", SOLO)
    img = root / "img"

    async def scenario(app, pilot):
        scr = app.screen
        await _filter(pilot, "tag:solo")
        assert _names(scr) == ["a01.png", "a02.png", "b01.png"]
        await pilot.press("minus", *"solo", "enter")
        await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen", "preview")
        await pilot.press("enter")
        await until(pilot, lambda: "solo" not in _caption(img, "5_bob/b01.txt") and not scr.writing, "written")
        await pilot.pause()
        assert _names(scr) == [] and "0/5 shown" in _status(scr)
        await pilot.press("plus")  # nothing matches now: no form for rows that no longer match
        await pilot.pause()
        assert type(app.screen).__name__ == "DatasetScreen"
        await pilot.press("ctrl+z")  # undo refilters too: the three come back
        await until(pilot, lambda: len(scr.table.rows) == 3, "undo refiltered")

    run_dataset_app(tmp_path, root, scenario)


def test_an_inline_edit_keeps_the_image_in_view_until_the_cursor_leaves(tmp_path):
    root = make_dataset(tmp_path / "proj", SOLO)
    img = root / "img"

    async def scenario(app, pilot):
        scr = app.screen
        await _filter(pilot, "tag:solo")
        await pilot.press("e", "down", "d")  # a01: delete "solo"; the image stops matching
        await until(pilot, lambda: "solo" not in _caption(img, "10_alice/a01.txt"), "saved")
        await pilot.pause()
        assert _names(scr) == ["a01.png", "a02.png", "b01.png"]  # still there, under the cursor
        assert scr.table.cursor_row.name == "a01.png" and scr.kept_row is scr.table.cursor_row
        assert "2/5 shown +1 edited, no match" in _status(scr)
        assert "no match" in str(scr.table.render_line(1).text)
        # a bulk operation applies to what matches now, not to the image kept in view
        rows, label = scr.scope_rows()
        assert [r.name for r in rows] == ["a02.png", "b01.png"] and label == "filtered: 2 of 5"
        assert _names(scr) == ["a02.png", "b01.png"]

    run_dataset_app(tmp_path, root, scenario)


def test_the_kept_image_goes_when_the_cursor_leaves_it(tmp_path):
    root = make_dataset(tmp_path / "proj", {**SOLO, "5_bob/b02.png": None})
    img = root / "img"

    async def scenario(app, pilot):
        scr = app.screen
        await _filter(pilot, "missing")
        assert _names(scr) == ["a04.png", "b02.png"]
        await pilot.press("a", *"fox", "enter")  # a caption for an image that had none
        await until(pilot, lambda: "fox" in _caption(img, "10_alice/a04.txt"), "saved")
        await pilot.pause()
        assert _names(scr) == ["a04.png", "b02.png"] and scr.kept_row is not None
        await pilot.press("escape", "escape", "down")  # back on the table, then off the row
        await pilot.pause()
        assert _names(scr) == ["b02.png"] and scr.kept_row is None and "1/6 shown" in _status(scr)
        assert scr.table.cursor_row.name == "b02.png"

    run_dataset_app(tmp_path, root, scenario)


def test_tag_list_enter_refilters_on_the_same_text_and_quotes_any_tag(tmp_path):
    root = make_dataset(tmp_path / "proj", {**SOLO, "5_bob/b02.png": "jack-o'-lantern, ?, bob"})
    img = root / "img"

    async def scenario(app, pilot):
        scr = app.screen
        await _filter(pilot, "tag:solo")
        (img / "5_bob" / "b01.txt").write_text("bob\n", encoding="utf-8")
        scr.reread([img / "5_bob" / "b01.txt"])  # a change on disk, read back (the watcher's path)
        await pilot.pause()
        assert "b01.png" not in _names(scr)
        (img / "10_alice" / "a02.txt").write_text("alice\n", encoding="utf-8")
        scr.store.adopt_captions(scr.store.reread([img / "10_alice" / "a02.txt"]))  # read, not refiltered
        from loratui.tui.widgets.tag_frequency import TagFrequencyPane

        pane = scr.query_one(TagFrequencyPane)
        for tag, shown in (("solo", ["a01.png"]), ("jack-o'-lantern", ["b02.png"]), ("?", ["b02.png"])):
            scr.on_tag_frequency_pane_tag_chosen(type("Chosen", (), {"tag": tag, "pane": pane})())
            await pilot.pause()
            assert _names(scr) == shown, tag
            assert not scr.query_one("#filter-error").display

    run_dataset_app(tmp_path, root, scenario)


def test_file_filter_matches_the_image_name_shown(tmp_path):
    root = make_dataset(tmp_path / "proj", SOLO)
    img = root / "img"
    Image.new("RGB", (8, 8)).save(img / "5_bob" / "b02.jpg")
    (img / "5_bob" / "b02.txt").write_text("bob\n", encoding="utf-8")

    async def scenario(app, pilot):
        scr = app.screen
        await _filter(pilot, "file:*.jpg")
        assert _names(scr) == ["b02.jpg"]
        await _filter(pilot, "file:a01.txt")  # the caption's name still matches
        assert _names(scr) == ["a01.png"]

    run_dataset_app(tmp_path, root, scenario)


def test_status_keeps_the_counts_beside_the_current_images_problem(tmp_path):
    root = make_dataset(tmp_path / "proj", {**SOLO, "10_alice/a05.png": "alice, (smile:1.2), " + ", ".join(
        f"long tag number {i}" for i in range(12))})

    async def scenario(app, pilot):
        scr = app.screen
        await _filter(pilot, "folder:10_alice")
        await pilot.press("ctrl+a")
        row = next(r for r in scr.table.rows if r.name == "a05.png")
        scr.table.move_cursor_to_key(id(row))
        await until(pilot, lambda: row.problem, "the scan's note")
        scr.update_status()
        await pilot.pause()
        status = _status(scr)
        assert status.startswith("5 selected · 5/6 shown · "), status
        assert scr.query_one("#status").size.height <= 4

    run_dataset_app(tmp_path, root, scenario, size=(120, 40))


def test_the_highlighted_tag_stays_in_sight_when_saved_takes_a_line(tmp_path):
    # a short name and one-token tags: the title and the token count share one line, "saved ✓" then takes a second
    tags = ", ".join(f"tag{chr(97 + i)}" for i in range(24))
    root = make_dataset(tmp_path / "proj", {"10_alice/b.png": tags, "10_alice/a.png": "x"})

    async def scenario(app, pilot):
        from loratui.tui.widgets.tag_list import TagList

        scr = app.screen
        await _filter(pilot, "file:b.txt")
        tag_list = scr.query_one(TagList)
        await pilot.press("e")
        height = tag_list.scrollable_content_region.height
        assert scr.query_one("#tag-editor-status").size.height == 1  # "saved ✓" will take a second line
        await pilot.press(*["down"] * (height - 1))  # the last row in sight
        await pilot.press("d")
        await until(pilot, lambda: "saved" in scr.query_one("#editor").state, "saved")
        def in_sight() -> bool:
            top = int(tag_list.scroll_offset.y)
            return top <= tag_list.highlighted < top + tag_list.scrollable_content_region.height

        await until(pilot, lambda: scr.query_one("#tag-editor-status").size.height == 2, "saved on a second line")
        await until(pilot, in_sight, "the highlighted tag in sight", timeout=5)
        await pilot.pause(0.3)
        assert in_sight() and "▶" in "".join(str(tag_list.render_line(y).text) for y in range(8))

    run_dataset_app(tmp_path, root, scenario)


def test_filter_term_for_tag_finds_exactly_that_tag():
    tags = ["solo", "long hair", "jack-o'-lantern", "?", "*bg*", "/x/", 'say "cheese"', "a'b\"c", "a:b",
            "(smile:1.2)", "[blue eyes]", "=_=", "o'neil \"x\" y"]
    for tag in tags:
        term = filter_term_for_tag(tag)
        where, words = split_filter(term)  # the filter box: one --where term, no free words
        assert not words, term
        matches = parse_where(where)
        hits = [t for t in tags if matches(parse_caption(f"{t}\n".encode(), "/nowhere/x.txt"))]
        assert hits == [tag], (tag, term, hits)
    assert filter_term_for_tag("jack-o'-lantern") == "tag:\"jack-o'-lantern\""
    assert filter_term_for_tag("?") == "tag:/\\?/"


def test_several_selected_tags_filter_each_exactly():
    """The tag list's Enter with several tags selected: one exact term per tag (it quoted them itself,
    so jack-o'-lantern broke the filter, `say "cheese"` was lost and `*bg*` matched other tags)."""
    from loratui.core.captions import any_tag_term

    chosen = ["solo", "jack-o'-lantern", 'say "cheese"', "*bg*", "?"]
    others = ["white bg", "x", "long hair"]
    where, words = split_filter(any_tag_term(chosen))
    assert not words
    matches = parse_where(where)
    hits = [t for t in chosen + others if matches(parse_caption(f"{t}\n".encode(), "/nowhere/x.txt"))]
    assert hits == chosen
