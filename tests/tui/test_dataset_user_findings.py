"""Findings of a user test of the Dataset screen at 80x24 (Pilot): tag names and problem messages read
whole, numbers with separators, empty captions counted apart, the cursor row in view after the filter
is cleared, `a` on the table, TERM=linux marks, NO_COLOR preview, the text diff showing the change."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

from fixtures.tui_dataset import make_dataset, make_many

from loratui.core.captions import EditContext, RemoveTags, load_captions, plan_edits
from loratui.core.dataset import DatasetScan, ImageEntry, Problem, Subset, locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.plan_preview import DiffView, PlanPreviewScreen
from loratui.tui.services.dataset_store import ImageRow
from loratui.tui.widgets.dataset_summary import summary_content

LONG_TAG = "detailed_pleated_skirt_with_long_frills"
CAPTIONS = {
    "10_alice/a01.png": f"alice, 1girl, {LONG_TAG}, solo",
    "10_alice/a02.png": "alice, 1girl, solo, smile",
    "10_alice/a03.png": "alice, placeholder",  # emptied below: 0 bytes
    "10_alice/a04.png": None,  # no caption file
    "5_bob/b01.png": "bob, solo",
}


def _app(root: Path, tmp_path: Path) -> LoratuiApp:
    return LoratuiApp(locate_dataset(root), settings_file=tmp_path / "cfg" / "tui.toml",
                      keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=False)


def _findings_dataset(tmp_path: Path) -> Path:
    root = make_dataset(tmp_path / "proj", CAPTIONS)
    (root / "img" / "10_alice" / "a03.txt").write_bytes(b"")
    return root


async def until(pilot, test, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, "condition never became true"
        await pilot.pause(0.05)


def run(app: LoratuiApp, scenario, size=(80, 24)) -> None:
    async def main():
        async with app.run_test(size=size) as pilot:
            await until(pilot, lambda: app.store.captions_loaded and app.store.scan is not None)
            await pilot.pause()
            await scenario(app, pilot)

    asyncio.run(main())


def screen_lines(app) -> list[str]:
    return ["".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips()]


def region_text(app, widget) -> str:
    """What ``widget`` shows on screen, its lines joined by spaces (whitespace collapsed)."""
    region = widget.region
    lines = screen_lines(app)[region.y:region.bottom]
    return " ".join(" ".join(line[region.x:region.right].split()) for line in lines).strip()


def _row(app, name: str) -> ImageRow:
    return next(row for row in app.store.rows if row.name == name)


# ---- 1. the tag list: wider, and the tag under the cursor in full -------------------------------

def test_tag_list_takes_more_width_and_names_the_cursor_tag_whole(tmp_path):
    async def scenario(app, pilot):
        scr = app.screen
        assert scr.query_one("#side-column").outer_size.width == 32
        assert not scr.query_one("#tag-name").display
        await pilot.press("t")
        await pilot.pause()
        assert scr.query_one("#side-column").outer_size.width == 40
        table = scr.query_one("#freq-table")
        tag_width = dict((column.key, width) for column, width in table._layout())["tag"]
        assert tag_width >= 20  # was 13 beside the Cat column; `simple background` fits now
        assert table.move_cursor_to_key(LONG_TAG)
        await pilot.pause()
        name = scr.query_one("#tag-name")
        assert name.display
        shown = region_text(app, name).replace(" ", "")
        assert LONG_TAG in shown and "1use" in shown  # whole, wrapped if need be
        await pilot.press("t")  # back to the editor: the line goes, the side column narrows again
        await pilot.pause()
        assert not scr.query_one("#tag-name").display
        assert scr.query_one("#side-column").outer_size.width == 32

    run(_app(_findings_dataset(tmp_path), tmp_path), scenario)


# ---- 2. the problem message whole in the status line --------------------------------------------

def test_the_current_rows_problem_message_is_readable_whole(tmp_path):
    async def scenario(app, pilot):
        scr = app.screen
        row = _row(app, "a03.png")
        assert row.problem_kind == "empty_caption"
        assert scr.table.move_cursor_to_key(id(row))
        await pilot.pause()
        await pilot.pause()
        status = scr.query_one("#status")
        expected = " ".join(scr._problem_line(row).split())
        assert len(expected) > 46  # longer than one status line at 80x24
        assert 1 < status.size.height <= 4
        # the counts stay first (a problem note used to replace them), the message whole after them
        assert region_text(app, status) == f"0 selected · 5 images · {expected}"
        # the current row still shows above it: the table scrolled, it did not hide the cursor row
        assert any(line.startswith("▶") and "a03" in line for line in screen_lines(app))
        # a row without a problem: one line again
        assert scr.table.move_cursor_to_key(id(_row(app, "a02.png")))
        await pilot.pause()
        await pilot.pause()
        assert status.size.height == 1

    run(_app(_findings_dataset(tmp_path), tmp_path), scenario)


# ---- 4 and 6. thousands separators; the cursor row in view after the filter is cleared ----------

def test_counts_have_separators_and_the_cursor_row_shows_after_the_filter_is_cleared(tmp_path):
    root = tmp_path / "proj"
    make_many(root / "img", 1200)
    (root / "model").mkdir()

    async def scenario(app, pilot):
        scr = app.screen
        await pilot.press("asterisk")
        await pilot.pause()
        status = str(scr.query_one("#status").render())
        assert "1,200 selected" in status and "1,200 images" in status, status
        await pilot.press("ctrl+d", "slash", *"tag:tag5", "enter", "end")
        await pilot.pause()
        last = scr.table.cursor_row
        assert len(scr.shown) < 20
        await pilot.press("escape")  # clears the filter: 1,200 rows again, the cursor stays on its row
        await until(pilot, lambda: len(scr.shown) == 1200)
        await pilot.pause()
        table = scr.table
        assert table.cursor_row is last and table.cursor_index > 100
        top, height = table._visible_range()
        assert top <= table.cursor_index < top + height
        assert any(line.startswith("▶") and last.name.removesuffix(".png") in line for line in screen_lines(app))

    run(_app(root, tmp_path), scenario)


# ---- 5. empty captions counted apart, lines broken between counts ------------------------------

def _scan(captioned: int, empty: int, missing: int) -> DatasetScan:
    folder = Path("/data/10_alice")
    images, problems = [], []
    for i in range(captioned + empty + missing):
        caption = folder / f"{i:05d}.txt" if i < captioned + empty else None
        images.append(ImageEntry(folder / f"{i:05d}.png", 64, 64, caption))
        if captioned <= i < captioned + empty:
            problems.append(Problem("empty_caption", caption, f"10_alice/{i:05d}.txt is empty (0 bytes)", "error"))
    return DatasetScan(Path("/data"), None, ".txt", [Subset(folder, "10_alice", 10, "alice", False, images)], problems)


def test_summary_counts_empty_captions_apart_and_breaks_between_counts():
    text = summary_content(_scan(2400, 22, 78), width=28, max_problems=0).plain
    lines = text.splitlines()
    assert all(len(line) <= 28 for line in lines), lines
    for count in ("2,400 captioned,", "22 empty,", "78 missing"):  # never `78` / `missing`
        assert any(count in line for line in lines), (count, lines)
    assert lines[lines.index("   10 × 2,500 = 25,000") + 1].startswith("   2,400 captioned,")
    assert "Captions missing: 78" in lines and "Captions empty: 22" in lines
    assert "(repeats × images = samples)" in lines  # the legend on one line, not `... =` / `samples)`
    wide = summary_content(_scan(2400, 22, 78), width=80, max_problems=0).plain
    assert "2,400 captioned, 22 empty, 78 missing" in wide
    assert "all captioned" in summary_content(_scan(5, 0, 0), width=28).plain
    assert "Captions empty" not in summary_content(_scan(5, 0, 1), width=28).plain


def test_summary_pane_on_the_screen_says_empty(tmp_path):
    async def scenario(app, pilot):
        await pilot.press("i")
        await pilot.pause()
        text = region_text(app, app.screen.query_one("#summary-pane"))
        assert "1 captioned, 1 empty, 1 missing" in text or "2 captioned, 1 empty, 1 missing" in text, text
        assert "Captions empty: 1" in text

    run(_app(_findings_dataset(tmp_path), tmp_path), scenario)


# ---- 7. `a` on the table adds a tag -------------------------------------------------------------

def test_a_on_the_table_starts_adding_a_tag_to_the_current_image(tmp_path):
    async def scenario(app, pilot):
        scr = app.screen
        assert scr.table.move_cursor_to_key(id(_row(app, "b01.png")))
        await pilot.pause()
        assert scr.focused is scr.table
        await pilot.press("a", *"glasses", "enter")  # one burst, as typed
        caption = app.store.root / "5_bob" / "b01.txt"
        await until(pilot, lambda: "glasses" in caption.read_text(encoding="utf-8"))
        assert caption.read_text(encoding="utf-8").startswith("bob, ")

    run(_app(_findings_dataset(tmp_path), tmp_path), scenario)


# ---- 8. TERM=linux: the State column's marks are ASCII too --------------------------------------

def test_state_marks_follow_the_ascii_glyphs_on_the_linux_console(monkeypatch):
    from loratui.tui.screens.dataset_columns import _mark

    def row(**what) -> ImageRow:
        return ImageRow("/d/1_a/x.png", "1_a", 10, "/d/1_a/x.txt", **what)

    rows = [row(state="conflict"), row(state="error: disk full"), row(severity="error", problem_kind="empty_caption"),
            row(state="saved"), row(severity="warning", problem_kind="multiline_caption")]
    monkeypatch.setenv("TERM", "xterm-256color")
    assert [_mark(r) for r in rows] == ["✗ conflict", "✗ error", "✗ empty", "✓ saved", "! 2+ lines"]
    monkeypatch.setenv("TERM", "linux")
    marks = [_mark(r) for r in rows]
    assert marks == ["x conflict", "x error", "x empty", "saved", "! 2+ lines"]
    assert all(text.isascii() for text in marks)


def test_linux_console_table_and_status_have_no_unicode_marks(tmp_path, monkeypatch):
    monkeypatch.setenv("TERM", "linux")

    async def scenario(app, pilot):
        scr = app.screen
        assert scr.table.move_cursor_to_key(id(_row(app, "a03.png")))
        await pilot.pause()
        await pilot.pause()
        table_text = region_text(app, scr.table)
        assert "x empty" in table_text and "✗" not in table_text
        assert region_text(app, scr.query_one("#status")).startswith("0 selected · 5 images · x empty (0 bytes)")

    run(_app(_findings_dataset(tmp_path), tmp_path), scenario)


# ---- 9. NO_COLOR: no grey block of half-blocks --------------------------------------------------

def test_no_color_shows_a_line_and_the_size_instead_of_half_blocks(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")

    async def scenario(app, pilot):
        from loratui.tui.widgets.image_preview import ImagePreview

        preview = app.screen.query_one(ImagePreview)
        await until(pilot, lambda: preview.is_settled and preview.info)
        await pilot.pause()
        text = region_text(app, preview)
        assert "preview off (NO_COLOR)" in text and re.search(r"\d+x64", text), text
        assert "▀" not in text

    app = _app(_findings_dataset(tmp_path), tmp_path)
    assert app.no_color
    run(app, scenario)


# ---- 3. the text diff shows the changed part of a long caption ----------------------------------

def test_text_diff_of_a_long_caption_shows_the_removed_tag(tmp_path):
    from textual.app import App

    root = tmp_path / "data"
    concept = root / "1_alice"
    concept.mkdir(parents=True)
    tags = [f"tag number {i}" for i in range(30)]
    (concept / "a.png").write_bytes(b"")
    (concept / "a.txt").write_text(", ".join(tags) + "\n", encoding="utf-8")
    plan = plan_edits(load_captions(root), [RemoveTags(["tag number 25"])], ctx=EditContext())

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(PlanPreviewScreen(plan, root, "remove"))

    async def main():
        app = Host()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press("t")
            await pilot.pause()
            diff = app.screen.query_one(DiffView)
            old, new = diff.line_text(1), diff.line_text(2)
            assert old.startswith("  - …") and new.startswith("  + …")  # both start near the change
            assert "tag number 25" in old and "tag number 25" not in new
            assert ("tag number 25", "diff-view--removed-part") in diff.line_parts(1)
            lines = screen_lines(app)
            minus = next(line for line in lines if "  - …" in line)
            plus = next(line for line in lines if "  + …" in line)
            assert "tag number 25" in minus and minus.replace("- ", "+ ") != plus  # no longer identical on screen

    asyncio.run(main())
