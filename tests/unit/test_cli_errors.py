"""The CLI's last resort (a bug is one line + a log file, exit 1) and unreadable concept folders."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from fixtures.cli_run import run_main
from loratui.cli import main


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    monkeypatch.delenv("LORATUI_DEBUG", raising=False)
    return folder / "loratui"


@pytest.fixture
def buggy_steps(monkeypatch):
    """`loratui steps` hits a bug (any exception that is not a LoratuiError)."""
    import loratui.core.config as config

    def boom(*args, **kwargs):
        raise RuntimeError("an unexpected state\nsecond line of the message")

    monkeypatch.setattr(config, "load_config", boom)


def test_an_unexpected_exception_is_one_line_with_a_log_file(cache, buggy_steps, capsys):
    code, out, err = run_main(["steps", "c.toml"], capsys)
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    logs = list(cache.glob("crash-*.log"))
    assert len(logs) == 1
    assert err.strip() == f"internal error: RuntimeError: an unexpected state (details in {logs[0]})"
    text = logs[0].read_text()
    assert "Traceback (most recent call last)" in text and "command: loratui steps c.toml" in text
    assert "second line of the message" in text


def test_loratui_debug_shows_the_traceback(cache, buggy_steps, capsys, monkeypatch):
    monkeypatch.setenv("LORATUI_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["steps", "c.toml"])
    assert not cache.exists()


def test_a_log_that_cannot_be_written_says_how_to_see_the_details(tmp_path, buggy_steps, capsys, monkeypatch):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    monkeypatch.delenv("LORATUI_DEBUG", raising=False)
    code, _, err = run_main(["steps", "c.toml"], capsys)
    assert code == 1 and "rerun with LORATUI_DEBUG=1" in err and "Traceback" not in err


def test_json_events_followers_get_an_error_event(cache, capsys, monkeypatch, tmp_path):
    import loratui.commands.caption_cmd as caption_cmd

    def boom(*args, **kwargs):
        raise RuntimeError("model exploded")

    monkeypatch.setattr(caption_cmd, "_plan", boom)
    code, out, err = run_main(["caption", "wd14", tmp_path, "--model", tmp_path, "--json-events"], capsys)
    event = json.loads(out.strip().splitlines()[-1])
    assert code == 1 and event["event"] == "error" and "internal error: RuntimeError: model exploded" in event["message"]


def test_an_os_error_naming_a_file_is_one_line(cache, capsys, monkeypatch):
    import loratui.core.config as config

    def full(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error", "/data/c.toml")

    monkeypatch.setattr(config, "load_config", full)
    code, _, err = run_main(["steps", "c.toml"], capsys)
    assert code == 2 and err.strip() == "error: /data/c.toml: Input/output error" and not cache.exists()


def test_no_traceback_in_a_real_process(tmp_path):
    code = textwrap.dedent("""
        import sys
        import loratui.core.config as config
        config.load_config = lambda *a, **k: [][1]
        from loratui.cli import main
        sys.argv = ["loratui", "steps", "c.toml"]
        main()
    """)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    env.pop("LORATUI_DEBUG", None)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("internal error: IndexError: list index out of range (details in ")
    env["LORATUI_DEBUG"] = "1"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 1 and "Traceback" in proc.stderr


# ---- an unreadable concept folder -------------------------------------------------------------

def _project(root: Path) -> Path:
    for name in ("10_alice", "5_locked"):
        (root / "img" / name).mkdir(parents=True)
    Image.new("RGB", (64, 64)).save(root / "img" / "10_alice" / "a.png")
    (root / "img" / "10_alice" / "a.txt").write_text("alice, solo\n")
    Image.new("RGB", (64, 64)).save(root / "img" / "5_locked" / "b.png")
    config = root / "c.toml"
    config.write_text('[model]\npretrained_model_name_or_path = "m.safetensors"\nmodel_family = "sd1"\n'
                      '[dataset]\ntrain_data_dir = "img"\n[training]\nmax_train_epochs = 1\n')
    return root / "img" / "5_locked"


COMMANDS = [["dataset", "scan", "{img}"], ["tags", "freq", "{img}"], ["tags", "add", "{img}", "x", "--yes"],
            ["steps", "{config}"], ["caption", "wd14", "{img}", "--model", "{img}"],
            ["dataset", "balance", "{img}", "--yes"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_unreadable_concept_folder_is_one_line_naming_it(tmp_path, capsys, monkeypatch, command):
    """Simulated (root reads every folder): os.scandir of the folder raises PermissionError."""
    locked = _project(tmp_path)
    real = os.scandir

    def scandir(path="."):
        if os.fspath(path).rstrip("/") == str(locked):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    args = [a.format(img=tmp_path / "img", config=tmp_path / "c.toml") for a in command]
    code, out, err = run_main(args, capsys)
    if command[:2] == ["dataset", "scan"]:  # a scan lists the other folders and names this one as a problem
        assert code == 1 and "Traceback" not in err
        assert f"{locked}" in out and "chmod u+rx" in out, out
        return
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[-1].startswith(f"error: {locked}: cannot read this folder (permission denied)"), err
    assert "chmod u+rx" in lines[-1]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root reads a folder whatever its mode: the simulated test above covers it")
def test_unreadable_concept_folder_for_real(tmp_path, capsys):
    locked = _project(tmp_path)
    locked.chmod(0)
    try:
        code, out, err = run_main(["dataset", "scan", tmp_path / "img"], capsys)
    finally:
        locked.chmod(0o755)
    assert code == 1 and f"{locked}" in out and "chmod u+rx" in out, out + err


# ---- a full disk (issue 11): one line naming the device, never a traceback ------------------------


@pytest.mark.parametrize("error", [
    OSError(errno.ENOSPC, "No space left on device"),
    RuntimeError("[enforce fail at inline_container.cc:595] . unexpected pos 123 vs 456"),
    RuntimeError("PytorchStreamWriter failed writing file data/3: file write failed"),
])
def test_a_full_disk_is_one_line_naming_the_device(cache, capsys, monkeypatch, error):
    import loratui.core.config as config

    def full(*args, **kwargs):
        raise error

    monkeypatch.setattr(config, "load_config", full)
    code, _, err = run_main(["steps", "c.toml"], capsys)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith("error: no space left on ") and " free" in err
    assert not cache.exists()


def test_disk_full_message_says_what_was_needed(tmp_path):
    from loratui.core.diskspace import checkpoint_bytes, disk_full_message, is_disk_full

    exc = OSError(errno.ENOSPC, "No space left on device")
    message = disk_full_message(exc, tmp_path / "out", checkpoint_bytes(10_000_000, with_state=True))
    assert f"writing {tmp_path / 'out'}" in message and "the save needs about 0.1 GB" in message
    assert disk_full_message(ValueError("x"), tmp_path) is None
    from loratui.core.diskspace import _gb

    assert (_gb(116_000), _gb(5_400_000), _gb(2.5e9)) == ("116 KB", "5 MB", "2.5 GB")  # not "0 MB" free
    wrapped = RuntimeError("save failed")
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert is_disk_full(wrapped)


def test_a_mistyped_command_gets_a_did_you_mean_and_a_folder_of_that_name_still_opens(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _out, err = run_main(["trian"], capsys)
    assert code == 2 and "did you mean `loratui train`?" in err
    opened = []
    monkeypatch.setattr("loratui.tui.launch.run_app", opened.append)
    (tmp_path / "trian").mkdir()  # a real folder of that name: `loratui trian` opens it
    run_main(["trian"], capsys)
    assert opened == ["trian"]
