"""The headless progress lines wrote the ETA with strftime("%H:%M:%S"), which wraps at 24 h: a 105.6 h
ETA read "09:34:44". They now use the TUI's duration format (core.durations): days past 24 h."""

from __future__ import annotations

from types import SimpleNamespace

from loratui.core.durations import duration_text
from loratui.engine import run_events
from loratui.engine.run_events import CacheProgress, RunEvents


def test_duration_text_counts_days_past_24_hours():
    assert duration_text(380084) == "4d09h"        # 105.6 h: was "09:34:44" on the progress line
    assert duration_text(100 * 3600 + 20 * 60) == "4d04h"
    assert duration_text(86399) == "23h59m"
    assert duration_text(86400) == "1d00h"
    assert duration_text(3600) == "1h00m"
    assert duration_text(83) == "1m23s"
    assert duration_text(45) == "45s"
    assert duration_text(0) == "0s"
    assert duration_text(None) == "-"
    assert duration_text(None, missing="?") == "?"
    assert duration_text(float("nan"), missing="?") == "?"
    assert duration_text(-5) == "-"


class _Events(RunEvents):
    def __init__(self):
        self.writer, self.is_main, self.echo_json, self.show_progress = None, True, False, False
        self.bar_open, self.last_line = False, 0.0


def _trainer(step: int):
    return SimpleNamespace(step=step, epoch=1, data=SimpleNamespace(total_steps=52000, epochs=4000))


def test_the_progress_line_shows_an_eta_over_24_hours_in_days(capsys):
    _Events().progress(_trainer(11), 0.1234, 1.5, 380084.0)
    line = capsys.readouterr().err
    assert "step 11/52000 epoch 1/4000 ETA 4d09h loss 0.1234" in line


def test_the_progress_line_without_an_eta_says_so(capsys):
    _Events().progress(_trainer(1), 0.1234, 1.5, None)
    assert "ETA ? loss" in capsys.readouterr().err


def test_the_cache_progress_line_shows_days_too(capsys, monkeypatch):
    run = _Events()
    run.emit = lambda *a, **k: None
    run.stop_if_asked_while_loading = lambda: None
    clock = iter([1000.0, 1000.0 + 3 * 86400])  # phase start, then one of 4 images took 3 days
    monkeypatch.setattr(run_events, "time", SimpleNamespace(monotonic=lambda: next(clock)))  # this module's only
    hook = CacheProgress(run)
    hook(0, 4, "caching latents")
    hook(1, 4, "caching latents")
    err = capsys.readouterr().err
    assert "caching latents 1/4 ETA 9d00h" in err


def test_the_status_line_keeps_elapsed_at_80_columns_and_reading_has_its_word():
    """A week-long run: "ETA 120h00m · elapsed 100h20m" was cut at 80 columns; days keep it short."""
    from loratui.tui.widgets.run_status import STATE_WORDS
    from loratui.tui.widgets.run_status import duration_text as status_duration

    assert status_duration(120 * 3600) == "5d00h" and status_duration(None) == "-"
    assert STATE_WORDS["reading"][1] == "READING"
