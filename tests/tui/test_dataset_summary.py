"""DatasetSummary and BalanceDialog on a small generated dataset (Pillow images in tmp_path).

The dataset: `10_alice` (3 images, one without a caption), `1_bob` (2 captioned images and a
zero-byte one) and a reg folder `1_person` (2 images, no captions).
pytest-asyncio is not installed: each test is a plain function running its Pilot session in asyncio.run.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from PIL import Image
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Static

from loratui.core.captions import AddTags, apply_plan, load_captions, plan_edits, undo_last
from loratui.core.dataset import DatasetScan, scan_dataset
from loratui.tui.screens.balance_dialog import BalanceDialog
from loratui.tui.widgets.dataset_summary import ASCII_MARKS, CaptionStats, DatasetSummary, summary_content


def make_dataset(root: Path) -> tuple[Path, Path]:
    train, reg = root / "img", root / "reg"
    for folder, count in (("10_alice", 3), ("1_bob", 2)):
        (train / folder).mkdir(parents=True)
        for i in range(count):
            Image.new("RGB", (64, 48), (i * 40, 80, 120)).save(train / folder / f"{folder[-3:]}_{i}.png")
            if not (folder == "10_alice" and i == 1):
                (train / folder / f"{folder[-3:]}_{i}.txt").write_text(f"1girl, {folder[3:]}, smile\n")
    (train / "1_bob" / "broken.png").write_bytes(b"")
    (reg / "1_person").mkdir(parents=True)
    for i in range(2):
        Image.new("RGB", (32, 32)).save(reg / "1_person" / f"person_{i}.png")
    return train, reg


def scan_of(tmp_path: Path) -> DatasetScan:
    train, reg = make_dataset(tmp_path)
    return scan_dataset(train, reg)


class SummaryApp(App):
    def __init__(self, scan: DatasetScan, stats: CaptionStats | None, pane_width: int | None) -> None:
        super().__init__()
        self.scan, self.stats, self.pane_width = scan, stats, pane_width
        self.messages: list[object] = []

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield DatasetSummary(self.scan, self.stats, id="summary")
            if self.pane_width is not None:
                yield Static("images", id="rest")

    def on_mount(self) -> None:
        if self.pane_width is not None:
            self.query_one("#summary").styles.width = self.pane_width

    def on_dataset_summary_jump_to_problem(self, message: DatasetSummary.JumpToProblem) -> None:
        self.messages.append(message.path)

    def on_dataset_summary_balance_requested(self, message: DatasetSummary.BalanceRequested) -> None:
        self.messages.append("balance")


def run_summary(test, scan: DatasetScan, stats: CaptionStats | None = None, pane_width: int | None = 35) -> None:
    async def main() -> None:
        app = SummaryApp(scan, stats, pane_width)
        async with app.run_test(size=(80, 24)) as pilot:
            summary = app.query_one(DatasetSummary)
            summary.focus()
            await pilot.pause()
            await test(app, pilot, summary)

    asyncio.run(main())


def screen_lines(app: App) -> list[str]:
    """What the terminal shows, one string per line (the compositor's full update)."""
    update = app.screen._compositor.render_full_update()
    return ["".join(strip.text for strip in line) for line in update.strips]


def body_text(summary: DatasetSummary) -> str:
    return summary.query_one("#summary-body", Static).render().plain


def test_summary_lines_in_a_narrow_pane(tmp_path: Path) -> None:
    scan = scan_of(tmp_path)
    stats = CaptionStats.from_captions(load_captions(scan.train_data_dir))

    async def check(app, pilot, summary: DatasetSummary) -> None:
        text = body_text(summary)
        print("\n" + text)
        lines = text.splitlines()
        assert lines[:10] == [
            "Concepts",
            " (repeats × images = samples)",
            " 10_alice",
            "   10 × 3 = 30",
            "   2 captioned, 1 missing",
            " 1_bob",
            "   1 × 2 = 2  all captioned",
            " 1_person (reg)",
            "   1 × 2 = 2  no captions",
            "",
        ]
        # the reg images are rows of the table now: counted apart from the train ones
        assert "Reg images: 2 in 1 folder" in lines and "Captions missing: 2" in lines
        assert " (class tokens used)" in lines and "not in the" not in text
        assert "Train samples per epoch: 32" in lines
        assert "Captions missing: 1" in lines
        assert "Tags: 4 distinct, 12 uses" in lines
        at = lines.index("Problems")
        assert lines[at + 1:at + 5] == [" ✗ 1 error", " ! 1 warning", " · 2 info",
                                        "✗ 1_bob/broken.png: empty file (0 bytes); it is left out of training"]
        assert lines[at + 5].startswith("! 10_alice/ice_1.png has no caption")
        # on screen: wrapped to the pane (35 cells: 1 padding, 32 text, 2 scrollbar gutter)
        await pilot.press("end")
        await pilot.pause()
        screen = [line[:35] for line in screen_lines(app)]
        print("\n".join(screen))
        assert screen[-1].rstrip().endswith("'person'")
        assert any(line.startswith(" ✗ 1_bob/broken.png: empty file") for line in screen)
        assert not any("trains it with the class tokens" in line for line in screen)  # wrapped

    run_summary(check, scan, stats)


def test_summary_full_width_one_line_per_folder(tmp_path: Path) -> None:
    scan = scan_of(tmp_path)

    async def check(app, pilot, summary: DatasetSummary) -> None:
        lines = body_text(summary).splitlines()
        print("\n" + "\n".join(lines))
        assert " 10_alice        10 × 3 = 30  2 captioned, 1 missing" in lines
        assert " 1_bob            1 × 2 = 2   all captioned" in lines
        assert " 1_person (reg)   1 × 2 = 2   no captions" in lines
        assert not any(line.startswith("Tags:") for line in lines)

    run_summary(check, scan, pane_width=None)


def test_summary_ascii_marks_and_problem_cap(tmp_path: Path) -> None:
    scan = scan_of(tmp_path)
    text = summary_content(scan, width=78, max_problems=2, marks=ASCII_MARKS).plain
    assert "Problems:  x 1 error  ! 1 warning  - 2 info" in text
    assert "… 2 more" in text
    assert "No dataset scanned" in summary_content(None).plain


def test_next_problem_path_cycles_and_enter_posts_it(tmp_path: Path) -> None:
    scan = scan_of(tmp_path)
    train = scan.train_data_dir
    alice_missing = train / "10_alice" / "ice_1.png"
    broken = train / "1_bob" / "broken.png"
    person = [scan.reg_data_dir / "1_person" / f"person_{i}.png" for i in range(2)]

    async def check(app, pilot, summary: DatasetSummary) -> None:
        assert summary.problem_paths == [alice_missing, broken, *person]
        assert summary.next_problem_path(None) == alice_missing
        assert summary.next_problem_path(alice_missing) == broken
        assert summary.next_problem_path(person[1]) == alice_missing  # wraps
        # an image without a problem: the next problem image after it
        assert summary.next_problem_path(train / "10_alice" / "ice_2.png") == broken
        assert summary.next_problem_path(train / "1_bob" / "bob_1.png") == broken
        assert summary.next_problem_path(train / "1_bob" / "c.png") == person[0]
        await pilot.press("enter", "enter")
        assert app.messages == [alice_missing, broken]
        await pilot.press("b")
        assert app.messages[-1] == "balance"
        summary.set_scan(None)
        assert summary.next_problem_path(None) is None
        assert body_text(summary).startswith("No dataset")

    run_summary(check, scan)


# ---- BalanceDialog ----------------------------------------------------------------------------


class DialogApp(App):
    def __init__(self, scan: DatasetScan, target: int | None = None) -> None:
        super().__init__()
        self.scan, self.target = scan, target
        self.results: list[bool | None] = []

    def on_mount(self) -> None:
        self.push_screen(BalanceDialog(self.scan, self.target), self.results.append)


def run_dialog(test, scan: DatasetScan, target: int | None = None) -> None:
    async def main() -> None:
        app = DialogApp(scan, target)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await test(app, pilot, app.screen)

    asyncio.run(main())


def dialog_text(dialog: BalanceDialog) -> str:
    return "\n".join(static.render().plain for static in dialog.query(Static) if not isinstance(static, Input))


def folders(train: Path) -> list[str]:
    return sorted(p.name for p in train.iterdir() if not p.name.startswith("."))


def test_balance_dialog_shows_plan_and_replans_as_you_type(tmp_path: Path) -> None:
    scan = scan_of(tmp_path)
    train = scan.train_data_dir

    async def check(app, pilot, dialog: BalanceDialog) -> None:
        assert isinstance(dialog, BalanceDialog)
        text = dialog_text(dialog)
        print("\n" + text)
        assert "1_bob -> 15_bob" in text
        assert "Enter rename 1 folder · Esc cancel" in text
        assert "1 × 2 = 2 -> 15 × 2 = 30" in text
        assert "10_alice" in text and "unchanged" in text
        assert "samples per epoch: 32 -> 60" in text
        assert dialog.query_one(Input).value == "30"
        await pilot.press("backspace", "backspace", "6")
        text = dialog_text(dialog)
        assert "10_alice -> 2_alice" in text and "1_bob -> 3_bob" in text
        assert "samples per epoch: 32 -> 12" in text
        await pilot.press("backspace", "0")
        assert "at least 1" in dialog_text(dialog)
        await pilot.press("enter")  # nothing to apply: stays open
        assert app.screen is dialog
        await pilot.press("backspace", "backspace", *"2")
        assert "already balanced" not in dialog_text(dialog)
        await pilot.press("escape")
        assert app.results == [False]
        assert folders(train) == ["10_alice", "1_bob"]

    run_dialog(check, scan)


def test_balance_dialog_enter_renames_folders_and_undo_follows(tmp_path: Path) -> None:
    train, _reg = make_dataset(tmp_path)
    apply_plan(plan_edits(load_captions(train), [AddTags(["trig"], 0)]), train)  # a journal to follow
    scan = scan_dataset(train)

    async def check(app, pilot, dialog: BalanceDialog) -> None:
        await pilot.press("backspace", "backspace", "6", "enter")
        await pilot.pause()
        assert app.results == [True]
        assert folders(train) == ["2_alice", "3_bob"]

    run_dialog(check, scan)
    # the journal finds every caption the edit wrote, in the renamed folders
    assert len(undo_last(train).restored) == 6
    assert all(not p.read_text().startswith("trig") for p in train.glob("*/*.txt"))


def test_balance_dialog_already_balanced_and_conflicts(tmp_path: Path) -> None:
    scan = scan_of(tmp_path)
    train = scan.train_data_dir

    async def check(app, pilot, dialog: BalanceDialog) -> None:
        await pilot.press(*["backspace"] * 3, "6")
        await pilot.press("backspace", *"30")
        assert "15_bob" in dialog_text(dialog)
        (train / "15_bob").mkdir()  # appears after the scan: the plan cannot be applied
        await pilot.press("backspace", "0")  # re-plan sees it
        text = dialog_text(dialog)
        assert "15_bob already exists" in text
        print("\n" + "\n".join(screen_lines(app)))
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog and app.results == []
        assert "✗ nothing renamed: 1 conflict above" in dialog_text(dialog)
        assert "Traceback" not in dialog_text(dialog)
        assert folders(train) == ["10_alice", "15_bob", "1_bob"]
        await pilot.press("escape")
        assert app.results == [False]

    run_dialog(check, scan)


def test_balance_dialog_already_balanced(tmp_path: Path) -> None:
    for folder, count in (("2_a", 3), ("3_b", 2)):  # 2 × 3 = 6 and 3 × 2 = 6
        (tmp_path / folder).mkdir()
        for i in range(count):
            Image.new("RGB", (16, 16)).save(tmp_path / folder / f"{i}.png")

    async def check(app, pilot, dialog: BalanceDialog) -> None:
        print("\n" + "\n".join(screen_lines(app)))
        assert "already balanced" in dialog_text(dialog)
        assert "Enter close · Esc cancel" in dialog_text(dialog)
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [False]
        assert folders(tmp_path) == ["2_a", "3_b"]

    run_dialog(check, scan_dataset(tmp_path))


def test_balance_dialog_rename_error_is_one_line(tmp_path: Path, monkeypatch) -> None:
    import loratui.core.dataset.balance_record as record_module  # the dialog renames through record_and_rename

    scan = scan_of(tmp_path)

    def refuse(plan, **_kw) -> None:
        raise PermissionError(13, "Permission denied", str(plan[0].source))

    monkeypatch.setattr(record_module, "apply_renames", refuse)

    async def check(app, pilot, dialog: BalanceDialog) -> None:
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog and app.results == []
        error = dialog.query_one("#balance-error", Static).render().plain
        assert error.startswith("✗ nothing renamed: Permission denied: ") and error.endswith("1_bob")
        assert "\n" not in error
        await pilot.press("escape")
        assert app.results == [False]
        assert folders(scan.train_data_dir) == ["10_alice", "1_bob"]

    run_dialog(check, scan)
