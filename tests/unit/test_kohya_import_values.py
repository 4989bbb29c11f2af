"""kohya_ss import: counts written as decimals or strings (the GUI's Gradio numbers: 10.0, "10") read as the
integers they are, one warning for a fractional one; output paths that do not exist are not called found; a
LyCORIS LoKr network_dim past loratui's limit (kohya_ss users' 100000: LyCORIS's full-matrix mode) imported as
full_matrix=true."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from loratui.cli import cli
from loratui.core.config import import_kohya, import_kohya_file, loads_config, network_problems, validate
from loratui.core.config.fields import FIELDS, KEY_SECTIONS


@pytest.fixture(autouse=True)
def no_xformers(monkeypatch):
    monkeypatch.setattr("loratui.core.config.packages.installed", lambda name: name != "xformers")


def _std(**over):
    data = {"LoRA_type": "Standard", "pretrained_model_name_or_path": "/models/sd15.safetensors",
            "train_data_dir": "/data/img", "output_dir": "/data/out", "optimizer": "AdamW", "lr_scheduler": "cosine",
            "network_dim": 16}
    data.update(over)
    return data


def _value(cfg, key):
    return getattr(getattr(cfg, KEY_SECTIONS[key]), key)


def _lokr(**over):
    return _std(**{"LoRA_type": "LyCORIS/LoKr", "network_dim": 100000, "network_alpha": 16, "conv_dim": 1,
                   "conv_alpha": 1, "factor": -1, **over})


# --- 1. integer keys: 10.0, "10" and "10.0" are 10; 10.5 is 10 with one warning --------------------------------

@pytest.mark.parametrize("written", [10.0, "10", "10.0", " 10 "])
def test_a_decimal_max_train_epochs_wins_over_epoch(written):
    """The user-test repro: "max_train_epochs": 10.0 with "epoch": 8 trained 8, silently."""
    cfg, report = import_kohya(_std(max_train_epochs=written, epoch=8))
    assert cfg.training.max_train_epochs == 10
    assert ("max_train_epochs", "training.max_train_epochs", "") in report.mapped
    assert dict(report.ignored)["epoch"] == "max_train_epochs is set and wins"
    assert not [w for w in report.warnings if "epoch" in w]


def test_a_fractional_max_train_epochs_is_its_whole_part_with_one_warning():
    cfg, report = import_kohya(_std(max_train_epochs=10.5, epoch=8))
    assert cfg.training.max_train_epochs == 10
    assert [w for w in report.warnings if "max_train_epochs" in w] == \
        ["max_train_epochs 10.5 is not a whole number: 10 used (its whole part)"]


def test_a_decimal_epoch_is_used_when_max_train_epochs_is_0():
    cfg, report = import_kohya(_std(max_train_epochs=0.0, epoch="8.0"))
    assert cfg.training.max_train_epochs == 8
    assert any(k == "epoch" for k, _, _ in report.mapped) and not report.warnings


def test_a_decimal_max_train_steps_still_makes_epoch_lose():
    cfg, report = import_kohya(_std(max_train_steps="1200.0", epoch=8))
    assert cfg.training.max_train_steps == 1200 and cfg.training.max_train_epochs is None
    assert "max_train_steps is set and wins" in dict(report.ignored)["epoch"]


def test_an_unreadable_max_train_epochs_is_a_warning_not_just_an_ignored_line():
    cfg, report = import_kohya(_std(max_train_epochs="ten", epoch=8))
    assert cfg.training.max_train_epochs == 8
    assert any(w.startswith("max_train_epochs 'ten' is not a whole number of epochs") for w in report.warnings)


# every integer key the import maps: (key, a value it takes, written as a decimal)
COUNTS = [("max_train_steps", 1200), ("save_every_n_epochs", 2), ("save_every_n_steps", 500),
          ("sample_every_n_epochs", 2), ("sample_every_n_steps", 250), ("save_last_n_epochs", 3),
          ("save_last_n_steps", 1000), ("lr_warmup_steps", 100), ("train_batch_size", 4),
          ("gradient_accumulation_steps", 2), ("network_dim", 32), ("keep_tokens", 1), ("clip_skip", 2),
          ("max_token_length", 150), ("seed", 1234), ("lr_scheduler_num_cycles", 3), ("min_bucket_reso", 320),
          ("max_bucket_reso", 1536), ("bucket_reso_steps", 32), ("max_data_loader_n_workers", 2),
          ("caption_dropout_every_n_epochs", 2)]


@pytest.mark.parametrize("key, count", COUNTS)
@pytest.mark.parametrize("form", [float, lambda n: f"{n}.0", str])
def test_every_integer_key_reads_decimals_and_strings(key, count, form):
    cfg, report = import_kohya(_std(**{key: form(count)}))
    assert _value(cfg, key) == count and isinstance(_value(cfg, key), int)
    assert not report.warnings, report.warnings
    assert validate(cfg) == []


@pytest.mark.parametrize("key, count", COUNTS)
def test_every_integer_key_warns_once_about_a_fraction(key, count):
    cfg, report = import_kohya(_std(**{key: count + 0.5}))
    assert _value(cfg, key) == count
    assert [w for w in report.warnings if key in w] == \
        [f"{key} {count + 0.5:g} is not a whole number: {count} used (its whole part)"]


def test_a_fraction_below_1_of_an_off_counter_is_off_with_the_warning():
    cfg, report = import_kohya(_std(save_every_n_epochs=0.5))
    assert cfg.saving.save_every_n_epochs is None
    assert dict(report.ignored)["save_every_n_epochs"] == "0 (off) in the file: left unset"
    assert report.warnings == ["save_every_n_epochs 0.5 is not a whole number: 0 used (its whole part)"]


@pytest.mark.parametrize("key, other", [("max_train_epochs", {"epoch": 8}), ("epoch", {})])
def test_an_epoch_count_below_1_gets_the_fraction_warning_and_its_own_reason(key, other):
    """The reviewer's repro: max_train_epochs 0.5 with epoch 8 was dropped as "empty or 0" without a word."""
    cfg, report = import_kohya(_std(**{key: 0.5}, **other))
    assert cfg.training.max_train_epochs == (8 if other else None)
    length = "" if other else "; set [training] max_train_epochs or max_train_steps in the imported config"
    assert [w for w in report.warnings if key in w] == [f"{key} 0.5 is less than one epoch: not used{length}"]
    assert dict(report.ignored)[key] == "0.5 reads as 0 (its whole part): unset"


@pytest.mark.parametrize("written", [-1, "-1", -1.5])
@pytest.mark.parametrize("key, other", [("max_train_epochs", {"epoch": 8}), ("epoch", {})])
def test_a_negative_epoch_count_is_named_in_its_reason(key, other, written):
    cfg, report = import_kohya(_std(**{key: written}, **other))
    assert cfg.training.max_train_epochs == (8 if other else None)
    assert dict(report.ignored)[key] == f"{float(written):g} is below 0, not a number of epochs: unset"


@pytest.mark.parametrize("written", [0, "0", 0.0, ""])
def test_an_empty_or_0_max_train_epochs_keeps_its_reason(written):
    cfg, report = import_kohya(_std(max_train_epochs=written, epoch=8))
    assert cfg.training.max_train_epochs == 8 and not report.warnings
    assert dict(report.ignored)["max_train_epochs"] == "empty or 0: unset"


def test_a_warmup_below_1_is_still_a_ratio():
    cfg, report = import_kohya(_std(lr_warmup_steps=0.05))
    assert cfg.optimizer.lr_warmup_steps == 0.05 and not report.warnings


def test_lycoris_integer_args_are_written_as_integers():
    cfg, report = import_kohya(_std(LoRA_type="LyCORIS/LoKr", conv_dim=4.0, factor=-1.0, conv_alpha=2.0))
    args = cfg.network.network_args
    assert "conv_dim=4" in args and "factor=-1" in args and "conv_alpha=2.0" in args
    assert network_problems(cfg.network) == []
    _, report = import_kohya(_std(LoRA_type="LyCORIS/LoHa", conv_dim="8.5"))
    assert "conv_dim 8.5 is not a whole number: 8 used (its whole part)" in report.warnings


def test_a_decimal_process_count_still_gets_the_processes_hint():
    _, report = import_kohya(_std(num_processes=2.0))
    assert "`loratui train CONFIG --processes 2`" in dict(report.ignored)["num_processes"]


def test_the_dataset_config_reads_decimal_counts_too(tmp_path):
    for folder in ("img/10_cat", "reg/1_animal"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "0.png").write_bytes(b"")
    (tmp_path / "dataset.toml").write_text(f"""
[[datasets]]
batch_size = 2.0
  [[datasets.subsets]]
  image_dir = "{tmp_path}/img/10_cat"
  num_repeats = 10.0
  [[datasets.subsets]]
  image_dir = "{tmp_path}/reg/1_animal"
  num_repeats = 1
  is_reg = true
  keep_tokens = 1.5
""")
    (tmp_path / "k.json").write_text(json.dumps(_std(dataset_config="dataset.toml", keep_tokens=1, epoch=4,
                                                     train_batch_size="1.0")))
    cfg, report = import_kohya_file(tmp_path / "k.json")
    assert cfg.training.train_batch_size == 2 and cfg.dataset.keep_tokens == 1
    assert cfg.dataset.train_data_dir == f"{tmp_path}/img"
    assert [w for w in report.warnings if "whole number" in w] == \
        ["dataset.toml: keep_tokens 1.5 (in [[datasets]] 1, subset 2) is not a whole number: 1 used (its whole part)"]


def test_the_user_test_repro_writes_10_epochs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.json").write_text(json.dumps(_std(max_train_epochs=10.0, epoch=8, gradient_accumulation_steps=1.0)))
    result = CliRunner().invoke(cli, ["config", "import-kohya", "p.json", "-o", "p.toml"])
    assert result.exit_code == 0, result.output
    cfg = loads_config((tmp_path / "p.toml").read_text())
    assert cfg.training.max_train_epochs == 10 and cfg.training.gradient_accumulation_steps == 1
    assert "max_train_epochs: empty or 0" not in result.output


# --- 2. an output folder that does not exist is not "found" ----------------------------------------------------

def test_a_missing_output_dir_is_said_to_be_created_not_found(tmp_path, monkeypatch):
    (tmp_path / "data" / "img").mkdir(parents=True)
    (tmp_path / "sub").mkdir()
    (tmp_path / "k.json").write_text(json.dumps(_std(train_data_dir="data/img", output_dir="out",
                                                     vae="models/vae.safetensors")))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["config", "import-kohya", "k.json", "-o", "sub/k.toml"])
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("  output_dir ->")]
    assert "found" not in line
    assert "out does not exist yet: placed from the current folder (where kohya_ss creates it), written as ../out, " \
           "relative to the config's folder; training creates it" in line
    assert "data/img found from the current folder: written as ../data/img" in result.output  # it exists
    [warning] = [w for w in result.output.splitlines() if "vae" in w and w.startswith("warning:")]
    assert "models/vae.safetensors" in warning and "is not found from the current folder" in warning
    assert not (tmp_path / "out").exists()


def test_an_existing_output_dir_is_found(tmp_path, monkeypatch):
    (tmp_path / "out").mkdir()
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    cfg, report = import_kohya(_std(output_dir="out"), config_dir=tmp_path / "sub")
    assert cfg.saving.output_dir == "../out"
    [note] = [n for k, _, n in report.mapped if k == "output_dir"]
    assert note == "out found from the current folder: written as ../out, relative to the config's folder"


# --- 3. LoKr network_dim 100000: LyCORIS's full-matrix mode ----------------------------------------------------

def test_a_huge_lokr_dim_is_full_matrix_mode():
    cfg, report = import_kohya(_lokr(conv_dim=0))
    assert cfg.network.network_module == "lycoris.kohya"
    assert "algo=lokr" in cfg.network.network_args and "full_matrix=true" in cfg.network.network_args
    limit = FIELDS[("network", "network_dim")].max
    assert cfg.network.network_dim <= limit
    assert network_problems(cfg.network) == [] and validate(cfg) == []
    [note] = [n for k, _, n in report.mapped if k == "network_dim"]
    assert note.startswith("100000 is LyCORIS LoKr's full-matrix mode") and "full_matrix=true" in note
    assert not report.warnings, report.warnings
    assert "network_dim" not in dict(report.ignored)
    mapped, ignored = [k for k, _, _ in report.mapped], [k for k, _ in report.ignored]
    assert sorted(set(mapped) | set(ignored)) == sorted(_lokr()) and not set(mapped) & set(ignored)


def test_small_rank_convs_with_the_balanced_split_import_exactly_as_dim_1024():
    """kohya_ss gave the 3x3 convs conv_dim 1 (the GUI's default). With factor -1 no SD layer's Kronecker factor
    passes 2048, so network_dim 1024 keeps every linear factor full and the convs at conv_dim: kohya_ss's network."""
    cfg, report = import_kohya(_lokr(conv_dim=1))
    assert cfg.network.network_dim == FIELDS[("network", "network_dim")].max == 1024
    assert "conv_dim=1" in cfg.network.network_args
    assert not any(a.startswith("full_matrix") for a in cfg.network.network_args)
    assert validate(cfg) == [] and not report.warnings
    [note] = [n for k, _, n in report.mapped if k == "network_dim"]
    assert "imported as 1024 (the 3x3 convs keep conv_dim 1, as in kohya_ss)" in note


def test_full_matrix_over_small_rank_convs_with_a_set_factor_is_a_warning():
    cfg, report = import_kohya(_lokr(conv_dim=1, factor=4))
    assert "full_matrix=true" in cfg.network.network_args and "conv_dim=1" in cfg.network.network_args
    [warning] = report.warnings
    assert warning.startswith("LyCORIS/LoKr network_dim 100000 imported as full_matrix=true, which also trains the "
                              "3x3 convs as full matrices: kohya_ss trained them at conv_dim 1")
    assert warning.endswith("with factor 4 no network_dim matches it exactly)")


@pytest.mark.parametrize("dim", [1024, 32, "64.0"])
def test_a_lokr_dim_in_range_is_kept(dim):
    cfg, report = import_kohya(_lokr(network_dim=dim))
    assert cfg.network.network_dim == int(float(dim))
    assert not any(a.startswith("full_matrix") for a in cfg.network.network_args)


@pytest.mark.parametrize("lora_type", ["LyCORIS/LoHa", "LyCORIS/LoCon", "Standard"])
def test_other_types_keep_the_out_of_range_warning(lora_type):
    cfg, report = import_kohya(_lokr(LoRA_type=lora_type))
    assert cfg.network.network_dim == 16
    assert not any("full_matrix" in a for a in cfg.network.network_args)
    assert any(w.startswith("network_dim 100000 cannot be used") for w in report.warnings)


def test_lokr_as_a_plain_lora_keeps_the_warning():
    cfg, report = import_kohya(_lokr(), as_lora=True)
    assert cfg.network.network_module == "networks.lora" and cfg.network.network_dim == 16
    assert any(w.startswith("network_dim 100000 cannot be used") for w in report.warnings)


# --- Adafactor: sd-scripts' relative_step default is not offered ----------------------------------------------

@pytest.mark.parametrize("args, warned", [
    ("", True), ("relative_step=True", True), ("scale_parameter=False relative_step=False warmup_init=True", True),
    ("scale_parameter=False relative_step=False warmup_init=False", False),
])
def test_adafactor_relative_step_is_named_and_left_out(args, warned):
    from loratui.core.config import validate

    cfg, report = import_kohya(_std(optimizer="Adafactor", optimizer_args=args))
    assert cfg.optimizer.optimizer_type == "Adafactor"
    assert not any(a.startswith(("relative_step=True", "warmup_init=True")) for a in cfg.optimizer.optimizer_args)
    assert validate(cfg) == []
    said = [w for w in report.warnings if w.startswith("optimizer Adafactor:")]
    assert bool(said) == warned
