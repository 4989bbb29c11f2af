"""sd-scripts' own TOML files (a --config_file, a --dataset_config) are refused as loratui configs in one
line that says what the file is and how to bring it in, by every command that loads a config and by
`loratui DIR` / `loratui FILE`. They were read as loratui configs: `loratui .` after `config
export-sdscripts -o .` opened the exported config.toml ("pretrained_model_name_or_path: must be inside
the [model] section (and 21 more)"), and a kohya dataset.toml got "[datasets]: unknown section (did you
mean [dataset]?) ... fix it in an editor", which would break it for sd-scripts."""

from __future__ import annotations

from pathlib import Path

import pytest

from loratui.cli import main
from loratui.core.config import ConfigError, TrainingConfig, dumps_config, load_config, loads_config
from loratui.core.errors import LoratuiError
from loratui.tui.launch import resolve_target

KOHYA_DATASET = """[general]
shuffle_caption = true
caption_extension = '.txt'

[[datasets]]
resolution = 128
batch_size = 2

  [[datasets.subsets]]
  image_dir = '/data/img/10_alice woman'
  num_repeats = 10

  [[datasets.subsets]]
  is_reg = true
  image_dir = '/data/reg/1_woman'
  num_repeats = 1
"""
FLAT_CONFIG_FILE = 'pretrained_model_name_or_path = "/m/sd15.safetensors"\nnetwork_dim = 4\nseed = 42\n'
EXPORTED_CONFIG = ("# Written by `loratui config export-sdscripts`: sd-scripts --config_file for train_network.py.\n"
                   + FLAT_CONFIG_FILE)
EXPORTED_DATASET = "# Written by `loratui config export-sdscripts`: sd-scripts --dataset_config.\n" + KOHYA_DATASET
GUI_SECTIONS = '[model_arguments]\npretrained_model_name_or_path = "m"\n[training_arguments]\nseed = 1\n'


def one_problem(text: str, source: str = "f.toml") -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        loads_config(text, source)
    assert len(caught.value.problems) == 1, caught.value.problems
    return caught.value


@pytest.mark.parametrize("text, kind", [
    (KOHYA_DATASET, "dataset_config"), ("[general]\nflip_aug = false\n", "dataset_config"),
    (FLAT_CONFIG_FILE, "config_file"), ('train_data_dir = "img"\n', "config_file"),
    (GUI_SECTIONS, "config_file"), (EXPORTED_CONFIG, "config_file"), (EXPORTED_DATASET, "dataset_config"),
])
def test_sd_scripts_files_are_one_line_naming_what_they_are(text, kind):
    error = one_problem(text)
    assert error.foreign == kind
    line = str(error)
    what = "--dataset_config" if kind == "dataset_config" else "--config_file"
    assert line.startswith(f"f.toml is an sd-scripts {what}") and "not a loratui config" in line
    assert "unknown section" not in line and "must be inside" not in line and "editor" not in line
    if "Written by" in text:
        assert "export-sdscripts` wrote" in line and "open the loratui config it was exported from" in line
    elif kind == "dataset_config":  # import-kohya reads it through the GUI JSON that names it
        assert "import the kohya_ss GUI JSON whose dataset_config names it" in line
    else:  # import-kohya refuses a --config_file: never sent there
        assert "import-kohya reads kohya_ss GUI JSON, not these" in line and "`loratui config new`" in line


@pytest.mark.parametrize("text, expected", [
    ("seed = 1\n", "seed: must be inside the [training] section"),  # one key out of place: still named
    ('[model]\nmodel_family = "sd1"\n[datasets]\ntrain_data_dir = "img"\n', "[datasets]: unknown section"),
    ('[general]\nx = 1\n[dataset]\ntrain_data_dir = "img"\n', "[general]: unknown section"),
])
def test_a_loratui_config_with_problems_keeps_its_own_lines(text, expected):
    with pytest.raises(ConfigError) as caught:
        loads_config(text, "f.toml")
    assert getattr(caught.value, "foreign", None) is None
    assert any(expected in problem for problem in caught.value.problems)


def test_the_header_is_the_one_the_export_writes():
    from loratui.core.config.foreign import EXPORT_HEADER
    from loratui.core.config.sdscripts_export import EXPORT_HEADER as WRITTEN

    assert EXPORT_HEADER.encode() == WRITTEN


def test_a_loratui_config_still_loads(tmp_path):
    path = tmp_path / "cfg.toml"
    path.write_text(dumps_config(TrainingConfig()))
    assert isinstance(load_config(path), TrainingConfig)


@pytest.mark.parametrize("command", [["config", "check"], ["steps"], ["vram"], ["train"]])
def test_every_command_says_the_one_line(tmp_path, monkeypatch, capsys, command):
    monkeypatch.chdir(tmp_path)
    Path("dataset.toml").write_text(KOHYA_DATASET)
    with pytest.raises(SystemExit) as exited:
        main([*command, "dataset.toml"])
    assert exited.value.code in (1, 2)
    captured = capsys.readouterr()
    out = (captured.out + captured.err).strip().splitlines()
    assert len(out) == 1, out
    assert "dataset.toml is an sd-scripts --dataset_config file, not a loratui config" in out[0]
    assert "import-kohya" in out[0] and "unknown section" not in out[0]


def _project(root: Path) -> None:
    (root / "img" / "2_x").mkdir(parents=True)
    (root / "reg" / "1_y").mkdir(parents=True)


def test_a_project_folder_opens_the_loratui_config_not_the_export(tmp_path):
    _project(tmp_path)
    cfg = TrainingConfig()
    cfg.dataset.train_data_dir = "img"
    (tmp_path / "cfg.toml").write_text(dumps_config(cfg))
    (tmp_path / "config.toml").write_text(EXPORTED_CONFIG)  # `config export-sdscripts cfg.toml -o .`
    (tmp_path / "dataset.toml").write_text(EXPORTED_DATASET)
    notes: list[str] = []
    _location, config = resolve_target(tmp_path, notes)
    assert config == tmp_path / "cfg.toml" and notes == []


def test_a_folder_with_only_a_kohya_dataset_toml_opens_without_config_and_says_why(tmp_path):
    _project(tmp_path)
    (tmp_path / "dataset.toml").write_text(KOHYA_DATASET)
    notes: list[str] = []
    _location, config = resolve_target(tmp_path, notes)
    assert config is None and len(notes) == 1
    assert notes[0].startswith("no config opened: ") and "is an sd-scripts --dataset_config file" in notes[0]
    assert "import-kohya" in notes[0] and "editor" not in notes[0]


def test_opening_an_sd_scripts_file_is_refused_in_one_line(tmp_path):
    _project(tmp_path)
    (tmp_path / "config.toml").write_text(EXPORTED_CONFIG)
    with pytest.raises(LoratuiError) as caught:
        resolve_target(tmp_path / "config.toml", [])
    assert "is an sd-scripts --config_file" in str(caught.value) and "more" not in str(caught.value)
