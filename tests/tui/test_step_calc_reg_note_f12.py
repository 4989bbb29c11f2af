"""An empty reg folder: `loratui steps` said why no reg image was counted, the Settings step calculator did
not (f12 #6; hypothesis found it in test_step_calculator's property). Both take the scan's notes from
core.plan.scan_notes now."""

from __future__ import annotations

import asyncio

from textual.widgets import Static

from loratui.core.config import TrainingConfig, load_config, save_config
from loratui.core.plan import scan_for_config, scan_notes
from loratui.tui.widgets.step_calculator import StepCalculator
from test_step_calculator import CalcApp, cli_json, make_images, reset_state


def _project(root, reg_data_dir: str, reg_images: int):
    make_images(root / "img" / "5_alice", [(64, 64)] * 4)
    (root / "reg" / "1_person").mkdir(parents=True)
    make_images(root / "reg" / "1_person", [(64, 64)] * reg_images)
    cfg = TrainingConfig()
    cfg.dataset.train_data_dir, cfg.dataset.reg_data_dir = "img", reg_data_dir
    cfg.dataset.resolution = (64, 64)
    cfg.dataset.min_bucket_reso, cfg.dataset.max_bucket_reso, cfg.dataset.bucket_reso_steps = 64, 128, 32
    cfg.training.max_train_epochs = 2
    cfg.saving.output_dir = "out"
    path = root / "run.toml"
    save_config(cfg, path)
    return path


def _both(path):
    cfg = load_config(path)
    scan = scan_for_config(cfg)

    async def main():
        app = CalcApp()
        async with app.run_test(size=(80, 24)):
            calc = app.query_one(StepCalculator)
            calc.update_config(cfg, scan)
            return calc.numbers(), " ".join(str(calc.query_one("#calc-numbers", Static).render()).split())

    numbers, shown = asyncio.run(main())
    note = next(n for n in scan_notes(scan) if "no regularisation images are counted" in n)
    return note, numbers, shown, cli_json(path)


def test_an_empty_reg_folder_gets_the_same_note_in_the_calculator_and_steps(tmp_path, monkeypatch):
    reset_state(monkeypatch, tmp_path)
    note, numbers, shown, expected = _both(_project(tmp_path, "reg", reg_images=0))
    assert numbers == expected and note in numbers["notes"]
    assert "no regularisation images are counted" in shown


def test_a_reg_concept_folder_as_reg_dir_gets_the_same_hint_in_both(tmp_path, monkeypatch):
    reset_state(monkeypatch, tmp_path)
    note, numbers, shown, expected = _both(_project(tmp_path, "reg/1_person", reg_images=2))
    assert "is one concept folder" in note
    assert numbers == expected and note in numbers["notes"]
