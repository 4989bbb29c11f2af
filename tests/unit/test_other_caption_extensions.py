"""The usual caption extensions (.txt, .caption) are one rule of core.dataset, used by the scan's
missing_caption check and by the Dataset screen's bulk preview alike (no second copy of the pair)."""

from __future__ import annotations

import re
from pathlib import Path

from loratui.core import dataset
from loratui.core.captions import AddTags, plan_edits, read_caption
from loratui.core.dataset import caption_check
from loratui.tui.screens.bulk_preview import captions_beside

SRC = Path(__file__).resolve().parents[2] / "src" / "loratui"


def test_core_dataset_exports_the_rule():
    assert dataset.OTHER_CAPTION_EXTENSIONS == (".txt", ".caption")
    assert dataset.other_caption_file is caption_check.other_caption_file


def test_the_bulk_preview_follows_the_shared_rule(tmp_path, monkeypatch):
    folder = tmp_path / "10_x"
    folder.mkdir()
    (folder / "a.caption").write_text("kohya\n")
    (folder / "b.tags").write_text("other\n")
    plan = plan_edits([read_caption(folder / "a.txt"), read_caption(folder / "b.txt")], [AddTags(["new"], 0)])
    assert captions_beside(plan) == {folder / "a.txt": folder / "a.caption"}
    monkeypatch.setattr(caption_check, "OTHER_CAPTION_EXTENSIONS", (".txt", ".tags"))
    assert captions_beside(plan) == {folder / "b.txt": folder / "b.tags"}


def test_the_pair_is_written_once_in_src():
    txt, caption = r"""["']\.txt["']""", r"""["']\.caption["']"""
    pair = re.compile(rf"\(\s*{txt}\s*,\s*{caption}\s*\)|\(\s*{caption}\s*,\s*{txt}\s*\)")
    found = [path.relative_to(SRC).as_posix() for path in SRC.rglob("*.py") if pair.search(path.read_text("utf-8"))]
    assert found == ["core/dataset/caption_check.py"]
