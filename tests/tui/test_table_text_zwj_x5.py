"""The image table shows zero-width-joiner emoji and names as they are (h2 item 6: `👩?👩?…`), replaces
only real control characters, and keeps its columns aligned (each line as wide as the table)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from rich.cells import cell_len
from textual.app import App, ComposeResult

from loratui.tui.widgets.image_table import Column, ImageTable, fit_text

FAMILY = "👩\u200d👩\u200d👧"


def test_fit_text_keeps_joined_emoji_and_replaces_control_characters():
    shown = fit_text(f"🐱, cat ears, {FAMILY} family", 30)
    assert shown.rstrip() == f"🐱, cat ears, {FAMILY} family" and cell_len(shown) == 30
    assert fit_text("a\nb\tc\x1bd", 7) == "a?b?c?d"
    assert fit_text("bad\udcff.txt", 8) == "bad?.txt"
    assert fit_text("rtl\u202eabc", 7) == "rtl?abc"  # a bidi override would turn the next cells around
    assert fit_text("ideo\u3000space", 12) == "ideo\u3000space "  # isprintable() refuses it; it is a space


def test_a_joiner_between_letters_is_dropped_so_the_width_is_right():
    # Rich counts `w<ZWJ>j` as one cell, a terminal draws two: the invisible joiner goes instead
    assert fit_text("zw\u200djoin", 8) == "zwjoin  "
    assert fit_text("❤\ufe0f\u200d🔥", 3) == "❤\ufe0f\u200d🔥 "  # between two emoji it stays


def test_a_cut_never_starts_inside_a_joined_emoji():
    for width in range(5, 16):
        for cut in ("name", "middle", "end"):
            text = fit_text(f"{FAMILY}{FAMILY}{FAMILY}abc{FAMILY}x.png", width, cut=cut)
            assert cell_len(text) == width, (width, cut, text)
            start = text.index("…") + 1
            assert text[start:start + 1] not in ("\u200d", "👩", "👧") or text[start:start + 5] == FAMILY, text


@dataclass(eq=False)
class Row:
    name: str
    caption: str


COLUMNS = [Column("name", "File", 14, lambda r: r.name, cut="name"),
           Column("caption", "Caption", None, lambda r: r.caption),
           Column("tags", "Tags", 5, lambda r: "3", align="right")]


def test_the_table_shows_them_and_stays_aligned():
    rows = [Row("zw\u200djoin.png", f"🐱, cat ears, {FAMILY} family"), Row("猫.png", "猫, solo"),
            Row("new\nline.png", "plain, caption"), Row(f"{FAMILY}.png", FAMILY)]

    class TableApp(App):
        def compose(self) -> ComposeResult:
            yield ImageTable(COLUMNS, row_key=lambda r: r.name, rows=rows)

    async def main() -> None:
        app = TableApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            table = app.query_one(ImageTable)
            lines = [table.render_line(y).text for y in range(1, 5)]
            assert f"{FAMILY} family" in lines[0] and "zwjoin.png" in lines[0] and "?" not in lines[0], lines
            assert "new?line.png" in lines[2], lines
            assert len({cell_len(line) for line in lines}) == 1, lines
            assert len({cell_len(line[:line.rindex("3")]) for line in lines}) == 1, lines  # the Tags column

    asyncio.run(main())
