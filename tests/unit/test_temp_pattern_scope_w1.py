"""Review r1 item 1: a long name's temp stand-in (``.HEAD~HASH.EXT.xxxxxxxx.tmp``) keeps only ~200 bytes of
the name, and the stale-temp cleanup took any stand-in of the extension as its own. A run's start then
deleted another run's LoRA save while it was being written (the run lock covers one run name only), and a
user's hidden ``.notes~<16 hex>.safetensors.bak.tmp``. A stand-in now counts only when it is tied to the
caller's targets (its head is the run's name, or it is exactly the temp of a listed caption), has mkstemp's
exact shape, and a LoRA stand-in tied by its head alone is left until no live write can own it."""

from __future__ import annotations

import os
import time
from pathlib import Path

from PIL import Image

from loratui.core.dataset import scan_dataset
from loratui.core.fsutil import atomic_temp_pattern, temp_prefix
from loratui.engine.state import SHARED_HEAD_AGE_S, leftovers

CAT = "猫"  # 3 bytes in UTF-8


def _temp_of(target: Path, random: str = "ab12cd_4", age_s: float = 0.0) -> Path:
    """The temp file core.fsutil's atomic write of ``target`` makes (mkstemp: 8 random characters)."""
    temp = target.parent / f"{temp_prefix(target, '.tmp')}{random}.tmp"
    temp.write_bytes(b"x" * 64)
    if age_s:
        past = time.time() - age_s
        os.utime(temp, (past, past))
    return temp


def test_another_runs_in_flight_save_and_a_users_file_are_not_this_runs_leftovers(tmp_path):
    """The r1 repro: run B (a 218-byte name, accepted by config check) is writing a step save; run A starts."""
    other = "b" * 218
    in_flight = _temp_of(tmp_path / f"{other}-step00000010.safetensors")
    assert "~" in in_flight.name  # B's temp is a stand-in
    users = tmp_path / ".notes~0123456789abcdef.safetensors.bak.tmp"
    users.write_text("mine")
    old = time.time() - 3600
    os.utime(users, (old, old))
    assert leftovers(tmp_path, "a") == []
    # a run whose name shares B's first 212 bytes cannot tell B's temp from its own: never while it may be live
    assert leftovers(tmp_path, "b" * 219) == []
    assert in_flight.exists() and users.exists()


def test_a_stand_in_tied_by_its_head_alone_waits_until_no_live_write_can_own_it(tmp_path):
    name = "n" * 230
    step = _temp_of(tmp_path / f"{name}-step00000010.safetensors", age_s=SHARED_HEAD_AGE_S - 60)
    assert leftovers(tmp_path, name) == []  # maybe another run with this head, still writing
    past = time.time() - SHARED_HEAD_AGE_S - 1
    os.utime(step, (past, past))
    assert leftovers(tmp_path, name) == [step]  # this run's killed save: removed at its start
    assert leftovers(tmp_path, "m" * 230) == []  # another run's name: never


def test_the_final_saves_stand_in_is_known_exactly_and_found_at_once(tmp_path):
    name = "f" * 240  # NAME.safetensors needs a stand-in; its hash names the whole target
    final = _temp_of(tmp_path / f"{name}.safetensors")
    assert "~" in final.name and leftovers(tmp_path, name) == [final]
    assert leftovers(tmp_path, name[:-1] + "g") == []  # the same head, another name: the hash tells them apart


def test_only_mkstemps_exact_shape_is_a_stand_in(tmp_path):
    name = "s" * 230
    pattern = atomic_temp_pattern(rf"{name}(?:-\d{{6}}|-step\d{{8}})?\.safetensors", owner=f"{name}-")
    prefix = temp_prefix(tmp_path / f"{name}-000003.safetensors", ".tmp")
    assert pattern.whose(f"{prefix}ab12cd34.tmp") == "head"
    for random in ("bak", "AB12CD34", "ab12cd345", "ab12-d34"):  # not what mkstemp writes
        assert not pattern.match(f"{prefix}{random}.tmp"), random
    assert not pattern.match(f"{prefix[:-1]}.png.ab12cd34.tmp")  # another kind of file
    # a head too short to be a stand-in's (they keep ~200 bytes), though NAME starts with it
    assert not pattern.match(".sss~0123456789abcdef.safetensors.ab12cd34.tmp")


def _concept(root: Path, stems: list[str]) -> Path:
    folder = root / "2_x"
    folder.mkdir(parents=True)
    for stem in stems:
        Image.new("RGB", (8, 8)).save(folder / f"{stem}.png")
    return folder


def test_a_caption_stand_in_counts_only_for_a_caption_of_that_folder(tmp_path):
    root = tmp_path / "img"
    long_stem = CAT * 80  # 244-byte caption name: its temp is a stand-in
    folder = _concept(root, [long_stem, "a"])
    (folder / "a.txt").write_text("x")
    ours = _temp_of(folder / f"{long_stem}.txt", age_s=600)  # a killed write of the image's new caption
    theirs = _temp_of(folder / f"{CAT * 79}x.txt", age_s=600)  # the same head: no such caption or image here
    unlisted = _temp_of(folder / f"{'q' * 240}.txt", age_s=600)
    found = leftovers(tmp_path / "out", "run", [root], ".txt")
    assert found == [ours]
    scanned = [p.path for p in scan_dataset(root).problems if p.kind == "leftover_temp_file"]
    assert scanned == [ours] and theirs.exists() and unlisted.exists()


def test_a_caption_stand_in_of_an_existing_caption_and_the_usual_temps_still_count(tmp_path):
    root = tmp_path / "img"
    long_stem = "c" * 239
    folder = _concept(root, ["a"])
    (folder / f"{long_stem}.txt").write_text("x")  # an orphan caption being rewritten
    rewritten = _temp_of(folder / f"{long_stem}.txt", age_s=600)
    usual = _temp_of(folder / "a.txt", age_s=600)  # ".a.txt.ab12cd_4.tmp"
    young = _temp_of(folder / "a.txt", random="zz99yy88")
    assert sorted(leftovers(tmp_path / "out", "run", [root], ".txt")) == sorted([rewritten, usual])
    assert young.exists()
