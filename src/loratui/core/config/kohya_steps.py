"""The run length the kohya_ss GUI gives sd-scripts when its JSON's max_train_steps is 0: its own count, from the
images in train_data_dir, which sd-scripts then trains as max_train_steps (kohya_ss lora_gui.py, train_model:
``ceil(total / train_batch_size / gradient_accumulation_steps * epoch * reg_factor)``). Counted here exactly as
the GUI counts, not as sd-scripts registers images (core.plan does that):

- every sub-folder of train_data_dir whose name before the first "_" is an integer (``int(folder.split("_")[0])``)
  adds repeats x its files ending in .jpg, .jpeg, .png or .webp (any case; sub-folders of it are not looked in);
  other folders are skipped;
- reg_factor is 2 whenever reg_data_dir is not empty (whatever it holds), else 1;
- with a dataset_config the GUI skips the count (kohya_training handles that case).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from loratui.core.config.kohya_values import empty, whole_number

GUI_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


@dataclass(frozen=True)
class GuiSteps:
    steps: int | None  # None: not counted (``why`` says why)
    formula: str = ""
    why: str = ""


def gui_max_train_steps(data: dict, epoch: int, source_dir=None) -> GuiSteps:
    """kohya_ss's max_train_steps for ``epoch`` epochs of the JSON ``data`` (its train_data_dir looked for as given,
    from the current folder, then from ``source_dir``, the JSON's folder)."""
    raw = data.get("train_data_dir")
    if empty(raw):
        return GuiSteps(None, why="train_data_dir is empty")
    folder = _find(str(raw), source_dir)
    if folder is None:
        return GuiSteps(None, why=f"train_data_dir {raw} is not here to count its images")
    total = 0
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        return GuiSteps(None, why=f"train_data_dir {folder} cannot be read ({exc.strerror or exc})")
    for name in names:
        sub = folder / name
        if not sub.is_dir():
            continue
        try:
            repeats = int(name.split("_")[0])
            files = os.listdir(sub)
        except (ValueError, OSError):
            continue  # the GUI skips a folder without a number in front (and cannot count an unreadable one)
        total += repeats * sum(1 for f in files if f.lower().endswith(GUI_IMAGE_SUFFIXES))
    batch = _count(data, "train_batch_size")
    accumulation = _count(data, "gradient_accumulation_steps")
    reg_factor = 1 if empty(data.get("reg_data_dir")) else 2
    steps = int(math.ceil(float(total) / batch / accumulation * epoch * reg_factor))
    formula = f"{total} images x repeats / batch {batch} / accumulation {accumulation} x {epoch} epochs x {reg_factor}"
    if steps <= 0:
        return GuiSteps(None, formula, f"its count is 0 ({formula}: sd-scripts would train its default 1600 steps)")
    return GuiSteps(steps, formula)


def _count(data: dict, key: str) -> int:
    """A positive count from the JSON (the GUI's default 1 when empty or unreadable)."""
    value = whole_number(data.get(key, 1))[0]
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 1


def _find(raw: str, source_dir) -> Path | None:
    path = Path(os.path.expanduser(raw))
    candidates = [path] if path.is_absolute() else [Path.cwd() / path] + (
        [Path(source_dir) / path] if source_dir is not None else [])
    return next((c for c in candidates if c.is_dir()), None)
