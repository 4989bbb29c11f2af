"""K3 in the app: the Balance dialog records the balance before renaming (so ctrl+z can always rename
the folders back); a full disk refuses it in one line naming the record and the free space, nothing
moves and the dialog stays open; a balance that goes through is on disk at once."""

from __future__ import annotations

import errno
from pathlib import Path

from fixtures.pilot_wait import until
from fixtures.small_disk import full_disk_for_the_balance_record
from fixtures.tui_dataset import make_dataset, run_dataset_app
from textual.widgets import Static

from loratui.tui.screens.balance_dialog import BalanceDialog

CAPTIONS = {"1_b/b0.png": "bee", **{f"2_a/a{i}.png": f"ay{i}" for i in range(4)}}  # balance: 1_b -> 8_b


def folders(img: Path) -> list[str]:
    return sorted(p.name for p in img.iterdir() if p.is_dir() and not p.name.startswith("."))


def test_a_full_disk_refuses_the_balance_in_one_line_and_renames_nothing(tmp_path, monkeypatch):
    root = make_dataset(tmp_path / "proj", CAPTIONS)
    img = root / "img"
    async def scenario(app, pilot):
        await pilot.press("i", "b")
        await until(pilot, lambda: isinstance(app.screen, BalanceDialog), "the balance dialog")
        dialog = app.screen
        renames = full_disk_for_the_balance_record(monkeypatch, renamed_in=img)
        await pilot.press("enter")
        await pilot.pause()
        error = dialog.query_one("#balance-error", Static).render().plain
        assert app.screen is dialog and "\n" not in error
        assert error.startswith(f"✗ {img / '.loratui' / 'balance.json'}: cannot record the balance (the disk is full)")
        assert "nothing was renamed" in error and "(0 bytes free)" in error
        assert renames == [] and folders(img) == ["1_b", "2_a"]
        monkeypatch.undo()  # space freed: the same Enter goes through, and ctrl+z renames back
        await pilot.press("enter")
        await until(pilot, lambda: folders(img) == ["2_a", "8_b"], "the folders renamed")
        assert (img / ".loratui" / "balance.json").is_file()
        await until(pilot, lambda: any(r.folder == "8_b" for r in app.store.rows), "the rescan")
        await pilot.press("escape", "ctrl+z")
        await until(pilot, lambda: folders(img) == ["1_b", "2_a"], "the folders renamed back")

    run_dataset_app(tmp_path, root, scenario)


def test_renames_refused_after_the_record_leave_no_record(tmp_path, monkeypatch):
    import loratui.core.dataset.balance as balance

    root = make_dataset(tmp_path / "proj", CAPTIONS)
    img = root / "img"

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(img / "1_b"))

    async def scenario(app, pilot):
        await pilot.press("i", "b")
        await until(pilot, lambda: isinstance(app.screen, BalanceDialog), "the balance dialog")
        monkeypatch.setattr(balance, "_rename_in_order", refused)
        await pilot.press("enter")
        await pilot.pause()
        error = app.screen.query_one("#balance-error", Static).render().plain
        assert "permission denied" in error and "nothing was renamed" in error
        assert folders(img) == ["1_b", "2_a"] and not (img / ".loratui" / "balance.json").exists()

    run_dataset_app(tmp_path, root, scenario)
