"""ImageTable: keys, selection, sorting, set_rows, layout at 80 columns, messages, 10,000 rows.

pytest-asyncio is not installed: each test is a plain function running its Pilot session in asyncio.run.
"""

from __future__ import annotations

import asyncio

from fixtures.image_table_rows import Row, TableApp, make_rows

from loratui.tui.widgets.image_table import ASCII_GLYPHS, ImageTable, fit_text


def run(test, rows: list[Row] | None = None, size=(80, 24), **kwargs) -> None:
    async def main() -> None:
        app = TableApp(make_rows() if rows is None else rows, **kwargs)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            table = app.query_one(ImageTable)
            table.focus()
            await pilot.pause()
            await test(app, pilot, table)

    asyncio.run(main())


def screen_lines(table: ImageTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.scrollable_content_region.height)]


def test_cursor_moves_by_keys() -> None:
    async def check(app, pilot, table: ImageTable) -> None:
        assert table.cursor_index == 0
        assert screen_lines(table)[1].startswith("▶")
        await pilot.press("down", "down", "down")
        assert table.cursor_row.name == "img_00003.png"
        await pilot.press("up")
        assert table.cursor_index == 2
        await pilot.press("pagedown")
        page = table.cursor_index - 2
        assert page >= 10
        await pilot.press("end")
        assert table.cursor_index == 9_999
        await pilot.pause()
        lines = screen_lines(table)
        assert lines[0].lstrip().startswith("File")  # the header stays while scrolled to the end
        assert any(line.startswith("▶") and "img_09999.png" in line for line in lines)
        await pilot.press("pageup")
        assert table.cursor_index == 9_999 - page
        await pilot.press("home")
        assert table.cursor_index == 0
        await pilot.press("up")  # clamps
        assert table.cursor_index == 0

    run(check)


def test_space_toggles_and_marks_the_gutter() -> None:
    async def check(app, pilot, table: ImageTable) -> None:
        await pilot.press("down", "space")
        assert table.selected_count == 1
        assert table.selected_keys == {"img_00001.png"}
        line = screen_lines(table)[2]
        assert line.startswith("▶●") and "img_00001.png" in line
        await pilot.press("down")
        assert screen_lines(table)[2].startswith(" ●")  # selected, cursor gone: mark stays
        await pilot.press("up", "space")
        assert table.selected_count == 0
        await pilot.pause()
        assert app.selection_messages[-1] == 0

    run(check)


def test_shift_arrows_select_a_range_from_the_anchor() -> None:
    async def check(app, pilot, table: ImageTable) -> None:
        await pilot.press("down", "down", "down", "down", "down")  # cursor on row 5
        await pilot.press("space")  # row 5 selected on its own
        await pilot.press("down", "down", "shift+down", "shift+down")  # anchor 7, cursor 9
        assert [r.name for r in table.selected_rows] == [f"img_{i:05d}.png" for i in (5, 7, 8, 9)]
        await pilot.press("shift+up")  # the range shrinks back towards the anchor
        assert table.selected_keys == {"img_00005.png", "img_00007.png", "img_00008.png"}
        await pilot.press("shift+up", "shift+up", "shift+up")  # crosses the anchor upwards: 5..7
        assert table.selected_keys == {f"img_{i:05d}.png" for i in (5, 6, 7)}
        await pilot.press("ctrl+d")
        assert table.selected_count == 0

    run(check)


def test_ctrl_a_selects_only_rows_shown() -> None:
    rows = make_rows()

    async def check(app, pilot, table: ImageTable) -> None:
        shown = [r for r in rows if r.group == 2]
        table.set_rows(shown)
        await pilot.press("ctrl+a")
        assert table.selected_count == len(shown) == 2_000
        await pilot.pause()
        assert app.selection_messages[-1] == 2_000
        assert all(line.startswith(("▶●", " ●")) for line in screen_lines(table)[1:])
        table.set_rows(shown[:10])  # rows that disappear are deselected
        assert table.selected_count == 10
        await pilot.press("ctrl+d")
        assert table.selected_count == 0
        await pilot.pause()
        assert app.selection_messages[-1] == 0

    run(check, rows=rows)


def test_set_rows_keeps_the_cursor_row_else_clamps() -> None:
    rows = make_rows()

    async def check(app, pilot, table: ImageTable) -> None:
        table.move_cursor(5_000)
        target = table.cursor_row
        await pilot.pause()
        table.set_rows(rows[4_000:6_000:2])  # target still shown, at another index
        assert table.cursor_row is target and table.cursor_index == 500
        await pilot.pause()
        assert any(line.startswith("▶") and target.name in line for line in screen_lines(table))
        table.set_rows(rows[:100])  # target gone: the index is clamped
        assert table.cursor_index == 99
        table.set_rows([])
        assert table.cursor_row is None
        assert screen_lines(table)[0].lstrip().startswith("File")
        table.set_rows(rows)
        assert table.cursor_index == 0
        await pilot.pause()
        assert app.cursor_messages[-1] is rows[0]

    run(check, rows=rows)


def test_sort_is_stable_both_ways_and_shows_the_direction() -> None:
    rows = make_rows(2_000)

    async def check(app, pilot, table: ImageTable) -> None:
        table.sort_by("group")
        assert table.sort == ("group", False)
        assert list(table.rows) == sorted(rows, key=lambda r: r.group)  # ties keep input order
        header = screen_lines(table)[0]
        assert "Gro… ▲" in header  # a 6-cell column: the label is cut, the arrow stays
        table.sort_by("group")  # same column again: toggles
        assert table.sort == ("group", True)
        assert list(table.rows) == sorted(rows, key=lambda r: r.group, reverse=True)
        assert "▼" in screen_lines(table)[0]
        first_of_4 = [r for r in table.rows if r.group == 4][:3]
        assert [r.name for r in first_of_4] == ["img_00002.png", "img_00007.png", "img_00012.png"]
        await pilot.press("s")  # next column, ascending
        assert table.sort == ("tags", False)
        assert [r.tags for r in table.rows[:3]] == [0, 0, 0]
        await pilot.press("S")
        assert table.sort == ("tags", True)
        assert table.rows[0].tags == 12
        table.set_rows(rows[:50])  # new rows come in the current order
        assert [r.tags for r in table.rows] == sorted((r.tags for r in rows[:50]), reverse=True)

    run(check, rows=rows)


def test_sort_keeps_the_cursor_on_its_row() -> None:
    async def check(app, pilot, table: ImageTable) -> None:
        table.move_cursor(1234)
        row = table.cursor_row
        table.sort_by("tags", reverse=True)
        assert table.cursor_row is row
        await pilot.pause()
        assert any(line.startswith("▶") and row.name in line for line in screen_lines(table))

    run(check)


def test_columns_fit_80_columns_and_truncate_with_ellipsis() -> None:
    rows = [Row("a_very_long_file_name_" * 5 + ".png", 1, 2, "corrupt"), Row("short.png", 3, 4)]

    async def check(app, pilot, table: ImageTable) -> None:
        width = table.scrollable_content_region.width
        assert 76 <= width <= 80
        lines = screen_lines(table)
        assert all(len(line) == width for line in lines)
        assert "…" in lines[1] and lines[1].rstrip().endswith("corrupt")
        assert "Problem" in lines[0] and "Tags" in lines[0]
        assert lines[2].split()[:3] == ["short.png", "3", "4"]
        # right-aligned numbers end at their column edges, under their labels
        assert lines[1].index("1 ") == lines[0].index("Group") + len("Group") - 1

    run(check, rows=rows)


def test_narrow_widget_cuts_the_last_columns() -> None:
    async def check(app, pilot, table: ImageTable) -> None:
        lines = screen_lines(table)
        assert all(len(line) == table.scrollable_content_region.width for line in lines)
        assert lines[0].lstrip().startswith("File")
        assert "Problem" not in lines[0]

    run(check, rows=make_rows(50), size=(30, 10))


def test_fit_text() -> None:
    assert fit_text("abcdef", 4) == "abc…"
    assert fit_text("ab", 4, "right") == "  ab"
    assert fit_text("a\nb", 3) == "a?b"
    assert fit_text("漢字漢字", 5) == "漢字…"
    assert fit_text("x", 0) == ""


def test_refresh_rows_redraws_changed_fields() -> None:
    rows = make_rows(100)

    async def check(app, pilot, table: ImageTable) -> None:
        rows[1].problem = "no caption"
        table.refresh_rows([rows[1].name])
        await pilot.pause()
        assert "no capti…" in screen_lines(table)[2]

    run(check, rows=rows)


def test_messages_and_click() -> None:
    async def check(app, pilot, table: ImageTable) -> None:
        await pilot.press("down", "down")
        await pilot.pause()
        assert app.cursor_messages[-1].name == "img_00002.png"
        await pilot.press("space")
        await pilot.pause()
        assert app.selection_messages[-1] == 1
        await pilot.click(ImageTable, offset=(10, 6))  # line 6 = row 5 (line 0 is the header)
        await pilot.pause()
        assert table.cursor_index == 5
        assert app.cursor_messages[-1].name == "img_00005.png"
        await pilot.click(ImageTable, offset=(4, 0))  # header: sort by that column
        assert table.sort == ("name", False)

    run(check)


def test_bindings_have_ids_and_descriptions() -> None:
    bindings = ImageTable.BINDINGS
    ids = [b.id for b in bindings]
    assert all(ids) and len(set(ids)) == len(ids)
    assert all(b.description for b in bindings)
    # the footer at 80 columns belongs to the host screen's keys: the table's own are listed by the
    # help screen (which includes hidden bindings) and the command palette
    assert not any(b.show for b in bindings)


def test_ascii_glyphs_for_the_linux_console() -> None:
    async def check(app, pilot, table: ImageTable) -> None:
        await pilot.press("space")
        table.sort_by("tags")
        lines = screen_lines(table)
        assert lines[1].startswith(">*") and "^" in lines[0]
        assert all(ord(ch) < 128 for line in lines for ch in line)

    run(check, rows=make_rows(30), glyphs=ASCII_GLYPHS)


def test_ten_thousand_rows_set_sort_and_draw() -> None:
    """10,000 shuffled rows set, sorted by name and drawn (their times are bench/tui_latency.py's)."""
    rows = make_rows()
    shuffled = sorted(rows, key=lambda r: hash(r.name))

    async def check(app, pilot, table: ImageTable) -> None:
        table.set_rows(shuffled)
        assert len(table.rows) == 10_000 and table.rows[0] is shuffled[0]
        table.sort_by("name", reverse=False)
        assert [r.name for r in table.rows] == [r.name for r in rows]
        lines = screen_lines(table)
        assert len(lines) == table.scrollable_content_region.height
        assert "img_00000.png" in lines[1] and "img_00001.png" in lines[2]

    run(check, rows=[])
