"""On the tiny model (CPU): a file the run cannot open or write (an immutable events file, a read-only
output) is the user's problem, not a bug: `loratui train` says it in one line naming the file and exits
2, as before the output was opened inside the run's error handling; no crash log, no lock left, and
once the events file is open the error and finished events say it too."""

from __future__ import annotations

import errno

import pytest

from loratui.core.events import events_path, lock_path, read_events
from test_train import make_project, of


def _main_exit(config, capsys) -> tuple[int, str]:
    from loratui import cli

    with pytest.raises(SystemExit) as caught:
        cli.main(["train", str(config)])
    return caught.value.code, capsys.readouterr().err


def test_an_events_file_that_cannot_be_opened_is_one_line_naming_it_and_exit_2(tiny_sd1_dir, tmp_path, monkeypatch,
                                                                                   capsys):
    from loratui.engine import run_folder

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("LORATUI_DEBUG", raising=False)
    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_steps": 2})
    out = tmp_path / "out"

    def immutable(path, echo=None):  # what `chattr +i out/tiny.events.jsonl` makes os.open raise
        raise PermissionError(errno.EPERM, "Operation not permitted", str(path))

    monkeypatch.setattr(run_folder, "EventWriter", immutable)
    code, err = _main_exit(config, capsys)
    assert code == 2
    assert err.strip().splitlines()[-1] == f"error: {events_path(out, 'tiny')}: Operation not permitted"
    assert "internal error" not in err and "Traceback" not in err
    assert not (tmp_path / "cache" / "loratui").exists()  # no crash log: not a bug
    assert not lock_path(out, "tiny").exists()


def test_a_file_that_cannot_be_written_mid_run_ends_the_events_and_says_the_file(tiny_sd1_dir, tmp_path, monkeypatch,
                                                                                  capsys):
    from loratui.engine import run as run_module

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("LORATUI_DEBUG", raising=False)
    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_steps": 6})
    out = tmp_path / "out"
    blocked = out / "tiny-step00000002.safetensors"
    on_step = run_module.Reporter.on_step

    def read_only(self, tr, **kwargs):
        if tr.step == 2:
            raise PermissionError(errno.EACCES, "Permission denied", str(blocked))
        return on_step(self, tr, **kwargs)

    monkeypatch.setattr(run_module.Reporter, "on_step", read_only)
    code, err = _main_exit(config, capsys)
    assert code == 2
    assert err.strip().splitlines()[-1] == f"error: {blocked}: Permission denied"
    assert "internal error" not in err and not (tmp_path / "cache" / "loratui").exists()
    assert not lock_path(out, "tiny").exists()
    events = read_events(events_path(out, "tiny"))
    error = of(events, "error")[0]
    assert error["kind"] == "file" and error["message"] == f"{blocked}: Permission denied"
    assert "permissions" in error["hint"]
    finished = of(events, "finished")[0]
    assert finished["reason"] == "error" and finished["step"] == 2
