"""A reg folder opened on its own (`loratui reg`): a caption re-checked after a write keeps its missing
caption as info, and a new config made from there trains the training folder with this one as reg.
Settings on an sd-scripts TOML names it and never says "fix it in an editor"."""

from __future__ import annotations

from pathlib import Path

from loratui.core.dataset import locate_dataset
from loratui.tui.screens.config_rules import starter_config
from loratui.tui.services.dataset_store import DatasetStore
from test_reg_folder_summary import project


def test_a_recheck_in_a_reg_folder_keeps_a_missing_caption_as_info(tmp_path):
    location = locate_dataset(project(tmp_path) / "reg")
    assert location.is_reg
    store = DatasetStore(location)
    store.adopt_rows(store.list_rows())
    row = next(r for r in store.list_rows() if not Path(r.caption_str).exists())
    [problem] = store.check_captions([Path(row.caption_str)])[row.caption_str]
    assert problem.severity == "info"


def test_a_new_config_from_a_reg_folder_trains_the_training_folder(tmp_path):
    root = project(tmp_path)
    location = locate_dataset(root / "reg")
    cfg = starter_config(root / "proj.toml", location)
    assert cfg.dataset.train_data_dir == "img" and cfg.dataset.reg_data_dir == "reg"
    plain = starter_config(root / "proj.toml", locate_dataset(root))
    assert plain.dataset.train_data_dir == "img" and plain.dataset.reg_data_dir == "reg"


def test_settings_on_an_sdscripts_dataset_toml_names_it_and_offers_no_editor_fix(tmp_path):
    from test_settings_form import run, screen_text

    dataset_toml = '[general]\nshuffle_caption = true\n\n[[datasets]]\nresolution = 512\n\n  [[datasets.subsets]]\n  image_dir = "img"\n'

    async def scenario(app, pilot, root):
        text = " ".join(screen_text(app).split())
        assert "sd-scripts --dataset_config file" in text
        assert "editor" not in text.lower() and "ctrl+o opens a loratui config" in text

    run(tmp_path, scenario, config=dataset_toml, size=(120, 40))
