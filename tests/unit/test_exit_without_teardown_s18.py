"""A command that imported torch ends without Python's seconds of teardown (core/process_exit.py), and
nothing else about its end changes: exit codes, stdout fully written, our atexit cleanups run.

Each test runs `loratui PROBE` in a subprocess, PROBE being a test command added to the CLI's table; a
module named torch is put in sys.modules (the real one in one test). The witness: an object whose
__del__ runs only in Python's module teardown says "teardown ran" on stderr.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from loratui.core import process_exit

SRC = Path(__file__).resolve().parents[2] / "src"
LINES = 5000  # more than a pipe or a file buffer holds: the end of stdout is written at the exit
TEARDOWN = "teardown ran"

_PROBE = textwrap.dedent("""
    import atexit, os, signal, sys, threading, time, types
    import click
    torch_kind, name, mode, marker = sys.argv[1:5]
    if torch_kind == "fake":
        sys.modules["torch"] = types.ModuleType("torch")
    elif torch_kind == "real":
        import torch

    class Witness:
        def __del__(self):
            os.write(2, b"teardown ran\\n")

    witness = Witness()
    from loratui import cli
    from loratui.core.errors import LoratuiError

    def cleanup():
        with open(marker, "w") as handle:
            handle.write("cleaned")
        print("said at exit")  # stdout still written after the atexit callbacks

    @click.command()
    def probe():
        atexit.register(cleanup)
        if mode == "flood":
            while True:
                print("line " * 20)
        for number in range(LINES):
            print(f"line {number}")
        if mode == "error":
            raise LoratuiError("probe.toml: bad value: fix it")
        if mode == "bug":
            raise ValueError("a bug")
        if mode == "three":
            sys.exit(3)
        if mode == "ctrl-c":
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        if mode == "thread":  # a non-daemon thread Python joins at exit: the ordinary shutdown
            threading.Thread(target=lambda: (time.sleep(0.3), print("thread done", flush=True))).start()
        if mode == "sleep":
            print("ready", file=sys.stderr, flush=True)
            time.sleep(60)
        print("LAST")

    module = types.ModuleType("probe_cmd_s18")
    module.probe = probe
    sys.modules[module.__name__] = module
    cli.COMMANDS[name] = (module.__name__, "probe", "a test command")
    sys.argv = ["loratui", name]
    cli.main()
""").replace("LINES", str(LINES))


def _env(tmp_path: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(SRC), "HF_HUB_OFFLINE": "1", "LORATUI_DEBUG": "",
            "XDG_CACHE_HOME": str(tmp_path / "cache")}


def _probe(tmp_path: Path, mode: str, *, torch: str = "fake", name: str = "probe", stdout=None, **options):
    """(the finished process, its stdout as text (from a file unless ``stdout`` is given), the marker file)."""
    marker = tmp_path / f"cleaned-{mode}"
    out = tmp_path / f"stdout-{mode}"
    with open(out, "w") as handle:
        done = subprocess.run([sys.executable, "-c", _PROBE, torch, name, mode, str(marker)],
                              stdout=handle if stdout is None else stdout, stderr=subprocess.PIPE, text=True,
                              env=_env(tmp_path), timeout=120, **options)
    return done, out.read_text(), marker


@pytest.mark.parametrize("torch", ["fake", "real"])
def test_a_torch_command_skips_the_teardown_and_writes_all_its_output(tmp_path, torch):
    done, out, marker = _probe(tmp_path, "ok", torch=torch)
    assert done.returncode == 0, done.stderr
    lines = out.splitlines()
    assert len(lines) == LINES + 2 and lines[-2:] == ["LAST", "said at exit"]
    assert marker.read_text() == "cleaned"  # our atexit cleanup ran
    assert TEARDOWN not in done.stderr


def test_a_plain_command_ends_as_python_ends_it(tmp_path):
    done, out, marker = _probe(tmp_path, "ok", torch="none")
    assert (done.returncode, out.splitlines()[-1], marker.read_text()) == (0, "said at exit", "cleaned")
    assert TEARDOWN in done.stderr


@pytest.mark.parametrize("mode, code, said", [
    ("error", 2, "error: probe.toml: bad value: fix it"),
    ("bug", 1, "internal error: ValueError: a bug"),
    ("three", 3, None),
    ("ctrl-c", 130, "interrupted"),
])
def test_exit_codes_and_error_lines_are_unchanged(tmp_path, mode, code, said):
    done, out, marker = _probe(tmp_path, mode)
    assert done.returncode == code, done.stderr
    if said is not None:
        assert said in done.stderr and "Traceback" not in done.stderr
    assert out.splitlines()[-1] == "said at exit" and f"line {LINES - 1}" in out
    assert marker.read_text() == "cleaned" and TEARDOWN not in done.stderr


def test_sigterm_in_tags_still_exits_143(tmp_path):
    marker, out = tmp_path / "cleaned-sleep", tmp_path / "stdout-sleep"
    with open(out, "w") as handle:
        child = subprocess.Popen([sys.executable, "-c", _PROBE, "fake", "tags", "sleep", str(marker)], stdout=handle,
                                 stderr=subprocess.PIPE, text=True, env=_env(tmp_path))
        try:
            assert child.stderr.readline().strip() == "ready"
            child.send_signal(signal.SIGTERM)
            err = child.stderr.read()
            assert child.wait(timeout=60) == 143, err
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert "interrupted" in err and TEARDOWN not in err
    assert marker.read_text() == "cleaned" and out.read_text().splitlines()[-1] == "said at exit"


def test_a_closed_pipe_still_exits_141(tmp_path):
    read, write = os.pipe()
    os.close(read)
    try:
        done, _, marker = _probe(tmp_path, "flood", stdout=write)
    finally:
        os.close(write)
    assert done.returncode == 141, done.stderr
    assert "stdout closed (broken pipe): stopped" in done.stderr and "Exception ignored" not in done.stderr
    assert marker.read_text() == "cleaned"


def test_a_full_stdout_still_exits_2(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:
        done, _, marker = _probe(tmp_path, "ok", stdout=full)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: standard output could not be written (disk full: /dev/full)")
    assert "Exception ignored" not in done.stderr and marker.read_text() == "cleaned"


def test_a_running_non_daemon_thread_keeps_the_ordinary_shutdown(tmp_path):
    done, out, marker = _probe(tmp_path, "thread")
    assert done.returncode == 0, done.stderr
    assert "thread done" in out.splitlines() and out.splitlines()[-1] == "said at exit"
    assert TEARDOWN in done.stderr and marker.read_text() == "cleaned"


def test_the_helper_leaves_what_it_cannot_keep_exactly(monkeypatch):
    """No torch, or a code Python prints (a message): the call returns and nothing ran."""
    ran = []
    monkeypatch.setattr(process_exit.atexit, "_run_exitfuncs", lambda: ran.append(True))
    monkeypatch.setattr(process_exit.os, "_exit", lambda code: ran.append(code))
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    process_exit.exit_without_teardown(0)
    monkeypatch.setitem(sys.modules, "torch", object())
    process_exit.exit_without_teardown("a message")
    process_exit.exit_without_teardown(2 ** 40)
    assert ran == []
    process_exit.exit_without_teardown(None)
    assert ran == [True, 0]


def test_an_in_process_caller_gets_its_exit_back(monkeypatch, capsys):
    """main(argv) (tests, the demo walkthrough) returns or raises SystemExit as before, even with torch loaded."""
    from loratui import cli

    monkeypatch.setitem(sys.modules, "torch", sys.modules.get("torch") or object())
    monkeypatch.setattr(process_exit.os, "_exit", lambda code: pytest.fail("os._exit from an in-process main"))
    cli.main(["--version"])
    assert "loratui" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        cli.main(["no-such-command"])
    assert stop.value.code == 2
