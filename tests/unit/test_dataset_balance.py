"""balance_plan is pure arithmetic on a scan; apply_renames never clobbers and rolls back."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from loratui.core.captions import follow_folder_renames
from loratui.core.dataset import apply_renames, balance_plan, balance_target, plan_conflicts, scan_dataset
from loratui.core.errors import LoratuiError


def concept(root: Path, name: str, count: int) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for i in range(count):
        Image.new("RGB", (8, 8)).save(folder / f"{i}.png")
    return folder


def test_default_target_is_largest_concept(tmp_path):
    concept(tmp_path, "10_a", 4)  # 40 samples
    concept(tmp_path, "2_b", 10)  # 20
    concept(tmp_path, "1_c", 80)  # 80
    scan = scan_dataset(tmp_path)
    assert balance_target(scan) == 80
    plan = balance_plan(scan)
    assert [str(r) for r in plan] == ["10_a -> 20_a", "2_b -> 8_b"]
    assert [r.new_samples for r in plan] == [80, 80]


def test_explicit_target_rounds_and_keeps_at_least_one(tmp_path):
    concept(tmp_path, "10_a", 3)
    concept(tmp_path, "5_b", 200)
    plan = balance_plan(scan_dataset(tmp_path), target=100)
    assert [(r.source.name, r.dest.name, r.new_samples) for r in plan] == [
        ("10_a", "33_a", 99),
        ("5_b", "1_b", 200),
    ]


def test_unchanged_empty_and_reg_folders_are_left_alone(tmp_path):
    concept(tmp_path / "img", "4_a", 5)
    concept(tmp_path / "img", "2_b", 10)
    (tmp_path / "img" / "9_empty").mkdir()
    concept(tmp_path / "reg", "1_dog", 3)
    scan = scan_dataset(tmp_path / "img", tmp_path / "reg")
    assert balance_plan(scan) == []


def test_name_after_prefix_is_kept(tmp_path):
    concept(tmp_path, "3_sks dog_v2", 2)
    concept(tmp_path, "007", 1)  # no class tokens, no underscore
    plan = balance_plan(scan_dataset(tmp_path), target=12)
    assert sorted(str(r) for r in plan) == ["007 -> 12", "3_sks dog_v2 -> 6_sks dog_v2"]


def test_bad_target(tmp_path):
    concept(tmp_path, "1_a", 1)
    with pytest.raises(LoratuiError, match="at least 1"):
        balance_plan(scan_dataset(tmp_path), target=0)


def test_a_target_past_the_repeat_limit_is_refused_in_integers(tmp_path):
    """--target 99999999999999999999999 renamed 2_dup to 99999999999999991611392_dup (a float), which the
    scan then left out; dataset init took --repeats 99999999999."""
    from loratui.core.dataset import init_project

    concept(tmp_path / "img", "2_dup", 3)
    concept(tmp_path / "img", "1_ok", 2)
    scan = scan_dataset(tmp_path / "img")
    with pytest.raises(LoratuiError, match=r"needs [0-9,]+ repeats for (2_dup|1_ok) .* 10,000: pick a smaller --target; nothing was renamed"):
        balance_plan(scan, target=99999999999999999999999)
    assert sorted(str(r) for r in balance_plan(scan, target=20000)) == ["1_ok -> 10000_ok", "2_dup -> 6667_dup"]
    with pytest.raises(LoratuiError, match="--repeats 99,999,999,999 is more than the 10,000"):
        init_project(tmp_path / "p", concept="x", repeats=99999999999)
    assert not (tmp_path / "p").exists()


def test_apply_renames(tmp_path):
    concept(tmp_path, "10_a", 4)
    concept(tmp_path, "1_b", 20)
    plan = balance_plan(scan_dataset(tmp_path))
    assert [str(r) for r in plan] == ["1_b -> 2_b"]  # 10 x 4 = 40 is the target
    apply_renames(plan)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["10_a", "2_b"]
    assert len(list((tmp_path / "2_b").iterdir())) == 20
    assert balance_plan(scan_dataset(tmp_path)) == []


def test_undo_of_earlier_tag_edits_follows_renamed_folders(tmp_path):
    from loratui.core.captions import AddTags, apply_plan, load_captions, plan_edits, undo_last

    for name, count in (("10_a", 4), ("1_b", 20)):
        folder = concept(tmp_path, name, count)
        for image in folder.iterdir():
            image.with_suffix(".txt").write_text("solo\n")
    apply_plan(plan_edits(load_captions(tmp_path), [AddTags(["trig"], 0)]), tmp_path)
    renames = balance_plan(scan_dataset(tmp_path))  # 1_b -> 2_b
    apply_renames(renames)
    follow_folder_renames((r.source, r.dest) for r in renames)
    result = undo_last(tmp_path)
    assert len(result.restored) == 24 and not result.conflicts
    assert {p.read_text() for p in tmp_path.glob("*/*.txt")} == {"solo\n"}


def test_a_journal_further_up_follows_too(tmp_path):
    from loratui.core.captions import AddTags, apply_plan, load_captions, plan_edits, undo_last

    img = tmp_path / "img"
    for name, count in (("10_a", 4), ("1_b", 20)):
        for image in concept(img, name, count).iterdir():
            image.with_suffix(".txt").write_text("solo\n")
    apply_plan(plan_edits(load_captions(tmp_path, recursive=True), [AddTags(["trig"], 0)]), tmp_path)
    renames = balance_plan(scan_dataset(img))  # img/1_b -> img/2_b, journal in tmp_path
    apply_renames(renames)
    follow_folder_renames((r.source, r.dest) for r in renames)
    assert len(undo_last(tmp_path).restored) == 24
    assert {p.read_text() for p in img.glob("*/*.txt")} == {"solo\n"}


def test_swap_works_through_temporary_names(tmp_path):
    concept(tmp_path, "2_a", 4)
    concept(tmp_path, "4_a", 2)
    scan = scan_dataset(tmp_path)
    plan = balance_plan(scan, target=16)  # 2_a (4 imgs) -> 4_a, 4_a (2 imgs) -> 8_a
    assert sorted(str(r) for r in plan) == ["2_a -> 4_a", "4_a -> 8_a"]
    assert plan_conflicts(plan) == []
    apply_renames(plan)
    assert len(list((tmp_path / "4_a").iterdir())) == 4
    assert len(list((tmp_path / "8_a").iterdir())) == 2


def test_existing_destination_blocks_everything(tmp_path):
    concept(tmp_path, "10_a", 4)
    concept(tmp_path, "1_b", 20)
    scan = scan_dataset(tmp_path)
    plan = balance_plan(scan)
    (tmp_path / "2_b").mkdir()  # appears after the scan
    assert plan_conflicts(plan)
    with pytest.raises(LoratuiError, match="already exists"):
        apply_renames(plan)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["10_a", "1_b", "2_b"]


def test_two_folders_landing_on_one_name_is_a_conflict(tmp_path):
    concept(tmp_path, "2_a", 3)
    concept(tmp_path, "4_a", 3)
    plan = balance_plan(scan_dataset(tmp_path), target=9)
    assert {r.dest.name for r in plan} == {"3_a"}
    assert any("both" in c for c in plan_conflicts(plan))
    with pytest.raises(LoratuiError):
        apply_renames(plan)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2_a", "4_a"]


def test_failure_midway_rolls_back(tmp_path, monkeypatch):
    import os

    concept(tmp_path, "2_a", 4)
    concept(tmp_path, "4_a", 2)
    concept(tmp_path, "1_c", 1)
    plan = balance_plan(scan_dataset(tmp_path), target=16)
    real_rename = os.rename
    calls = []

    def flaky(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # the first folder is renamed already
            raise OSError(5, "disk on fire")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", flaky)
    with pytest.raises(OSError):
        apply_renames(plan)
    monkeypatch.setattr(os, "rename", real_rename)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1_c", "2_a", "4_a"]
    assert len(list((tmp_path / "2_a").iterdir())) == 4


def _fake_scan(counts: list[int], repeats: list[int]):
    from loratui.core.dataset import DatasetScan, ImageEntry, Subset

    subsets = [
        Subset(Path(f"/d/{r}_c{i}"), f"{r}_c{i}", r, f"c{i}", False,
               [ImageEntry(Path(f"/d/{r}_c{i}/{j}.png"), 8, 8, None) for j in range(n)])
        for i, (n, r) in enumerate(zip(counts, repeats))
    ]
    return DatasetScan(Path("/d"), None, ".txt", subsets, [])


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 300), st.integers(1, 50)), min_size=1, max_size=6),
    st.one_of(st.none(), st.integers(1, 5000)),
)
def test_plan_brings_every_concept_close_to_target(folders, target):
    scan = _fake_scan([n for n, _ in folders], [r for _, r in folders])
    goal = target if target is not None else max(n * r for n, r in folders)
    try:
        plan = {r.source: r for r in balance_plan(scan, target)}
    except LoratuiError as exc:  # a folder would need more repeats than a folder name may say
        assert "the most a folder may say is 10,000" in str(exc)
        assert any(round(goal / n) > 10_000 for n, _ in folders)
        return
    for subset in scan.train_subsets:
        rename = plan.get(subset.path)
        repeats = rename.new_repeats if rename else subset.repeats
        assert repeats >= 1
        if rename:
            assert rename.new_repeats != rename.old_repeats
            assert rename.dest.name.split("_", 1)[1] == subset.class_tokens
        # nearest integer repeats: within half an image-set of the goal, unless clamped at 1
        assert abs(repeats * subset.num_images - goal) <= subset.num_images / 2 or repeats == 1


def _recording_renames(monkeypatch):
    import os

    real_rename, names = os.rename, []

    def rename(src, dst):
        names.append(os.path.basename(dst))
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    return names


def test_renames_go_straight_to_their_names_when_the_order_allows(tmp_path, monkeypatch):
    """hunt9: a kill between the two passes left every concept under a hidden name: scan, app and
    training dropped them. A chain (2_a -> 4_a -> 8_a) needs no parking: 4_a moves first."""
    concept(tmp_path, "2_a", 4)
    concept(tmp_path, "4_a", 2)
    names = _recording_renames(monkeypatch)
    apply_renames(balance_plan(scan_dataset(tmp_path), target=16))
    assert names == ["8_a", "4_a"]


def test_a_swap_parks_under_names_that_end_in_the_destination(tmp_path, monkeypatch):
    concept(tmp_path, "2_a", 2)
    concept(tmp_path, "4_a", 4)
    plan = balance_plan(scan_dataset(tmp_path), target=8)
    assert sorted(str(r) for r in plan) == ["2_a -> 4_a", "4_a -> 2_a"]
    names = _recording_renames(monkeypatch)
    apply_renames(plan)
    parked = [n for n in names if n.startswith(".loratui-balance-")]
    assert len(parked) == 1 and parked[0].rsplit("-", 1)[1] in {"2_a", "4_a"}  # one folder of the cycle parks
    assert len(list((tmp_path / "4_a").iterdir())) == 2 and len(list((tmp_path / "2_a").iterdir())) == 4


def test_the_scan_names_a_folder_a_killed_balance_left_with_the_command_that_finishes_it(tmp_path):
    concept(tmp_path, "10_b", 2)
    concept(tmp_path, ".loratui-balance-4242-0-100_a", 3)
    concept(tmp_path, ".loratui-balance-4242-1", 1)  # an older version's name: no destination in it
    problems = [p for p in scan_dataset(tmp_path).problems if p.kind == "interrupted_balance"]
    assert len(problems) == 2 and all(p.severity == "error" for p in problems)
    text = " | ".join(p.message for p in problems)
    assert "finish it with `mv " in text and "/100_a`" in text and "rename it to a free N_name" in text


def test_the_last_balance_is_kept_only_while_its_folders_hold_the_new_names(tmp_path):
    from loratui.core.dataset import forget_balance, last_balance, record_and_rename

    concept(tmp_path, "10_a", 4)
    concept(tmp_path, "5_b", 2)
    plan = balance_plan(scan_dataset(tmp_path))
    record_and_rename(tmp_path, plan, "000003.json")
    loaded, after = last_balance(tmp_path)
    assert [str(r) for r in loaded] == [str(r) for r in plan] and after == "000003.json"
    (tmp_path / plan[0].dest).rename(tmp_path / plan[0].source)  # renamed back by hand
    assert last_balance(tmp_path) is None
    forget_balance(tmp_path)
    assert last_balance(tmp_path) is None and not (tmp_path / ".loratui" / "balance.json").exists()


def test_the_scan_names_a_caption_temp_file_a_killed_write_left(tmp_path):
    """hunt9: kill -9 during a bulk write left .x.txt.abcd1234.tmp files that nothing ever mentioned."""
    import os
    import time

    folder = concept(tmp_path, "10_a", 1)
    old = folder / ".0.txt.ab12cd34.tmp"
    young = folder / ".0.txt.zz99yy88.tmp"
    other = folder / ".notes.md.ab12cd34.tmp"
    for path in (old, young, other):
        path.write_text("a, b\n")
    os.utime(old, (time.time() - 600, time.time() - 600))
    os.utime(other, (time.time() - 600, time.time() - 600))
    found = [p for p in scan_dataset(tmp_path).problems if p.kind == "leftover_temp_file"]
    assert [p.path.name for p in found] == [old.name] and found[0].severity == "info"
    assert "delete it" in found[0].message
