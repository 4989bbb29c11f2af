"""Quitting the app while a training run is live says in the shell which run goes on and how to follow
it again (h5 item 4: ctrl+q left only the prompt)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys

from loratui.core.config import TrainingConfig, save_config
from loratui.core.events import _process_start, events_path, lock_path, make_event
from loratui.tui import launch


def _project(root, *, live=True, steps=6):
    """root/img/10_mochi, root/config.toml (output model/), a run of NAME mochi there: live when its lock
    names this test's own process (alive), at step ``steps`` of 26."""
    (root / "img" / "10_mochi").mkdir(parents=True)
    cfg = TrainingConfig()
    cfg.dataset.train_data_dir = "img"
    cfg.saving.output_dir, cfg.saving.output_name = "model", "mochi"
    save_config(cfg, root / "config.toml")
    out = root / "model"
    out.mkdir()
    events = [make_event("run_started", config=str(root / "config.toml"), output_dir=str(out), output_name="mochi",
                         model={}, dataset={}, schedule={"total_steps": 26, "epochs": 2}, resumed_from=None, pid=1)]
    events += [make_event("step", step=n, total_steps=26, epoch=1, loss=0.5, avg_loss=0.5, lr=1e-3,
                          images_per_s=2.0, eta_s=1.0) for n in range(1, steps + 1)]
    events_path(out, "mochi").write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    if live:
        pid = os.getpid()
        lock_path(out, "mochi").write_text(f"{pid} {_process_start(pid) or '-'}\n")
    return out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _terminal(monkeypatch) -> _Terminal:
    """run_app as in a terminal, the app itself replaced by its exit (ctrl+q): what is printed after.
    Called in the test itself: pytest's output capture resets sys.stdout after fixtures are set up."""
    screen = _Terminal()
    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr(sys, "stdout", screen)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setattr(launch, "run_reporting_crash", lambda app: None)
    return screen


def test_quitting_with_a_live_run_names_it_and_how_to_follow_it(tmp_path, monkeypatch):
    _project(tmp_path / "mochi")
    monkeypatch.chdir(tmp_path / "mochi")
    terminal = _terminal(monkeypatch)
    launch.run_app(".")
    assert terminal.getvalue().splitlines() == [
        f"training run mochi goes on (pid {os.getpid()}, step 6/26) in model/: `loratui attach model/` follows it "
        "again"]


def test_quitting_with_no_live_run_prints_nothing(tmp_path, monkeypatch):
    _project(tmp_path / "mochi", live=False)
    monkeypatch.chdir(tmp_path / "mochi")
    terminal = _terminal(monkeypatch)
    launch.run_app(".")
    assert terminal.getvalue() == ""


def test_a_followed_run_elsewhere_is_named_by_its_whole_path(tmp_path, monkeypatch):
    out = _project(tmp_path / "mochi", steps=0)
    monkeypatch.chdir(tmp_path)
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    lines = launch.runs_going_on_lines(None, None, [(out, "mochi"), (out, "mochi")])
    assert lines == [f"training run mochi goes on (pid {os.getpid()}, no step yet) in {out}: "
                     f"`loratui attach {out}` follows it again"]


def test_ctrl_q_notes_the_followed_runs_for_the_shell(tmp_path):
    """action_quit keeps the runs followed (the service forgets them as the app unmounts); an earlier
    run, opened read-only, is no run going on."""
    from types import SimpleNamespace

    from loratui.core.dataset import locate_dataset
    from loratui.tui.app import LoratuiApp

    out = _project(tmp_path / "mochi")
    app = LoratuiApp(locate_dataset(tmp_path / "mochi"), watch=False)
    app.run_service = SimpleNamespace(followed={"k": SimpleNamespace(output_dir=out, name="mochi", earlier=0),
                                                "e": SimpleNamespace(output_dir=out, name="mochi", earlier=1)},
                                      shutdown=lambda: None)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("ctrl+q")
            await pilot.pause()

    asyncio.run(main())
    assert app.runs_at_quit == [(out, "mochi")]
