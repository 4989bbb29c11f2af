"""A run stopped within its first seconds (`loratui train` exits 130, "aborted", before writing any
event) is shown stopped with nothing saved, not crashed; `r` says there is nothing to resume and names
`s`, not a config problem (the last run's state, still there, is not this run's). A resume stopped that
soon keeps the state it was resuming."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures.pilot_wait import until  # noqa: E402
from test_train_refused_and_newest_state import write_state  # noqa: E402
from test_train_screen import make_app, make_project, run_app, said, write_recorded  # noqa: E402

from loratui.core.errors import LoratuiError  # noqa: E402
from loratui.core.events import log_path  # noqa: E402
from loratui.tui.screens.config_dialogs import ChoiceDialog  # noqa: E402
from loratui.tui.screens.run_picker import RunPicker, StartDialog  # noqa: E402
from loratui.tui.screens.train import TrainScreen  # noqa: E402
from loratui.tui.services.followed_run import FollowedRun  # noqa: E402
from loratui.tui.services.runs import RunCommand, RunService  # noqa: E402
from loratui.tui.widgets.run_status import RunStatus, status_lines  # noqa: E402

# `loratui train` stopped while it imports torch: click's Abort, "aborted" on stderr, exit 130, no event
STAND_IN = ("import sys, time\nprint('started', flush=True)\ntry:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n"
            "    print('aborted', file=sys.stderr)\n    sys.exit(130)\n")


def test_stop_at_once_shows_stopped_not_crashed_and_r_offers_s(tmp_path, monkeypatch):
    config = make_project(tmp_path)
    out = write_recorded(tmp_path)  # the last run: completed, its tiny-state still there
    log_path(out, "tiny").write_text("--- 2026-01-01 00:00:00 loratui train config.toml\ncompleted: 13 step(s)\n")

    def command(self, config_path, **options):
        return RunCommand((sys.executable, "-c", STAND_IN), "loratui train config.toml", 1, out, "tiny", tmp_path,
                          Path(config_path))

    monkeypatch.setattr(RunService, "command", command)
    monkeypatch.setattr(RunService, "problems", staticmethod(lambda config: []))

    async def scenario(pilot, screen: TrainScreen):
        app = screen.app
        await until(pilot, lambda: isinstance(app.screen, RunPicker), "the picker")
        await pilot.press("escape", "s")
        await until(pilot, lambda: isinstance(app.screen, StartDialog), "the start dialog")
        await pilot.press("enter")
        run = await until(pilot, lambda: screen.run is not None and screen.run.process is not None and screen.run,
                          "launched")
        await until(pilot, lambda: "started" in log_path(out, "tiny").read_text(), "the stand-in runs")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "asked")
        await pilot.press("y")
        status = screen.query_one(RunStatus)
        await until(pilot, lambda: "STOPPED tiny" in status.plain, "shown stopped", timeout=30)
        assert run.exit_code == 130 and screen.snapshot.status == "stopped"
        assert "stopped before anything was saved (s starts a new run)" in status.plain
        assert "CRASHED" not in status.plain and "gone without finishing" not in status.plain
        await said(pilot, app, lambda n: n == "tiny: stopped before anything was saved", "said once")
        # the last run's state and checkpoints are not this run's
        assert screen.snapshot.state is None and screen.snapshot.checkpoints == ()
        assert screen.snapshot.config == config.resolve()
        log = str(screen.query_one("#run-log").render())
        assert "aborted" in log and "13 step(s)" not in log  # this launch's section only
        await pilot.press("r")
        await said(pilot, app, lambda n: n == "cannot resume: tiny was stopped before it saved anything (no LoRA, "
                   "no state), so there is nothing to resume: s starts a new run", "nothing to resume")
        assert not any("config" in n and "not there" in n for n in (m.message for m in app._notifications))

    run_app(make_app(tmp_path, config), scenario)


def stand_in_launch(run: FollowedRun, code: int, resume: bool) -> None:
    """As if this app launched ``run`` (a resume, or not) a second ago and it ended with ``code``, no event."""
    argv = ("python", "-m", "loratui", "train", "c.toml", *(("--resume", "s") if resume else ()))
    run.command = RunCommand(argv, "loratui train c.toml", 1, run.output_dir, run.name, run.output_dir)
    run.process, run.exit_code, run.launched_at = SimpleNamespace(pid=1, poll=lambda: code), code, 5000.0


@pytest.mark.parametrize("code, status", [(130, "stopped"), (-2, "stopped"), (-15, "stopped"), (1, "crashed")])
def test_a_silent_launch_interrupted_is_stopped_and_one_that_failed_crashed(tmp_path, code, status):
    run = FollowedRun(tmp_path, "tiny")
    stand_in_launch(run, code, resume=False)
    assert RunService._status(run, None) == status


def test_a_resume_stopped_while_starting_keeps_its_state_to_resume(tmp_path):
    run = FollowedRun(tmp_path, "tiny")
    run.record.feed({"event": "run_started", "time": 1000.0, "config": str(tmp_path / "c.toml"), "pid": 7})
    run.record.feed({"event": "finished", "time": 1100.0, "reason": "stopped", "step": 6, "epoch": 1})
    write_state(tmp_path / "tiny-state", 6)
    stand_in_launch(run, 130, resume=True)
    run.status = RunService._status(run, None)
    snapshot = run.snapshot(None)
    assert run.status == "stopped" and snapshot.state == tmp_path / "tiny-state"
    assert "stopped while starting: nothing new saved (r resumes)" in "".join(p for p, _ in status_lines(snapshot))


def test_a_run_that_wrote_stopped_with_nothing_saved_has_nothing_to_resume(tmp_path):
    run = FollowedRun(tmp_path, "tiny")
    run.record.feed({"event": "run_started", "time": 1000.0, "config": str(tmp_path / "c.toml"), "pid": 7})
    run.record.feed({"event": "finished", "time": 1003.0, "reason": "stopped", "step": 0, "epoch": 0})
    run.status = "finished"
    snapshot = run.snapshot(None)
    with pytest.raises(LoratuiError, match=r"^tiny was stopped before it saved anything .*: s starts a new run$"):
        RunService(SimpleNamespace()).check_resumable(snapshot)
    assert "■ STOPPED" in "".join(p for p, _ in status_lines(snapshot))
    assert "stopped before anything was saved" in "".join(p for p, _ in status_lines(snapshot))
