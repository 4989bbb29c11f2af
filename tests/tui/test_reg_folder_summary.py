"""The app on a reg folder opened on its own (`loratui reg`), and the balance dialog's reg fill.

`i` showed "Train samples per epoch: 12" for reg images and `b` offered to balance them ("1_woman ->
2_woman", "samples per epoch: 21 -> 27"), though sd-scripts pads or cuts reg images to the train
samples' count; on a project with reg images the dialog's "samples per epoch: 43 -> 90" left out the
reg samples that double both numbers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from PIL import Image
from textual.app import App, ComposeResult
from textual.widgets import Input, Static

from loratui.core.dataset import locate_dataset, scan_dataset
from loratui.tui.screens.balance_dialog import BalanceDialog
from loratui.tui.widgets.dataset_summary import DatasetSummary, summary_content


def images(folder: Path, count: int, captions: int = 0) -> None:
    folder.mkdir(parents=True)
    for i in range(count):
        Image.new("RGB", (16, 16)).save(folder / f"{i}.png")
        if i < captions:
            (folder / f"{i}.txt").write_text("tag\n")


def project(root: Path) -> Path:
    images(root / "img" / "10_alice woman", 3, 3)
    images(root / "img" / "1_style", 3, 3)
    images(root / "reg" / "1_woman", 6)
    images(root / "reg" / "2_man", 3, 2)
    return root


def reg_scan(root: Path):
    location = locate_dataset(project(root) / "reg")
    return location, scan_dataset(location.train_dir, location.reg_dir)


def test_the_summary_of_a_reg_folder_counts_reg_images_not_train_samples(tmp_path):
    _location, scan = reg_scan(tmp_path)
    text = summary_content(scan, width=60).plain
    print(text)
    assert "Train samples per epoch" not in text and "not in the table" not in text
    assert "Reg images: 9 in 2 folders" in text
    assert "repeated or cut to as many samples as the training images give" in " ".join(text.split())
    assert "Captions missing: 7 (class tokens used)" in text
    assert "0 warnings" in text and "7 info" in text
    assert "1_woman (reg)" in text and "2_man (reg)" in text


class SummaryHost(App):
    def __init__(self, scan, location) -> None:
        super().__init__()
        self.scan, self.store = scan, type("Store", (), {"location": location})()  # as the app's dataset store
        self.requests: list[object] = []

    def compose(self) -> ComposeResult:
        yield DatasetSummary(self.scan)

    def on_dataset_summary_balance_requested(self, message) -> None:
        self.requests.append(message)


def test_b_on_a_reg_folder_says_why_in_one_line_and_opens_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    location, scan = reg_scan(tmp_path)

    async def main() -> None:
        app = SummaryHost(scan, location)
        async with app.run_test(size=(80, 24)) as pilot:
            app.query_one(DatasetSummary).focus()
            await pilot.press("b")
            await pilot.pause()
            assert app.requests == [] and len(app.screen_stack) == 1
            said = [n.message for n in app._notifications]
            assert said == ["reg: reg folders are padded or cut to the train images' count: balancing them "
                            "changes nothing; balance the training folder img instead"]

    asyncio.run(main())


class DialogHost(App):
    def __init__(self, scan) -> None:
        super().__init__()
        self.scan = scan

    def on_mount(self) -> None:
        self.push_screen(BalanceDialog(self.scan))


def dialog_text(app: App) -> str:
    return "\n".join(static.render().plain for static in app.screen.query(Static) if not isinstance(static, Input))


def run_dialog(scan, check) -> None:
    async def main() -> None:
        app = DialogHost(scan)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, BalanceDialog)
            check(dialog_text(app))

    asyncio.run(main())


def test_the_dialog_names_the_reg_samples_that_come_along(tmp_path):
    project(tmp_path)

    def check(text: str) -> None:
        assert "samples per epoch: 33 -> 60 (+ as many reg samples: 66 -> 120 in all)" in text

    run_dialog(scan_dataset(tmp_path / "img", tmp_path / "reg"), check)


def test_the_dialog_on_a_reg_folder_is_refused_not_planned(tmp_path):
    _location, scan = reg_scan(tmp_path)

    def check(text: str) -> None:
        assert "reg folders are padded or cut to the train images' count" in text
        assert "->" not in text and "Enter rename" not in text

    run_dialog(scan, check)
