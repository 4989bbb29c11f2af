"""The Train screen and its run picker: the picker names the newest complete state (not NAME-state
alone, which may be half-written), `c` on a checkpoint without a state names both keys that keep one,
and a run that ended in error without its error event (a full disk took the longer event where
`finished` fit), or whose events stop with the process gone, shows its log's error line rather than
ERROR with no message. Recorded runs, no torch."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures.pilot_wait import until  # noqa: E402
from test_train_refused_and_newest_state import write_state  # noqa: E402
from test_train_screen import make_app, make_project, pick, run_app, said, write_recorded  # noqa: E402

from loratui.core.events import events_path, log_path  # noqa: E402
from loratui.tui.screens.run_picker import RunPicker  # noqa: E402
from loratui.tui.screens.train import TrainScreen  # noqa: E402
from loratui.tui.widgets.run_status import RunStatus  # noqa: E402


def started_time(out: Path) -> float:
    return json.loads(events_path(out, "tiny").read_text().splitlines()[0])["time"]


def test_the_picker_names_the_newest_complete_state_and_c_names_both_state_keys(tmp_path):
    config = make_project(tmp_path)
    out = write_recorded(tmp_path)  # its tiny-state holds a state.json only: no resume reads it
    write_state(out / "tiny-000008-state", 32)

    async def scenario(pilot, screen: TrainScreen):
        app = screen.app
        picker = await until(pilot, lambda: isinstance(app.screen, RunPicker) and app.screen, "picker")
        options = picker.query_one("#run-options")
        options.highlighted = next(i for i in range(options.option_count)
                                   if "COMPLETED" in str(options.get_option_at_index(i).prompt))
        detail = picker.query_one("#run-detail")
        await until(pilot, lambda: "state saved in" in str(detail.render()), "the state named")
        assert ("state saved in tiny-000008-state (step 32): resume (r) or extend (e) after following it"
                in str(detail.render()))
        await pick(pilot, app, "COMPLETED")
        await until(pilot, lambda: screen.snapshot and screen.snapshot.caught_up, "caught up")
        await pilot.press("up", "c")  # tiny-000008.safetensors: saved without its state
        await said(pilot, app, lambda n: n == "tiny-000008.safetensors: no saved state to continue from "
                   "(saving.save_state = true keeps one with each save, saving.save_state_on_train_end = true one "
                   "with the final LoRA)", "both keys named")

    run_app(make_app(tmp_path, config), scenario)


def test_an_error_without_its_error_event_shows_the_logs_error_line(tmp_path):
    config = make_project(tmp_path)
    done = {"event": "finished", "time": 1796031790.0, "reason": "error", "step": 9, "epoch": 3, "output": None,
            "elapsed_s": 30.0}
    out = write_recorded(tmp_path, lines=12, extra=[done])  # no error event: it did not fit on the disk
    log = log_path(out, "tiny")
    full = f"writing {events_path(out, 'tiny')}: no space left on device (0 B free): free some space"
    log.write_text(f"--- 2026-11-30 loratui train config.toml\n[###] step 9/48\nerror: {full}\n")
    os.utime(log, (started_time(out) + 40, started_time(out) + 40))

    async def scenario(pilot, screen: TrainScreen):
        await pick(pilot, screen.app, "ERROR")
        await until(pilot, lambda: screen.snapshot and screen.snapshot.caught_up, "caught up")
        assert "✗ ERROR tiny" in screen.query_one(RunStatus).plain
        line = str(screen.query_one("#run-error").render())
        assert screen.query_one("#run-error").display
        assert line == f"✗ error: {full} · hint: read from tiny.log: the run wrote no error event"

    run_app(make_app(tmp_path, config), scenario)


def test_a_run_gone_without_an_end_shows_its_logs_internal_error(tmp_path):
    config = make_project(tmp_path)
    out = write_recorded(tmp_path, lines=12)  # steps, then nothing: no finished, no lock
    log = log_path(out, "tiny")
    crash = "internal error: RuntimeError: boom (details in /cache/loratui/train-crash-1.log)"
    log.write_text(f"--- 2026-11-30 loratui train config.toml\n{crash}\n")
    os.utime(log, (started_time(out) + 40, started_time(out) + 40))

    async def scenario(pilot, screen: TrainScreen):
        await pick(pilot, screen.app, "CRASHED")
        await until(pilot, lambda: screen.snapshot and screen.snapshot.status == "crashed", "crashed")
        line = str(screen.query_one("#run-error").render())
        assert line.startswith("✗ crashed: RuntimeError: boom (details in /cache/loratui/train-crash-1.log)")
        # a log last written before this run began is an earlier launch's: not shown as this run's
        os.utime(log, (started_time(out) - 100, started_time(out) - 100))
        assert screen.service.follow(out, "tiny").snapshot().error is None

    run_app(make_app(tmp_path, config), scenario)
