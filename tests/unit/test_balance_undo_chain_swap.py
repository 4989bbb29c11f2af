"""A recorded balance that is a chain (2_a -> 4_a -> 8_a) or a swap (2_a <-> 4_a) can be renamed back
after a restart (last_balance refused both: a chain's or swap's old names are taken by the plan's own
folders), in a safe order, a swap parking one folder only for a moment."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from PIL import Image

from loratui.core.dataset import (
    apply_renames, balance_plan, balance_still_applied, forget_balance, last_balance, record_and_rename, scan_dataset,
    undo_balance,
)


def concept(root: Path, name: str, count: int) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for i in range(count):
        Image.new("RGB", (8, 8)).save(folder / f"{name}-{i}.png")  # the file names say where it came from
    return folder


def layout(root: Path) -> dict[str, list[str]]:
    return {p.name: sorted(f.name for f in p.iterdir()) for p in sorted(root.iterdir()) if not p.name.startswith(".")}


def recording_renames(monkeypatch) -> list[str]:
    real_rename, names = os.rename, []

    def rename(src, dst):
        names.append(os.path.basename(dst))
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    return names


def test_a_chain_is_recorded_and_renamed_back(tmp_path, monkeypatch):
    concept(tmp_path, "2_a", 4)
    concept(tmp_path, "4_a", 2)
    before = layout(tmp_path)
    plan = balance_plan(scan_dataset(tmp_path), target=16)
    assert sorted(str(r) for r in plan) == ["2_a -> 4_a", "4_a -> 8_a"]
    record_and_rename(tmp_path, plan, None)  # recorded, then renamed (what the CLI and the app do)
    loaded, _ = last_balance(tmp_path)  # was None: 4_a (a source) exists again, as the chain's middle
    names = recording_renames(monkeypatch)
    back = undo_balance(loaded)
    assert names == ["2_a", "4_a"]  # 4_a frees its name first; nothing parked
    assert sorted(str(r) for r in back) == ["4_a -> 2_a", "8_a -> 4_a"]
    assert layout(tmp_path) == before


def test_a_swap_is_recorded_and_renamed_back_parking_one_folder(tmp_path, monkeypatch):
    concept(tmp_path, "2_a", 2)
    concept(tmp_path, "4_a", 4)
    before = layout(tmp_path)
    plan = balance_plan(scan_dataset(tmp_path), target=8)
    assert sorted(str(r) for r in plan) == ["2_a -> 4_a", "4_a -> 2_a"]
    record_and_rename(tmp_path, plan, "000002.json")
    assert layout(tmp_path) != before
    loaded, after = last_balance(tmp_path)
    assert after == "000002.json" and len(loaded) == 2
    names = recording_renames(monkeypatch)
    undo_balance(loaded)
    parked = [n for n in names if n.startswith(".loratui-balance-")]
    assert len(names) == 3 and len(parked) == 1  # one folder hidden for a moment, not both
    assert layout(tmp_path) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".loratui-balance-")]


def test_a_swap_swapped_back_by_hand_is_no_longer_the_record(tmp_path):
    """Same names, other folders under them: ctrl+z must not swap them a third time."""
    concept(tmp_path, "2_a", 2)
    concept(tmp_path, "4_a", 4)
    plan = balance_plan(scan_dataset(tmp_path), target=8)
    record_and_rename(tmp_path, plan, None)
    assert last_balance(tmp_path) is not None
    (tmp_path / "2_a").rename(tmp_path / "x")
    (tmp_path / "4_a").rename(tmp_path / "2_a")
    (tmp_path / "x").rename(tmp_path / "4_a")
    assert balance_still_applied(plan)  # the names alone cannot tell
    assert last_balance(tmp_path) is None
    forget_balance(tmp_path)


def test_a_record_without_inodes_still_reads(tmp_path):
    """Records written before the inodes were kept have five fields per rename."""
    import json

    concept(tmp_path, "2_a", 4)
    concept(tmp_path, "4_a", 2)
    plan = balance_plan(scan_dataset(tmp_path), target=16)
    apply_renames(plan)
    record = {"after_entry": None, "renames": [[r.source.name, r.dest.name, r.old_repeats, r.new_repeats, r.images]
                                               for r in plan]}
    (tmp_path / ".loratui").mkdir()
    (tmp_path / ".loratui" / "balance.json").write_text(json.dumps(record))
    assert last_balance(tmp_path) is not None


def test_a_chain_renamed_back_by_hand_is_no_longer_the_record(tmp_path):
    concept(tmp_path, "2_a", 4)
    concept(tmp_path, "4_a", 2)
    plan = balance_plan(scan_dataset(tmp_path), target=16)
    record_and_rename(tmp_path, plan, None)
    (tmp_path / "4_a").rename(tmp_path / "2_a")
    (tmp_path / "8_a").rename(tmp_path / "4_a")
    assert last_balance(tmp_path) is None


def test_sigterm_during_the_renames_waits_until_every_folder_has_its_name(tmp_path):
    """A kill (SIGTERM, an SSH hang-up) between two renames would leave a swap's parked folder hidden:
    it is held until the renames end, then the process ends as it was told."""
    concept(tmp_path, "2_a", 2)
    concept(tmp_path, "4_a", 4)
    before = layout(tmp_path)
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from loratui.core.dataset import apply_renames, balance_plan, scan_dataset

        root = Path({str(tmp_path)!r})
        plan = balance_plan(scan_dataset(root), target=8)
        real = os.rename

        def rename(src, dst):
            real(src, dst)
            if os.path.basename(dst).startswith(".loratui-balance-"):
                os.kill(os.getpid(), signal.SIGTERM)  # right after parking a folder

        os.rename = rename
        apply_renames(plan)
        print("not reached")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == -15 and "not reached" not in done.stdout, done.stderr
    after = layout(tmp_path)
    assert sorted(after) == ["2_a", "4_a"] and after["2_a"] == before["4_a"] and after["4_a"] == before["2_a"]
