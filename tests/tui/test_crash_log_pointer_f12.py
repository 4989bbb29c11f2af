"""A run gone without finishing was said "; see its log" and "see the log below" even when it was started
from a shell and has no NAME.log (f12 #2): the notice now says where to look (``core.runs.log_pointer``),
and the status line says the box below shows its events when there is no log."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from types import SimpleNamespace

from textual.app import App

from fixtures.pilot_wait import until
from loratui.core.events import events_path, lock_path, log_path, make_event
from loratui.tui.services.runs import RunNotice, RunService
from loratui.tui.widgets.run_status import status_lines


class Host(App):
    def __init__(self) -> None:
        super().__init__()
        self.service = RunService(self)
        self.notices: list[str] = []

    def on_run_notice(self, message: RunNotice) -> None:
        self.notices.append(message.line)


def _crashed_run(out, *, with_log: bool) -> None:
    out.mkdir(parents=True)
    started = make_event("run_started", config="/p/config.toml", output_dir=str(out), output_name="x", model={},
                         dataset={}, schedule={"total_steps": 6, "epochs": 1}, resumed_from=None, pid=1)
    started["time"] = time.time() - 5
    step = make_event("step", step=1, total_steps=6, epoch=1, loss=0.5, avg_loss=0.5, lr=1e-3, images_per_s=2.0,
                      eta_s=1.0)
    events_path(out, "x").write_text("".join(json.dumps(e) + "\n" for e in (started, step)))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])  # its lock's pid is gone: crashed
    dead.wait()
    lock_path(out, "x").write_text(f"{dead.pid} -\n")
    if with_log:
        log_path(out, "x").write_text("--- launched\nKilled\n")


def _crash_notice(out) -> str:
    app = Host()

    async def scenario():
        async with app.run_test() as pilot:
            app.service.follow(out, "x")
            return await until(pilot, lambda: next((n for n in app.notices if "gone without finishing" in n), None),
                               "the crash said", 20)

    return asyncio.run(scenario())


def test_a_crashed_shell_run_points_at_its_events_not_a_log(tmp_path):
    out = tmp_path / "out"
    _crashed_run(out, with_log=False)
    notice = _crash_notice(out)
    assert "see its log" not in notice
    assert "it has no x.log (started from a shell: its output went there); its last events are in " \
           "x.events.jsonl" in notice


def test_a_crashed_run_with_its_own_log_points_at_it(tmp_path):
    out = tmp_path / "out"
    _crashed_run(out, with_log=True)
    assert _crash_notice(out).endswith("; see its log (x.log)")


def test_the_status_line_says_what_the_box_below_shows():
    base = dict(status="crashed", reason=None, name="x", step=1, total_steps=6, epoch=1, epochs=1, loss=0.5,
                avg_loss=0.5, lr=1e-3, images_per_s=2.0, eta_s=None, elapsed_s=9, peak_vram_gib=None,
                vram_estimate_gib=None, pid=None, caching=None, device="cpu", checkpoints=())
    text = lambda **kw: "".join(part for part, _ in status_lines(SimpleNamespace(**base, **kw)))  # noqa: E731
    assert "gone without finishing: see the log below" in text(log_tail=("Killed",))
    shell = text(log_tail=())
    assert "gone without finishing: no log; its events are below" in shell and "see the log" not in shell
