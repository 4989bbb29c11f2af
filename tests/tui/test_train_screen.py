"""The Train screen by keys (Pilot, 80x24).

Deterministic ones follow a recorded run (tests/data/run_recorded.events.jsonl: a real 12-epoch run
of the tiny model, its paths turned into {OUT}/{PROJECT}/{MODEL}), a crashed one and an OOM error.
The slow ones start real detached `loratui train` processes of the tiny model (CPU): start from the
screen, steps and chart, save now, promote, extend by one epoch; a run started from the shell,
reattached, stopped gracefully, resumed, then killed with SIGKILL (shown as crashed).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from fixtures.pilot_wait import until
from loratui.core.config import TrainingConfig, config_from_dict, config_to_dict, save_config
from loratui.core.dataset import locate_dataset
from loratui.core.events import events_path, lock_path, read_events
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.run_picker import NumberDialog, RunPicker, StartDialog
from loratui.tui.screens.train import TrainScreen
from loratui.tui.services.runs import RunNotice
from loratui.tui.widgets.checkpoint_list import CheckpointList
from loratui.tui.widgets.image_preview import ImagePreview
from loratui.tui.widgets.loss_chart import LossChart
from loratui.tui.widgets.run_status import RunStatus

RECORDED = Path(__file__).resolve().parents[1] / "data" / "run_recorded.events.jsonl"
TIMEOUT = 240.0  # a real run's first step needs torch + diffusers imported: slow on a busy 2-core box


def make_project(root: Path, model: Path | str = "model", **overrides) -> Path:
    """A 4-image kohya project (2 repeats, batch 2: 4 steps an epoch) and its config.toml."""
    folder = root / "img" / "2_shp"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(4):
        Image.new("RGB", (64, 64), ((60 * i) % 256, 90, 200 - 40 * i)).save(folder / f"img{i}.png")
        (folder / f"img{i}.txt").write_text(f"shp, shape {i}", encoding="utf-8")
    data = config_to_dict(TrainingConfig())
    values = {
        "model.pretrained_model_name_or_path": str(model), "dataset.train_data_dir": "img",
        "dataset.resolution": [64, 64], "dataset.min_bucket_reso": 64, "dataset.max_bucket_reso": 128,
        "dataset.max_data_loader_n_workers": 0, "network.network_dim": 4, "network.network_alpha": 2.0,
        "optimizer.optimizer_type": "AdamW", "optimizer.learning_rate": 1e-3, "optimizer.lr_scheduler": "constant",
        "training.train_batch_size": 2, "training.max_train_epochs": 2, "training.mixed_precision": "no",
        "training.seed": 1, "saving.output_dir": "out", "saving.output_name": "tiny", "saving.save_precision": "fp16",
    }
    values.update(overrides)
    for key, value in values.items():
        section, name = key.split(".")
        data[section][name] = value
    save_config(config_from_dict(data), root / "config.toml")
    return root / "config.toml"


def write_recorded(root: Path, lines: int | None = None, extra: list[dict] = ()) -> Path:
    """The recorded run in root/out (its first ``lines`` lines, then ``extra``), with dummy LoRA
    files, real sample images and the state folder it names. Returns the output folder."""
    out = root / "out"
    out.mkdir(parents=True, exist_ok=True)
    text = RECORDED.read_text(encoding="utf-8").replace("{OUT}", str(out)).replace("{PROJECT}", str(root))
    text = text.replace("{MODEL}", str(root / "model"))
    events = [json.loads(line) for line in text.splitlines()][:lines]
    events += list(extra)
    events_path(out, "tiny").write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    for event in events:
        if event["event"] == "checkpoint_saved" and event["kind"] != "state":
            Path(event["path"]).write_bytes(f"lora of step {event['step']}".encode())
        elif event["event"] == "checkpoint_saved":
            Path(event["path"]).mkdir(exist_ok=True)
            (Path(event["path"]) / "state.json").write_text(json.dumps({"step": event["step"]}))
        elif event["event"] == "sample_saved":
            for path in event["paths"]:
                Path(path).parent.mkdir(exist_ok=True)
                Image.new("RGB", (64, 64), (200, 30, event["step"])).save(path)
    return out


def make_app(root: Path, config: Path | None) -> LoratuiApp:
    return LoratuiApp(locate_dataset(root), config_path=config, settings_file=root / "tui.toml",
                      keymap_file=root / "k.toml", watch=False)


async def open_train(app, pilot) -> TrainScreen:
    app.add_mode("train2", TrainScreen)  # MODES maps "train" to the placeholder until app.py changes
    await app.switch_mode("train2")
    await pilot.pause()
    return app.get_screen_stack("train2")[0]


def run_app(app, scenario, size=(80, 24)) -> None:
    async def main():
        async with app.run_test(size=size) as pilot:
            await scenario(pilot, await open_train(app, pilot))

    asyncio.run(main())


def notices(app) -> list[str]:
    return [n.message for n in app._notifications]


async def said(pilot, app, test, what: str) -> None:
    """Wait for a notification (App.notify posts a message: it lands a moment later)."""
    await until(pilot, lambda: any(test(n) for n in notices(app)), what)


async def pick(pilot, app, label_part: str) -> None:
    """Choose the run whose picker line contains ``label_part``."""
    picker = await until(pilot, lambda: isinstance(app.screen, RunPicker) and app.screen, "the run picker")
    options = picker.query_one("#run-options")
    index = next(i for i in range(options.option_count) if label_part in str(options.get_option_at_index(i).prompt))
    options.highlighted = index
    await pilot.press("enter")


# ---- deterministic: a recorded run ------------------------------------------------------------------


def test_recorded_run_shows_progress_chart_checkpoints_and_samples(tmp_path):
    config = make_project(tmp_path)
    out = write_recorded(tmp_path)

    async def scenario(pilot, screen: TrainScreen):
        picker = await until(pilot, lambda: isinstance(screen.app.screen, RunPicker) and screen.app.screen, "picker")
        options = picker.query_one("#run-options")
        assert "start a new run from config.toml" in str(options.get_option_at_index(0).prompt)
        assert "✓ COMPLETED tiny · step 48/48 · epoch 12" in str(options.get_option_at_index(1).prompt)
        await pick(pilot, screen.app, "COMPLETED")
        snap = await until(pilot, lambda: screen.snapshot and screen.snapshot.caught_up and screen.snapshot, "caught up")
        status = screen.query_one(RunStatus).plain
        # run_started to finished (the live clock's own): not the loop's 268.9 s (elapsed_s), which left out loading
        for part in ("✓ COMPLETED tiny", "step 48/48 100%", "epoch 12/12", "device cpu", "elapsed 4m31s"):
            assert part in status
        await until(pilot, lambda: "48 steps" in screen.chart.text(), "chart drawn")
        chart = screen.chart.text()
        assert "┤" in chart and "└" in chart and "┬" in chart and "┊" in chart  # y ticks, x axis, epochs
        assert chart.splitlines()[-2].rstrip().endswith("48") and "lr" in chart.splitlines()[-1]
        listed = screen.query_one(CheckpointList)
        assert [(c.kind, c.step, c.epoch) for c in listed.checkpoints] == [("epoch", 16, 4), ("epoch", 32, 8),
                                                                          ("final", 48, 12)]
        assert listed.highlighted == 2 and listed.checkpoints[2].state == out / "tiny-state"
        await pilot.press("up")  # epoch 8: its sample previews
        prompts = [str(listed.get_option_at_index(i).prompt) for i in range(3)]
        assert prompts[1].startswith("▶ e8 s32") and not prompts[0].startswith("▶") and not prompts[2].startswith("▶")
        preview = screen.query_one(ImagePreview)
        assert preview.path == out / "sample" / "tiny_000032_00_1.png"
        await until(pilot, lambda: preview.is_settled, "preview")
        assert "tiny-000008.safetensors · 1 sample(s)" in str(screen.query_one("#checkpoint-detail").render())
        assert "error: " not in " ".join(notices(screen.app))
        # the run's story stands in for a log it does not have (not started by the app)
        assert "completed at step 48" in str(screen.query_one("#run-log").render())

        # promote: a copy beside the final LoRA, never over it, and said
        await pilot.press("p")
        promoted = out / "tiny-promoted.safetensors"
        await until(pilot, lambda: promoted.exists(), "promoted")
        assert promoted.read_bytes() == (out / "tiny-000008.safetensors").read_bytes()
        assert (out / "tiny.safetensors").read_bytes() == b"lora of step 48"
        await said(pilot, screen.app, lambda n: str(promoted) in n and "is kept" in n, "promotion said")
        # again: the same bytes are promoted already, as that copy: said, and nothing written
        before = sorted(path.name for path in out.iterdir())
        await pilot.press("p")
        await said(pilot, screen.app, lambda n: n == "tiny-000008.safetensors is already promoted as "
                   "tiny-promoted.safetensors (the same bytes): nothing copied", "already promoted")
        assert sorted(path.name for path in out.iterdir()) == before

        # continue from a checkpoint without a state: one line saying why not
        await pilot.press("c")
        await said(pilot, screen.app, lambda n: "tiny-000008.safetensors: no saved state" in n, "no state")
        # the final's state folder written again by a later run: refused, not resumed from the wrong step
        (out / "tiny-state" / "state.json").write_text(json.dumps({"step": 60}))
        await pilot.press("down", "c")
        await said(pilot, screen.app, lambda n: "tiny-state holds step 60 now, not step 48" in n, "stale state")
        assert not isinstance(screen.app.screen, NumberDialog)
        (out / "tiny-state" / "state.json").write_text(json.dumps({"step": 48}))
        await pilot.press("up")

        # log scale and zoom
        await pilot.press("l")
        await until(pilot, lambda: "log" in screen.chart.text().splitlines()[0], "log scale")
        await pilot.press("plus")
        await until(pilot, lambda: "last 20 steps" in screen.chart.text(), "zoom in")
        assert screen.chart.text().splitlines()[-2].split()[0] == "29"  # the first step shown
        await pilot.press("plus", "minus", "minus")
        await until(pilot, lambda: "48 steps" in screen.chart.text().splitlines()[0], "zoom out")

    run_app(make_app(tmp_path, config), scenario)


def test_an_engine_error_is_one_line_and_its_key_opens_the_setting(tmp_path):
    config = make_project(tmp_path)
    oom = {"event": "error", "time": 1.0, "message": "CUDA out of memory at step 9 (estimate 4.9 GiB)",
           "hint": "try the 8 GB preset (`loratui presets apply sd15-8gb x.toml`) or gradient_checkpointing = true; "
                   "a smaller train_batch_size also helps", "kind": "oom"}
    done = {"event": "finished", "time": 2.0, "reason": "error", "step": 9, "epoch": 3, "output": None,
            "elapsed_s": 30.0}
    write_recorded(tmp_path, lines=12, extra=[oom, done])

    async def scenario(pilot, screen: TrainScreen):
        await pick(pilot, screen.app, "ERROR")
        await until(pilot, lambda: screen.snapshot and screen.snapshot.caught_up, "caught up")
        line = str(screen.query_one("#run-error").render())
        assert line.startswith("✗ out of memory (o: open gradient_checkpointing): CUDA out of memory at step 9")
        assert "hint: try the 8 GB preset" in line
        assert "✗ ERROR tiny" in screen.query_one(RunStatus).plain
        await pilot.press("o")
        await until(pilot, lambda: screen.app.current_mode == "settings", "settings")
        await until(pilot, lambda: getattr(screen.app.focused, "key", None) == ("training", "gradient_checkpointing"),
                    "the field focused")

    run_app(make_app(tmp_path, config), scenario)


def _live_caching_run(tmp_path, done: int, eta_s: float, then) -> None:
    """A live run (our pid holds its lock) whose last event is a cache_progress at done/36; ``then``
    continues the scenario once the screen follows it and has caught up."""
    config = make_project(tmp_path)
    caching = {"event": "cache_progress", "time": 2.0, "what": "caching latents", "done": done, "total": 36,
               "eta_s": eta_s}
    out = write_recorded(tmp_path, lines=1, extra=[caching])
    lock_path(out, "tiny").write_text(f"{os.getpid()}\n")

    async def scenario(pilot, screen: TrainScreen):
        await until(pilot, lambda: screen.run is not None, "the one live run followed on arrival (no picker)")
        await until(pilot, lambda: screen.snapshot and screen.snapshot.caught_up, "caught up")
        await then(pilot, screen)

    try:
        run_app(make_app(tmp_path, config), scenario)
    finally:
        lock_path(out, "tiny").unlink(missing_ok=True)


def test_a_live_run_past_caching_says_the_first_step_runs_and_its_clock_ticks(tmp_path):
    """Caching done and no step yet (a slow first step): the line says so, and the snapshot is refreshed
    every second with no new event, so "elapsed" goes on instead of standing still."""

    async def then(pilot, screen: TrainScreen):
        await until(pilot, lambda: "caching latents 36/36 done · first step running…"
                    in screen.query_one(RunStatus).plain, "first step shown")
        first = screen.snapshot.elapsed_s
        await until(pilot, lambda: screen.snapshot.elapsed_s >= first + 1, "elapsed ticks", timeout=5)

    _live_caching_run(tmp_path, 36, 0.0, then)


def test_a_live_run_caching_latents_shows_its_progress(tmp_path):
    """Before the first step, cache_progress events stand where the loss line will be (issue 12)."""

    async def then(pilot, screen: TrainScreen):
        await until(pilot, lambda: "caching latents 12/36 (33%) · ETA 0:40" in screen.query_one(RunStatus).plain,
                    "caching shown")

    _live_caching_run(tmp_path, 12, 40.0, then)


def test_a_run_whose_process_is_gone_shows_as_crashed_with_its_log(tmp_path):
    config = make_project(tmp_path)
    out = write_recorded(tmp_path, lines=20)  # steps, no `finished`
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock_path(out, "tiny").write_text(f"{dead.pid} -\n")
    (out / "tiny.log").write_text("[transformers] loading the model\nstep 15/48\nKilled\n")

    async def scenario(pilot, screen: TrainScreen):
        picker = await until(pilot, lambda: isinstance(screen.app.screen, RunPicker) and screen.app.screen, "picker")
        options = picker.query_one("#run-options")
        options.highlighted = 1
        await pilot.pause()
        assert "✗ CRASHED tiny" in str(options.get_option_at_index(1).prompt)
        detail = str(picker.query_one("#run-detail").render())
        assert "gone without finishing" in detail and "Killed" in detail
        await pilot.press("enter")
        snap = await until(pilot, lambda: screen.snapshot and screen.snapshot.caught_up and screen.snapshot, "followed")
        assert snap.status == "crashed"
        status = screen.query_one(RunStatus).plain
        assert "✗ CRASHED tiny" in status and "LIVE" not in status and "gone without finishing" in status
        assert "Killed" in str(screen.query_one("#run-log").render())
        await pilot.press("x")  # nothing to stop: one line
        await said(pilot, screen.app, lambda n: "tiny is not running" in n, "not running")
        screen.post_message(RunNotice(snap.key, "tiny: warning: [transformers] odd [/b] text", "warning", None))
        await said(pilot, screen.app, lambda n: n == "tiny: warning: [transformers] odd [/b] text", "not markup")

    run_app(make_app(tmp_path, config), scenario)


def test_no_runs_yet_says_how_to_start_and_shows_the_command(tmp_path):
    config = make_project(tmp_path)

    async def scenario(pilot, screen: TrainScreen):
        status = screen.query_one(RunStatus)
        await until(pilot, lambda: "no runs yet" in str(status.render()), "empty state")
        assert "s: start one from config.toml" in str(status.render())
        assert not isinstance(screen.app.screen, RunPicker)
        await pilot.press("s")
        dialog = await until(pilot, lambda: isinstance(screen.app.screen, StartDialog) and screen.app.screen, "dialog")
        message = lambda: str(dialog.query_one("#ask-message").render())  # noqa: E731
        assert f"$ loratui train {config.resolve()}" in message()
        # what config check finds is said before enter, and enter does not start it (train would refuse)
        assert message().startswith("error: pretrained_model_name_or_path: ") and "does not exist" in message()
        await pilot.press("enter")
        assert screen.app.screen is dialog and not out_has_files(tmp_path)
        dialog.query_one("#ask-input").value = "2"
        await until(pilot, lambda: f"$ loratui train {config.resolve()} --processes 2" in message(), "--processes 2")
        dialog.query_one("#ask-input").value = "0"
        await until(pilot, lambda: "error: processes must be" in message(), "checked")
        await pilot.press("escape")
        assert not out_has_files(tmp_path)

    run_app(make_app(tmp_path, config), scenario)


def out_has_files(root: Path) -> bool:
    return (root / "out").exists() and any((root / "out").iterdir())


def test_every_key_is_in_the_palette_and_the_required_ids_exist(tmp_path):
    ids = {b.id for b in TrainScreen.BINDINGS}
    for wanted in ("train.start", "train.stop", "train.save_now", "train.sample_now", "train.resume",
                   "train.extend", "train.promote", "train.pick_run"):
        assert wanted in ids
    screen = TrainScreen()
    helps = " ".join(c.help for c in screen.palette_commands())
    for binding in TrainScreen.BINDINGS:
        first = binding.key.split(",")[0]
        assert (binding.key_display or first) in helps or first in helps, binding.id


# ---- slow: real detached runs of the tiny model ---------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from fixtures.tiny_models import make_tiny_sd1  # torch: only for the slow tests

    return make_tiny_sd1(tmp_path_factory.mktemp("tiny") / "model")


def _end_processes(app) -> None:
    """Kill what a failed test left running (the runs are detached: they outlive the app)."""
    service = getattr(app, "run_service", None)
    for run in list(service.followed.values()) if service else []:
        if run.process is not None and run.process.poll() is None:
            run.process.kill()
            run.process.wait(30)


@pytest.mark.slow
def test_start_from_the_screen_save_now_promote_then_extend_by_one_epoch(tiny_model, tmp_path):
    config = make_project(tmp_path, tiny_model, **{"training.max_train_epochs": 2,
                                                   "saving.save_state_on_train_end": True})
    out = tmp_path / "out"
    app = make_app(tmp_path, config)

    async def scenario(pilot, screen: TrainScreen):
        await until(pilot, lambda: "no runs yet" in str(screen.query_one(RunStatus).render()), "empty state")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, StartDialog), "the command")
        await pilot.press("enter")
        run = await until(pilot, lambda: screen.run, "started")
        first_pid = run.process.pid
        assert os.getsid(first_pid) == first_pid  # detached: a session of its own
        draws = screen.chart.draws
        await until(pilot, lambda: screen.snapshot and screen.snapshot.step >= 1, "a step", TIMEOUT)
        assert "● LIVE tiny" in screen.query_one(RunStatus).plain or screen.snapshot.status != "live"
        await pilot.press("w")  # save now: answered by a step checkpoint
        await until(pilot, lambda: screen.chart.draws > draws and "no steps yet" not in screen.chart.text(), "chart")
        saved = await until(pilot, lambda: next((c for c in screen.checkpoints.checkpoints if c.kind == "step"), None),
                            "the saved checkpoint", TIMEOUT)
        await until(pilot, lambda: screen.snapshot.status == "finished" and screen.snapshot.step == 8, "done", TIMEOUT)
        assert screen.snapshot.reason == "completed" and (out / "tiny.safetensors").is_file()
        listed = screen.checkpoints
        listed.highlighted = listed.checkpoints.index(saved)
        await pilot.press("p")
        promoted = out / "tiny-promoted.safetensors"  # tiny.safetensors is the run's own: never overwritten
        await until(pilot, lambda: promoted.exists(), "promoted")
        assert promoted.read_bytes() == Path(saved.path).read_bytes()

        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, NumberDialog), "how many epochs")
        await pilot.press("enter")  # 1
        await until(pilot, lambda: screen.run.process is not None and screen.run.process.pid != first_pid, "extended")
        await said(pilot, app, lambda n: "extending by 1 epoch(s): loratui train" in n and "--extend-epochs 1" in n,
                   "the command said")
        await until(pilot, lambda: screen.snapshot.status == "finished" and screen.snapshot.step == 12,
                    "the extra epoch", TIMEOUT)
        assert screen.snapshot.reason == "completed" and screen.snapshot.epoch == 3
        assert (out / "tiny-000002.safetensors").is_file()  # the LoRA of the first 2 epochs is kept

    try:
        run_app(app, scenario)
    finally:
        _end_processes(app)


@pytest.mark.slow
def test_reattach_to_a_shell_run_stop_it_resume_it_then_sigkill_shows_crashed(tiny_model, tmp_path):
    config = make_project(tmp_path, tiny_model, **{"training.max_train_epochs": 100})
    out = tmp_path / "out"
    shell = subprocess.Popen([sys.executable, "-m", "loratui", "train", str(config)], cwd=tmp_path,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env={**os.environ, "PYTHONUNBUFFERED": "1"})
    app = make_app(tmp_path, config)

    async def scenario(pilot, screen: TrainScreen):
        await until(pilot, lambda: screen.run is not None, "the one live run followed on arrival (no picker)")
        snap = await until(pilot, lambda: screen.snapshot and screen.snapshot.caught_up and screen.snapshot.step >= 1
                           and screen.snapshot, "following", TIMEOUT)
        assert snap.status == "live" and snap.pid == shell.pid and screen.run.view()["step"][0] == 1  # from its start
        status = screen.query_one(RunStatus).plain
        assert "● LIVE tiny" in status and "ETA" in status and "/100" in status
        await pilot.press("x")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ChoiceDialog", "asked")
        await pilot.press("y")
        snap = await until(pilot, lambda: screen.snapshot.status == "finished" and screen.snapshot, "stopped", TIMEOUT)
        assert snap.reason == "stopped" and snap.state is not None
        finished = read_events(events_path(out, "tiny"))[-1]
        assert finished["event"] == "finished" and Path(finished["output"]).is_file()  # the LoRA
        assert "■ STOPPED tiny" in screen.query_one(RunStatus).plain
        stopped_at = snap.step

        await pilot.press("r")
        await until(pilot, lambda: screen.run.process is not None, "resumed")
        await until(pilot, lambda: screen.snapshot.status == "live" and screen.snapshot.step > stopped_at,
                    "a step after the stop", TIMEOUT)
        os.kill(screen.run.process.pid, signal.SIGKILL)
        await until(pilot, lambda: screen.snapshot.status == "crashed", "crashed")
        status = screen.query_one(RunStatus).plain
        assert "✗ CRASHED tiny" in status and "LIVE" not in status
        await said(pilot, app, lambda n: "gone without finishing" in n, "the crash said")

    try:
        deadline = time.monotonic() + TIMEOUT
        while not any(e["event"] == "step" for e in read_events(events_path(out, "tiny"))):
            assert shell.poll() is None and time.monotonic() < deadline, "the shell run made no step"
            time.sleep(0.2)
        run_app(app, scenario)
        assert shell.wait(60) == 0  # stopped gracefully: exit code 0
    finally:
        if shell.poll() is None:
            shell.kill()
            shell.wait()
        _end_processes(app)


def test_the_run_picker_starts_on_a_live_run(tmp_path):
    """The app says "x is training: 4 follows it"; the picker opened on "+ start a new run"."""
    import json as _json
    import os as _os

    from textual.app import App

    from loratui.core import runs
    from loratui.core.events import _process_start, events_path, lock_path, make_event
    from loratui.tui.screens.run_picker import RunEntry

    out = tmp_path / "out"
    out.mkdir()
    for name, live in (("done", False), ("busy", True)):
        events = [make_event("run_started", config="/p/c.toml", output_dir=str(out), output_name=name, model={},
                             dataset={}, schedule={"total_steps": 8, "epochs": 2}, resumed_from=None, pid=1),
                  make_event("step", step=1, total_steps=8, epoch=1, loss=0.5, avg_loss=0.5, lr=1e-3,
                             images_per_s=2.0, eta_s=1.0)]
        if not live:
            events.append(make_event("finished", reason="finished", step=8, epoch=2, output=None))
        events_path(out, name).write_text("".join(_json.dumps(e) + "\n" for e in events))
        if live:
            pid = _os.getpid()
            lock_path(out, name).write_text(f"{pid} {_process_start(pid) or '-'}\n")
    entries = [RunEntry(s) for s in runs.list_runs(out)]
    assert [e.summary.status for e in entries].count("live") == 1

    class Host(App):
        async def on_mount(self) -> None:
            await self.push_screen(RunPicker(entries, [out], "config.toml"))

    async def main():
        app = Host()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            options = app.screen.query_one("#run-options")
            assert "busy" in str(options.get_option_at_index(options.highlighted).prompt)

    asyncio.run(main())


def test_the_status_shows_vram_on_a_gpu_and_the_device_elsewhere():
    from types import SimpleNamespace

    from loratui.tui.widgets.run_status import status_lines

    base = dict(status="live", reason=None, name="x", step=3, total_steps=8, epoch=1, epochs=2, loss=0.5,
                avg_loss=0.5, lr=1e-3, images_per_s=2.0, eta_s=5, elapsed_s=9, peak_vram_gib=3.2,
                vram_estimate_gib=3.5, pid=None, caching=None)
    text = lambda **kw: "".join(part for part, _ in status_lines(SimpleNamespace(**base, **kw)))  # noqa: E731
    assert "VRAM peak 3.2 GiB (estimate 3.5 GiB)" in text(device="cuda:0")
    assert "VRAM peak 3.2 GiB" in text(device=None)  # an older events file says nothing: as before
    assert "device mps" in text(device="mps") and "VRAM" not in text(device="cpu")
    # starting: the device is not known yet, so no "VRAM peak -" (a CPU run showed one)
    starting = dict(base, status="starting", step=0, peak_vram_gib=None, pid=4242)
    line = "".join(part for part, _ in status_lines(SimpleNamespace(**starting, device=None))).splitlines()[-1]
    assert line == "pid 4242"
    on_gpu = dict(starting, status="live", device="cuda:0")
    assert "VRAM peak - (estimate 3.5 GiB)" in "".join(part for part, _ in status_lines(SimpleNamespace(**on_gpu)))


def screen_text(app) -> str:
    return "\n".join("".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips())


def test_a_crashed_runs_box_shows_its_last_log_lines_at_80x24_and_marks_the_followed_run(tmp_path):
    """The box ended with "[....] step 1/26 ..." and "img/s" wrapped: the last line (step 3/26, or a
    traceback's message) was cut off. Each line is one screen line now, newest last; the run the
    screen follows is marked (following), in words."""
    config = make_project(tmp_path)
    out = write_recorded(tmp_path, lines=20)  # steps, no `finished`
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock_path(out, "tiny").write_text(f"{dead.pid} -\n")
    progress = "[{}] step {}/26 epoch 1/2 ETA 00:01:07 loss 1.1820 0.74 img/s and a long tail of words"
    lines = ["loading /tmp/trainfix/base-model/tiny-sd1 ...", "[####################] caching latents 8/8",
             "training 26 steps (2 epoch(s) x 13) on cpu", progress.format("." * 20, 1),
             progress.format("##" + "." * 18, 2), "Traceback (most recent call last):",
             '  File "/work/main/src/loratui/engine/run.py", line 443, in execute',
             "FileNotFoundError: [Errno 2] No such file or directory: '/tmp/tf2/some/new/deeper/out/shapes_demo-000001"
             ".safetensors'"]
    (out / "tiny.log").write_text("".join(line + "\n" for line in lines))

    async def scenario(pilot, screen: TrainScreen):
        picker = await until(pilot, lambda: isinstance(screen.app.screen, RunPicker) and screen.app.screen, "picker")
        options = picker.query_one("#run-options")
        assert "(following)" not in str(options.get_option_at_index(1).prompt)  # nothing followed yet
        options.highlighted = 1
        text = await until(pilot, lambda: "its log ends:" in (t := screen_text(screen.app)) and t, "the detail")
        assert "FileNotFoundError: [Errno 2] No such file or directory: '/tmp/tf2/some/" in text  # the last line
        assert '  File "/work/main/src/loratui/engine/run.py", line 443' in text
        assert "its log ends:" in text and "img/s" not in text  # cut to the width, not wrapped
        assert "│ tiny.events.jsonl " in text  # the folder is on the line above: the file's name is not cut
        detail = picker.query_one("#run-detail")
        rows = [line.rstrip() for line in text.splitlines()]
        last = next(i for i, row in enumerate(rows) if "FileNotFoundError" in row)
        assert rows[last].endswith("… │") and rows[last + 1].startswith("╰")  # the box's last line
        assert detail.region.height <= 8
        await pilot.press("enter")
        await until(pilot, lambda: screen.snapshot and screen.snapshot.caught_up, "followed")
        await pilot.press("a")
        picker = await until(pilot, lambda: isinstance(screen.app.screen, RunPicker) and screen.app.screen, "again")
        options = picker.query_one("#run-options")
        assert "✗ CRASHED tiny (following) · step 16/48" in str(options.get_option_at_index(1).prompt)
        options.highlighted = 1
        await until(pilot, lambda: "(following): the Train screen shows this run now" in screen_text(screen.app),
                    "the followed run's detail")
        assert "FileNotFoundError: [Errno 2]" in screen_text(screen.app)

    run_app(make_app(tmp_path, config), scenario)


def test_start_warnings_stand_above_the_command_and_its_keys(tmp_path):
    """"! overwrites the last run's ..." sat under "enter: start · esc: cancel", easy to miss."""
    from types import SimpleNamespace

    from textual.app import App

    warning = ("overwrites the last run's shapes_demo-000001.safetensors, shapes_demo-000002.safetensors and 4 more "
               "in /tmp/trainfix/model: to keep them, change saving.output_name on Settings first")

    class Host(App):
        async def on_mount(self) -> None:
            await self.push_screen(StartDialog("start a new run from config.toml",
                                               lambda n: SimpleNamespace(display="loratui train /p/config.toml"),
                                               warnings=[warning]))

    async def main():
        app = Host()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            text = screen_text(app)
            assert text.index("! overwrites the last run's") < text.index("$ loratui train /p/config.toml") \
                < text.index("enter: start · esc: cancel")

    asyncio.run(main())


def test_the_window_title_names_the_project_folder_however_it_was_opened(tmp_path, monkeypatch):
    """`loratui` in a project said "loratui — ."; `loratui demo` and `attach` an absolute path."""
    project = tmp_path / "my-project"
    make_project(project)
    monkeypatch.chdir(project)
    assert make_app(Path("."), None).sub_title == "my-project"
    assert make_app(project, None).sub_title == "my-project"
    monkeypatch.chdir(tmp_path)
    assert make_app(Path("my-project"), None).sub_title == "my-project"
