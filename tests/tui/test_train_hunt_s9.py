"""The Train screen (hunt s9): a live run handled up front (findings 18: the one live run is followed on
arrival, `s` says at once that it trains and offers to follow it), dialogs free of toasts (15), and
earlier runs of a name shown read-only from the runs picker (12)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures.pilot_wait import until  # noqa: E402
from test_train_screen import make_app, make_project, notices, pick, run_app, said, write_recorded  # noqa: E402

from loratui.core import runs  # noqa: E402
from loratui.core.events import _process_start, events_path, lock_path, make_event  # noqa: E402
from loratui.tui.screens.run_picker import RunPicker, StartDialog  # noqa: E402
from loratui.tui.screens.train import TrainScreen  # noqa: E402
from loratui.tui.widgets.checkpoint_list import CheckpointList  # noqa: E402
from loratui.tui.widgets.run_status import RunStatus  # noqa: E402


def live_run(out: Path, name: str) -> None:
    """A run that trains now (this process holds its lock), at step 1 of 8."""
    out.mkdir(parents=True, exist_ok=True)
    events = [make_event("run_started", config="/p/c.toml", output_dir=str(out), output_name=name, model={},
                         dataset={}, schedule={"total_steps": 8, "epochs": 2}, resumed_from=None, pid=os.getpid()),
              make_event("step", step=1, total_steps=8, epoch=1, loss=0.5, avg_loss=0.5, lr=1e-3, images_per_s=2.0,
                         eta_s=1.0)]
    events_path(out, name).write_text("".join(json.dumps(e) + "\n" for e in events))
    lock_path(out, name).write_text(f"{os.getpid()} {_process_start(os.getpid()) or '-'}\n")


def test_the_one_live_run_is_followed_on_arrival(tmp_path):
    config = make_project(tmp_path)
    live_run(tmp_path / "out", "tiny")

    async def scenario(pilot, screen: TrainScreen):
        await until(pilot, lambda: screen.run is not None, "the live run followed")
        assert screen.run.name == "tiny" and not isinstance(screen.app.screen, RunPicker)
        await until(pilot, lambda: "LIVE tiny" in screen.query_one(RunStatus).plain, "shown live")
        await pilot.press("s")  # followed already: one line, no dialog
        await said(pilot, screen.app, lambda n: n.startswith("tiny is training (pid ") and "x stops it" in n,
                   "training said")
        assert screen.app.screen is screen

    run_app(make_app(tmp_path, config), scenario)


def test_with_two_live_runs_the_picker_asks_and_s_offers_to_follow_the_configs_run(tmp_path):
    from loratui.tui.screens.config_dialogs import ChoiceDialog

    config = make_project(tmp_path)
    live_run(tmp_path / "out", "tiny")
    live_run(tmp_path / "out", "other")

    async def scenario(pilot, screen: TrainScreen):
        app = screen.app
        await until(pilot, lambda: isinstance(app.screen, RunPicker), "the picker: which live run?")
        await pilot.press("escape")
        app.notify("an older toast")
        await pilot.press("s")  # at once, not after enter in the start dialog
        dialog = await until(pilot, lambda: isinstance(app.screen, ChoiceDialog) and app.screen, "a run is live")
        assert dialog.dialog_title == "a run is live" and "tiny is training in" in dialog.body
        assert not app._notifications  # the dialog opens with no toast over it
        await pilot.press("f")
        await until(pilot, lambda: screen.run is not None and screen.run.name == "tiny", "followed")

    run_app(make_app(tmp_path, config), scenario)


def test_the_start_dialog_opens_with_no_toast_over_its_warnings(tmp_path):
    config = make_project(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "tiny-000001.safetensors").write_bytes(b"x")  # the last run's: the dialog warns

    async def scenario(pilot, screen: TrainScreen):
        app = screen.app
        app.notify("promoted tiny-000001.safetensors: a long line that took three rows at 80x24", timeout=30)
        await until(pilot, lambda: app._notifications, "a toast")
        await pilot.press("s")
        dialog = await until(pilot, lambda: isinstance(app.screen, StartDialog) and app.screen, "the start dialog")
        assert not app._notifications and any("moves the last run's" in w for w in dialog.warnings)

    run_app(make_app(tmp_path, config), scenario)


def test_an_earlier_run_of_the_name_opens_read_only_with_its_checkpoints_where_they_are(tmp_path):
    config = make_project(tmp_path)
    out = write_recorded(tmp_path)
    os.replace(events_path(out, "tiny"), out / "tiny.events.1.jsonl")  # a new run of tiny moved it aside
    ended = runs.read_summary(out, "tiny", 1).record.last_time
    for path in out.rglob("*"):  # written during the recorded run, before its last event
        os.utime(path, (ended - 30, ended - 30))
    kept = out / "tiny-kept-20260101-000000"
    kept.mkdir()
    shutil.move(out / "tiny-000004.safetensors", kept / "tiny-000004.safetensors")  # the new run moved it
    (out / "tiny.safetensors").write_bytes(b"the new run's final")  # written over: gone for the earlier run
    events_path(out, "tiny").write_text("".join(json.dumps(e) + "\n" for e in [
        make_event("run_started", config=str(config), output_dir=str(out), output_name="tiny", model={}, dataset={},
                   schedule={"total_steps": 8, "epochs": 2}, resumed_from=None, pid=1),
        make_event("finished", reason="stopped", step=0, epoch=0, output=None)]))

    async def scenario(pilot, screen: TrainScreen):
        app = screen.app
        picker = await until(pilot, lambda: isinstance(app.screen, RunPicker) and app.screen, "picker")
        options = picker.query_one("#run-options")
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert "■ STOPPED tiny ·" in prompts[1] and "✓ COMPLETED tiny (earlier run 1) · step 48/48" in prompts[2]
        options.highlighted = 2
        await pilot.pause()
        assert "an earlier run of tiny, shown read-only" in str(picker.query_one("#run-detail").render())
        await pick(pilot, app, "earlier run 1")
        await until(pilot, lambda: screen.snapshot and screen.snapshot.caught_up, "caught up")
        assert "✓ COMPLETED tiny (earlier run 1)" in screen.query_one(RunStatus).plain
        listed = screen.query_one(CheckpointList)
        by_name = {c.path.name: c for c in listed.checkpoints}
        assert by_name["tiny-000004.safetensors"].path == kept / "tiny-000004.safetensors"
        assert by_name["tiny.safetensors"].gone and not by_name["tiny-000008.safetensors"].gone
        row = str(listed.get_option_at_index(2).prompt).rstrip()
        assert " gone" in row[:24]  # early in the row: the 30-column panel cuts its end off
        assert screen.snapshot.state is None and screen.snapshot.log_tail == ()  # the latest run's, not its own
        await pilot.press("p")  # the highlighted final is gone: nothing to promote
        await said(pilot, app, lambda n: "tiny.safetensors of tiny (earlier run 1) is gone" in n, "gone said")
        await pilot.press("e")
        await said(pilot, app, lambda n: "shown read-only" in n, "read-only said")
        await pilot.press("up", "up", "c")
        await said(pilot, app, lambda n: n.startswith("tiny (earlier run 1) is shown read-only"), "no continue")
        assert "error" not in " ".join(notices(app)).lower()

    run_app(make_app(tmp_path, config), scenario)



def test_attach_earlier_opens_that_earlier_run_read_only(tmp_path, monkeypatch):
    """`loratui attach OUT --run tiny --earlier 1` reaches the Train screen as attach_run + attach_earlier."""
    project = tmp_path / "p"
    make_project(project)
    out = project / "out"
    out.mkdir()
    followed = []
    monkeypatch.setattr(TrainScreen, "follow", lambda self, folder, name, earlier=0: followed.append((folder, name, earlier)))
    app = make_app(project, project / "config.toml")
    app.attach_dir, app.attach_run, app.attach_earlier = out, "tiny", 1

    async def scenario(pilot, screen):
        await until(pilot, lambda: followed, "followed")

    run_app(app, scenario)
    assert {(Path(f).resolve(), n, e) for f, n, e in followed} == {(out.resolve(), "tiny", 1)}  # (each Train screen)


def test_promoting_an_earlier_runs_checkpoint_while_the_name_trains_is_refused(tmp_path):
    """An earlier run of tiny is never live itself, but its name's latest run is: a copy promoted into
    the free tiny.safetensors would be written over when that run ends (review, session 9)."""
    config = make_project(tmp_path)
    out = write_recorded(tmp_path)
    os.replace(events_path(out, "tiny"), out / "tiny.events.1.jsonl")
    ended = runs.read_summary(out, "tiny", 1).record.last_time
    for path in out.rglob("*"):
        os.utime(path, (ended - 30, ended - 30))
    (out / "tiny.safetensors").unlink()
    live_run(out, "tiny")

    async def scenario(pilot, screen: TrainScreen):
        app = screen.app
        await pilot.pause(0.5)
        if not isinstance(app.screen, RunPicker):
            await pilot.press("escape")
            await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, RunPicker), "picker")
        await pick(pilot, app, "earlier run 1")
        await until(pilot, lambda: screen.snapshot and screen.snapshot.earlier and screen.snapshot.caught_up, "shown")
        listed = screen.query_one(CheckpointList)
        names = [c.path.name for c in listed.checkpoints]
        listed.focus()
        await pilot.pause()
        listed.highlighted = names.index("tiny-000008.safetensors")
        await pilot.pause()
        await pilot.press("p")
        await said(pilot, app, lambda n: "tiny is still running" in n, "refused")

    run_app(make_app(tmp_path, config), scenario)
    assert not (out / "tiny.safetensors").exists()


def test_an_earlier_run_shown_sees_a_later_run_write_over_its_final(tmp_path, monkeypatch):
    """Shown while the latest run of the name trains, the earlier run's final was listed as there; once
    that run wrote its own final it stayed so until the app was restarted."""
    from loratui.tui.services.runs import RunService

    monkeypatch.setattr(RunService, "EARLIER_REFRESH", 0.2)
    config = make_project(tmp_path)
    out = write_recorded(tmp_path)
    os.replace(events_path(out, "tiny"), out / "tiny.events.1.jsonl")
    ended = runs.read_summary(out, "tiny", 1).record.last_time
    for path in out.rglob("*"):
        os.utime(path, (ended - 30, ended - 30))

    async def scenario(pilot, screen: TrainScreen):
        app = screen.app
        await until(pilot, lambda: isinstance(app.screen, RunPicker), "picker")
        await pick(pilot, app, "earlier run 1")
        await until(pilot, lambda: screen.snapshot and screen.snapshot.caught_up, "caught up")
        final = {c.path.name: c for c in screen.query_one(CheckpointList).checkpoints}["tiny.safetensors"]
        assert not final.gone
        (out / "tiny.safetensors").write_bytes(b"the later run's final")  # mtime now: after the run ended
        await until(pilot, lambda: {c.path.name: c for c in screen.query_one(CheckpointList).checkpoints}
                    ["tiny.safetensors"].gone, "shown gone")

    run_app(make_app(tmp_path, config), scenario)
