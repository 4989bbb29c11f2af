"""kohya_ss JSON that points at an sd-scripts dataset_config TOML: what carries over, what is refused."""

from __future__ import annotations

import json

import pytest

from loratui.core.config import import_kohya_file, validate
from loratui.core.errors import LoratuiError


@pytest.fixture(autouse=True)
def no_xformers(monkeypatch):
    monkeypatch.setattr("loratui.core.config.packages.installed", lambda name: name != "xformers")


def _images(folder, count=1):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"{i}.png").write_bytes(b"")


def _write(tmp_path, toml_text, **json_keys):
    (tmp_path / "dataset.toml").write_text(toml_text)
    data = {"LoRA_type": "Standard", "network_dim": 8, "dataset_config": "dataset.toml",
            "train_data_dir": "/elsewhere/img", "reg_data_dir": "/elsewhere/reg", "keep_tokens": 0,
            "shuffle_caption": False, "caption_extension": ".txt", "max_resolution": "512,512",
            "train_batch_size": 1, "enable_bucket": True, "epoch": 10, "max_train_steps": 800, **json_keys}
    path = tmp_path / "kohya.json"
    path.write_text(json.dumps(data))
    return path


GOOD = """
[general]
shuffle_caption = true
caption_extension = ".caption"
keep_tokens = 1

[[datasets]]
resolution = [768, 640]
batch_size = 2
enable_bucket = true
min_bucket_reso = 320
max_bucket_reso = 1536
bucket_no_upscale = true

  [[datasets.subsets]]
  image_dir = "{root}/img/10_mychar"
  num_repeats = 10
  class_tokens = "mychar"

  [[datasets.subsets]]
  image_dir = "{root}/img/2_mychar outfit"
  num_repeats = 2

  [[datasets.subsets]]
  image_dir = "{root}/reg/1_woman"
  num_repeats = 1
  class_tokens = "woman"
  is_reg = true
"""


def test_dataset_config_fields_are_read(tmp_path):
    _images(tmp_path / "img" / "10_mychar")
    _images(tmp_path / "img" / "2_mychar outfit")
    _images(tmp_path / "reg" / "1_woman")
    path = _write(tmp_path, GOOD.format(root=tmp_path))
    cfg, report = import_kohya_file(path)
    d = cfg.dataset
    assert d.train_data_dir == str(tmp_path / "img") and d.reg_data_dir == str(tmp_path / "reg")
    assert d.shuffle_caption is True and d.keep_tokens == 1 and d.caption_extension == ".caption"
    assert d.resolution == (768, 640) and cfg.training.train_batch_size == 2
    assert (d.min_bucket_reso, d.max_bucket_reso, d.bucket_no_upscale) == (320, 1536, True)
    assert validate(cfg) == []
    ignored = dict(report.ignored)
    for key in ("train_data_dir", "reg_data_dir", "keep_tokens", "shuffle_caption", "caption_extension",
                "max_resolution", "train_batch_size"):
        assert "dataset_config" in ignored[key], key
    assert cfg.training.max_train_steps == 800  # from the JSON: steps are not a dataset setting
    lines = "\n".join(report.lines())
    assert "dataset_config -> dataset.train_data_dir" in lines
    assert "keep_tokens -> dataset.keep_tokens" in lines and "[general]" in lines
    assert "2_mychar outfit" in "\n".join(report.warnings)  # no class_tokens: loratui uses the folder's


def test_keys_the_toml_does_not_set_fall_back_to_the_json(tmp_path):
    _images(tmp_path / "img" / "3_a")
    path = _write(tmp_path, f'[[datasets]]\n[[datasets.subsets]]\nimage_dir = "{tmp_path}/img/3_a"\n'
                            'num_repeats = 3\n', keep_tokens=2, shuffle_caption=True, max_resolution="640,640")
    cfg, report = import_kohya_file(path)
    assert cfg.dataset.keep_tokens == 2 and cfg.dataset.shuffle_caption is True
    assert cfg.dataset.resolution == (640, 640) and cfg.dataset.reg_data_dir == ""
    assert cfg.dataset.train_data_dir == str(tmp_path / "img")


def test_dataset_config_without_max_train_steps_trains_sd_scripts_default(tmp_path):
    _images(tmp_path / "img" / "3_a")
    path = _write(tmp_path, f'[[datasets]]\n[[datasets.subsets]]\nimage_dir = "{tmp_path}/img/3_a"\n'
                            'num_repeats = 3\n', max_train_steps=0, epoch=10)
    cfg, report = import_kohya_file(path)
    assert cfg.training.max_train_steps == 1600 and cfg.training.max_train_epochs is None
    assert "1600" in dict(report.ignored)["epoch"]


@pytest.mark.parametrize("toml, message", [
    ('[[datasets]]\n[[datasets.subsets]]\nimage_dir = "{root}/a/3_x"\nnum_repeats = 3\n'
     '[[datasets.subsets]]\nimage_dir = "{root}/b/2_y"\nnum_repeats = 2\n',
     "training subsets are in different folders"),
    ('[[datasets]]\n[[datasets.subsets]]\nimage_dir = "{root}/img/mychar"\nnum_repeats = 10\n',
     "must be in a folder named 10_mychar"),
    ('[[datasets]]\n[[datasets.subsets]]\nimage_dir = "{root}/img/5_mychar"\nnum_repeats = 10\n',
     "must be in a folder named 10_mychar"),
    ('[[datasets]]\n[[datasets.subsets]]\nimage_dir = "{root}/img/5_mychar"\nnum_repeats = 5\n'
     'class_tokens = "other"\n', "must be in a folder named 5_other"),
    ('[[datasets]]\n[[datasets.subsets]]\nimage_dir = "{root}/img/5_a"\nnum_repeats = 5\n'
     'keep_tokens = 1\n[[datasets.subsets]]\nimage_dir = "{root}/img/2_b"\nnum_repeats = 2\nkeep_tokens = 0\n',
     "keep_tokens differs between subsets"),
    ('[[datasets]]\nresolution = 512\n[[datasets.subsets]]\nimage_dir = "{root}/img/5_a"\nnum_repeats = 5\n'
     '[[datasets]]\nresolution = 1024\n[[datasets.subsets]]\nimage_dir = "{root}/img/2_b"\nnum_repeats = 2\n',
     "resolution differs between datasets"),
    ('[[datasets]]\n[[datasets.subsets]]\nimage_dir = "{root}/img/5_a"\nnum_repeats = 5\n'
     '[[datasets.subsets]]\nimage_dir = "{root}/img/1_r"\nis_reg = true\n',
     "in the same folder as the training subsets"),
    ('[[datasets]]\n[[datasets.subsets]]\nimage_dir = "{root}/img"\nmetadata_file = "meta.json"\n',
     "fine-tuning subset"),
    ('[[datasets]]\n', "no [[datasets.subsets]]"),
    ('[[datasets]]\n[[datasets.subsets]]\nnum_repeats = 5\n', "has no image_dir"),
    ('[[datasets]]\nkeep_tokens = "one"\n[[datasets.subsets]]\nimage_dir = "{root}/img/5_a"\nnum_repeats = 5\n',
     "keep_tokens: must be an integer"),
])
def test_what_loratui_cannot_express_is_refused_in_one_line(tmp_path, toml, message):
    path = _write(tmp_path, toml.format(root=tmp_path))
    with pytest.raises(LoratuiError) as info:
        import_kohya_file(path)
    text = str(info.value)
    assert message in text and "\n" not in text and "dataset.toml" in text


def test_a_folder_the_toml_leaves_out_would_be_trained_and_is_refused(tmp_path):
    _images(tmp_path / "img" / "5_a")
    _images(tmp_path / "img" / "3_other")
    path = _write(tmp_path, f'[[datasets]]\n[[datasets.subsets]]\nimage_dir = "{tmp_path}/img/5_a"\n'
                            'num_repeats = 5\n')
    with pytest.raises(LoratuiError, match="also holds 3_other, which dataset.toml does not list"):
        import_kohya_file(path)


def test_missing_or_unreadable_dataset_config_is_one_line_naming_the_file(tmp_path):
    path = _write(tmp_path, "")
    (tmp_path / "dataset.toml").unlink()
    with pytest.raises(LoratuiError) as info:
        import_kohya_file(path)
    assert "dataset.toml: cannot read the dataset_config" in str(info.value) and "\n" not in str(info.value)
    (tmp_path / "dataset.toml").write_text("[[datasets]\n")
    with pytest.raises(LoratuiError, match=r"dataset.toml, line 1: not valid TOML"):
        import_kohya_file(path)


def test_unsupported_dataset_options_are_warnings(tmp_path):
    _images(tmp_path / "img" / "5_a")
    path = _write(tmp_path, f'[general]\ncolor_aug = true\nenable_wildcard = true\nflip_aug = false\n'
                            f'[[datasets]]\n[[datasets.subsets]]\nimage_dir = "{tmp_path}/img/5_a"\n'
                            'num_repeats = 5\nclass_tokens = "a"\nbogus = 1\n')
    cfg, report = import_kohya_file(path)
    warnings = "\n".join(report.warnings)
    assert "color_aug" in warnings and "enable_wildcard" in warnings and "bogus" in warnings
    assert "flip_aug" not in warnings and cfg.dataset.flip_aug is False


@pytest.mark.parametrize("image_dir, train_data_dir, warning", [
    ("img/10_mychar", "img", "dataset.toml: train_data_dir 'img' was relative to the kohya_ss folder; in loratui it "
                             "is relative to the config file: check it"),
    ("C:\\\\kohya\\\\img\\\\10_mychar", "C:\\kohya\\img",
     "dataset.toml: train_data_dir: a Windows path (C:\\kohya\\img): set it for this machine (imported as is)"),
])
def test_dataset_config_paths_from_another_machine_get_one_note(tmp_path, image_dir, train_data_dir, warning):
    path = _write(tmp_path, f'[[datasets]]\nresolution = 512\n  [[datasets.subsets]]\n  image_dir = "{image_dir}"\n'
                            '  num_repeats = 10\n  class_tokens = "mychar"\n')
    cfg, report = import_kohya_file(path)
    assert cfg.dataset.train_data_dir == train_data_dir
    notes = [w for w in report.warnings if "train_data_dir" in w]
    assert notes == [warning]
