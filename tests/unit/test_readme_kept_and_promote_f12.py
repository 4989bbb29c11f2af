"""README still said a new run overwrites the last one's NAME.safetensors and that promote picks
NAME-promoted only when the final is there (f12 #4): a new run moves the final into NAME-kept-<time>/ with
the rest (engine/outputs.py move_last_run_aside), and the export names the images sd-scripts stops on."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _text() -> str:
    return " ".join(README.read_text(encoding="utf-8").split())  # sentences across line breaks


def test_no_sentence_says_a_new_run_overwrites_the_last_final():
    text = _text()
    assert not re.search(r"overwrites the last (one|run)'s `NAME\.safetensors`", text)
    assert "files it would overwrite" not in text
    assert "A new run on the same `output_name` moves the last one's final LoRA (`NAME.safetensors`)" in text
    assert "A fresh run moves the last run's final LoRA, states" in text


def test_promote_and_the_export_refusals_are_described():
    text = _text()
    assert "`NAME-promoted.safetensors` while the run can be resumed or extended" in text
    assert "`config check` / `export-sdscripts` name the first such image" in text
