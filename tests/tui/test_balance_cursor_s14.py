"""Hunt h6 (s14) in the app: after a Balance the cursor stays on its image (finding 1); one unreadable
concept folder leaves the others listed and is named (2); the Balance dialog's errors name the folder
to make writable (4), its own target field (8b) and the next step for a flat folder (8f).

An unreadable folder is simulated by making os.scandir refuse it, so the tests also run as root."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset, run_dataset_app
from PIL import Image
from textual.widgets import Static

from loratui.core.dataset import scan_dataset
from loratui.tui.screens.balance_dialog import BalanceDialog
from tests.tui.test_dataset_summary import dialog_text, run_dialog

# 1_b (1 image) sorts before 2_a (4 images); the balance (target 8) renames 1_b to 8_b, which sorts after
CAPTIONS = {"1_b/b0.png": "bee", **{f"2_a/a{i}.png": f"ay{i}" for i in range(4)}}


def cursor_on(app, name: str) -> None:
    """The Dataset table's cursor on the image called ``name``."""
    row = next(r for r in app.store.rows if r.name == name)
    assert app.screen.table.move_cursor_to_key(id(row))


def folders(img: Path) -> list[str]:
    return sorted(p.name for p in img.iterdir() if p.is_dir() and not p.name.startswith("."))


def test_after_a_balance_the_cursor_and_a_typed_tag_stay_with_the_image(tmp_path):
    root = make_dataset(tmp_path / "proj", CAPTIONS)
    img = root / "img"

    async def scenario(app, pilot):
        screen = app.screen
        cursor_on(app, "b0.png")
        await pilot.pause()
        await pilot.press("a", *"forB", "escape", "escape")  # typed, never entered: kept in the add box
        await pilot.press("i", "b")
        await until(pilot, lambda: isinstance(app.screen, BalanceDialog), "the balance dialog")
        await pilot.press("enter")
        await until(pilot, lambda: folders(img) == ["2_a", "8_b"], "the folders renamed")
        await until(pilot, lambda: any(r.folder == "8_b" for r in app.store.rows), "the rescan")
        await until(pilot, lambda: screen.table.cursor_row is not None and screen.table.cursor_row.caption is not None,
                    "the captions")
        assert screen.table.cursor_row.image == img / "8_b" / "b0.png"
        await pilot.press("a", "enter")  # what the add box kept goes to the image it was typed for
        await until(pilot, lambda: "forB" in (img / "8_b" / "b0.txt").read_text(), "the tag written")
        assert all("forB" not in (img / "2_a" / f"a{i}.txt").read_text() for i in range(4))

    run_dataset_app(tmp_path, root, scenario)



def test_ctrl_z_after_a_balance_keeps_the_cursor_on_the_image_too(tmp_path):
    root = make_dataset(tmp_path / "proj", CAPTIONS)
    img = root / "img"

    async def scenario(app, pilot):
        screen = app.screen
        cursor_on(app, "b0.png")
        await pilot.press("i", "b")
        await until(pilot, lambda: isinstance(app.screen, BalanceDialog), "the balance dialog")
        await pilot.press("enter")
        await until(pilot, lambda: any(r.folder == "8_b" for r in app.store.rows), "the rescan")
        await pilot.press("escape", "ctrl+z")  # the summary closed, then the balance undone
        await until(pilot, lambda: folders(img) == ["1_b", "2_a"], "the folders renamed back")
        await until(pilot, lambda: any(r.folder == "1_b" for r in app.store.rows), "the rescan after the undo")
        await until(pilot, lambda: screen.table.cursor_row is not None
                    and screen.table.cursor_row.image == img / "1_b" / "b0.png", "the cursor on b0.png")

    run_dataset_app(tmp_path, root, scenario)

def test_an_unreadable_concept_folder_leaves_the_others_listed_and_is_named(tmp_path, monkeypatch):
    root = make_dataset(tmp_path / "proj", CAPTIONS)
    bad = os.path.abspath(root / "img" / "1_b")
    real = os.scandir

    def scandir(path="."):  # a chmod 000 folder, for a user other than root
        if os.path.abspath(os.fspath(path)) == bad:
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)

    async def scenario(app, pilot):
        screen = app.screen
        assert sorted(r.name for r in app.store.rows) == ["a0.png", "a1.png", "a2.png", "a3.png"]
        assert all(r.caption is not None for r in app.store.rows)  # their captions loaded too
        notes = [str(n.message) for n in app._notifications]
        assert any("1_b" in note and "chmod u+rx" in note for note in notes), notes
        assert "no images in" not in str(screen.query_one("#status").render())
        assert [p.path.name for p in app.store.scan.problems if p.kind == "unreadable_folder"] == ["1_b"]
        await pilot.press("i")
        await pilot.pause()
        summary = str(screen.query_one("#summary-pane").query_one("#summary-body", Static).render())
        assert "1_b" in summary and "chmod u+rx" in summary
        await pilot.press("b")  # its repeats and images are unknown: the balance is refused, as in a shell
        await until(pilot, lambda: isinstance(app.screen, BalanceDialog), "the balance dialog")
        assert "chmod u+rx" in dialog_text(app.screen)
        await pilot.press("enter", "escape")
        assert sorted(p.name for p in (root / "img").iterdir() if not p.name.startswith(".")) == ["1_b", "2_a"]

    run_dataset_app(tmp_path, root, scenario, size=(120, 40))


def two_concepts(root: Path) -> Path:
    for name, count in (("10_a", 2), ("1_b", 5)):
        (root / name).mkdir(parents=True)
        for i in range(count):
            Image.new("RGB", (16, 16)).save(root / name / f"{i}.png")
    return root


def test_the_dialog_names_the_folder_to_make_writable(tmp_path, monkeypatch):
    train = two_concepts(tmp_path / "img")
    scan = scan_dataset(train)

    def refuse(src, dst):  # a train folder without write permission, for a user other than root
        raise PermissionError(errno.EACCES, "Permission denied", os.fspath(src), os.fspath(dst))

    monkeypatch.setattr(os, "rename", refuse)

    async def check(app, pilot, dialog: BalanceDialog) -> None:
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog and app.results == []
        error = dialog.query_one("#balance-error", Static).render().plain
        assert f"{train}: cannot rename" in error and f"chmod u+w {train}" in error, error
        assert error.count("nothing") == 1 and "\n" not in error
        await pilot.press("escape")

    run_dialog(check, scan)
    assert sorted(p.name for p in train.iterdir()) == ["10_a", "1_b"]


def test_the_dialog_names_its_own_target_field_and_the_next_step_for_a_flat_folder(tmp_path):
    scan = scan_dataset(two_concepts(tmp_path / "img"))

    async def too_big(app, pilot, dialog: BalanceDialog) -> None:
        await pilot.press(*"9" * 12)
        text = dialog_text(dialog)
        assert "--target" not in text and "Target samples per concept" in text.split("pick a smaller")[1]
        await pilot.press("escape")

    run_dialog(too_big, scan)

    flat = tmp_path / "flat"
    flat.mkdir()
    Image.new("RGB", (8, 8)).save(flat / "x.png")

    async def nothing(app, pilot, dialog: BalanceDialog) -> None:
        assert "loratui dataset init" in dialog_text(dialog)
        await pilot.press("escape")

    run_dialog(nothing, scan_dataset(flat))
