"""s16 F1: the balance's record-then-rename steps, the newest journal name and two small constants live in
core once (record_and_rename, newest_entry_name, WHERE_FLAGS, shown_name); the CLI and the app call them.
The undo record moved to core/dataset/balance_record.py; core.dataset's face is unchanged for callers."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

import loratui.core.dataset as dataset_face
from loratui.core.captions import WHERE_FLAGS, journal_dir, newest_entry_name
from loratui.core.dataset import balance_plan, last_balance, record_and_rename, scan_dataset, shown_name

RECORD = Path(".loratui") / "balance.json"


def concept(root: Path, name: str, count: int) -> None:
    (root / name).mkdir(parents=True)
    for i in range(count):
        Image.new("RGB", (8, 8)).save(root / name / f"{i}.png")


def folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if not p.name.startswith("."))


def test_the_newest_entry_name_counts_reserved_names_and_only_entries(tmp_path):
    assert newest_entry_name(tmp_path) is None  # no journal
    journal = journal_dir(tmp_path)
    (journal / "redo").mkdir(parents=True)
    assert newest_entry_name(tmp_path) is None  # a journal with no entry yet
    (journal / "000001.json").write_text("{}")
    (journal / "000002.json").write_text("")  # reserved by a killed apply: still the newest name
    (journal / "000009.json.writing").write_text("")  # a marker, not an entry
    (journal / "notes.json").write_text("{}")  # not an entry
    (journal / "redo" / "000007.json").write_text("{}")  # undone: not on the undo stack
    assert newest_entry_name(tmp_path) == "000002.json"


def test_record_and_rename_keeps_the_newest_journal_name(tmp_path):
    concept(tmp_path, "10_a", 1)
    concept(tmp_path, "1_b", 4)
    journal = journal_dir(tmp_path)
    journal.mkdir(parents=True)
    (journal / "000003.json").write_text("{}")
    plan = balance_plan(scan_dataset(tmp_path), target=4)
    record_and_rename(tmp_path, plan, newest_entry_name(tmp_path))
    assert folders(tmp_path) == ["1_b", "4_a"]
    assert last_balance(tmp_path)[1] == "000003.json"


def test_an_interrupt_during_the_renames_drops_the_new_record(tmp_path, monkeypatch):
    import loratui.core.dataset.balance as balance

    concept(tmp_path, "10_a", 1)
    concept(tmp_path, "1_b", 4)
    plan = balance_plan(scan_dataset(tmp_path), target=4)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(balance, "_rename_in_order", interrupted)
    with pytest.raises(KeyboardInterrupt):
        record_and_rename(tmp_path, plan, None)
    assert folders(tmp_path) == ["10_a", "1_b"]
    assert not (tmp_path / RECORD).exists() and not (tmp_path / ".loratui").exists()  # nothing left behind


def test_core_dataset_still_exports_every_balance_name():
    names = {"Rename", "apply_renames", "balance_plan", "balance_recorded_at", "balance_still_applied",
             "balance_target", "forget_balance", "last_balance", "no_balance_undo_line", "nothing_to_balance_line",
             "plan_conflicts", "record_balance", "reg_balance_refusal", "reg_fills", "samples_change_line",
             "undo_balance", "record_and_rename", "BalanceNotRecordedError", "shown_name"}
    assert names <= set(dataset_face.__all__)
    assert all(hasattr(dataset_face, name) for name in names)


def test_the_balance_modules_stay_under_500_lines():
    folder = Path(dataset_face.__file__).parent
    for name in ("balance.py", "balance_record.py"):
        assert len((folder / name).read_text(encoding="utf-8").splitlines()) < 500, name


def test_the_filter_box_flags_and_the_shown_names_are_cores():
    from loratui.core.captions.filter import FLAGS
    from loratui.tui.services.dataset_filter import WHERE_FLAGS as box_flags

    assert box_flags is WHERE_FLAGS is FLAGS  # one list: a new --where flag reaches the filter box too
    assert shown_name("a.png") == "a.png" and shown_name("a\nb.png") == repr("a\nb.png")
