"""K3: a balance is recorded before any folder is renamed (record_balance; record_and_rename), so a
full disk refuses it with one line (the record, the free space, the fix) and nothing moves, in a shell
and in the app; renames that fail after the record drop it again and put back the one it replaced."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from fixtures.cli_run import run_main
from fixtures.small_disk import full_disk_for_the_balance_record as full_disk_for_the_record
from loratui.core.dataset import (
    BalanceNotRecordedError, apply_renames, balance_plan, forget_balance, last_balance, record_and_rename,
    record_balance, scan_dataset, undo_balance,
)
from loratui.core.errors import LoratuiError

RECORD = Path(".loratui") / "balance.json"


def concept(root: Path, name: str, count: int) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for i in range(count):
        Image.new("RGB", (8, 8)).save(folder / f"{name}-{i}.png")
    return folder


def layout(root: Path) -> dict[str, list[str]]:
    return {p.name: sorted(f.name for f in p.iterdir()) for p in sorted(root.iterdir()) if not p.name.startswith(".")}


# ---- core ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("target, expected", [(16, ["2_a -> 4_a", "4_a -> 8_a"]),  # a chain
                                              (8, ["2_a -> 4_a", "4_a -> 2_a"])])  # a swap
def test_a_chain_or_swap_recorded_before_the_renames_is_renamed_back(tmp_path, target, expected):
    """After a chain or swap a source name holds another folder: the inodes come from the sources,
    read before anything moves (a rename keeps them)."""
    concept(tmp_path, "2_a", 4 if target == 16 else 2)
    concept(tmp_path, "4_a", 2 if target == 16 else 4)
    before = layout(tmp_path)
    plan = balance_plan(scan_dataset(tmp_path), target=target)
    assert sorted(str(r) for r in plan) == expected
    record_balance(tmp_path, plan, "000001.json")
    assert last_balance(tmp_path) is None  # nothing renamed yet: not a balance to undo
    apply_renames(plan)
    loaded, after = last_balance(tmp_path)
    assert after == "000001.json" and sorted(str(r) for r in loaded) == expected
    undo_balance(loaded)
    assert layout(tmp_path) == before


def test_a_record_that_cannot_be_written_raises_naming_the_file_and_the_free_space(tmp_path, monkeypatch):
    concept(tmp_path, "10_a", 1)
    concept(tmp_path, "1_b", 4)
    plan = balance_plan(scan_dataset(tmp_path))
    renames = full_disk_for_the_record(monkeypatch)
    with pytest.raises(OSError) as caught:
        record_balance(tmp_path, plan, None)
    line = caught.value.strerror
    assert caught.value.errno == errno.ENOSPC and "\n" not in line
    assert line.startswith(f"{tmp_path / RECORD}: cannot record the balance (the disk is full), so nothing was renamed")
    assert "free some space on the disk mounted at" in line and "(0 bytes free)" in line
    assert renames == [] and not (tmp_path / RECORD).exists()
    with pytest.raises(BalanceNotRecordedError) as refused:  # a LoratuiError: the CLI's one line, exit 2
        record_and_rename(tmp_path, plan, None)
    assert str(refused.value) == line and isinstance(refused.value, LoratuiError)
    assert renames == [] and not (tmp_path / RECORD).exists()


def test_renames_that_fail_after_the_record_put_the_earlier_record_back(tmp_path):
    concept(tmp_path, "10_a", 2)
    concept(tmp_path, "5_b", 2)
    first = balance_plan(scan_dataset(tmp_path), target=10)  # 10_a -> 5_a
    record_and_rename(tmp_path, first, None)
    recorded_at = (tmp_path / RECORD).stat().st_mtime - 100
    os.utime(tmp_path / RECORD, (recorded_at, recorded_at))
    earlier = last_balance(tmp_path)
    assert earlier is not None
    second = balance_plan(scan_dataset(tmp_path), target=20)
    (tmp_path / "10_b").mkdir()  # taken (5_b -> 10_b): recorded, then the renames refuse, nothing moves
    with pytest.raises(LoratuiError):
        record_and_rename(tmp_path, second, None)  # drops its record: the one it replaced is put back
    assert last_balance(tmp_path) == earlier  # ctrl+z still renames the first balance back
    assert (tmp_path / RECORD).stat().st_mtime == pytest.approx(recorded_at)  # weighed against reg changes
    assert "replaces" not in json.loads((tmp_path / RECORD).read_text())
    forget_balance(tmp_path, renames_failed=True)  # none replaced now: the record goes
    assert not (tmp_path / RECORD).exists()


# ---- the CLI ------------------------------------------------------------------------------------------

def test_dataset_balance_on_a_full_disk_renames_nothing_and_says_so_in_one_line(tmp_path, monkeypatch, capsys):
    root = tmp_path / "img"
    concept(root, "10_a", 1)
    concept(root, "1_b", 4)
    before = layout(root)
    renames = full_disk_for_the_record(monkeypatch)
    code, out, err = run_main(["dataset", "balance", root, "--yes"], capsys)
    assert code == 2, err
    line = err.strip()
    assert "\n" not in line and line.startswith(f"error: {root / RECORD}: cannot record the balance (the disk is full)")
    assert "nothing was renamed" in line and "(0 bytes free)" in line
    assert renames == [] and layout(root) == before and "renamed 1 folder(s)" not in out


def test_dataset_balance_whose_renames_fail_leaves_no_record(tmp_path, monkeypatch, capsys):
    import loratui.core.dataset.balance as balance

    root = tmp_path / "img"
    concept(root, "10_a", 1)
    concept(root, "1_b", 4)

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(root / "1_b"))

    monkeypatch.setattr(balance, "_rename_in_order", refused)
    code, _out, err = run_main(["dataset", "balance", root, "--yes"], capsys)
    assert code == 2 and "permission denied" in err and "nothing was renamed" in err
    assert not (root / RECORD).exists() and not (root / ".loratui").exists()  # nothing new left behind
