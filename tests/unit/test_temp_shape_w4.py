"""Temp-file leftovers, W4: only mkstemp's exact shape (8 characters of [a-z0-9_]) is a loratui temp file,
full-length names too (a user's ``.notes.txt.bak.tmp`` was removed by a run start and a scan); a run named
``a`` no longer takes the temps of a run named ``a-000001`` / ``a-step00000500`` (same file names) while that
run's lock is live, nor young ones without a lock; a stand-in's head ties it to a run only when what follows
the run's name in it can be a save's or a sample's suffix (``a-`` + 230 bytes is another run)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

from loratui.core import fsutil, temp_names
from loratui.core.dataset import scan_dataset
from loratui.core.fsutil import leftover_temp_files, temp_prefix
from loratui.core.run_lock import RunLock, lock_path
from loratui.engine.state import SHARED_HEAD_AGE_S, leftovers

OLD = 3600.0


def _file(path: Path, age_s: float = 0.0) -> Path:
    path.write_bytes(b"x" * 16)
    if age_s:
        past = time.time() - age_s
        os.utime(path, (past, past))
    return path


def _temp_of(target: Path, random: str = "ab12cd_4", age_s: float = 0.0) -> Path:
    return _file(target.parent / f"{temp_prefix(target, '.tmp')}{random}.tmp", age_s)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_temp_name_pieces_live_in_temp_names_and_fsutil_re_exports_them():
    for name in ("temp_prefix", "atomic_temp_pattern", "AtomicTempNames", "names_for_ext", "leftover_temp_files",
                 "name_max", "NAME_MAX"):
        assert getattr(fsutil, name) is getattr(temp_names, name), name
    assert len(Path(fsutil.__file__).read_text(encoding="utf-8").splitlines()) < 500


def test_a_users_bak_tmp_beside_a_caption_is_not_a_leftover(tmp_path):
    root = tmp_path / "img"
    folder = root / "2_x"
    folder.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(folder / "notes.png")
    (folder / "notes.txt").write_text("a cat")
    users = [_file(folder / n, OLD) for n in (".notes.txt.bak.tmp", ".notes.txt.ab12cd3.tmp",
                                               ".notes.txt.ab12cd345.tmp", ".notes.txt.AB12CD34.tmp")]
    killed = _temp_of(folder / "notes.txt", age_s=OLD)
    assert leftovers(tmp_path / "out", "run", [root], ".txt") == [killed]
    scanned = [p.path for p in scan_dataset(root).problems if p.kind == "leftover_temp_file"]
    assert scanned == [killed] and all(p.exists() for p in users)


def test_a_config_drafts_leftovers_are_mkstemps_shape_only(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("a = 1\n")
    _file(tmp_path / ".config.toml.bak.tmp", OLD)
    killed = _temp_of(config, age_s=OLD)
    assert leftover_temp_files(config) == [killed]


def test_a_live_run_named_like_a_save_keeps_its_temps(tmp_path):
    out = tmp_path
    saves = [_temp_of(out / "a-000001.safetensors", age_s=OLD), _temp_of(out / "a-step00000500.safetensors", age_s=OLD)]
    state = out / "a-000001-state.tmp"
    state.mkdir()  # a-000001's state save, half written (its write takes minutes: old by now)
    os.utime(state, (time.time() - OLD, time.time() - OLD))
    locks = [RunLock(lock_path(out, "a-000001")), RunLock(lock_path(out, "a-step00000500"))]
    for lock in locks:
        assert lock.acquire() is None  # this process: live
    try:
        assert leftovers(out, "a") == []
    finally:
        for lock in locks:
            lock.release()
    lock_path(out, "a-000001").write_text(f"{_dead_pid()} -\n")  # a dead pid's lock is stale
    assert sorted(leftovers(out, "a")) == sorted([*saves, state])


def test_without_a_lock_a_temp_another_run_may_own_waits_the_min_age(tmp_path):
    out = tmp_path
    young = _temp_of(out / "a-000001.safetensors")
    own_final = _temp_of(out / "a.safetensors", random="zz99yy88")  # only run a writes a.safetensors: at once
    (out / "a-step00000500-state.tmp").mkdir()
    assert leftovers(out, "a") == [own_final]
    past = time.time() - 61
    for path in (young, out / "a-step00000500-state.tmp"):
        os.utime(path, (past, past))
    assert sorted(leftovers(out, "a")) == sorted([own_final, young, out / "a-step00000500-state.tmp"])


def test_a_stand_in_of_a_longer_run_name_is_not_a_short_runs(tmp_path):
    out = tmp_path
    (out / "sample").mkdir()
    lora = _temp_of(out / f"a-{'z' * 230}-000002.safetensors", age_s=OLD)
    sample = _temp_of(out / "sample" / f"a_{'z' * 230}_000005_00_20261202064450.png", age_s=OLD)
    assert "~" in lora.name and "~" in sample.name
    assert leftovers(out, "a") == []
    assert lora.exists() and sample.exists()


def test_a_stand_in_whose_head_a_live_run_shares_is_left_even_when_old(tmp_path):
    name = "n" * 230
    step = _temp_of(tmp_path / f"{name}-step00000010.safetensors", age_s=SHARED_HEAD_AGE_S + 60)
    other = RunLock(lock_path(tmp_path, name + "x"))  # the same first 212 bytes, writing now
    assert other.acquire() is None
    try:
        assert leftovers(tmp_path, name) == []
    finally:
        other.release()
    assert leftovers(tmp_path, name) == [step]


def test_copy_whole_writes_through_an_mkstemp_temp_and_never_takes_over_a_users_file(tmp_path):
    from loratui.engine.outputs import copy_whole

    source = _file(tmp_path / "src.safetensors")
    users = tmp_path / ".a-000003.safetensors.tmp"  # once copy_whole's fixed temp name: written over, deleted
    users.write_text("mine")
    target = copy_whole(source, tmp_path / "a-000003.safetensors")
    assert target.read_bytes() == source.read_bytes() and users.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".a-000003.safetensors.tmp", "a-000003.safetensors",
                                                                 "src.safetensors"])
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
