"""K3: the scan's image notes have short State words (not "extreme aspect" cut to "! extreme a"): each
fits the State column's 10 cells at 80x24 with its "! " mark."""

from __future__ import annotations

from fixtures.tui_dataset import make_dataset, run_dataset_app
from PIL import Image

from loratui.tui.screens.dataset_columns import PROBLEM_WORDS, STATE_WIDTH
from tests.tui.test_dataset_reg_rows_f1 import screen

IMAGE_NOTES = ("large_image", "transparent_pixels", "transparency_unchecked", "exif_orientation", "high_bit_image",
               "extreme_aspect")


def test_every_image_note_has_a_word_that_fits_the_state_column():
    for kind in IMAGE_NOTES:
        word = PROBLEM_WORDS[kind]
        assert "_" not in word and len("! " + word) <= STATE_WIDTH, kind


def test_an_extreme_aspect_image_reads_whole_in_the_state_column_at_80x24(tmp_path):
    project = make_dataset(tmp_path / "proj")
    Image.new("RGB", (640, 64), (9, 9, 9)).save(project / "img" / "10_alice" / "a01.png")  # 1:10

    async def scenario(app, pilot):
        table = screen(app).table
        row = next(r for r in app.store.rows if r.name == "a01.png")
        assert row.problem_kind == "extreme_aspect"
        lines = [table.render_line(y).text for y in range(table.size.height)]
        line = next(text for text in lines if "a01.png" in text)
        assert "! aspect" in line, line

    run_dataset_app(tmp_path, project, scenario, size=(80, 24))
