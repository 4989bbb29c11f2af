"""The Train screen sees runs it did not start (two app instances on one project): a run another app or
a shell starts while no run is followed is named on the status line (f follows it), 4 follows the one
live run at once unless it was passed over (esc on the runs), and this app's own start, refused because
another run took the lock first, is said once rather than silently following the other run."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures.pilot_wait import until  # noqa: E402
from test_train_hunt_s9 import live_run  # noqa: E402
from test_train_screen import make_app, make_project, notices, run_app, said, write_recorded  # noqa: E402

from loratui.core.events import _process_start, lock_path, make_event  # noqa: E402
from loratui.tui.screens.run_picker import RunPicker  # noqa: E402
from loratui.tui.screens.train import TrainScreen  # noqa: E402
from loratui.tui.services.runs import RunCommand  # noqa: E402
from loratui.tui.widgets.run_status import RunStatus  # noqa: E402

PID = os.getpid()  # the "other app's" run: this process holds its lock


def status_text(screen: TrainScreen) -> str:
    return str(screen.query_one(RunStatus).render())


async def back_to_train(pilot, screen: TrainScreen) -> None:
    """Leave for another screen and come back (what the tester did with 1, then 4)."""
    app = screen.app
    await app.switch_mode("settings")
    await pilot.pause()
    await app.switch_mode("train2")
    await pilot.pause()


def test_a_run_started_elsewhere_is_named_and_f_follows_it(tmp_path):
    config = make_project(tmp_path)
    out = write_recorded(tmp_path)  # a finished run: the picker opens on arrival

    async def scenario(pilot, screen: TrainScreen):
        await until(pilot, lambda: isinstance(screen.app.screen, RunPicker), "the run picker")
        await pilot.press("escape")
        await until(pilot, lambda: status_text(screen).startswith("no run followed"), "no run followed")
        live_run(out, "tiny")  # another app (or `loratui train` in a shell) starts a run
        await until(pilot, lambda: f"a run is live: tiny (pid {PID}) · f follows it" in status_text(screen),
                    "the new run named", timeout=5)
        assert screen.run is None  # named, not followed unasked
        await pilot.press("f")
        await until(pilot, lambda: "LIVE tiny" in screen.query_one(RunStatus).plain, "followed")
        assert screen.run.name == "tiny"

    try:
        run_app(make_app(tmp_path, config), scenario)
    finally:
        lock_path(out, "tiny").unlink(missing_ok=True)


def test_coming_back_to_train_follows_the_one_live_run_at_once(tmp_path):
    config = make_project(tmp_path)
    out = write_recorded(tmp_path)

    async def scenario(pilot, screen: TrainScreen):
        await until(pilot, lambda: isinstance(screen.app.screen, RunPicker), "the run picker")
        await pilot.press("escape")
        live_run(out, "tiny")
        await back_to_train(pilot, screen)
        await until(pilot, lambda: screen.run is not None and screen.run.name == "tiny", "followed on return")
        await until(pilot, lambda: "LIVE tiny" in screen.query_one(RunStatus).plain, "shown live")

    try:
        run_app(make_app(tmp_path, config), scenario)
    finally:
        lock_path(out, "tiny").unlink(missing_ok=True)


def test_a_live_run_passed_over_is_named_but_not_followed_unasked(tmp_path):
    config = make_project(tmp_path)
    out = tmp_path / "out"
    live_run(out, "tiny")
    live_run(out, "other")  # two live: the picker asks which

    async def scenario(pilot, screen: TrainScreen):
        await until(pilot, lambda: isinstance(screen.app.screen, RunPicker), "the picker")
        await pilot.press("escape")  # neither is followed: the user chose so
        await until(pilot, lambda: "2 runs are live: other (pid" in status_text(screen), "both named", timeout=5)
        lock_path(out, "other").unlink()
        await until(pilot, lambda: f"a run is live: tiny (pid {PID}) · f follows it" in status_text(screen),
                    "the one left named", timeout=5)
        await back_to_train(pilot, screen)
        await pilot.pause(1.2)  # a watch tick too
        assert screen.run is None and "a run is live: tiny" in status_text(screen)
        await pilot.press("f")  # a key press follows it
        await until(pilot, lambda: screen.run is not None and screen.run.name == "tiny", "followed with f")

    try:
        run_app(make_app(tmp_path, config), scenario)
    finally:
        for name in ("tiny", "other"):
            lock_path(out, name).unlink(missing_ok=True)


def test_f_with_no_live_run_says_so(tmp_path):
    config = make_project(tmp_path)

    async def scenario(pilot, screen: TrainScreen):
        await until(pilot, lambda: "no runs yet" in status_text(screen), "no runs yet")
        await pilot.press("f")
        await said(pilot, screen.app, lambda n: n == "no other run is live: a lists the runs", "none live")

    run_app(make_app(tmp_path, config), scenario)


def test_a_start_refused_by_a_run_that_took_the_lock_first_is_said_once(tmp_path):
    """Two starts at once: this app's launch exits 2 (the lock is another run's) and the screen follows
    that other run, saying once that the user's start did not happen."""
    config = make_project(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    events = [make_event("run_started", config=str(config), output_dir=str(out), output_name="tiny", model={},
                         dataset={}, schedule={"total_steps": 8, "epochs": 2}, resumed_from=None, pid=PID),
              make_event("step", step=1, total_steps=8, epoch=1, loss=0.5, avg_loss=0.5, lr=1e-3, images_per_s=2.0,
                         eta_s=1.0)]
    # the launch: the other run (this process) wins the lock while it starts, and it is refused
    script = ("import pathlib, sys, time; out = pathlib.Path(sys.argv[1]); time.sleep(0.3); "
              "(out / 'tiny.events.jsonl').write_text(sys.argv[2]); (out / 'tiny.lock').write_text(sys.argv[3]); "
              f"print('error: another run (pid {PID}) is writing to out (tiny.lock): stop it first'); sys.exit(2)")
    argv = (sys.executable, "-c", script, str(out), "".join(json.dumps(e) + "\n" for e in events),
            f"{PID} {_process_start(PID) or '-'}\n")
    command = RunCommand(argv, "loratui train config.toml", 1, out.resolve(), "tiny", tmp_path, config)
    line = f"your start was refused: another run (pid {PID}, started elsewhere) is writing tiny; following it"

    async def scenario(pilot, screen: TrainScreen):
        await until(pilot, lambda: "no runs yet" in status_text(screen), "no runs yet")
        screen._start(command)  # enter in the start dialog
        await said(pilot, screen.app, lambda n: n.startswith("started (pid "), "started")
        await said(pilot, screen.app, lambda n: n == line, "the refusal said")
        await until(pilot, lambda: "LIVE tiny" in screen.query_one(RunStatus).plain, "the other run followed")
        assert screen.run.process is None and screen.snapshot.pid == PID and screen.snapshot.step == 1
        await pilot.pause(1.5)
        assert notices(screen.app).count(line) == 1  # once
        assert not any("refused to start" in n or "gone without" in n for n in notices(screen.app))

    try:
        run_app(make_app(tmp_path, config), scenario)
    finally:
        lock_path(out, "tiny").unlink(missing_ok=True)


def test_a_start_refused_for_another_reason_stays_refused_when_a_run_starts_later(tmp_path):
    """`train` exits 2 for any bad input: only a refusal by the lock (the launch's own log says so) is a lost
    start; a refused resume stays shown as refused whatever later holds the name's lock."""
    config = make_project(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    events = [make_event("run_started", config=str(config), output_dir=str(out), output_name="tiny", model={},
                         dataset={}, schedule={"total_steps": 8, "epochs": 2}, resumed_from=None, pid=PID)]
    script = ("import pathlib, sys, time; out = pathlib.Path(sys.argv[1]); time.sleep(0.3); "
              "(out / 'tiny.events.jsonl').write_text(sys.argv[2]); (out / 'tiny.lock').write_text(sys.argv[3]); "
              "print('error: --resume out/tiny-state: its config differs'); sys.exit(2)")
    argv = (sys.executable, "-c", script, str(out), "".join(json.dumps(e) + "\n" for e in events),
            f"{PID} {_process_start(PID) or '-'}\n")
    command = RunCommand(argv, "loratui train config.toml", 1, out.resolve(), "tiny", tmp_path, config)

    async def scenario(pilot, screen: TrainScreen):
        await until(pilot, lambda: "no runs yet" in status_text(screen), "no runs yet")
        screen._start(command)
        await said(pilot, screen.app, lambda n: n.startswith("started (pid "), "started")
        await pilot.pause(2.5)
        assert not any(n.startswith("your start was refused") for n in notices(screen.app))
        assert screen.run.process is not None  # still this app's launch, shown as what it was

    try:
        run_app(make_app(tmp_path, config), scenario)
    finally:
        lock_path(out, "tiny").unlink(missing_ok=True)
