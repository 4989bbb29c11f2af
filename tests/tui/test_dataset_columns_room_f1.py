"""The Dataset table's room: the Concept and File columns as wide as their longest name (not wider), so
the Caption column gets the rest at 120x40; at 80x24 (no Caption column) a whole state word; a reg row
reads reg/NAME (the mark first, so a cut keeps it)."""

from __future__ import annotations

from textual.geometry import Region

from loratui.tui.screens.dataset_columns import columns_for
from loratui.tui.services.dataset_rows import ImageRow
from loratui.tui.widgets.image_table import ImageTable


def rows(folder: str, names: list[str], reg: bool = False) -> list[ImageRow]:
    return [ImageRow(f"/d/{folder}/{name}", folder, 100, f"/d/{folder}/{name}.txt", reg=reg) for name in names]


class SizedTable(ImageTable):
    """The layout reads only the widget's width: given here, no app needed."""

    width_for_test = 80

    @property
    def scrollable_content_region(self) -> Region:
        return Region(0, 0, self.width_for_test, 10)


def widths(table_rows: list[ImageRow], width: int) -> dict[str, int]:
    table = SizedTable(columns_for(table_rows), row_key=id)
    table.width_for_test = width
    return {column.key: w for column, w in table._layout()}


def test_short_names_leave_their_room_to_the_caption():
    found = widths(rows("10_alice", ["a01.png", "a02.png"]), 80)
    assert found["folder"] == 8 and found["file"] == 7
    assert found["caption"] == 80 - 3 - 8 - 7 - 4 - 4 - 10 - 5  # every other cell


def test_long_names_still_grow_and_labels_stay_whole():
    found = widths(rows("10_ohwx woman", ["00001-1234567890.png"]), 80)
    assert found["folder"] >= 9 and found["file"] >= 11
    tiny = widths(rows("1_a", ["a.png"]), 80)
    assert tiny["folder"] == len("Concept") and tiny["file"] == len("a.png")  # the label, the name: the wider


def test_without_a_caption_column_the_state_word_is_whole():
    found = widths(rows("10_alice", ["a01.png"]), 46)
    assert "caption" not in found and found["mark"] == 14  # "! no caption" and "✗ bad caption" fit


def test_reg_rows_widen_the_concept_column_for_their_mark():
    found = widths(rows("10_alice", ["a01.png"]) + rows("1_person", ["p1.png"], reg=True), 80)
    assert found["folder"] == len("reg/1_person")
    column = columns_for(rows("1_person", ["p1.png"], reg=True))[0]
    assert column.getter(rows("1_person", ["p1.png"], reg=True)[0]) == "reg/1_person"
