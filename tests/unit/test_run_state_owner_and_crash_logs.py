"""Which run a state folder belongs to (core/run_states.py ``newest_state``): a run named NAME-000002 (or
NAME-20240501) saves NAME-000002-state, the very name of NAME's epoch-2 state, so `r` must ask the state
itself (1); crash logs of processes crashing in the same second each get a file (3). No torch."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from loratui.core import crashlog
from loratui.core.run_states import newest_state, state_owner


def write_state(folder: Path, step: int, owner: str | None) -> Path:
    """A complete state folder; ``owner``: the output_name its state.json's config records (None: an
    older loratui's state.json, without the config)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("lora.safetensors", "optimizer.pt", "rng.pt"):
        (folder / name).write_bytes(b"x")
    info = {"format": 1, "step": step, "epoch": 1, "batches_done": 0}
    if owner is not None:
        info["config"] = {"saving": {"output_dir": "out", "output_name": owner}}
    (folder / "state.json").write_text(json.dumps(info))
    return folder


# ---- 1: another run's state is not resumed ----------------------------------------------------------------

def test_another_runs_state_with_a_date_like_name_is_not_resumed(tmp_path):
    write_state(tmp_path / "alice-state", 40, "alice")
    write_state(tmp_path / "alice-20240501-state", 900, "alice-20240501")  # the run alice-20240501's
    assert state_owner(tmp_path / "alice-20240501-state") == "alice-20240501"
    assert newest_state(tmp_path, "alice") == (tmp_path / "alice-state", tmp_path / "alice-state", 40)
    assert newest_state(tmp_path, "alice-20240501")[2] == 900
    write_state(tmp_path / "alice-000002-state", 80, "alice")  # alice's own epoch-2 state: newer, counts
    assert newest_state(tmp_path, "alice")[0] == tmp_path / "alice-000002-state"


def test_the_owner_is_read_from_the_folder_the_engine_reads(tmp_path):
    """A kill between the renames of a save: the complete .tmp is read, and so is its owner."""
    write_state(tmp_path / "tiny-state", 4, "tiny")
    write_state(tmp_path / "tiny-000002-state.tmp", 900, "tiny-000002")
    assert newest_state(tmp_path, "tiny")[2] == 4
    write_state(tmp_path / "tiny-step00000012-state.tmp", 12, "tiny")
    assert newest_state(tmp_path, "tiny") == (tmp_path / "tiny-step00000012-state",
                                              tmp_path / "tiny-step00000012-state.tmp", 12)


def test_older_states_without_an_owner_go_by_name_unless_in_doubt(tmp_path):
    write_state(tmp_path / "tiny-state", 40, None)
    write_state(tmp_path / "tiny-000002-state", 90, None)
    # nothing says otherwise: the newest by step, as before
    assert newest_state(tmp_path, "tiny")[0] == tmp_path / "tiny-000002-state"
    # a run named tiny-000002 left its files here: that state may be its, so tiny's own NAME-state
    (tmp_path / "tiny-000002.events.jsonl").write_text("")
    assert newest_state(tmp_path, "tiny") == (tmp_path / "tiny-state", tmp_path / "tiny-state", 40)
    assert newest_state(tmp_path, "tiny-000002")[2] == 90


def test_an_unrecorded_state_does_not_beat_one_recorded_as_the_runs(tmp_path):
    write_state(tmp_path / "tiny-state", 40, "tiny")
    write_state(tmp_path / "tiny-000002-state", 900, None)  # an older loratui's: a leftover, or another run's
    assert newest_state(tmp_path, "tiny")[2] == 40
    write_state(tmp_path / "tiny-state", 40, "someone-else")  # a copy of another run's state put here by hand
    assert newest_state(tmp_path, "tiny")[2] == 900  # no state is recorded as tiny's: the names decide


# ---- 3: crash logs of processes that crash at once -----------------------------------------------------

def _crash(cache: str, barrier, queue) -> None:
    import os

    os.environ["XDG_CACHE_HOME"] = cache
    try:
        raise RuntimeError(f"bug in process {os.getpid()}")
    except RuntimeError as exc:
        barrier.wait()
        queue.put(str(crashlog.write_crash_log(exc, kind="train-crash")))


def test_processes_crashing_in_the_same_second_each_get_their_own_log(tmp_path):
    context = multiprocessing.get_context("fork")
    for trial in range(3):
        cache = str(tmp_path / f"cache{trial}")
        barrier, queue = context.Barrier(4), context.Queue()
        processes = [context.Process(target=_crash, args=(cache, barrier, queue)) for _ in range(4)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(30)
        paths = [queue.get(timeout=5) for _ in processes]
        assert len(set(paths)) == 4, paths
        texts = [Path(p).read_text() for p in paths]
        assert all(t.count("RuntimeError: bug in process") == 1 for t in texts)


def test_a_taken_log_name_gets_a_number(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(crashlog.time, "strftime", lambda fmt: "20260101-000000")
    first = crashlog.write_crash_log(RuntimeError("one"))
    second = crashlog.write_crash_log(RuntimeError("two"))
    assert first.name == "crash-20260101-000000.log" and second.name == "crash-20260101-000000-2.log"
    assert "RuntimeError: one" in first.read_text() and "RuntimeError: two" in second.read_text()
