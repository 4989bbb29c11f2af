"""StepCalculator against `loratui steps --json`, its target box, its scan cache and its duration line.

pytest-asyncio is not installed: each test is a plain function running its Pilot session in asyncio.run.
The property test runs its hypothesis examples inside one Pilot session: update_config with a scan
computes synchronously on the UI thread, so no await is needed between examples.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from fixtures.step_calc import CalcApp, cache_ten_thousand_images, make_images, small_project
from textual.widgets import Input, Static

from loratui.cli import cli
from loratui.core.config import TrainingConfig, load_config, save_config
from loratui.core.errors import LoratuiError
from loratui.core.plan import scan_for_config
from loratui.tui.services.gpu import GPU_STATE, parse_nvidia_smi
from loratui.tui.services.run_speed import estimate_duration, format_duration, runs_in_file
from loratui.tui.widgets import step_calculator
from loratui.tui.widgets.step_calculator import SCAN_CACHE, StepCalculator


def cli_result(path: Path, *extra: str) -> dict | LoratuiError:
    """`loratui steps PATH --json` in process: its JSON less "config" and "network", or the LoratuiError it stops
    with."""
    result = CliRunner().invoke(cli, ["steps", str(path), "--json", *extra])
    if isinstance(result.exception, LoratuiError):
        return result.exception
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    data.pop("config")
    data.pop("network", None)  # the network's size: `steps` prints it, the calculator shows the schedule
    return data


def cli_json(path: Path, *extra: str) -> dict:
    data = cli_result(path, *extra)
    assert isinstance(data, dict), data
    return data


def reset_state(monkeypatch, tmp_path: Path) -> None:
    SCAN_CACHE.clear()
    GPU_STATE.reset()
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))  # no nvidia-smi unless a test puts one there


# ---- the property: numbers() == `loratui steps --json` --------------------------------------------

folder = st.tuples(st.integers(1, 12), st.lists(st.tuples(st.integers(24, 400), st.integers(24, 400)),
                                                 min_size=1, max_size=6))
reg_folder = st.tuples(st.integers(1, 3), st.lists(st.tuples(st.integers(24, 300), st.integers(24, 300)),
                                                    max_size=8))
plans = st.fixed_dictionaries({
    "train": st.lists(folder, min_size=1, max_size=3),
    "reg": st.lists(reg_folder, max_size=2),
    "epochs": st.one_of(st.none(), st.integers(1, 40)),
    "steps": st.integers(1, 3000),
    "batch": st.integers(1, 8),
    "accum": st.integers(1, 4),
    "processes": st.integers(1, 3),
    "resolution": st.sampled_from([64, 128, 192, 256]),
    "steps_reso": st.sampled_from([8, 32, 64]),
    "enable_bucket": st.booleans(),
    "no_upscale": st.booleans(),
    "target": st.integers(1, 5000),
})


def write_plan(root: Path, plan: dict) -> Path:
    for i, (repeats, sizes) in enumerate(plan["train"]):
        make_images(root / "img" / f"{repeats}_c{i}", sizes)
    for i, (repeats, sizes) in enumerate(plan["reg"]):
        make_images(root / "reg" / f"{repeats}_r{i}", sizes)
    cfg = TrainingConfig()
    cfg.dataset.train_data_dir = "img"
    cfg.dataset.reg_data_dir = "reg" if plan["reg"] else ""
    res = plan["resolution"]
    cfg.dataset.resolution = (res, res)
    cfg.dataset.min_bucket_reso, cfg.dataset.max_bucket_reso = 64, 512
    cfg.dataset.bucket_reso_steps = plan["steps_reso"]
    cfg.dataset.enable_bucket, cfg.dataset.bucket_no_upscale = plan["enable_bucket"], plan["no_upscale"]
    cfg.training.train_batch_size, cfg.training.gradient_accumulation_steps = plan["batch"], plan["accum"]
    if plan["epochs"] is None:
        cfg.training.max_train_steps = plan["steps"]
    else:
        cfg.training.max_train_epochs = plan["epochs"]
    path = root / "run.toml"
    save_config(cfg, path)
    return path


def test_numbers_equal_the_steps_json_on_random_configs(tmp_path, monkeypatch):
    reset_state(monkeypatch, tmp_path)
    checked = []

    async def main():
        app = CalcApp()
        async with app.run_test(size=(80, 24)):
            calc = app.query_one(StepCalculator)

            @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
            @given(plans)
            def check(plan):
                with tempfile.TemporaryDirectory(dir=tmp_path) as folder_name:
                    path = write_plan(Path(folder_name), plan)
                    cfg = load_config(path)
                    calc.num_processes = plan["processes"]
                    calc.update_config(cfg, scan_for_config(cfg))
                    procs = ("--num-processes", str(plan["processes"]))
                    expected = cli_result(path, *procs)
                    if isinstance(expected, LoratuiError):  # e.g. a tiny image with bucket_no_upscale
                        assert calc.error == str(expected) and calc.numbers() == {}
                    else:
                        assert calc.error is None
                        assert calc.numbers() == expected
                        wanted = cli_json(path, *procs, "--target-steps", str(plan["target"]))
                        assert calc.target_numbers(plan["target"]) == wanted
                    checked.append(expected)

            check()

    asyncio.run(main())
    assert len(checked) >= 50
    assert sum(isinstance(c, dict) for c in checked) >= 25  # mostly valid plans, not mostly errors


def test_scanned_by_the_widget_equals_the_cli_run_as_a_process(tmp_path, monkeypatch):
    reset_state(monkeypatch, tmp_path)
    path = small_project(tmp_path, epochs=7, batch=3)
    out = subprocess.run([sys.executable, "-m", "loratui", "steps", str(path), "--json"], capture_output=True,
                         text=True, check=True)
    expected = json.loads(out.stdout)
    expected.pop("config")
    expected.pop("network", None)

    async def main():
        app = CalcApp()
        async with app.run_test(size=(80, 24)) as pilot:
            calc = app.query_one(StepCalculator)
            calc.update_config(load_config(path))  # scan=None: scanned in a worker
            for _ in range(100):
                await pilot.pause(0.02)
                if calc.numbers():
                    break
            assert calc.numbers() == expected
            text = str(calc.query_one("#calc-numbers", Static).render())
            assert f"Total: {expected['total_steps']} steps in 7 epoch(s)" in text
            assert "reg samples per epoch" in text and "Formula" in text

    asyncio.run(main())


def test_a_scan_of_other_folders_is_not_used(tmp_path, monkeypatch):
    reset_state(monkeypatch, tmp_path)
    path = small_project(tmp_path / "a")
    other = load_config(small_project(tmp_path / "b", epochs=3))
    make_images(tmp_path / "b" / "img" / "7_extra", [(64, 64)] * 5)

    async def main():
        app = CalcApp()
        async with app.run_test(size=(80, 24)) as pilot:
            calc = app.query_one(StepCalculator)
            cfg = load_config(path)
            calc.update_config(cfg, scan_for_config(other))  # e.g. the app's scan of another dataset
            for _ in range(100):
                await pilot.pause(0.02)
                if calc.numbers():
                    break
            assert calc.numbers() == cli_json(path)
            calc.update_config(cfg, scan_for_config(cfg))  # its own folders: used as given
            assert calc.numbers() == cli_json(path)

    asyncio.run(main())


# ---- live updates -----------------------------------------------------------------------------------


def test_changed_epochs_and_batch_show_at_once_from_the_cached_scan(tmp_path, monkeypatch):
    reset_state(monkeypatch, tmp_path)
    path = small_project(tmp_path)

    async def main():
        app = CalcApp()
        async with app.run_test(size=(80, 24)) as pilot:
            calc = app.query_one(StepCalculator)
            cfg = load_config(path)
            calc.update_config(cfg)
            while not calc.numbers():
                await pilot.pause(0.02)
            for epochs, batch in ((3, 2), (3, 1), (12, 4), (5, 3), (7, 2)):
                cfg.training.max_train_epochs, cfg.training.train_batch_size = epochs, batch
                save_config(cfg, path)
                calc.update_config(cfg)  # cached scan: computed before this call returns
                assert calc.numbers() == cli_json(path)
                await pilot.pause()
                shown = str(calc.query_one("#calc-numbers", Static).render())
                assert f"Total: {calc.numbers()['total_steps']} steps in {epochs} epoch(s)" in shown
                assert f"batch {batch})" in shown
            # how long each took is bench/tui_latency.py's (target 100 ms), not an assertion here
            assert calc.last_sync_ms is not None and calc.last_update_ms is not None


    asyncio.run(main())


def test_ten_thousand_cached_images_are_counted_from_the_cache(tmp_path, monkeypatch):
    """A synthetic 10,000-image scan under the real folders' key: the calculator counts it, not the 43 images on
    disk (its compute + render time is bench/tui_latency.py's, target 100 ms)."""
    reset_state(monkeypatch, tmp_path)
    path = small_project(tmp_path)
    cfg = load_config(path)
    cache_ten_thousand_images(cfg)

    async def main():
        app = CalcApp()
        async with app.run_test(size=(80, 24)) as pilot:
            calc = app.query_one(StepCalculator)
            for epochs in (5, 6, 7, 8, 9):
                cfg.training.max_train_epochs = epochs
                calc.update_config(cfg)
                await pilot.pause()
                assert calc.numbers()["epochs"] == epochs and calc.numbers()["samples_per_epoch"] == 30_000
            assert "9 epoch(s)" in str(calc.query_one("#calc-numbers", Static).render())

    asyncio.run(main())


def test_images_added_on_disk_are_picked_up(tmp_path, monkeypatch):
    reset_state(monkeypatch, tmp_path)
    monkeypatch.setattr(step_calculator, "POLL_SECONDS", 0.1)
    path = small_project(tmp_path)

    async def main():
        app = CalcApp()
        async with app.run_test(size=(80, 24)) as pilot:
            calc = app.query_one(StepCalculator)
            calc.update_config(load_config(path))
            while not calc.numbers():
                await pilot.pause(0.02)
            before = calc.numbers()["samples_per_epoch"]
            make_images(tmp_path / "img" / "5_carol", [(64, 64)] * 2)  # a new concept folder: +10 samples
            for _ in range(100):
                await pilot.pause(0.05)
                if calc.numbers().get("samples_per_epoch") != before:
                    break
            assert calc.numbers()["samples_per_epoch"] == before + 10
            assert calc.numbers() == cli_json(path)

    asyncio.run(main())


def test_errors_show_as_one_line(tmp_path, monkeypatch):
    reset_state(monkeypatch, tmp_path)
    path = small_project(tmp_path)

    async def main():
        app = CalcApp()
        async with app.run_test(size=(80, 24)) as pilot:
            calc = app.query_one(StepCalculator)
            cfg = load_config(path)
            cfg.training.max_train_epochs = None
            calc.update_config(cfg)
            while calc.error is None:
                await pilot.pause(0.02)
            assert "neither max_train_epochs nor max_train_steps" in calc.error and calc.numbers() == {}
            cfg.dataset.train_data_dir = "missing"
            cfg.training.max_train_epochs = 3
            calc.update_config(cfg)
            for _ in range(100):
                await pilot.pause(0.02)
                if calc.error and "does not exist" in calc.error:
                    break
            assert "does not exist" in str(calc.query_one("#calc-status", Static).render())

    asyncio.run(main())


# ---- target steps -----------------------------------------------------------------------------------


def test_target_steps_gives_epochs_and_enter_posts_them(tmp_path, monkeypatch):
    reset_state(monkeypatch, tmp_path)
    path = small_project(tmp_path)
    expected = cli_json(path, "--target-steps", "1000")["target"]

    async def main():
        app = CalcApp()
        async with app.run_test(size=(80, 24)) as pilot:
            calc = app.query_one(StepCalculator)
            calc.update_config(load_config(path))
            while not calc.numbers():
                await pilot.pause(0.02)
            calc.focus_target()
            await pilot.press(*"1000")
            shown = str(calc.query_one("#calc-target-result", Static).render())
            assert f"-> {expected['epochs']} epoch(s)" in shown and f"= {expected['total_steps']} steps" in shown
            assert calc.target_numbers()["target"] == expected
            await pilot.press("enter")
            await pilot.pause()
            assert app.chosen == [expected["epochs"]]
            assert calc.query_one("#calc-target", Input).value == "1000"

    asyncio.run(main())


# ---- advice and duration ------------------------------------------------------------------------


def test_advice_lines_name_their_source(tmp_path, monkeypatch):
    reset_state(monkeypatch, tmp_path)
    path = small_project(tmp_path, epochs=1)  # ~30 steps: far below common practice

    async def main():
        app = CalcApp()
        async with app.run_test(size=(80, 24)) as pilot:
            calc = app.query_one(StepCalculator)
            calc.update_config(load_config(path))
            while not calc.numbers():
                await pilot.pause(0.02)
            advice = str(calc.query_one("#calc-advice", Static).render())
            assert "total steps" in advice and "far below" in advice and "kohya-colab" in advice

    asyncio.run(main())


def write_run(events: Path, *, gpu: str | None, images_per_s: float, batch: int = 2, when: float | None = None,
              steps: int = 20) -> None:
    when = when or time.time()
    lines = [{"event": "run_started", "time": when, "config": "/gone.toml", "output_dir": str(events.parent),
              "output_name": "old", "model": {"family": "sd1"}, "dataset": {"buckets": {"128x128": 10, "96x160": 3}},
              "schedule": {"batch": batch, "accumulation": 1, "processes": 1}, "dtype": "bf16",
              **({"gpu_name": gpu} if gpu else {})}]
    lines += [{"event": "step", "time": when + i, "step": i, "total_steps": steps, "epoch": 0, "loss": 0.1,
               "avg_loss": 0.1, "lr": 1e-4, "images_per_s": images_per_s, "eta_s": 1.0} for i in range(1, steps + 1)]
    events.parent.mkdir(parents=True, exist_ok=True)
    with events.open("a", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(line) + "\n" for line in lines))


def fake_nvidia_smi(folder: Path, output: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "nvidia-smi"
    script.write_text(f"#!/bin/sh\nprintf '{output}\\n'\n", encoding="utf-8")
    script.chmod(0o755)


def test_duration_from_a_past_run_on_the_same_gpu(tmp_path, monkeypatch):
    reset_state(monkeypatch, tmp_path)
    fake_nvidia_smi(tmp_path / "no-bin", "NVIDIA GeForce RTX 4090, 24564")
    path = small_project(tmp_path, epochs=10, batch=2)
    events = tmp_path / "out" / "old.events.jsonl"
    write_run(events, gpu="NVIDIA GeForce RTX 3060", images_per_s=2.0, when=time.time() - 10)
    write_run(events, gpu="NVIDIA GeForce RTX 4090", images_per_s=6.8, when=time.time() - 86400 * 3)
    write_run(events, gpu="NVIDIA GeForce RTX 4090", images_per_s=99.0, batch=4)  # other settings: not close
    day = time.strftime("%Y-%m-%d", time.localtime(time.time() - 86400 * 3 + 20))

    async def main():
        app = CalcApp()
        async with app.run_test(size=(80, 24)) as pilot:
            calc = app.query_one(StepCalculator)
            calc.update_config(load_config(path))
            for _ in range(100):
                await pilot.pause(0.02)
                if calc.duration is not None:
                    break
            total = calc.numbers()["total_steps"]
            shown = str(calc.query_one("#calc-duration", Static).render())
            assert f"at 3.40 it/s measured on {day}" in shown
            assert f"about {format_duration(total / 3.4)}" in shown

    asyncio.run(main())


def test_run_speed_rules(tmp_path):
    events = tmp_path / "out" / "a.events.jsonl"
    write_run(events, gpu=None, images_per_s=4.0, steps=5)  # too few steps to measure
    write_run(events, gpu=None, images_per_s=4.0)
    runs = runs_in_file(events)
    assert len(runs) == 1 and runs[0].images_per_s == 4.0 and runs[0].max_bucket_pixels == 128 * 128
    cfg = TrainingConfig()
    cfg.dataset.resolution = (128, 128)
    cfg.training.train_batch_size = 2
    cfg.saving.output_dir = str(tmp_path / "out")
    estimate = estimate_duration(cfg, 600, "Some GPU")
    assert estimate is not None and not estimate.same_gpu and estimate.it_per_s == 2.0
    assert estimate.seconds == 300 and "did not record its GPU" in estimate.text()
    cfg.dataset.resolution = (256, 256)  # 4x the area: not close
    assert estimate_duration(cfg, 600, "Some GPU") is None
    assert format_duration(30) == "1 min" and format_duration(4800) == "1 h 20 min"
    assert format_duration(7200) == "2 h"


def test_nvidia_smi_parsing():
    gpus = parse_nvidia_smi("NVIDIA H200, 143771\nNVIDIA GeForce RTX 3060, [N/A]\nweird line\nA, 8192\n")
    assert [(g.name, g.memory_mib) for g in gpus] == [("NVIDIA H200", 143771), ("A", 8192)]
    assert round(gpus[0].memory_gib, 1) == 140.4
    assert os.environ.get("PATH") is not None
