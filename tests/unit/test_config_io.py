"""core/config (load, render, write): TOML round trip, every load error message, saving rules, validate, paths."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loratui.core.config import SECTIONS, TrainingConfig
from loratui.core.config import (FIELDS, ConfigError, config_from_dict, config_to_dict, dumps_config,
                                    load_config, loads_config, resolve_path, save_config, validate,
                                    with_resolved_paths)
from loratui.core.config import file_name_problem
from loratui.core.errors import LoratuiError

SAFE_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)


def _value_strategy(spec):
    if spec.kind == "bool":
        base = st.booleans()
    elif spec.choices:
        base = st.sampled_from(spec.choices)
    elif spec.kind == "int":
        lo = int(spec.min if spec.min is not None else -10**6)
        base = st.integers(lo, int(spec.max if spec.max is not None else lo + 10**6))
    elif spec.kind == "float":
        lo = spec.min if spec.min is not None else -1e6
        base = st.floats(lo, spec.max if spec.max is not None else 1e6, allow_nan=False)
    elif (spec.section, spec.name) == ("saving", "output_name"):  # a plain file name, or load refuses it
        base = SAFE_TEXT.filter(lambda text: file_name_problem(text) is None)
    elif spec.kind == "str":
        base = SAFE_TEXT
    elif (spec.section, spec.name) == ("optimizer", "optimizer_args"):  # key=value, or load refuses it
        key = SAFE_TEXT.filter(lambda text: "=" not in text and text.strip())
        from loratui.core.config.optimizer_args import optimizer_arg_problem

        arg = st.builds(lambda k, v: f"{k}={v}", key, SAFE_TEXT).filter(lambda a: optimizer_arg_problem(a) is None)
        base = st.lists(arg, max_size=3)
    elif spec.kind == "str_list":
        base = st.lists(SAFE_TEXT, max_size=3)
    elif spec.kind == "resolution":
        side = st.integers(int(spec.min), int(spec.max))
        base = st.tuples(side, side)
    elif spec.kind == "warmup":
        base = st.one_of(st.integers(0, 10**6), st.floats(0, 1, exclude_max=True))
    else:
        raise AssertionError(spec.kind)
    return st.one_of(st.none(), base) if spec.optional else base


@st.composite
def configs(draw):
    cfg = TrainingConfig()
    for (section, key), spec in FIELDS.items():
        setattr(getattr(cfg, section), key, draw(_value_strategy(spec)))
    return cfg


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cfg=configs())
def test_round_trip_random_configs(cfg, tmp_path):
    path = tmp_path / "c.toml"
    save_config(cfg, path)
    assert load_config(path) == cfg
    assert save_config(cfg, path) is False
    assert loads_config(dumps_config(cfg)) == cfg
    assert config_from_dict(config_to_dict(cfg)) == cfg


def test_every_field_has_help_and_a_comment_in_the_file():
    text = dumps_config(TrainingConfig())
    for (section, key), spec in FIELDS.items():
        assert spec.help.strip(), key
        assert f"[{section}]" in text
        lines = text.splitlines()
        idx = next(i for i, line in enumerate(lines) if line.lstrip("# ").startswith(f"{key} ="))
        assert lines[idx - 1].startswith("# "), key
    assert set(tomllib.loads(text)) == set(SECTIONS)


def _err(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        loads_config(text, "cfg.toml")
    assert isinstance(info.value, LoratuiError)
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.mark.parametrize("text, expected", [
    ('[network]\nnetwork_dim = "sixteen"\n',
     "cfg.toml, line 2: network_dim: must be an integer from 1 to 1024, got 'sixteen'"),
    ('[network]\nnetwork_dim = 1.5\n', "line 2: network_dim: must be an integer from 1 to 1024, got 1.5"),
    ('[network]\nnetwork_dim = "16"\n', "got '16' (a string: write the number without quotes)"),
    ('[network]\n\nnetwork_dim = 0\n', "line 3: network_dim: must be an integer from 1 to 1024, got 0"),
    ('[network]\nnetwork_dim = 2000\n', "must be an integer from 1 to 1024, got 2000"),
    ('[network]\nnetwrk_alpha = 4\n', "line 2: netwrk_alpha: unknown key in [network] (did you mean 'network_alpha'?)"),
    ('[training]\nlearning_rate = 1e-4\n', "line 2: learning_rate: belongs in [optimizer], not [training]"),
    ('[training]\nlearnin_rate = 1e-4\n', "did you mean 'learning_rate' in [optimizer]?"),
    ('[training]\nzzzz = 1\n', "zzzz: unknown key in [training] (`loratui config explain` lists every key)"),
    ('[trainig]\nseed = 1\n', "line 1: [trainig]: unknown section (did you mean [training]?)"),
    ('seed = 1\n', "line 1: seed: must be inside the [training] section"),
    ('[dataset]\nenable_bucket = "yes"\n', "enable_bucket: must be true or false (TOML booleans, no quotes), got 'yes'"),
    ('[dataset]\nenable_bucket = 1\n', "enable_bucket: must be true or false"),
    ('[optimizer]\nlearning_rate = "1e-4"\n', "learning_rate: must be a number from 0 to 10, got '1e-4' (a string"),
    ('[optimizer]\nlearning_rate = 11\n', "learning_rate: must be a number from 0 to 10, got 11"),
    ('[optimizer]\noptimizer_type = "adamx"\n', "optimizer_type: must be one of AdamW, AdamW8bit"),
    ('[optimizer]\noptimizer_type = "Lio"\n', "(did you mean 'Lion'?)"),
    ('[optimizer]\noptimizer_type = "SGDNesterov"\n', 'optimizer_type: \'SGDNesterov\' is not supported: use optimizer_type = "SGD"'),
    ('[optimizer]\noptimizer_type = "PagedAdamW8bit"\n', 'use "AdamW8bit"'),
    ('[optimizer]\nlr_warmup_steps = 1.5\n', "lr_warmup_steps: must be a step count (integer >= 0) or a fraction"),
    ('[optimizer]\nlr_warmup_steps = -1\n', "lr_warmup_steps: must be a step count"),
    ('[optimizer]\noptimizer_args = [1]\n', "optimizer_args: must be a list of strings"),
    ('[dataset]\nresolution = "big"\n', "resolution: must be a size in pixels from 64 to 8192"),
    ('[dataset]\nresolution = [512, 768, 1]\n', "resolution: must be a size in pixels"),
    ('[dataset]\nresolution = 32\n', "got 32"),
    ('[dataset]\ntrain_data_dir = 5\n', "train_data_dir: must be a string (in quotes), got 5"),
    ('[training]\nmax_token_length = 100\n', "max_token_length: must be one of 75, 150, 225, got 100"),
    ('[model]\nmodel_family = "sd3"\n', "model_family: must be one of auto, sd1, sd2, sdxl, got 'sd3'"),
    ('network = 3\n', "network: must be a [network] section, got 3"),
])
def test_error_messages(text, expected):
    assert expected in _err(text)


def test_toml_syntax_error_names_file_and_line():
    msg = _err('[model]\nvae = "x"\n[dataset\n')
    assert msg.startswith("cfg.toml, line 3: not valid TOML: ")
    assert "(column" in msg


def test_several_problems_all_listed():
    with pytest.raises(ConfigError) as info:
        loads_config('[network]\nnetwork_dim = 0\nconv_dim = -1\n', "c.toml")
    assert len(info.value.problems) == 2
    assert "(and 1 more" in str(info.value)


def test_load_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'[model]\nvae = "\xff"\n')
    with pytest.raises(ConfigError, match=r"bad.toml, line 2: not UTF-8"):
        load_config(bad)
    bad.write_bytes(b'\xef\xbb\xbf[saving]\noutput_name = "bom ok"\n')
    assert load_config(bad).saving.output_name == "bom ok"
    bad.write_text("[saving]\noutput_name = 3\n")
    with pytest.raises(ConfigError, match=rf"{bad}, line 2: output_name"):
        load_config(bad)


@pytest.mark.parametrize("raw, expected", [
    (512, (512, 512)), ("512", (512, 512)), ("512,768", (512, 768)), ("512x768", (512, 768)),
    ([512, 768], (512, 768)), ([640], (640, 640)),
])
def test_resolution_forms(raw, expected):
    cfg = config_from_dict({"dataset": {"resolution": raw}})
    assert cfg.dataset.resolution == expected
    saved = config_to_dict(cfg)["dataset"]["resolution"]
    assert saved == (expected[0] if expected[0] == expected[1] else list(expected))


def test_choices_canonical_and_aliases():
    cfg = config_from_dict({"optimizer": {"optimizer_type": "adamw8BIT", "lr_scheduler": "COSINE"},
                            "training": {"mixed_precision": "BF16"}})
    assert (cfg.optimizer.optimizer_type, cfg.optimizer.lr_scheduler) == ("AdamW8bit", "cosine")
    assert cfg.training.mixed_precision == "bf16"
    for alias, name in [("bitsandbytes.optim.AdamW8bit", "AdamW8bit"), ("AdaFactor", "Adafactor"),
                        ("prodigyopt.Prodigy", "Prodigy"), ("torch.optim.AdamW", "AdamW")]:
        assert config_from_dict({"optimizer": {"optimizer_type": alias}}).optimizer.optimizer_type == name


def test_numbers_ints_floats_and_warmup():
    cfg = config_from_dict({"network": {"network_alpha": 8, "network_dim": 16.0},
                            "optimizer": {"lr_warmup_steps": 100, "optimizer_args": "a=1 b=2"}})
    assert cfg.network.network_alpha == 8.0 and isinstance(cfg.network.network_alpha, float)
    assert cfg.network.network_dim == 16 and isinstance(cfg.network.network_dim, int)
    assert cfg.optimizer.lr_warmup_steps == 100 and cfg.optimizer.optimizer_args == ["a=1", "b=2"]
    assert config_from_dict({"optimizer": {"lr_warmup_steps": 0.05}}).optimizer.lr_warmup_steps == 0.05
    assert config_from_dict({"optimizer": {"lr_warmup_steps": 200.0}}).optimizer.lr_warmup_steps == 200


def test_config_to_dict_omits_none():
    d = config_to_dict(TrainingConfig())
    assert "max_train_epochs" not in d["training"] and "unet_lr" not in d["optimizer"]
    assert d["training"]["seed"] == 42


def test_save_not_rewritten_when_unchanged_even_if_hand_formatted(tmp_path):
    path = tmp_path / "c.toml"
    cfg = TrainingConfig()
    assert save_config(cfg, path) is True
    path.write_text("# my notes\n[network]\nnetwork_dim = 16\n")
    assert save_config(cfg, path) is False
    assert path.read_text().startswith("# my notes")
    cfg.network.network_dim = 32
    assert save_config(cfg, path) is True
    assert load_config(path).network.network_dim == 32
    assert [p.name for p in tmp_path.iterdir()] == ["c.toml"]  # no temp files left


def test_validate_cross_field():
    cfg = TrainingConfig()
    assert validate(cfg) == []
    cfg.network.network_train_unet_only = cfg.network.network_train_text_encoder_only = True
    cfg.dataset.min_bucket_reso, cfg.dataset.max_bucket_reso = 1024, 256
    cfg.training.full_bf16 = cfg.training.full_fp16 = True
    cfg.training.xformers = True
    cfg.dataset.random_crop = True
    cfg.training.cache_text_encoder_outputs = True
    cfg.dataset.shuffle_caption = True
    cfg.optimizer.optimizer_type = "Prodigy"
    cfg.optimizer.lr_scheduler, cfg.optimizer.lr_warmup_steps = "constant", 0.1
    text = "\n".join(validate(cfg))
    for needle in ["both true: nothing would be trained", "min_bucket_reso (1024) is larger",
                   "full_bf16 and full_fp16", "full_fp16 needs", "sdpa and xformers", "random_crop",
                   "cache_text_encoder_outputs cannot", "Prodigy expects", "use \"constant_with_warmup\""]:
        assert needle in text
    assert "network_train_unet_only = true" not in text  # unet_only is set


def test_validate_resolution_outside_buckets():
    cfg = config_from_dict({"dataset": {"resolution": 2048}})
    assert any("resolution 2048x2048" in p for p in validate(cfg))
    cfg.dataset.enable_bucket = False
    assert validate(cfg) == []


def test_relative_paths_resolve_against_config_folder(tmp_path):
    sub = tmp_path / "proj"
    sub.mkdir()
    (sub / "models").mkdir()
    path = sub / "c.toml"
    path.write_text('[dataset]\ntrain_data_dir = "img"\n[model]\npretrained_model_name_or_path = '
                    '"runwayml/sd-v1-5"\n[saving]\noutput_dir = "/abs/out"\n')
    cfg = load_config(path)
    assert cfg.config_dir == sub.resolve()
    assert cfg.dataset.train_data_dir == "img"  # kept as written
    assert resolve_path(cfg, "img") == str(sub.resolve() / "img")
    assert resolve_path(cfg, "") == ""
    resolved = with_resolved_paths(cfg)
    assert resolved.dataset.train_data_dir == str(sub.resolve() / "img")
    assert resolved.model.pretrained_model_name_or_path == "runwayml/sd-v1-5"  # repo id
    assert resolved.saving.output_dir == "/abs/out"
    assert cfg.dataset.train_data_dir == "img"  # original untouched
    save_config(cfg, path)
    assert 'train_data_dir = "img"' in path.read_text()
    # an existing local folder wins over the repo-id reading
    (sub / "org").mkdir()
    (sub / "org" / "name").mkdir()
    assert resolve_path(cfg, "org/name", key="pretrained_model_name_or_path") == str(sub.resolve() / "org/name")


def test_config_dir_is_not_a_field():
    assert [f.name for f in dataclasses.fields(TrainingConfig)] == list(SECTIONS)
    a, b = TrainingConfig(), TrainingConfig()
    a.config_dir = Path("/x")
    assert a == b and b.config_dir is None
    assert os.fspath(a.config_dir) == "/x"


def test_check_paths_names_a_repo_id_that_training_cannot_read(tmp_path):
    """"base-model/tiny-sd1x" (a typo of a local folder) reads like a Hugging Face repo id; training only
    reads local files, so `config check` says so instead of ok (train refused it only after rotating
    the last run's events)."""
    from loratui.core.config import check_paths

    path = tmp_path / "c.toml"
    path.write_text('[model]\npretrained_model_name_or_path = "base-model/tiny-sd1x"\n'
                    '[dataset]\ntrain_data_dir = "."\n', encoding="utf-8")
    problems = check_paths(load_config(path))
    assert any(p.startswith(f"pretrained_model_name_or_path: base-model/tiny-sd1x is not a folder or file in {tmp_path}")
               and "hf download base-model/tiny-sd1x" in p for p in problems), problems


def test_a_symlinked_config_is_written_through_and_a_read_only_one_refused(tmp_path):
    """presets apply / save replaced a config link with a copy, and rewrote a chmod 444 config."""
    import os

    from loratui.core.config import ConfigError

    real = tmp_path / "real" / "shared.toml"
    real.parent.mkdir()
    real.write_text("# mine\n[training]\nmax_train_epochs = 4\n", encoding="utf-8")
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    cfg = load_config(link)
    cfg.training.max_train_epochs = 6
    assert save_config(cfg, link)
    assert link.is_symlink() and "max_train_epochs = 6" in real.read_text() and "# mine" in real.read_text()
    os.chmod(real, 0o444)
    cfg.training.max_train_epochs = 8
    with pytest.raises(ConfigError, match="read-only config file, not rewritten"):
        save_config(cfg, link)
    assert "max_train_epochs = 6" in real.read_text()


def test_config_check_names_what_steps_and_train_stop_on(tmp_path):
    """caption_extension = "" and a train folder without images passed `config check` as ok."""
    from loratui.core.config import check_paths, validate

    (tmp_path / "img" / "10_empty").mkdir(parents=True)
    path = tmp_path / "c.toml"
    path.write_text('[dataset]\ntrain_data_dir = "img"\ncaption_extension = ""\n', encoding="utf-8")
    cfg = load_config(path)
    assert any(p.startswith("caption_extension '': give a file extension with its dot") for p in validate(cfg))
    assert any(p.startswith("train_data_dir: no training images under") for p in check_paths(cfg))
    (tmp_path / "img" / "10_empty" / "a.gif").write_bytes(b"GIF89a")  # left out: the scan's message says why
    assert not any("no training images" in p for p in check_paths(load_config(path)))


def test_an_unquoted_date_is_named_as_toml_reads_it(tmp_path):
    from loratui.core.config import ConfigError

    path = tmp_path / "d.toml"
    path.write_text("[network]\nnetwork_dim = 1979-05-27\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"got the date/time 1979-05-27 \(TOML reads an unquoted"):
        load_config(path)


def test_train_data_dir_naming_a_project_or_a_concept_folder_says_which_folder_to_give(tmp_path):
    """Every other command takes a project or concept folder; train_data_dir needs the img folder."""
    from loratui.core.config import check_paths

    concept = tmp_path / "alice" / "img" / "10_alice"
    concept.mkdir(parents=True)
    (concept / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    path = tmp_path / "c.toml"
    for value, hint in (("alice", f"is a project folder: set train_data_dir to its img folder, "
                                  f"{tmp_path / 'alice' / 'img'}"),
                        ("alice/img/10_alice", f"is one concept folder: set train_data_dir to the folder that "
                                               f"holds it, {tmp_path / 'alice' / 'img'}")):
        path.write_text(f'[dataset]\ntrain_data_dir = "{value}"\n', encoding="utf-8")
        [problem] = [p for p in check_paths(load_config(path)) if p.startswith("train_data_dir: no training")]
        assert hint in problem


def test_reg_data_dir_equal_to_train_data_dir_is_a_problem(tmp_path):
    from loratui.core.config import check_paths

    (tmp_path / "img" / "10_a").mkdir(parents=True)
    path = tmp_path / "c.toml"
    path.write_text('[dataset]\ntrain_data_dir = "img"\nreg_data_dir = "./img/"\n', encoding="utf-8")
    assert any(p.startswith(f"reg_data_dir: {tmp_path / 'img'}") and "a folder of their own" in p
               for p in check_paths(load_config(path)))
    (tmp_path / "reg" / "1_person").mkdir(parents=True)
    path.write_text('[dataset]\ntrain_data_dir = "img"\nreg_data_dir = "reg"\n', encoding="utf-8")
    assert not any(p.startswith("reg_data_dir") for p in check_paths(load_config(path)))


def test_leading_dotdots_of_a_config_path_are_folded(tmp_path):
    """Messages showed /p/chk/../demo/img; only leading ../ are folded (link/../x is left to the kernel)."""
    from loratui.core.config import resolve_path

    cfg = load_config_text_in(tmp_path / "chk")
    assert resolve_path(cfg, "../demo/img") == str(tmp_path / "demo" / "img")
    assert resolve_path(cfg, "link/../x") == str(tmp_path / "chk" / "link" / ".." / "x")


def load_config_text_in(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "c.toml").write_text("", encoding="utf-8")
    return load_config(folder / "c.toml")


def test_zero_for_an_every_n_field_says_how_to_turn_it_off():
    """hunt9: kohya_ss' GUI writes 0 for "off"; loratui (and sd-scripts, which divides by it) needs the
    line gone."""
    with pytest.raises(LoratuiError) as info:
        loads_config("[sampling]\nsample_every_n_epochs = 0\n", "c.toml")
    assert "got 0; 0 is not \"off\" here" in str(info.value) and "delete the line" in str(info.value)
    with pytest.raises(LoratuiError) as info:
        loads_config("[training]\ntrain_batch_size = 0\n", "c.toml")
    assert "delete the line" not in str(info.value)  # a required value: no "off" to turn to
