"""A `--resume` refused because the epoch's batch count changed names the folders that changed since
the save (user hunt h14 item 4): state.json's "data" keeps the concept folders (name, repeats, image
count; run_saves.py state_folders), and the refusal says "2_shp -> 12_shp", "3_x: 10 -> 9 images", ...
A state saved before this kept no folders: the refusal reads as before."""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import pytest

from loratui.core.errors import LoratuiError
from loratui.engine.resume_check import folder_changes
from test_train import make_project, run


def _line(name: str, images: int, reg: bool = False) -> SimpleNamespace:
    return SimpleNamespace(name=name, is_reg=reg, repeats=int(name.split("_")[0]), images=images)


def test_folder_changes_names_renamed_recounted_added_and_gone_folders():
    saved = [{"name": "2_extra", "reg": False, "repeats": 2, "images": 2},
             {"name": "3_x", "reg": False, "repeats": 3, "images": 10},
             {"name": "5_old", "reg": False, "repeats": 5, "images": 1},
             {"name": "1_shape", "reg": True, "repeats": 1, "images": 4},
             {"name": "4_same", "reg": False, "repeats": 4, "images": 3}]
    now = [_line("12_extra", 2), _line("3_x", 9), _line("1_new", 6), _line("2_shape", 3, reg=True),
           _line("4_same", 3)]
    assert folder_changes(saved, now) == ("2_extra -> 12_extra, 3_x: 10 -> 9 images, 1_new added, "
                                          "reg 1_shape -> 2_shape "
                                          "(4 -> 3 images), 5_old gone")
    assert folder_changes(saved, [_line(e["name"], e["images"], e["reg"]) for e in saved]) is None
    assert folder_changes(None, now) is None  # a state from before the folders were kept
    many = [_line(f"1_f{i}", 1) for i in range(9)]
    assert folder_changes([], many).endswith("1_f5 added, 3 more")


def test_a_refused_resume_names_the_renamed_folder(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir)
    out = tmp_path / "out"
    assert run(config, max_steps=2)[0] == 0  # a --max-steps pause keeps tiny-state current
    info = json.loads((out / "tiny-state" / "state.json").read_text(encoding="utf-8"))
    assert info["data"]["folders"] == [{"name": "2_shp", "reg": False, "repeats": 2, "images": 4}]
    (tmp_path / "img" / "2_shp").rename(tmp_path / "img" / "12_shp")  # a balance
    with pytest.raises(LoratuiError) as refused:
        run(config, resume=str(out / "tiny-state"))
    message = str(refused.value)
    assert "the folders changed since the save (2_shp -> 12_shp)" in message
    assert "put the folders back as they were at the save" in message
    assert "the images or the folders' repeat counts changed" not in message


def test_a_state_without_folders_is_refused_as_before(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir)
    out = tmp_path / "out"
    assert run(config, max_steps=2)[0] == 0
    path = out / "tiny-state" / "state.json"
    info = json.loads(path.read_text(encoding="utf-8"))
    del info["data"]["folders"]  # as an older loratui wrote it
    path.write_text(json.dumps(info), encoding="utf-8")
    folder = tmp_path / "img" / "2_shp"
    shutil.copy(folder / "img0.png", folder / "img9.png")  # 5 images: another batch count
    with pytest.raises(LoratuiError, match="the images or the folders' repeat counts changed"):
        run(config, resume=str(out / "tiny-state"))
