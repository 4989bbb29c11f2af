"""The Dataset screen after writes (Pilot): the summary's caption counts follow writes, undo and
outside changes (not only F5); the tag list's whole-tag line follows its Find box, and r and d act on
the tag it names; the File column marks a cut name and keeps the extension, the Caption column takes
the room the names leave. pytest-asyncio is not installed: each test runs its session in asyncio.run.
"""

from __future__ import annotations

from pathlib import Path

from fixtures.caption_rows import twenty_thousand_rows
from fixtures.pilot_wait import until
from fixtures.tui_dataset import CAPTIONS, make_dataset, run_dataset_app
from PIL import Image

from loratui.core.captions import Caption
from loratui.core.dataset import DatasetScan, Problem, scan_dataset
from loratui.tui.services.dataset_store import ImageRow
from loratui.tui.widgets.dataset_summary import (
    CaptionCounts, CaptionStats, caption_counts, captions_now, summary_content,
)


def summary_text(app) -> str:
    from loratui.tui.screens.dataset import DatasetScreen

    screen = next(s for s in app.screen_stack if isinstance(s, DatasetScreen))
    return " ".join(str(screen.query_one("#summary-body").render()).split())


# ---- 1. the summary's caption counts -------------------------------------------------------------

def test_summary_counts_follow_a_write_an_undo_and_an_outside_change(tmp_path):
    root = make_dataset(tmp_path / "proj")  # 10_alice/a04.png has no caption
    a04 = root / "img" / "10_alice" / "a04.txt"

    async def scenario(app, pilot):
        await pilot.press("i")
        await pilot.pause()
        assert "3 captioned, 1 missing" in summary_text(app) and "Captions missing: 1" in summary_text(app)
        # the user tester's keys: the images without a caption, all of them, + a tag, preview, write
        await pilot.press("i", "slash", *"missing", "enter", "asterisk", "plus")
        await until(pilot, lambda: type(app.screen).__name__ == "BulkOpScreen", "the add form")
        await pilot.press(*"alice", "enter")
        await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen", "the preview")
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "DatasetScreen" and a04.exists(), "the write")
        await until(pilot, lambda: not getattr(app.screen, "busy_text", None), "the write's end")
        await pilot.press("escape", "i")
        await pilot.pause()
        await until(pilot, lambda: "Captions missing: 0" in summary_text(app), "the count after the write")
        assert "10_alice 10 × 4 = 40 all captioned" in summary_text(app)

        await pilot.press("ctrl+z")  # undo: the caption file goes again
        await until(pilot, lambda: not a04.exists() and "Captions missing: 1" in summary_text(app), "the undo")
        assert "3 captioned, 1 missing" in summary_text(app)

        a04.write_bytes(b"")  # made outside the app: an empty caption, counted apart
        app.screen.outside_changes([a04])
        await until(pilot, lambda: "Captions empty: 1" in summary_text(app), "the outside change")
        assert "3 captioned, 1 empty" in summary_text(app) and "Captions missing: 0" in summary_text(app)

    run_dataset_app(tmp_path, root, scenario)


def _image(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16)).save(path)


def _row(image: Path, caption: Path, exists: bool, twins: list[str] | None = None) -> ImageRow:
    row = ImageRow(str(image), image.parent.name, 1, str(caption), twins=twins)
    row.caption = Caption(caption, ["x"] if exists else [], raw=b"x" if exists else None)
    return row


def test_caption_counts_take_the_captions_held_now_over_the_scan(tmp_path):
    train, reg = tmp_path / "img", tmp_path / "reg"
    concept = train / "5_bob"
    for name in ("new.png", "gone.png", "twin.png", "twin.jpg", "face_1_2_3_4.png", "kept.png"):
        _image(concept / name)
    for name in ("gone.txt", "twin.txt", "face.txt", "kept.txt"):
        (concept / name).write_text("bob\n")
    _image(reg / "1_person" / "p.png")
    scan = scan_dataset(train, reg)
    bob = next(s for s in scan.subsets if s.name == "5_bob")
    person = next(s for s in scan.subsets if s.is_reg)
    assert caption_counts(scan)[bob.path] == CaptionCounts(5, 0, 1)  # new.png has none

    (concept / "new.txt").write_text("bob\n")  # written by the app
    (concept / "gone.txt").unlink()  # an undo took it away
    rows = [_row(concept / "new.png", concept / "new.txt", True),
            _row(concept / "gone.png", concept / "gone.txt", False),
            _row(concept / "twin.png", concept / "twin.txt", True, twins=[str(concept / "twin.jpg")]),
            # sd-scripts reads face.txt for face_1_2_3_4.png; the table holds face_1_2_3_4.txt (none)
            _row(concept / "face_1_2_3_4.png", concept / "face_1_2_3_4.txt", False),
            _row(concept / "kept.png", concept / "kept.txt", True)]
    now = captions_now(rows)
    assert caption_counts(scan, now)[bob.path] == CaptionCounts(5, 0, 1)  # new captioned, gone missing
    assert caption_counts(scan, now)[person.path] == CaptionCounts(0, 0, 1)  # reg: not in the table
    del now[str(concept / "kept.png")]
    (concept / "kept.txt").unlink()
    rows[0].caption = Caption(concept / "new.txt", [], raw=None)  # the new one undone too
    assert caption_counts(scan, captions_now(rows[:4]))[bob.path] == CaptionCounts(4, 0, 2)  # kept: still loading

    # an empty caption is the scan's (or the last check's) empty_caption problem
    problems = [*scan.problems, Problem("empty_caption", concept / "twin.txt", "twin.txt is empty", "error")]
    checked = DatasetScan(**{**scan.__dict__, "problems": problems})
    counts = caption_counts(checked, now)
    assert counts[bob.path] == CaptionCounts(3, 2, 1)  # twin.png and twin.jpg share the empty twin.txt
    text = " ".join(summary_content(checked, counts=counts, width=80, max_problems=0).plain.split())
    assert "3 captioned, 2 empty, 1 missing" in text and "Captions missing: 1" in text and "Captions empty: 2" in text


def test_counting_20000_images(tmp_path):
    """Done on the UI thread after every write while the summary shows (how long it takes is
    bench/tui_latency.py's: about 15 ms on an idle 2-core machine)."""
    folder = tmp_path / "10_a"
    scan, rows, frequency = twenty_thousand_rows(folder)
    stats = CaptionStats.from_frequency(frequency, (row.caption for row in rows))
    counts = caption_counts(scan, captions_now(rows))
    missing = sum(1 for i in range(20_000) if not i % 7)
    assert counts[folder] == CaptionCounts(20_000 - missing, 0, missing)
    assert (stats.captions, stats.distinct_tags, stats.tag_uses) == (20_000 - missing, 3, 51_000)


# ---- 2. the tag list's whole-tag line --------------------------------------------------------------

def test_the_whole_tag_line_follows_find_and_r_d_act_on_the_tag_it_names(tmp_path):
    root = make_dataset(tmp_path / "proj")

    async def scenario(app, pilot):
        scr = app.screen
        asked: list[tuple[str, str]] = []
        scr.action_bulk = lambda kind, initial=None, everywhere=False: asked.append(("rename", initial))
        scr.run_bulk_op = lambda op, title, scope: asked.append(("remove", title))
        await pilot.press("t")
        await pilot.pause()
        pane = scr.query_one("#tags-pane")
        line = scr.query_one("#tag-name")
        first = pane.cursor_tag
        assert str(line.render()).startswith(first)
        await pilot.press("slash", *"hair", "enter")  # Find: the cursor moves to another tag
        await until(pilot, lambda: pane.cursor_tag != first and str(line.render()).startswith(pane.cursor_tag + " "),
                    "the line naming the tag under the cursor")
        tag = pane.cursor_tag
        assert "hair" in tag.replace("_", " ")
        await pilot.press("down")
        await until(pilot, lambda: str(line.render()).startswith(pane.cursor_tag + " ") and pane.cursor_tag != tag,
                    "the line after down")
        named = str(line.render()).split("  ")[0]
        await pilot.press("r", "d")
        assert asked == [("rename", named), ("remove", f"remove {named!r} everywhere")]
        await pilot.press("slash", *"nosuchtag", "enter")  # nothing shown: no line, r and d do nothing
        await until(pilot, lambda: not line.display, "the line hidden")

    run_dataset_app(tmp_path, root, scenario)


# ---- 3. the File and Caption columns ---------------------------------------------------------------

def _layout(app) -> dict[str, int]:
    return {column.key: width for column, width in app.screen.table._layout()}


def _table_lines(app) -> list[str]:
    table = app.screen.table
    return [table.render_line(y).text for y in range(table.size.height)]


def test_a_cut_file_name_says_so_and_keeps_its_extension(tmp_path):
    captions = {**CAPTIONS, "10_alice/portrait_session_img_000008.webp": "alice, 1girl",
                "10_alice/IMG_20230101_123456.jpeg": "alice"}
    root = make_dataset(tmp_path / "proj", captions)

    async def scenario(app, pilot):
        assert _layout(app)["file"] < len("portrait_session_img_000008.webp")  # 80 columns: the name does not fit
        lines = _table_lines(app)
        webp = next(line for line in lines if ".webp" in line)
        assert "…" in webp and "…000008.webp" in webp  # the stem's end tells numbered files apart
        jpeg = next(line for line in lines if ".jpeg" in line)
        assert "…" in jpeg and "…123456.jpeg" in jpeg
        assert "caption" not in _layout(app)  # no room at 80: the editor beside shows the tags

    run_dataset_app(tmp_path, root, scenario)


def test_the_caption_column_takes_the_room_the_names_leave_at_120(tmp_path):
    long_caption = "alice, 1girl, solo, long hair, smile, outdoors, looking at viewer"
    root = make_dataset(tmp_path / "proj", {**CAPTIONS, "10_alice/a01.png": long_caption})

    async def scenario(app, pilot):
        layout = _layout(app)
        assert layout["file"] == 7 and layout["folder"] == 8  # as wide as the longest name (or the header), no wider
        table_width = app.screen.table.scrollable_content_region.width
        used = app.screen.table.GUTTER + sum(layout.values()) + len(layout) - 1
        assert used == table_width  # the caption takes the rest
        assert layout["caption"] >= 30, layout  # was 16, then 24: the name columns took more than any name needs
        line = next(line for line in _table_lines(app) if "a01.png" in line)
        assert long_caption[: layout["caption"] - 1] in line and line.rstrip().endswith("…")

    run_dataset_app(tmp_path, root, scenario, size=(120, 40))
