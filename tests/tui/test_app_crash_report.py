"""A crash inside the app ends as the CLI's crashes do: the traceback in a crash log, one line
``internal error: ... (details in LOG)`` on stderr, exit 1. Textual catches the exception, printed
its own traceback and returned: `loratui DEMO` exited 0 after a crash."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.screen import Screen


class Broken(Screen):
    def on_mount(self) -> None:
        raise RuntimeError("the chart broke")


class CrashingApp(App):
    def on_mount(self) -> None:
        self.push_screen(Broken())


class CleanApp(App):
    def on_mount(self) -> None:
        self.exit()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("LORATUI_DEBUG", raising=False)
    return tmp_path / "cache" / "loratui"


def test_a_crash_in_a_screen_is_one_line_a_log_and_exit_1(cache, capsys):
    from loratui.tui.launch import run_reporting_crash

    with pytest.raises(SystemExit) as ended:
        run_reporting_crash(CrashingApp(), headless=True)
    assert ended.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("internal error: RuntimeError: the chart broke (details in ")
    logs = list(cache.glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in err
    text = logs[0].read_text(encoding="utf-8")
    assert "Traceback" in text and "the chart broke" in text and "on_mount" in text


def test_a_clean_exit_says_nothing(cache, capsys):
    from loratui.tui.launch import run_reporting_crash

    run_reporting_crash(CleanApp(), headless=True)
    assert capsys.readouterr().err == ""
    assert not cache.exists()


def test_debug_keeps_textuals_traceback(cache, capsys, monkeypatch):
    from loratui.tui.launch import run_reporting_crash

    monkeypatch.setenv("LORATUI_DEBUG", "1")
    with pytest.raises(SystemExit) as ended:
        run_reporting_crash(CrashingApp(), headless=True)
    assert ended.value.code == 1
    assert not cache.exists()
