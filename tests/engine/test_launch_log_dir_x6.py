"""`train --processes N` when the cache folder cannot be written (a read-only home; here XDG_CACHE_HOME
names a file, since root writes through chmod): the ranks' logs go to a folder of the temp dir instead
(engine/launch.py launch_log_dir), and only when no folder can be made does the launch stop, in one line
naming the folder and XDG_CACHE_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest

from loratui.core.errors import LoratuiError
from loratui.engine import launch as launcher
from test_train import make_project
from test_train_processes_launch import FAILING_RANK_HOOK


@pytest.fixture
def cache_is_a_file(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return blocker, temp


def test_the_logs_go_to_the_cache_folder_when_it_can_be_written(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = launcher.launch_log_dir("train-launch-x")
    assert folder == tmp_path / "cache" / "loratui" / "train-launch-x" and folder.is_dir()


def test_an_unwritable_cache_folder_sends_the_logs_to_the_temp_dir(cache_is_a_file):
    _, temp = cache_is_a_file
    folder = launcher.launch_log_dir("train-launch-x")
    assert folder.parent == temp and folder.name.startswith("loratui-train-launch-x-") and folder.is_dir()


def test_no_writable_folder_at_all_is_one_line_naming_it_and_xdg_cache_home(cache_is_a_file, monkeypatch):
    blocker, _ = cache_is_a_file
    monkeypatch.setattr(tempfile, "tempdir", str(blocker))  # a file again: mkdtemp fails there too
    with pytest.raises(LoratuiError) as caught:
        launcher.launch_log_dir("train-launch-x")
    line = str(caught.value)
    assert "\n" not in line and str(blocker / "loratui" / "train-launch-x") in line
    assert line.endswith("set XDG_CACHE_HOME to a writable folder")


def _train(config, cwd, blocker, temp, *args, **env):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "XDG_CACHE_HOME": str(blocker), "TMPDIR": str(temp), **env}
    return subprocess.run([sys.executable, "-m", "loratui", "train", str(config), "--processes", "2", *args],
                          cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
def test_two_processes_train_with_an_unwritable_cache_and_leave_no_logs(tiny_sd1_dir, tmp_path, cache_is_a_file):
    blocker, temp = cache_is_a_file
    config = make_project(tmp_path / "p", tiny_sd1_dir)
    proc = _train(config, tmp_path / "p", blocker, temp, "--max-steps", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "p" / "out" / "tiny.safetensors").is_file()
    assert not list(temp.glob("loratui-train-launch-*")), "a launch that ended well keeps no logs"


@pytest.mark.slow
def test_a_failed_launch_names_its_log_in_the_temp_dir(tiny_sd1_dir, tmp_path, cache_is_a_file):
    blocker, temp = cache_is_a_file
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(FAILING_RANK_HOOK)
    config = make_project(tmp_path / "p", tiny_sd1_dir)
    path = os.pathsep.join(p for p in (str(hook), os.environ.get("PYTHONPATH", "")) if p)
    proc = _train(config, tmp_path / "p", blocker, temp, "--max-steps", "1", PYTHONPATH=path)
    assert proc.returncode == 1, proc.stderr[-3000:]
    log = proc.stderr.strip().splitlines()[-1].rsplit("its log: ", 1)[1].rstrip(")")
    assert log.startswith(str(temp / "loratui-train-launch-"))
    assert "injected failure in process 1" in open(log, encoding="utf-8").read()
