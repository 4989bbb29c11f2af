"""The window title names the project folder also when the app is opened on its config (`loratui
proj/config.toml` said "loratui — img": the train folder), and keeps a train folder's own name
when the config lives elsewhere."""

from __future__ import annotations

from pathlib import Path

from test_train_screen import make_project

from loratui.tui.app import LoratuiApp
from loratui.tui.launch import resolve_target


def title(target: Path, tmp_path: Path) -> str:
    location, config = resolve_target(target)
    return LoratuiApp(location, config_path=config, settings_file=tmp_path / "tui.toml",
                      keymap_file=tmp_path / "k.toml", watch=False).sub_title


def test_opened_on_its_config_the_title_is_the_project(tmp_path):
    project = tmp_path / "my-project"
    make_project(project)
    assert title(project / "config.toml", tmp_path) == "my-project"


def test_a_config_outside_the_dataset_leaves_the_train_folder_name(tmp_path):
    project = tmp_path / "data"
    make_project(project)
    elsewhere = tmp_path / "configs"
    elsewhere.mkdir()
    config = elsewhere / "run.toml"
    config.write_text((project / "config.toml").read_text().replace('"img"', f'"{project / "img"}"'))
    assert title(config, tmp_path) in ("data", "img")  # the dataset's folder, never "configs"
