"""The run service over real `loratui train` processes on the tiny model (CPU): a detached start that
outlives the app, steps arriving as messages, a graceful stop that leaves the LoRA, a SIGKILLed run
shown as crashed, and reattaching to a run started from a shell, seen from its start."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static

from loratui.core.events import events_path, lock_path, log_path, read_events
from loratui.core.runs import list_runs
from loratui.tui.services.runs import RunNotice, RunService, RunUpdated

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from fixtures.pilot_wait import until as wait_until  # noqa: E402
from fixtures.tiny_models import make_tiny_sd1  # noqa: E402
from test_train import make_project  # noqa: E402

pytestmark = pytest.mark.slow
TIMEOUT = 240.0  # a run's first step needs torch + diffusers imported: slow on a busy 2-core box


class Sink(Static):
    """A widget that subscribed to the service (as the Train screen's widgets will)."""

    seen: list

    def on_run_updated(self, message: RunUpdated) -> None:
        self.seen.append(message.snapshot.status)


class Host(App):
    """The smallest app that owns a run service and records what it posts."""

    def compose(self) -> ComposeResult:
        yield Sink(id="sink")

    def __init__(self) -> None:
        super().__init__()
        self.service = RunService(self)
        self.updates: list = []
        self.notices: list = []

    def on_run_updated(self, message: RunUpdated) -> None:
        self.updates.append(message.snapshot)

    def on_run_notice(self, message: RunNotice) -> None:
        self.notices.append(message)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return make_tiny_sd1(tmp_path_factory.mktemp("tiny") / "model")


def _project(tmp_path: Path, model: Path, epochs: int = 100) -> Path:
    return make_project(tmp_path / "project", model, **{"training.max_train_epochs": epochs})


async def until(pilot, test, what: str, timeout: float = TIMEOUT):
    return await wait_until(pilot, test, what, timeout)


def _latest(app, run):
    return next((s for s in reversed(app.updates) if s.key == run.key), None)


def _wait_gone(pid: int, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError(f"pid {pid} still runs")


def test_detached_start_outlives_the_app_then_reattach_and_stop(tiny_model, tmp_path):
    config = _project(tmp_path, tiny_model)
    first, second = Host(), Host()
    seen = {}

    async def start():
        async with first.run_test() as pilot:
            command = first.service.command(config)
            assert command.display == f"loratui train {config.resolve()}"
            run = first.service.start(command)
            seen["process"] = run.process
            snap = await until(pilot, lambda: (s := _latest(first, run)) and s.step >= 2 and s, "two steps")
            assert snap.status == "live" and snap.total_steps == 400 and snap.pid == run.process.pid
            assert run.view()["step"][:2] == [1, 2]
            assert os.getsid(run.process.pid) == run.process.pid  # its own session: no SIGINT/SIGHUP from ours
            # at most ~2 updates a second, however many steps arrive
            updates = [s for s in first.updates if s.key == run.key]
            assert len(updates) <= 2 * (time.monotonic() - seen.setdefault("t0", time.monotonic())) + 4

    seen["t0"] = time.monotonic()
    asyncio.run(start())
    process = seen["process"]
    assert process.poll() is None, "the run ended with the app"
    out = tmp_path / "project" / "out"
    assert [r.status for r in list_runs(out)] == ["live"]

    async def reattach():
        async with second.run_test() as pilot:
            (summary,) = second.service.list_runs(out)
            run = second.service.follow(summary.output_dir, summary.name)
            await until(pilot, lambda: (s := _latest(second, run)) and s.caught_up and s.status == "live", "caught up")
            assert run.view()["step"][0] == 1  # from the start of the run
            message = second.service.stop(run)
            assert "stopping after the current step" in message
            snap = await until(pilot, lambda: (s := _latest(second, run)) and s.status == "finished" and s, "stopped")
            assert snap.reason == "stopped" and snap.state is not None
            assert any(n.event and n.event["event"] == "finished" for n in second.notices)

    asyncio.run(reattach())
    assert process.wait(timeout=60) == 0
    finished = read_events(events_path(out, "tiny"))[-1]
    assert finished["event"] == "finished" and Path(finished["output"]).is_file()
    assert log_path(out, "tiny").read_text(encoding="utf-8").startswith("--- ")
    assert not lock_path(out, "tiny").exists()


def test_a_run_killed_with_sigkill_shows_as_crashed(tiny_model, tmp_path):
    config = _project(tmp_path, tiny_model)
    app = Host()

    async def scenario():
        async with app.run_test() as pilot:
            sink = app.query_one(Sink)
            sink.seen = []
            app.service.subscribe(sink)
            run = app.service.start(app.service.command(config))
            await until(pilot, lambda: (s := _latest(app, run)) and s.step >= 1, "a step")
            assert sink.seen and sink.seen[-1] == "live"
            os.kill(run.process.pid, signal.SIGKILL)
            snap = await until(pilot, lambda: (s := _latest(app, run)) and s.status == "crashed" and s, "crashed")
            assert snap.pid is None and run.exit_code == -signal.SIGKILL
            await until(pilot, lambda: sink.seen[-1] == "crashed", "the subscriber told")
            assert any("gone without finishing" in n.line and n.severity == "error" for n in app.notices)
            with pytest.raises(Exception, match="not running"):
                app.service.stop(run)

    asyncio.run(scenario())
    out = tmp_path / "project" / "out"
    assert lock_path(out, "tiny").exists()  # the lock stays behind, its owner is gone
    assert [r.status for r in list_runs(out)] == ["crashed"]


def test_reattach_to_a_run_started_from_the_shell(tiny_model, tmp_path):
    config = _project(tmp_path, tiny_model)
    out = tmp_path / "project" / "out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    shell = subprocess.Popen([sys.executable, "-m", "loratui", "train", str(config)], cwd=tmp_path / "project",
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    app = Host()
    try:
        deadline = time.monotonic() + TIMEOUT
        while len([e for e in read_events(events_path(out, "tiny")) if e["event"] == "step"]) < 3:
            assert shell.poll() is None and time.monotonic() < deadline, "the shell run made no steps"
            time.sleep(0.2)

        async def scenario():
            async with app.run_test() as pilot:
                run = app.service.follow(out, "tiny")
                snap = await until(pilot, lambda: (s := _latest(app, run)) and s.caught_up and s, "caught up")
                assert snap.status == "live" and snap.pid == shell.pid and snap.step >= 3
                assert run.view()["step"][:3] == [1, 2, 3]
                request = app.service.save_now(run)
                answer = await until(pilot, lambda: next((n for n in app.notices if n.event and
                                                          n.event.get("id") == request), None), "save answered")
                assert answer.event["status"] == "done" and "saved" in answer.line
                snap = await until(pilot, lambda: (s := _latest(app, run)) and s.checkpoints and s, "checkpoint")
                assert Path(snap.checkpoints[-1].path).is_file()
                target, line = app.service.promote(run, snap.checkpoints[-1])
                assert target == out / "tiny.safetensors" and "is kept" in line
                os.kill(shell.pid, signal.SIGKILL)
                shell.wait(30)  # the shell reaps its own child
                await until(pilot, lambda: (s := _latest(app, run)) and s.status == "crashed", "crashed")

        asyncio.run(scenario())
    finally:
        if shell.poll() is None:
            shell.kill()
            shell.wait()


def test_two_processes_launched_agree_on_save_now_and_stop(tiny_model, tmp_path):
    """`loratui train --processes 2` (engine/launch.py): the first process reads the requests, both act at the
    same step (the state save gathers every process's random streams: a disagreement would hang here)."""
    config = _project(tmp_path, tiny_model)
    app = Host()
    seen = {}

    async def scenario():
        async with app.run_test() as pilot:
            command = app.service.command(config, processes=2, save_state=True)
            assert command.display == f"loratui train {config.resolve()} --save-state --processes 2"
            assert command.argv[:3] == (sys.executable, "-m", "loratui")  # the app's own python
            run = app.service.start(command)
            seen["process"] = run.process
            await until(pilot, lambda: (s := _latest(app, run)) and s.step >= 1, "a step")
            request = app.service.save_now(run)
            answer = await until(pilot, lambda: next((n for n in app.notices if n.event and
                                                      n.event.get("id") == request), None), "save answered")
            assert answer.event["status"] == "done"
            assert "the run stops after the next step (all 2 processes agree on it then)" in app.service.stop(run)
            snap = await until(pilot, lambda: (s := _latest(app, run)) and s.status == "finished" and s, "stopped")
            seen["snap"] = snap

    asyncio.run(scenario())
    assert seen["process"].wait(timeout=120) == 0
    snap = seen["snap"]
    assert snap.reason == "stopped" and snap.state is not None
    saved_now = snap.checkpoints[0]
    assert saved_now.kind == "step" and saved_now.step < snap.step and Path(saved_now.path).is_file()
    assert saved_now.state is not None and (saved_now.state / "state.json").is_file()
    events = read_events(events_path(tmp_path / "project" / "out", "tiny"))
    assert [e["schedule"]["processes"] for e in events if e["event"] == "run_started"] == [2]
    assert [e["request"] for e in events if e["event"] == "control"] == ["save", "stop"]
    # the stop's answer names the step the processes agree on (the next one), and the run stops after it
    stop = next(e for e in events if e["event"] == "control" and e["request"] == "stop")
    assert stop["message"] == (f"stopping after step {snap.step} (all 2 processes agree on it then): the LoRA and "
                               "the state will be saved")


def test_extend_a_finished_run_then_resume_is_refused_while_it_runs(tiny_model, tmp_path):
    config = make_project(tmp_path / "project", tiny_model, **{"training.max_train_epochs": 1,
                                                                "saving.save_state_on_train_end": True})
    app = Host()

    async def scenario():
        async with app.run_test() as pilot:
            run = app.service.start(app.service.command(config))
            first = await until(pilot, lambda: (s := _latest(app, run)) and s.status == "finished" and s, "finished")
            assert (first.reason, first.step, first.total_steps) == ("completed", 4, 4) and first.state is not None
            again = app.service.extend(first, 1)
            assert again is run and "--extend-epochs 1" in run.command.display
            with pytest.raises(Exception, match="still running"):
                app.service.resume(run)
            snap = await until(pilot, lambda: (s := _latest(app, run)) and s.status == "finished" and s.step == 8
                               and s, "extended")
            assert snap.reason == "completed" and snap.epochs == 2 and snap.total_steps == 8
            assert run.view()["step"] == list(range(1, 9))  # one chart across both sessions
            # the first final LoRA was kept as epoch 1's; tiny.safetensors now holds epoch 2
            assert [(c.path.name, c.epoch) for c in snap.checkpoints] == [("tiny-000001.safetensors", 1),
                                                                          ("tiny.safetensors", 2)]

    asyncio.run(scenario())


def test_a_start_that_train_refuses_shows_as_refused_with_its_reason(tiny_model, tmp_path):
    """`loratui train` refusing the config (exit 2, before any event) is REFUSED with its error line, not
    a crash: nothing ran."""
    config = make_project(tmp_path / "project", tiny_model, **{"dataset.resolution": [64, 64],
                                                               "dataset.min_bucket_reso": 256})
    app = Host()

    async def scenario():
        async with app.run_test() as pilot:
            run = app.service.start(app.service.command(config))
            snap = await until(pilot, lambda: (s := _latest(app, run)) and s.status == "refused" and s, "refused",
                               timeout=60)
            assert run.exit_code == 2 and snap.pid is None
            notice = await until(pilot, lambda: next((n for n in app.notices if "refused" in n.line), None),
                                 "the notice", timeout=10)
            assert "min_bucket_reso" in notice.line and notice.severity == "error"
            assert not any("gone without finishing" in n.line for n in app.notices)

    asyncio.run(scenario())


def test_a_sampled_dry_run_counts_the_sample_not_the_dataset():
    """The CLI captions only the sample (--sample N): progress, ETA and the count are of N images, and
    the summary names how many there were. (The app used to stop the child with SIGINT once N captions
    were in; a batch already started ran on, so a sample of 8 showed "captioning 16 of 800".)"""
    from loratui.tui.services.caption_runs import CaptionRun, CaptionRunner

    run = CaptionRun("blip", ["x"], dry_run=True, sample=8)
    apply = CaptionRunner._apply.__get__(object.__new__(CaptionRunner))
    apply(run, {"event": "started", "total": 800, "to_caption": 8, "skipped": 0, "sample_of": 800})
    apply(run, {"event": "progress", "done": 8, "total": 8, "captioned": 8, "failed": 0, "images_per_s": 1.0,
                "eta_s": 0, "elapsed_s": 8})
    assert run.summary() == "captioning 8 of 8"
    for i in range(8):
        apply(run, {"event": "captioned", "image": f"{i}.png", "caption_file": f"{i}.txt", "caption": "x"})
    apply(run, {"event": "finished", "captioned": 8, "failed": [], "interrupted": False, "elapsed_s": 8})
    apply(run, {"event": "_exit", "code": 0})
    assert run.phase == "done"
    assert run.summary().startswith("dry run: 8 sample caption(s) of 800 image(s) to caption")
    aborted = CaptionRun("wd14", ["x"], dry_run=True, sample=8, exit_code=130)  # stopped by something else
    assert CaptionRunner._end_phase(aborted) == "failed"
