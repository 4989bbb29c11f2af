"""The Settings step calculator names the folders left out of the count, as `loratui steps` does
(a `0_x` folder quietly missing from the total read as a wrong number)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from loratui.core.config import TrainingConfig
from loratui.core.dataset import scan_dataset
from loratui.core.plan import compute_schedule
from loratui.tui.widgets.step_calculator import schedule_lines


def test_left_out_folders_are_listed_under_the_counted_ones(tmp_path: Path):
    for folder in ("2_keep", "0_skipped"):
        (tmp_path / folder).mkdir()
        Image.new("RGB", (64, 64)).save(tmp_path / folder / "a.png")
    cfg = TrainingConfig()
    cfg.dataset.train_data_dir = str(tmp_path)
    cfg.training.max_train_epochs = 1
    scan = scan_dataset(tmp_path)
    lines = schedule_lines(compute_schedule(cfg, scan))
    text = "\n".join(lines)
    assert "left out (not counted): 1" in text and "0_skipped" in text
    assert text.index("2_keep") < text.index("left out")
