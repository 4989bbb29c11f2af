"""`config check` lists every problem: path problems too while some values do not parse."""

from __future__ import annotations

from loratui.core.config import config_file_problems


def test_paths_are_checked_beside_values_that_do_not_parse(tmp_path):
    (tmp_path / "img" / "10_a").mkdir(parents=True)
    path = tmp_path / "bad.toml"
    path.write_text('[model]\npretrained_model_name_or_path = "/models/sd15.safetensors"\n'
                    '[dataset]\ntrain_data_dir = "img"\n'
                    '[network]\nnetwork_alpha = 99999\n'
                    '[training]\ntrain_batch_size = -1\n', encoding="utf-8")
    cfg, problems = config_file_problems(path)
    assert cfg is None
    assert problems[0].startswith(f"{path}, line 6: network_alpha: must be a number")
    assert problems[1].startswith(f"{path}, line 8: train_batch_size: must be an integer")
    assert f"{path}: pretrained_model_name_or_path: /models/sd15.safetensors does not exist" in problems
    assert any(p.startswith(f"{path}: train_data_dir: no training images") for p in problems)


def test_a_refused_value_is_not_checked_as_its_default(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[model]\npretrained_model_name_or_path = 5\n', encoding="utf-8")
    cfg, problems = config_file_problems(path)
    assert len([p for p in problems if "pretrained_model_name_or_path" in p]) == 1  # not also "is empty"


def test_not_toml_is_the_only_problem(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[model\n", encoding="utf-8")
    cfg, problems = config_file_problems(path)
    assert cfg is None and len(problems) == 1 and "not valid TOML" in problems[0]


def test_a_good_config_comes_back_with_its_problems(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[dataset]\ntrain_data_dir = "img"\n', encoding="utf-8")
    cfg, problems = config_file_problems(path)
    assert cfg is not None and cfg.dataset.train_data_dir == "img"
    assert f"{path}: train_data_dir: folder {tmp_path / 'img'} does not exist" in problems



def test_a_path_holding_a_refused_keys_name_is_still_checked(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[dataset]\ntrain_data_dir = "/data/resolution/img"\nresolution = "big"\n', encoding="utf-8")
    cfg, problems = config_file_problems(path)
    assert any("resolution" in p and "must be" in p for p in problems)
    assert f"{path}: train_data_dir: folder /data/resolution/img does not exist" in problems
