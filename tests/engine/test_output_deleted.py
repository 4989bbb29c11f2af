"""The output folder deleted while a run goes on (`rm -rf` of a parent during caching or training): the
run made its saves into a folder that was no more and died of a FileNotFoundError at the epoch save,
its events and log written into the deleted files: no reason survived anywhere. Now it makes the
folder, the lock and the events file again (starting with its run_started), says so in a warning,
and finishes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from loratui.core.events import events_path, lock_path, read_events
from test_train import make_project, of, run


@pytest.mark.parametrize("check_every", [0.0, 3600.0], ids=["at-the-next-event", "at-the-save"])
def test_a_run_whose_output_folder_is_deleted_makes_it_again_says_so_and_finishes(
        tiny_sd1_dir, tmp_path, monkeypatch, check_every):
    from loratui.engine import run as run_module

    config = make_project(tmp_path, tiny_sd1_dir, **{"saving.output_dir": "some/new/deeper/out",
                                                     "saving.save_every_n_epochs": 1})
    out = tmp_path / "some" / "new" / "deeper" / "out"
    seen = {}
    on_step = run_module.Reporter.on_step

    def deleting(self, tr, **kwargs):
        if tr.step == 2:
            seen["started"] = of(read_events(events_path(out, "tiny")), "run_started")[0]
            assert lock_path(out, "tiny").exists()
            shutil.rmtree(tmp_path / "some" / "new")
        return on_step(self, tr, **kwargs)

    monkeypatch.setattr(run_module.Reporter, "on_step", deleting)
    monkeypatch.setattr(run_module.Run, "OUTPUT_CHECK_EVERY", check_every)
    code, events = run(config)
    assert code == 0
    assert (out / "tiny-000001.safetensors").is_file() and (out / "tiny.safetensors").is_file()
    # the events file made again starts with the run's own run_started, then says what happened
    assert events[0] == seen["started"]
    (warning,) = [e for e in of(events, "warning") if "deleted" in e["message"]]
    assert f"the output folder {out} was deleted while the run was going" in warning["message"]
    assert "made it again" in warning["message"] and "is gone" in warning["message"]
    assert of(events, "finished")[-1]["reason"] == "completed"
    saved = [e["path"] for e in of(events, "checkpoint_saved")]
    assert str(out / "tiny-000001.safetensors") in saved and str(out / "tiny.safetensors") in saved
    assert not lock_path(out, "tiny").exists()  # taken again, and released at the end


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="Linux: /proc names a descriptor's file")
def test_a_deleted_log_that_stdout_and_stderr_went_to_is_made_again(tmp_path):
    from loratui.engine.run import reopen_deleted_log

    log = tmp_path / "out" / "tiny.log"
    log.parent.mkdir()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    other = os.open(tmp_path / "other.log", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"before\n")
        assert not reopen_deleted_log(log, fds=(fd, other))  # not deleted: nothing moves
        shutil.rmtree(log.parent)
        log.parent.mkdir()
        assert reopen_deleted_log(log, fds=(fd, other))
        os.write(fd, b"after\n")
        assert log.read_bytes() == b"after\n"
        assert not reopen_deleted_log(Path(tmp_path / "elsewhere.log"), fds=(other,))
    finally:
        os.close(fd)
        os.close(other)
