"""The config file as a contract (hunt h4): kohya_ss / sd-scripts names get what they are here (not a spelling
guess), a stray key above every header is a key with its line, `steps` names the config and the key, and
`config check` notes sampling asked for without prompts."""

from __future__ import annotations

import pytest

from loratui.core.config import ConfigError, TrainingConfig, config_notes, loads_config, validate
from loratui.core.errors import LoratuiError
from loratui.core.plan import scan_for_config


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        loads_config(text, "c.toml")
    return list(info.value.problems)


@pytest.mark.parametrize("section, line, expected", [
    ("optimizer", "lr_warmup = 10", "a kohya_ss name (a percent of the steps): use lr_warmup_steps = 0.1"),
    ("dataset", "enable_wildcard = true", "loratui has no such setting"),
    ("dataset", "persistent_data_loader_workers = true", "loratui manages data-loader worker lifetime"),
    ("model", "v2 = true", "here it is model_family in [model]"),
    ("training", "epoch = 3", "here it is max_train_epochs in [training]"),
    ("dataset", "color_aug = true", "no colour augmentation"),
    ("model", "fp8_base = true", "not fp8"),
    ("model", "no_half_vae = true", "an sd-scripts argument: always on"),
])
def test_a_kohya_or_sdscripts_name_says_what_it_is_here(section, line, expected):
    [problem] = _problems(f"[{section}]\n{line}\n")
    assert problem.startswith("c.toml, line 2: ") and expected in problem and "did you mean" not in problem


def test_a_plain_typo_still_gets_the_closest_key():
    assert _problems("[network]\nnetwrok_dim = 4\n") == [
        "c.toml, line 2: netwrok_dim: unknown key in [network] (did you mean 'network_dim'?)"]


def test_a_misspelled_key_above_every_header_is_a_key_with_its_line():
    assert _problems("netwrok_dim = 16\n[network]\nnetwork_dim = 8\n") == [
        "c.toml, line 1: netwrok_dim: unknown key (did you mean 'network_dim' in [network]?)"]
    [problem] = _problems("no_half_vae = true\n[model]\n")
    assert problem.startswith("c.toml, line 1: no_half_vae: unknown key: an sd-scripts argument")


def test_a_dotted_key_gets_its_line():
    assert _problems("model.model_family = \"sd1\"\nnetwork.netwrok_dim = 4\n") == [
        "c.toml, line 2: netwrok_dim: unknown key in [network] (did you mean 'network_dim'?)"]


def test_explain_knows_no_half_vae():
    from loratui.core.config import explain_gui_key

    head, how, target = explain_gui_key("no_half_vae")
    assert "sd-scripts argument" in head and "fp32" in how and target == ""


def test_steps_names_the_key_and_a_dollar_variable_is_said_not_expanded(tmp_path):
    cfg = TrainingConfig()
    cfg.config_dir = tmp_path
    cfg.dataset.train_data_dir = "../nowhere/img"
    with pytest.raises(LoratuiError, match=r"^train_data_dir: folder .*nowhere/img does not exist$"):
        scan_for_config(cfg)
    cfg.dataset.train_data_dir = "${DEMO}/img"
    with pytest.raises(LoratuiError, match=r"not \$VARIABLES: write the path out"):
        scan_for_config(cfg)


def test_steps_cli_prefixes_the_config(tmp_path, capsys):
    from fixtures.cli_run import run_main

    config = tmp_path / "miss.toml"
    config.write_text('[dataset]\ntrain_data_dir = "imgs"\n[training]\nmax_train_epochs = 1\n')
    code, out, err = run_main(["steps", str(config)], capsys)
    assert code == 2 and f"{config}: train_data_dir: folder {tmp_path / 'imgs'} does not exist" in out + err


def test_prodigy_with_two_rates_or_foreign_args_is_a_problem_config_check_reports():
    cfg = TrainingConfig()
    o = cfg.optimizer
    o.optimizer_type, o.learning_rate, o.unet_lr, o.text_encoder_lr = "Prodigy", 1.0, 1.0, 0.5
    o.optimizer_args = ["momentum=0.9", "weight_decay=0.01"]
    text = "\n".join(validate(cfg))
    assert "Prodigy needs one learning rate" in text and "Prodigy takes no optimizer_args momentum=0.9:" in text
    assert "weight_decay=0.01" not in text.split("Prodigy takes no optimizer_args", 1)[1].split(":")[0]


def test_sampling_asked_for_without_prompts_is_a_note():
    cfg = TrainingConfig()
    cfg.sampling.sample_every_n_steps, cfg.sampling.sample_at_first = 100, True
    assert "samples are asked for (every 100 steps, before training) but no samples will be made: set " \
        "sample_prompts in [sampling]" in config_notes(cfg)
    cfg.sampling.sample_prompts = "prompts.txt"
    assert not any("no samples will be made" in n for n in config_notes(cfg))
