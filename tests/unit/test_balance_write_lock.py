"""`dataset balance` and caption writes exclude each other (core.fsutil ``folder_lock``).

A caption apply, undo or redo holds TRAIN/.loratui/undo/write.lock; a balance renamed concept
folders with no lock, so a balance in a shell could move folders under a write running in the app.
Now apply_renames (a balance and its undo) takes the same lock file: refused with one line naming
the train folder, exit 2, nothing renamed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from loratui.core.captions import JournalBusyError, journal_lock
from loratui.core.captions import journal as edit_journal
from loratui.core.dataset import apply_renames, balance_plan, scan_dataset, undo_balance
from loratui.core.dataset import balance as balance_module
from loratui.core.dataset.balance import BalanceBusyError


def concept(root: Path, name: str, count: int) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    for i in range(count):
        Image.new("RGB", (16, 8)).save(folder / f"{i}.png")
        (folder / f"{i}.txt").write_text(f"tag{i}")


def folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


@pytest.fixture
def train(tmp_path) -> Path:
    concept(tmp_path, "10_a", 2)
    concept(tmp_path, "1_b", 4)
    return tmp_path


def test_cli_balance_is_refused_while_a_caption_write_holds_the_lock(train):
    before = folders(train)
    with journal_lock(train):  # a caption write running (the app, or `loratui tags` in another shell)
        done = subprocess.run([sys.executable, "-m", "loratui", "dataset", "balance", str(train), "--yes"],
                              capture_output=True, text=True, timeout=60, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert str(train) in lines[0] and "another loratui write is running" in lines[0]
    assert f"pid {os.getpid()}" in lines[0] and "nothing was renamed" in lines[0]
    assert folders(train) == before
    assert not (train / ".loratui" / "balance.json").exists()


def test_a_plain_dataset_gets_no_lock_folder(train):
    apply_renames(balance_plan(scan_dataset(train, None), 20))  # no journal yet: no write can be running
    assert not (train / ".loratui").exists()


def test_balance_and_its_undo_are_refused_while_locked_then_go(train, monkeypatch):
    monkeypatch.setattr(balance_module, "WRITE_LOCK_WAIT", 0.05)
    plan = balance_plan(scan_dataset(train, None), 20)
    before = folders(train)
    with journal_lock(train), pytest.raises(BalanceBusyError, match="nothing was renamed"):
        apply_renames(plan)
    assert folders(train) == before
    apply_renames(plan)  # free again
    after = folders(train)
    assert after != before
    with journal_lock(train), pytest.raises(BalanceBusyError):
        undo_balance(plan)
    assert folders(train) == after
    undo_balance(plan)
    assert folders(train) == before


def test_a_caption_write_is_refused_while_a_balance_holds_the_lock(train, monkeypatch):
    monkeypatch.setattr(edit_journal, "LOCK_WAIT", 0.05)
    (train / ".loratui" / "undo").mkdir(parents=True)  # captions were written here before
    with balance_module.train_write_lock(train):
        with pytest.raises(JournalBusyError, match="another loratui write"):
            with journal_lock(train):
                pass
