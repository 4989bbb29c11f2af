"""The Train screen and the run service over a run's life: a resume that `loratui train`
refuses is shown refused with the log's error line (3), `r` resumes with the run's process count
and from its newest state, a .tmp the engine reads included (3, 4); a crashed run without a state is
told so, not to set a finished run's key (4B). No torch: runs are recorded files and stand-in
processes."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures.pilot_wait import until  # noqa: E402
from test_train_screen import make_app, make_project, pick, run_app, said, write_recorded  # noqa: E402

from loratui.core.errors import LoratuiError  # noqa: E402
from loratui.core.events import events_path, log_path  # noqa: E402
from loratui.tui.screens.train import TrainScreen  # noqa: E402
from loratui.tui.services.followed_run import FollowedRun, newest_state, refusal_line  # noqa: E402
from loratui.tui.services.runs import RunCommand, RunService  # noqa: E402
from loratui.tui.widgets.run_status import RunStatus  # noqa: E402


def write_state(folder: Path, step: int, epoch: int = 1) -> Path:
    """A complete state folder (as engine/resume_check.py's complete_state reads one)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("lora.safetensors", "optimizer.pt", "rng.pt"):
        (folder / name).write_bytes(b"x")
    (folder / "state.json").write_text(json.dumps({"format": 1, "step": step, "epoch": epoch, "batches_done": 0}))
    return folder


# ---- 4: the newest state ---------------------------------------------------------------------------------


def test_the_newest_state_by_step_is_resumed_and_a_complete_tmp_counts(tmp_path):
    out = tmp_path
    assert newest_state(out, "tiny") is None
    write_state(out / "tiny-state", 4)
    write_state(out / "tiny-000001-state", 8)
    write_state(out / "tiny-other-state", 99)  # another output name's
    write_state(out / "tinyx-step00000090-state", 90)
    assert newest_state(out, "tiny") == (out / "tiny-000001-state", out / "tiny-000001-state", 8)
    write_state(out / "tiny-step00000012-state", 12)
    assert newest_state(out, "tiny")[2] == 12
    # a kill between the renames of a state save: no FOLDER, a complete FOLDER.tmp (engine: the newer one)
    write_state(out / "tiny-step00000016-state.tmp", 16)
    assert newest_state(out, "tiny") == (out / "tiny-step00000016-state", out / "tiny-step00000016-state.tmp", 16)
    half = write_state(out / "tiny-step00000020-state.tmp", 20)
    (half / "optimizer.pt").unlink()  # killed while writing it: not resumable
    assert newest_state(out, "tiny")[2] == 16
    write_state(out / "tiny-state", 16)  # a tie: NAME-state
    assert newest_state(out, "tiny")[0] == out / "tiny-state"


def test_a_crashed_run_without_a_state_is_told_so_not_to_set_a_finished_runs_key(tmp_path):
    snapshot = SimpleNamespace(earlier=0, key=tmp_path / "tiny.events.jsonl", output_dir=tmp_path, name="tiny",
                               state=None, config=tmp_path / "c.toml", status="crashed")
    with pytest.raises(LoratuiError) as caught:
        RunService(app=None).check_resumable(snapshot)
    assert "it ended before saving one" in str(caught.value)
    assert "save_state_on_train_end" not in str(caught.value)


def test_r_resumes_a_crashed_two_process_run_from_its_newest_state_with_two_processes(tmp_path, monkeypatch):
    config = make_project(tmp_path)
    out = write_recorded(tmp_path, lines=20)  # steps, no `finished`, no lock: crashed
    path = events_path(out, "tiny")
    lines = path.read_text().splitlines()
    first = json.loads(lines[0])
    first["schedule"]["processes"] = 2
    first["config"] = str(config)
    path.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    write_state(out / "tiny-state", 4)  # older: resuming it would move the newer saves aside
    write_state(out / "tiny-000002-state", 8)
    write_state(out / "tiny-step00000010-state.tmp", 10)  # killed between the renames
    started = []

    def start(self, command):
        started.append(command)
        run = self.follow(command.output_dir, command.name)
        run.command = command
        return run

    monkeypatch.setattr(RunService, "start", start)

    async def scenario(pilot, screen: TrainScreen):
        app = screen.app
        await pick(pilot, app, "tiny")
        await until(pilot, lambda: screen.snapshot and screen.snapshot.status == "crashed", "crashed")
        await pilot.press("r")
        await said(pilot, app, lambda n: n.startswith("resuming from tiny-step00000010-state.tmp (step 10): loratui train "),
                   "the state named")
        command = started[0]
        assert command.processes == 2 and command.argv[command.argv.index("--processes") + 1] == "2"
        assert command.argv[command.argv.index("--resume") + 1] == str(out / "tiny-step00000010-state")

    run_app(make_app(tmp_path, config), scenario)


# ---- 3: a resume that train refuses -----------------------------------------------------------------------


def test_refusal_line_is_the_latest_launchs_own(tmp_path):
    log = tmp_path / "tiny.log"
    log.write_text("--- 2026-01-01 00:00:00 loratui train c.toml\nerror: an old refusal\n"
                   "--- 2026-01-01 01:00:00 loratui train c.toml --resume s\nloading ...\nKilled\n")
    assert refusal_line(log) is None
    with log.open("a") as handle:
        handle.write("--- 2026-01-01 02:00:00 loratui train c.toml --resume s\nerror: --resume s: refused\n")
    assert refusal_line(log) == "--resume s: refused"


def test_a_process_that_ended_without_an_event_since_its_launch_is_refused_or_crashed(tmp_path):
    run = FollowedRun(tmp_path, "tiny")
    run.record.feed({"event": "finished", "time": 1000.0, "reason": "completed", "step": 8, "epoch": 2})
    run.process, run.launched_at = SimpleNamespace(pid=1, poll=lambda: 1), 2000.0
    assert RunService._status(run, 123) == "starting"
    run.exit_code = 1
    assert RunService._status(run, None) == "crashed"  # no error line in the log
    log_path(tmp_path, "tiny").write_text("--- now loratui train c.toml --resume s\nerror: --resume s: no\n")
    assert RunService._status(run, None) == "refused"  # a launch exits 1 when its processes refuse
    run.record.feed({"event": "warning", "time": 2001.0, "message": "the new session wrote"})
    assert RunService._status(run, None) == "finished"


def test_a_resume_train_refuses_shows_refused_with_the_logs_error_line(tmp_path, monkeypatch):
    config = make_project(tmp_path)
    out = write_recorded(tmp_path)  # a completed run
    write_state(out / "tiny-state", 48, 12)
    refusal = "--resume {}: network.network_dim was 8 and is 16 now: set it back".format(out / "tiny-state")
    code = f"import sys; print({('error: ' + refusal)!r}); sys.exit(2)"

    real_command = RunService.command

    def command(self, config_path, **options):
        if options.get("resume") is None:  # the picker and the start dialog ask for the plain command
            return real_command(self, config_path, **options)
        assert options["resume"] == out / "tiny-state"
        return RunCommand((sys.executable, "-c", code, "--resume", str(options["resume"])),
                          f"loratui train c.toml --resume {options['resume']}", options["processes"], out, "tiny",
                          tmp_path)

    monkeypatch.setattr(RunService, "command", command)

    async def scenario(pilot, screen: TrainScreen):
        app = screen.app
        await pick(pilot, app, "tiny")
        await until(pilot, lambda: screen.snapshot and screen.snapshot.status == "finished", "completed")
        await pilot.press("r")
        await said(pilot, app, lambda n: n.startswith("resuming from tiny-state (step 48): "), "resuming said")
        status = screen.query_one(RunStatus)
        await until(pilot, lambda: "REFUSED tiny" in status.plain, "shown refused", timeout=30)
        await said(pilot, app, lambda n: n == f"tiny: loratui train refused to start: {refusal}", "the error line")
        assert "pid " not in status.plain and "COMPLETED" not in status.plain
        assert refusal in str(screen.query_one("#run-log").render())
        error = str(screen.query_one("#run-error").render())  # the refusal, not the completed session's story
        assert error.startswith("✗ refused (o: open network_dim): --resume "), error

    run_app(make_app(tmp_path, config), scenario)
    assert not os.path.exists(out / "tiny.lock")
