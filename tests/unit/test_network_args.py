"""network_module / network_args: LyCORIS options checked in core, one line per problem, explained."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from loratui.cli import cli as main
from loratui.core.config import (
    NetworkSection, TrainingConfig, network_kind, network_problems, sdscripts_network_kwargs, validate,
)


def _net(*args, module="lycoris.kohya", **kw) -> NetworkSection:
    return NetworkSection(network_module=module, network_args=list(args), **kw)


@pytest.mark.parametrize("args", [
    ["algo=loha", "preset=full", "conv_dim=4", "conv_alpha=1", "use_tucker=False", "use_scalar=False",
     "rank_dropout=0.1", "module_dropout=0", "dora_wd=False", "rank_dropout_scale=False", "train_norm=False",
     "bypass_mode=False"],
    ["algo=lokr", "factor=8", "use_cp=True", "decompose_both=True", "preset=attn-mlp"],
    ["algo=locon", "dora_wd=true", "wd_on_output=false", "rank_dropout=0.1"],
    ["algo=loha", "bypass_mode=true", "dropout=0.5"], ["algo=locon", "bypass_mode=true", "dropout=0.1"],
    ["algo=lora"], ["algo=full", "preset=unet-transformer-only", "use_tucker=False"], [],
])
def test_valid_lycoris_args(args):
    assert network_problems(_net(*args)) == []


@pytest.mark.parametrize("args, expected", [
    (["algo=ia3"], "algo=ia3 is not one loratui trains"),
    (["algo=loha", "factor=4"], "factor does nothing with algo=loha (it is read by lokr)"),
    (["algo=locon", "decompose_both=true"], "decompose_both does nothing with algo=locon"),
    (["algo=full", "dora_wd=true"], "dora_wd does nothing with algo=full"),
    (["algo=lokr", "decompose_both=False"], "decompose_both=false turns it ON"),
    (["algo=loha", "use_tucker=0"], "use_tucker=0 must be true or false"),
    (["algo=loha", "conv_dim=four"], "conv_dim=four must be an integer"),
    (["algo=loha", "rank_dropout=2"], "rank_dropout=2 must be from 0 to 1"),
    (["algo=lokr", "factor=0"], "factor=0 is not a factor"),
    (["preset=ful"], "preset=ful is not a LyCORIS built-in preset (did you mean 'full'?"),
    (["preset=my_preset.toml"], "preset files are not supported"),
    (["algo=loha", "use_tuker=true"], "unknown LyCORIS argument 'use_tuker' (did you mean 'use_tucker'?)"),
    (["algo"], "'algo' must be key=value"),
    (["algo=loha", "algo=lokr"], "algo is given twice"),
    (["algo=loha", "dropout=0.1"], "dropout does nothing with algo=loha"),
    (["algo=locon", "wd_on_output=false"], "wd_on_output only matters with dora_wd=true"),
])
def test_each_problem_is_one_line(args, expected):
    problems = network_problems(_net(*args))
    assert len(problems) == 1 and "\n" not in problems[0]
    assert expected in problems[0], problems


def test_field_interplay():
    assert "give it in network_args (\"conv_dim=8\")" in network_problems(_net("algo=loha", conv_dim=8))[0]
    assert "does nothing with algo=lokr without bypass_mode=true" in \
        network_problems(_net("algo=lokr", network_dropout=0.1))[0]
    assert "only read with network_module = \"lycoris.kohya\"" in \
        network_problems(_net("algo=loha", module="networks.lora"))[0]
    cfg = TrainingConfig()
    cfg.network = _net("algo=bogus")
    assert any("algo=bogus" in p for p in validate(cfg))


def test_sdscripts_kwargs_add_dropout_like_sd_scripts():
    # train_network.py: `if "dropout" not in net_kwargs: net_kwargs["dropout"] = args.network_dropout`
    assert sdscripts_network_kwargs(_net("algo=loha", "preset=full")) == \
        {"algo": "loha", "preset": "full", "dropout": None}  # network_dropout unset: None, as sd-scripts
    assert sdscripts_network_kwargs(_net("algo=locon", "dropout=0.2", network_dropout=0.1))["dropout"] == "0.2"
    assert sdscripts_network_kwargs(NetworkSection()) == {}


def test_network_kind_names():
    assert network_kind(NetworkSection()) == "LoRA"
    assert network_kind(NetworkSection(conv_dim=4)) == "LoCon"
    assert network_kind(_net("algo=loha")) == "LyCORIS LoHa"
    assert network_kind(_net("algo=locon", "dora_wd=true")) == "DoRA"
    assert network_kind(_net("algo=lokr", "dora_wd=True")) == "LoKr+DoRA"
    assert network_kind(_net()) == "LyCORIS LoCon"


def test_config_check_and_explain(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[network]\nnetwork_module = "lycoris.kohya"\nnetwork_args = ["algo=loha", "factor=2"]\n')
    result = CliRunner().invoke(main, ["config", "check", str(path)])
    assert result.exit_code == 1
    assert f"{path}: network_args: factor does nothing with algo=loha (it is read by lokr)" in result.output
    bad = tmp_path / "m.toml"
    bad.write_text('[network]\nnetwork_module = "lycoris"\n')
    result = CliRunner().invoke(main, ["config", "check", str(bad)])
    assert result.exit_code == 1 and "networks.lora, lycoris.kohya" in result.output
    for key in ("algo", "preset", "factor", "decompose_both", "dora_wd", "use_tucker", "use_scalar",
                "train_norm", "rank_dropout", "module_dropout", "dropout", "network_args.conv_alpha"):
        result = CliRunner().invoke(main, ["config", "explain", key])
        assert result.exit_code == 0, result.output
        assert "network_args" in result.output and "lycoris.kohya" in result.output
    result = CliRunner().invoke(main, ["config", "explain", "network_args"])
    assert result.output.count('[network] network_args "') >= 15
    result = CliRunner().invoke(main, ["config", "explain", "conv_dim"])
    assert "[network] conv_dim" in result.output and '"conv_dim=..."' in result.output


def test_one_item_split_and_one_set_of_defaults():
    """r2 item 5: network_args_edit split items and kept the LyCORIS defaults a second way."""
    from loratui.core.config import network_args, network_args_edit
    from loratui.core.config.network_args import LYCORIS_DEFAULTS, split_item, split_network_args

    assert split_item(' "algo" = "loha" ') == ("algo", "loha")
    assert split_item("dora_wd=a=b") == ("dora_wd", "a=b")  # the first '=', as sd-scripts splits
    assert split_item("noequals") is None and split_item("=x") == ("", "x")
    assert split_network_args(["conv_dim=4", "bad"])[0] == {"conv_dim": "4"}
    assert network_args_edit.arg_value(["use_cp='true'", "algo=lora"], "use_tucker") == "true"  # alias resolved
    assert not hasattr(network_args_edit, "SHOWN_DEFAULTS") and not hasattr(network_args, "_DEFAULTS")
    for name in ("algo", "preset", "wd_on_output"):
        assert network_args_edit.shown_default(name) == LYCORIS_DEFAULTS[name]
    assert network_args_edit.shown_default("use_tucker") == "false"
