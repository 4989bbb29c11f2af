"""N processes in the app (hunt s13 h2 #5): the Start dialog restates steps, epochs and duration for the
number of processes it is set to, and the Settings calculator takes a processes value, both equal to
`loratui steps --num-processes N` (each process sees ceil(batches / N) of an epoch's batches)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from textual.widgets import Input, Static  # noqa: E402

from fixtures.pilot_wait import until  # noqa: E402
from test_step_calculator import CalcApp, cli_json, reset_state, small_project  # noqa: E402
from test_train_screen import make_app, make_project, run_app  # noqa: E402

from loratui.core.config import load_config  # noqa: E402
from loratui.core.plan import scan_for_config  # noqa: E402
from loratui.tui.screens.run_picker import StartDialog  # noqa: E402
from loratui.tui.screens.train import TrainScreen  # noqa: E402
from loratui.tui.widgets.step_calculator import StepCalculator  # noqa: E402


def _plan_text(dialog) -> str:
    return str(dialog.query_one("#start-plan", Static).render())


def test_the_start_dialog_restates_steps_for_its_processes(tmp_path, monkeypatch):
    reset_state(monkeypatch, tmp_path)
    config = make_project(tmp_path)  # 8 samples, batch 2: 4 batches an epoch, 2 epochs
    one, two = cli_json(config), cli_json(config, "--num-processes", "2")
    assert (one["total_steps"], two["total_steps"]) == (8, 4)

    async def scenario(pilot, screen: TrainScreen):
        app = screen.app
        await pilot.press("s")
        dialog = await until(pilot, lambda: isinstance(app.screen, StartDialog) and app.screen, "the start dialog")
        await until(pilot, lambda: "1 process: 8 steps" in _plan_text(dialog), "the plan for 1 process")
        assert "4 per epoch" in _plan_text(dialog) and "duration: no measured speed yet" in _plan_text(dialog)
        dialog.query_one(Input).value = "2"
        await until(pilot, lambda: "2 processes: 4 steps" in _plan_text(dialog), "the plan for 2 processes")
        text = _plan_text(dialog)
        assert "2 per epoch = ceil(4 batches / 2)" in text
        assert "(on 1 process: 8 steps in 2 epoch(s))" in text
        assert str(dialog.query_one("#ask-message", Static).render()).endswith(" --processes 2")  # loratui's launcher
        dialog.query_one(Input).value = "x"  # not a number: no plan for it
        await until(pilot, lambda: not dialog.query_one("#start-plan", Static).display, "the plan hidden")

    run_app(make_app(tmp_path, config), scenario)


def test_the_calculator_counts_for_the_processes_typed(tmp_path, monkeypatch):
    reset_state(monkeypatch, tmp_path)
    path = small_project(tmp_path, epochs=3)
    cfg = load_config(path)
    scan = scan_for_config(cfg)

    async def main():
        app = CalcApp()
        async with app.run_test(size=(80, 24)) as pilot:
            calc = app.query_one(StepCalculator)
            calc.update_config(cfg, scan)
            await pilot.pause()
            before = calc.numbers()
            calc.query_one("#calc-processes", Input).value = "2"
            await until(pilot, lambda: calc.numbers().get("num_processes") == 2, "recounted for 2")
            shown = " ".join(str(calc.query_one("#calc-numbers", Static).render()).split())
            calc.query_one("#calc-target", Input).value = "100"
            await pilot.pause()
            return before, calc.numbers(), shown, calc.target_numbers()

    before, after, shown, target = asyncio.run(main())
    assert before == cli_json(path)
    assert after == cli_json(path, "--num-processes", "2") and after["total_steps"] < before["total_steps"]
    assert f"Total: {after['total_steps']} steps in 3 epoch(s) on 2 processes" in shown
    assert target == cli_json(path, "--num-processes", "2", "--target-steps", "100")
