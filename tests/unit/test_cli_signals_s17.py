"""The CLI under signals, read-only file systems and a full stdout (hunt h2, findings F2, F3, F5, F6)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from loratui import cli
from loratui.core.temp_names import remove_leftover_temps

SRC = Path(__file__).resolve().parents[2] / "src"


def _dataset(root: Path, count: int = 4) -> Path:
    concept = root / "img" / "1_a"
    concept.mkdir(parents=True)
    for i in range(count):
        (concept / f"im{i:05d}.png").write_bytes(b"x")
        (concept / f"im{i:05d}.txt").write_text("a, b\n")
    return root / "img"


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(SRC), "HF_HUB_OFFLINE": "1", "LORATUI_DEBUG": ""}


def _main(args: list[str]) -> int:
    with pytest.raises(SystemExit) as stop:
        cli.main(args)
        raise SystemExit(0)
    return stop.value.code


class _ReadOnlyStat:
    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        value = getattr(self._real, name)
        return value | os.ST_RDONLY if name == "f_flag" else value


@pytest.fixture
def mounted_ro(tmp_path, monkeypatch):
    """tmp_path as on a file system mounted ro: files stay 0644, os.access(W_OK) fails (EROFS), statvfs says so."""
    real_statvfs, real_access = os.statvfs, os.access

    def under(path) -> bool:
        return os.path.abspath(os.fspath(path)).startswith(str(tmp_path))

    def fake_access(path, mode, *args, **kwargs):
        if mode & os.W_OK and under(path):
            return False
        return real_access(path, mode, *args, **kwargs)

    def fake_statvfs(path):
        return _ReadOnlyStat(real_statvfs(path)) if under(path) else real_statvfs(path)

    def arm():
        monkeypatch.setattr(os, "access", fake_access)
        monkeypatch.setattr(os, "statvfs", fake_statvfs)
    return arm


def test_tags_add_on_a_read_only_file_system_names_it(tmp_path, mounted_ro, capsys):
    images = _dataset(tmp_path)
    mounted_ro()
    assert _main(["tags", "add", str(images), "new", "--yes"]) == 2
    err = capsys.readouterr().err
    assert "is read-only (mounted ro): nothing was written; remount it rw or copy the project elsewhere" in err
    assert "chmod" not in err and "--force" not in err
    assert (images / "1_a" / "im00000.txt").read_text() == "a, b\n"


def test_tags_undo_on_a_read_only_file_system_names_it(tmp_path, mounted_ro, capsys):
    images = _dataset(tmp_path)
    assert _main(["tags", "add", str(images), "new", "--yes"]) == 0
    mounted_ro()
    capsys.readouterr()
    assert _main(["tags", "undo", str(images), "--yes"]) == 2
    err = capsys.readouterr().err
    assert "read-only (mounted ro)" in err and "chmod" not in err


def test_caption_on_a_read_only_file_system_refused_before_the_model(tmp_path, mounted_ro, capsys):
    images = _dataset(tmp_path)
    mounted_ro()
    # the model folder does not exist: the refusal comes before anything looks at it
    assert _main(["caption", "wd14", str(images), "--model", str(tmp_path / "no-model")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "read-only (mounted ro)" in err[0], err


def test_a_0444_caption_on_a_writable_disk_still_says_chmod(tmp_path, capsys):
    images = _dataset(tmp_path)
    (images / "1_a" / "im00000.txt").chmod(0o444)
    if os.access(images / "1_a" / "im00000.txt", os.W_OK) and os.geteuid() != 0:
        pytest.skip("mode bits not honoured here")
    assert _main(["tags", "add", str(images), "new", "--yes"]) == 2
    assert "chmod u+w" in capsys.readouterr().err


def test_leftover_temps_of_the_caption_shape_only_are_removed(tmp_path):
    folder = tmp_path / "1_a"
    folder.mkdir()
    (folder / "im1.png").write_bytes(b"x")
    old = folder / ".im1.txt.abcd1234.tmp"
    young = folder / ".im2.txt.abcd5678.tmp"
    users = [folder / ".notes.txt.bak.tmp", folder / ".im1.png.abcd1234.tmp", folder / "im1.txt.abcd1234.tmp"]
    for path in [old, young, *users]:
        path.write_bytes(b"")
    past = time.time() - 3600
    for path in [old, *users]:
        os.utime(path, (past, past))
    assert remove_leftover_temps(tmp_path, [".txt"]) == [old]
    assert young.exists() and all(path.exists() for path in users)


def test_tags_undo_removes_what_a_killed_write_left(tmp_path, capsys):
    images = _dataset(tmp_path)
    assert _main(["tags", "add", str(images), "new", "--yes"]) == 0
    leftover = images / "1_a" / ".im00001.txt.x1y2z3w4.tmp"
    leftover.write_bytes(b"")
    os.utime(leftover, (time.time() - 600, time.time() - 600))
    assert _main(["tags", "undo", str(images), "--yes"]) == 0
    assert not leftover.exists()
    assert "removed 1 temp file(s)" in capsys.readouterr().err


_KILLED_WRITE = textwrap.dedent("""
    import os, signal, sys, time
    import loratui.core.captions.journal as journal
    signal.signal(getattr(signal, sys.argv[1]), signal.SIG_DFL)  # under nohup SIGHUP comes in ignored, kept so
    real, calls = journal.atomic_write_bytes, []
    def slow(path, data, **kw):
        calls.append(path)
        if len(calls) == 5:
            os.kill(os.getpid(), getattr(signal, sys.argv[1]))
        time.sleep(0.01)
        return real(path, data, **kw)
    journal.atomic_write_bytes = slow
    from loratui.cli import main
    main(["tags", "add", sys.argv[2], "new", "--yes"])
""")


@pytest.mark.parametrize("name, code", [("SIGTERM", 143), ("SIGHUP", 129)])
def test_sigterm_during_a_tags_write_stops_as_ctrl_c_does(tmp_path, name, code):
    images = _dataset(tmp_path, 200)
    done = subprocess.run([sys.executable, "-c", _KILLED_WRITE, name, str(images)], capture_output=True, text=True,
                          env=_env(), timeout=120)
    assert done.returncode == code, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("interrupted") and "tags undo" in last, done.stderr
    assert "Traceback" not in done.stderr
    assert [p.name for p in (images / "1_a").iterdir() if p.name.endswith(".tmp")] == []


def test_stdout_on_a_full_disk_is_named(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    images = _dataset(tmp_path)
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "loratui", "tags", "freq", str(images)], stdout=full,
                              stderr=subprocess.PIPE, text=True, env=_env(), timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: standard output could not be written (disk full: /dev/full): free some space or send the output "
        "elsewhere, and run it again"]


_CTRL_C_WHILE_IMPORTING = textwrap.dedent("""
    import os, runpy, signal, sys, time
    class Hook:
        def find_spec(self, name, path, target=None):
            if name == "loratui.commands.options":
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1)
            return None
    sys.meta_path.insert(0, Hook())
    sys.argv = ["loratui", "tags", "freq", "."]
    runpy.run_module("loratui", run_name="__main__")
""")


def test_ctrl_c_while_importing_is_one_line():
    done = subprocess.run([sys.executable, "-c", _CTRL_C_WHILE_IMPORTING], capture_output=True, text=True,
                          env=_env(), timeout=120)
    assert (done.returncode, done.stderr) == (130, "interrupted\n")


def test_importing_the_cli_leaves_python_s_ctrl_c():
    assert signal.getsignal(signal.SIGINT) is not cli._quiet_interrupt


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_top_level_help_on_a_closed_pipe_exits_141(flag):
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "loratui", flag], stdout=write, stderr=subprocess.PIPE,
                              text=True, env=_env(), timeout=120)
    finally:
        os.close(write)
    assert done.returncode == 141, done.stderr
    assert "stdout closed (broken pipe): stopped" in done.stderr


@pytest.mark.parametrize("command", ["steps", "vram"])
def test_help_lists_exit_130(command, capsys):
    assert _main([command, "--help"]) == 0
    assert "130" in capsys.readouterr().out


_AFTER_THE_COMMAND = textwrap.dedent("""
    import atexit, signal, sys
    atexit.register(lambda: print("ignored" if signal.getsignal(signal.SIGINT) is signal.SIG_IGN else "live",
                                  file=sys.stderr))
    sys.argv = ["loratui", "--version"]
    from loratui.cli import main
    main()
""")


def test_ctrl_c_after_the_command_finished_does_not_change_its_exit_code():
    done = subprocess.run([sys.executable, "-c", _AFTER_THE_COMMAND], capture_output=True, text=True, env=_env(),
                          timeout=120)
    assert (done.returncode, done.stderr.strip()) == (0, "ignored")
