"""kohya_ss GUI JSON import at scale (hunt h5): restarts' cycles from epoch, DAdaptation as Prodigy said and its
foreign args left out, one unreadable rate keeps the other, kohya_ss's own max_train_steps, additional_parameters
applied, and a missing dataset_config names both paths it was looked for at."""

from __future__ import annotations

import json

import pytest

from loratui.core.config import import_kohya as _import, import_kohya_file, validate
from loratui.core.errors import LoratuiError


def import_kohya(data: dict):
    """A minimal LoRA JSON with ``data`` (a JSON with no network_dim is refused as no LoRA config)."""
    return _import({"LoRA_type": "Standard", "network_dim": 8, **data})


def _dataset(root, folders: dict[str, int]):
    for name, count in folders.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            (root / name / f"{i}.png").write_bytes(b"")
        (root / name / "0.txt").write_text("caption")  # not an image: the GUI does not count it
    (root / "notes").mkdir()  # no number in front: skipped, as the GUI skips it
    return root


def test_restarts_take_epoch_as_cycles_when_empty():
    cfg, report = import_kohya({"lr_scheduler": "cosine_with_restarts", "lr_scheduler_num_cycles": "", "epoch": 10})
    assert cfg.optimizer.lr_scheduler_num_cycles == 10
    assert "kohya_ss passes epoch (10)" in dict((k, n) for k, _, n in report.mapped)["lr_scheduler_num_cycles"]
    cfg, _ = import_kohya({"lr_scheduler": "cosine_with_restarts", "lr_scheduler_num_cycles": 3, "epoch": 10})
    assert cfg.optimizer.lr_scheduler_num_cycles == 3
    cfg, _ = import_kohya({"lr_scheduler": "cosine", "epoch": 10})
    assert cfg.optimizer.lr_scheduler_num_cycles == 1


def test_dadaptation_is_a_warning_and_its_foreign_args_are_left_out():
    from loratui.core.config import validate

    cfg, report = import_kohya({"optimizer": "DAdaptSGD", "optimizer_args": "momentum=0.9 weight_decay=0.0",
                                "learning_rate": 1.0})
    assert cfg.optimizer.optimizer_type == "Prodigy" and cfg.optimizer.optimizer_args == ["weight_decay=0.0"]
    [warning] = [w for w in report.warnings if "DAdaptSGD" in w]
    assert "trained with Prodigy" in warning and "momentum=0.9 left out" in warning
    cfg, _ = import_kohya({"optimizer": "DAdaptAdam", "unet_lr": 1, "text_encoder_lr": 0.5, "learning_rate": 1})
    assert any(p.startswith("Prodigy needs one learning rate") for p in validate(cfg))  # the CLI prints it


def test_one_unreadable_rate_keeps_the_other_and_warns():
    cfg, report = import_kohya({"unet_lr": "0,0001", "text_encoder_lr": "0.00005"})
    assert cfg.optimizer.text_encoder_lr == 5e-5 and cfg.optimizer.unet_lr is None
    assert not cfg.network.network_train_text_encoder_only
    assert any(w.startswith("unet_lr '0,0001' is not a number (did you mean 0.0001?)") for w in report.warnings)


def test_epoch_becomes_kohya_ss_own_max_train_steps(tmp_path):
    img = _dataset(tmp_path / "img", {"5_a": 10, "3_b": 5, "x_c": 4})  # 5x10 + 3x5 = 65
    data = {"train_data_dir": str(img), "epoch": 10, "max_train_steps": 0, "train_batch_size": 8,
            "gradient_accumulation_steps": 2}
    cfg, report = import_kohya(data)
    assert cfg.training.max_train_steps == 41 and cfg.training.max_train_epochs is None  # ceil(65/8/2*10)
    assert "ceil(65 images x repeats / batch 8 / accumulation 2 x 10 epochs x 1) = 41" in \
        dict((k, n) for k, _, n in report.mapped)["epoch"]
    cfg, _ = import_kohya({**data, "reg_data_dir": str(tmp_path / "reg")})  # any reg folder doubles it
    assert cfg.training.max_train_steps == 82


def test_epoch_without_the_images_stays_whole_epochs():
    cfg, report = import_kohya({"train_data_dir": "/nowhere/img", "epoch": 10, "max_train_steps": 0})
    assert cfg.training.max_train_epochs == 10 and cfg.training.max_train_steps is None
    assert "is not here to count its images" in dict((k, n) for k, _, n in report.mapped)["epoch"]


def test_additional_parameters_with_a_loratui_key_are_applied():
    cfg, report = import_kohya({"max_grad_norm": 1.0, "additional_parameters":
                                "--network_train_unet_only --max_grad_norm=0 --sample_at_first --log_config "
                                "--min_snr_gamma 5"})
    assert cfg.network.network_train_unet_only and cfg.optimizer.max_grad_norm == 0.0
    assert cfg.sampling.sample_at_first and cfg.training.min_snr_gamma == 5
    assert [w for w in report.warnings if "additional_parameters" in w] == [
        "additional_parameters not applied: --log_config (no loratui key: set what they do by hand)"]


def test_additional_list_parameters_take_every_value_up_to_the_next_flag():
    """sd-scripts' --network_args / --optimizer_args take any number of words (nargs="*")."""
    cfg, report = import_kohya({"LoRA_type": "Kohya LoCon", "additional_parameters":
                                '--network_args "conv_dim=4" "conv_alpha=1" --optimizer_args weight_decay=0.1 '
                                'betas=0.9,0.99 --sample_at_first'})
    assert (cfg.network.conv_dim, cfg.network.conv_alpha) == (4, 1.0)  # networks.lora reads them there
    assert cfg.network.network_args == [] and not validate(cfg)
    assert cfg.optimizer.optimizer_args == ["weight_decay=0.1", "betas=0.9,0.99"]
    assert cfg.sampling.sample_at_first
    assert not [w for w in report.warnings if "additional_parameters not applied" in w]


def test_a_missing_dataset_config_names_both_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    json_dir = tmp_path / "kt"
    json_dir.mkdir()
    (json_dir / "dataset.toml").write_text("[[datasets]]\n")  # next to the JSON: not where it is named
    path = json_dir / "gui.json"
    path.write_text(json.dumps({"dataset_config": "./test/config/dataset.toml"}))
    with pytest.raises(LoratuiError) as info:
        import_kohya_file(path)
    text = str(info.value)
    assert str(json_dir / "test" / "config" / "dataset.toml") in text
    assert str(tmp_path / "test" / "config" / "dataset.toml") in text and "\n" not in text


def test_sd_scripts_samplers_are_kept():
    cfg, _ = import_kohya({"sample_sampler": "dpmsingle"})
    assert cfg.sampling.sample_sampler == "dpmsingle"
    cfg, _ = import_kohya({"sample_sampler": "k_euler_a"})
    assert cfg.sampling.sample_sampler == "euler_a"
