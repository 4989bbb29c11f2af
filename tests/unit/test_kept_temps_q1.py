"""Review r3 item 2: the temp of a killed copy of the final (engine/outputs.py ``copy_whole``: a resume's
NAME-kept-stepN[-k].safetensors, a fresh run's NAME-kept-<time>/NAME.safetensors) was never removed by run
NAME's start (its leftovers pattern did not know the name), while a run named NAME-kept took the first after
60 s without asking whether run NAME, the one copying, was live. Run NAME now takes them (the kept-step one
at the min age: a run so named, or NAME-kept, may own it), and no run takes a temp whose name is, or starts
with, a live run's name and "-"."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from loratui.core.fsutil import temp_prefix
from loratui.core.run_lock import RunLock, lock_path
from loratui.engine.state import (SHARED_HEAD_AGE_S, kept_folder_temps, leftovers, remove_leftovers,
                                  removed_leftovers_line)

OLD = 3600.0


def _aged(path: Path, age_s: float) -> Path:
    past = time.time() - age_s
    os.utime(path, (past, past))
    return path


def _temp_of(target: Path, age_s: float = 0.0) -> Path:
    """A temp as core.fsutil's atomic writes and copy_whole make it (mkstemp beside the target)."""
    fd, name = tempfile.mkstemp(prefix=temp_prefix(target, ".tmp"), suffix=".tmp", dir=target.parent)
    os.write(fd, b"x" * 16)
    os.close(fd)
    return _aged(Path(name), age_s) if age_s else Path(name)


def _killed_copy(target: Path, scratch: Path) -> Path:
    """copy_whole killed mid-copy (SIGKILL: no finally runs): its source is a FIFO no one writes, so the
    copy blocks with its mkstemp temp made. Returns that temp."""
    fifo = scratch / "source.fifo"
    os.mkfifo(fifo)
    code = ("import sys; from pathlib import Path; from loratui.engine.outputs import copy_whole; "
            "copy_whole(Path(sys.argv[1]), Path(sys.argv[2]))")
    child = subprocess.Popen([sys.executable, "-c", code, str(fifo), str(target)])
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            temps = [p for p in target.parent.iterdir() if p.name.startswith(f".{target.name}.")]
            if temps:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("copy_whole made no temp")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        fifo.unlink()
    assert len(temps) == 1 and temps[0].name.endswith(".tmp")
    return temps[0]


def test_r3_repro_run_name_takes_its_kept_copys_temp_and_name_kept_does_not_while_name_is_live(tmp_path):
    out = tmp_path
    kept = _temp_of(out / "lora-kept-step00000500.safetensors", OLD)
    kept_2 = _temp_of(out / "lora-kept-step00000500-2.safetensors", OLD)  # _free's -2 when the name was taken
    save = _temp_of(out / "lora-000002.safetensors", OLD)
    final = _temp_of(out / "lora.safetensors", OLD)
    assert sorted(leftovers(out, "lora")) == sorted([kept, kept_2, save, final])
    copying = RunLock(lock_path(out, "lora"))
    assert copying.acquire() is None  # run lora (this process) is live: making that copy now
    try:
        assert leftovers(out, "lora-kept") == []  # was: its kept-step temp, after 60 s
    finally:
        copying.release()
    # run lora is gone: an old temp a run named lora-kept may own (its step save) is a leftover to it too
    assert leftovers(out, "lora-kept") == [kept]


def test_a_young_kept_copy_temp_waits_the_min_age_a_run_so_named_may_own_it(tmp_path):
    out = tmp_path
    young = _temp_of(out / "lora-kept-step00000500.safetensors")
    assert leftovers(out, "lora") == []
    _aged(young, 61)
    assert leftovers(out, "lora") == [young]
    for live_name in ("lora-kept-step00000500", "lora-kept"):  # its final's temp; its step save's temp
        other = RunLock(lock_path(out, live_name))
        assert other.acquire() is None
        try:
            assert leftovers(out, "lora") == [], live_name
        finally:
            other.release()


def test_a_live_run_claims_its_own_name_and_the_names_it_starts_with_a_dash(tmp_path):
    out = tmp_path
    save = _temp_of(out / "a-000001.safetensors", OLD)
    state = out / "a-000001-state.tmp"
    state.mkdir()
    _aged(state, OLD)
    for live_name, kept in (("a-000001", []), ("a-00000", [save, state]), ("a-000001-kept", [save, state])):
        other = RunLock(lock_path(out, live_name))  # "a-00000-" / "a-000001-kept-" start none of these names
        assert other.acquire() is None
        try:
            assert sorted(leftovers(out, "a")) == sorted(kept), live_name
        finally:
            other.release()


def test_a_long_names_kept_copy_stand_in_is_tied_to_it_by_its_head(tmp_path):
    # the stand-in keeps the name's first 212 bytes: NAME and the start of "-kept-step..."
    for size, suffix, head_tail in ((210, "-2", "-k"), (209, "-10", "-ke")):
        name = "n" * size
        temp = _temp_of(tmp_path / f"{name}-kept-step00000500{suffix}.safetensors", SHARED_HEAD_AGE_S + 60)
        assert "~" in temp.name and temp.name.startswith(f".{name}{head_tail}~")
        assert leftovers(tmp_path, name) == [temp]
        assert leftovers(tmp_path, "m" * size) == []
        temp.unlink()


def test_a_killed_copy_of_the_final_leaves_a_temp_the_next_start_removes(tmp_path):
    scratch = tmp_path / "scratch"
    out = tmp_path / "out"
    scratch.mkdir()
    out.mkdir()
    in_out = _killed_copy(out / "lora-kept-step00000500.safetensors", scratch)  # run_resume._keep_previous_final
    folder = out / "lora-kept-20261202-080000-2"  # move_last_run_aside's copy of the final
    folder.mkdir()
    in_folder = _killed_copy(folder / "lora.safetensors", scratch)
    assert kept_folder_temps(out, "lora") == [in_folder]
    assert leftovers(out, "lora") == [in_folder]  # in OUTPUT_DIR: a run so named may own it, for a minute
    _aged(in_out, 61)
    found = leftovers(out, "lora")
    assert sorted(found) == sorted([in_out, in_folder])
    count, _ = remove_leftovers(found)
    assert count == 2 and not in_out.exists() and not in_folder.exists()
    assert f"lora-kept-20261202-080000-2/{in_folder.name}" in removed_leftovers_line(found, out, count, 32)


def test_only_run_names_own_kept_folders_and_copy_temps_are_taken(tmp_path):
    out = tmp_path
    own = out / "lora-kept-20261202-080000"
    own.mkdir()
    users = [own / n for n in (".lora.safetensors.bak.tmp", ".notes.txt.ab12cd34.tmp")]
    for path in users:
        path.write_text("mine")
        _aged(path, OLD)
    others = []
    for folder in ("lora-kept-20261202-080000-kept-20261202-090000",  # run lora-kept-20261202-080000's
                   "lora-x-kept-20261202-080000", "lora-kept-2026"):
        (out / folder).mkdir()
        others.append(_temp_of(out / folder / "lora.safetensors", OLD))
    linked = out / "lora-kept-20261202-100000"
    linked.symlink_to(out / "lora-x-kept-20261202-080000")  # a link is not a folder this run made
    assert kept_folder_temps(out, "lora") == []
    long_name = "f" * 230  # NAME.safetensors needs a stand-in there: known by its exact hash
    long_folder = out / f"{long_name}-kept-20261202-080000"
    long_folder.mkdir()
    stand_in = _temp_of(long_folder / f"{long_name}.safetensors")
    assert "~" in stand_in.name and kept_folder_temps(out, long_name) == [stand_in]
    assert kept_folder_temps(out, long_name[:-1] + "g") == []
    assert all(p.exists() for p in [*users, *others])
