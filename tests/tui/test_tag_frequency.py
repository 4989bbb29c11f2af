"""TagFrequencyPane: sorting, filtering, requests by keys, a 35-column pane at 80x24, 20,000 tags.

pytest-asyncio is not installed: each test is a plain function running its Pilot session in asyncio.run.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from fixtures.tag_pane import PaneApp, twenty_thousand_tags
from textual.widgets import Input, Static

from loratui.tui.widgets.image_table import ImageTable
from loratui.tui.widgets.tag_frequency import TagFrequencyPane

COUNTS = Counter({"1girl": 40, "long_hair": 25, "smile": 25, "solo": 38, "general": 40, "blue eyes": 12,
                  "alice": 30, "hair ornament": 3})
CATEGORIES = {"1girl": 0, "long_hair": 0, "smile": 0, "solo": 0, "blue_eyes": 0, "alice": 4, "hair_ornament": 0}


def run(test, counts=COUNTS, categories=CATEGORIES) -> None:
    async def main() -> None:
        app = PaneApp()
        async with app.run_test(size=(80, 24)) as pilot:
            pane = app.query_one(TagFrequencyPane)
            pane.set_frequencies(counts, categories)
            pane.table.focus()
            await pilot.pause()
            await test(app, pilot, pane)

    asyncio.run(main())


def table_lines(table: ImageTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.scrollable_content_region.height)]


def test_counts_sorted_most_used_first_with_categories() -> None:
    async def check(app, pilot, pane: TagFrequencyPane) -> None:
        assert pane.shown_tags == ["1girl", "general", "solo", "alice", "long_hair", "smile", "blue eyes",
                                   "hair ornament", "mystery"]
        summary = str(app.query_one("#freq-summary", Static).render())
        assert "9 tags, 214 uses" in summary
        lines = table_lines(pane.table)
        assert all(len(line) <= 35 for line in lines)
        # 35 cells: categories short, so the names keep the room ("hair ornament" whole)
        assert lines[0].split() == ["Tag", "Uses", "▼", "Cat"]
        assert lines[1].startswith("▶")
        assert lines[1].split() == ["▶", "1girl", "40", "gen"]
        assert lines[2].split() == ["general", "40", "rate"]  # rating tags known without a CSV
        assert any(line.split()[:2] == ["hair", "ornament"] for line in lines)
        row = {r.tag: r for r in pane.table.rows}
        assert row["alice"].label == "character"
        assert row["blue eyes"].label == "general"  # "blue eyes" finds the CSV's blue_eyes
        assert row["hair ornament"].category == 0
        assert pane.query_one(Input).region.width == 35

    run(check, counts=COUNTS + Counter({"mystery": 1}))


def test_sort_by_keys_name_category_and_back() -> None:
    async def check(app, pilot, pane: TagFrequencyPane) -> None:
        assert pane.table.sort == ("count", True)
        await pilot.press("s")  # category: rating, character, ..., general (ties keep the count order)
        assert pane.shown_tags == ["general", "alice", "1girl", "solo", "long_hair", "smile", "blue eyes",
                                   "hair ornament"]
        assert pane.table.sort == ("category", False)
        assert table_lines(pane.table)[0].rstrip().endswith("▲")
        await pilot.press("s")  # tag name, A-Z (`_` read as a space)
        assert pane.shown_tags == ["1girl", "alice", "blue eyes", "general", "hair ornament", "long_hair",
                                   "smile", "solo"]
        assert "Tag ▲" in table_lines(pane.table)[0]
        await pilot.press("S")
        assert pane.shown_tags[0] == "solo"
        await pilot.press("s")  # back to the count: most used first, ties by name
        assert pane.table.sort == ("count", True)
        assert pane.shown_tags[:3] == ["1girl", "general", "solo"]
        assert pane.shown_tags[4:6] == ["long_hair", "smile"]

    run(check)


def test_filter_substring_underscore_is_space_and_enter_chooses() -> None:
    async def check(app, pilot, pane: TagFrequencyPane) -> None:
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"hair")
        assert pane.shown_tags == ["long_hair", "hair ornament"]
        assert "(2 shown)" in str(app.query_one("#freq-summary", Static).render())
        await pilot.press("backspace", "backspace", "backspace", "backspace", *"long hair")
        assert pane.shown_tags == ["long_hair"]
        await pilot.press(*["backspace"] * len("long hair"), *"hair_orn")
        assert pane.shown_tags == ["hair ornament"]
        await pilot.press("enter")  # leaves the filter for the table
        assert app.focused is pane.table
        assert app.messages == []
        await pilot.press("enter")
        assert app.messages == [("chosen", "hair ornament")]
        await pilot.press("r", "d", "delete")
        assert app.messages[1:] == [("rename", "hair ornament"), ("remove", "hair ornament"),
                                    ("remove", "hair ornament")]

    run(check)


def test_typing_in_filter_does_not_trigger_tag_keys() -> None:
    async def check(app, pilot, pane: TagFrequencyPane) -> None:
        await pilot.press("slash", *"red")
        assert pane.filter_text == "red"
        assert app.messages == []
        assert pane.shown_tags == []
        await pilot.press("enter", "enter", "r")  # nothing shown: no request
        assert app.messages == []

    run(check)


def test_set_frequencies_keeps_the_cursor_tag_and_filter() -> None:
    async def check(app, pilot, pane: TagFrequencyPane) -> None:
        await pilot.press("down", "down")
        assert pane.cursor_tag == "solo"
        pane.set_frequencies(COUNTS + Counter({"solo": 100, "new tag": 5}), CATEGORIES)
        await pilot.pause()
        assert pane.cursor_tag == "solo"
        assert pane.shown_tags[0] == "solo"
        pane.set_filter("o")
        await pilot.pause()
        assert "new tag" not in pane.shown_tags and "solo" in pane.shown_tags
        pane.set_frequencies(Counter({"solo": 0, "blonde": 2}), {})
        await pilot.pause()
        assert pane.shown_tags == ["blonde"]
        assert "1 tags, 2 uses (1 shown)" in str(app.query_one("#freq-summary", Static).render())

    run(check)


def test_twenty_thousand_tags() -> None:
    """20,000 tags counted, sorted and filtered (the times are bench/tui_latency.py's)."""
    counts, categories = twenty_thousand_tags()

    async def check(app, pilot, pane: TagFrequencyPane) -> None:
        pane.set_frequencies(counts, categories)
        await pilot.pause()
        assert len(pane.table.rows) == 20_000
        assert pane.table.rows[0].count == 1000
        pane.set_filter("tag_123")
        assert len(pane.shown_tags) == 100
        await pilot.press("end")
        assert pane.cursor_tag is not None

    run(check, counts=Counter(), categories={})


def test_category_names_in_full_in_a_wide_pane_and_no_column_without_categories() -> None:
    async def wide(app, pilot, pane: TagFrequencyPane) -> None:
        pane.styles.width = 50
        await pilot.pause()
        lines = table_lines(pane.table)
        assert lines[0].split() == ["Tag", "Uses", "▼", "Category"]
        assert lines[1].split() == ["▶", "1girl", "40", "general"]
        pane.sort_by("category")
        pane.styles.width = 35  # narrow again: short names, still sorted by category
        await pilot.pause()
        assert table_lines(pane.table)[0].split()[-2:] == ["Cat", "▲"]
        assert pane.table.sort[0] == "category"

    run(wide)

    async def plain(app, pilot, pane: TagFrequencyPane) -> None:
        lines = table_lines(pane.table)
        assert lines[0].split() == ["Tag", "Uses", "▼"]
        assert lines[1].split() == ["▶", "red", "circle", "2"]

    run(plain, counts=Counter({"red circle": 2, "blue square": 1}), categories={})
