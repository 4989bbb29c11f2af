"""network_args rules read from the installed lycoris-lora's module forwards (user test s12/h6): DoRA with
bypass_mode trains no DoRA; dropout works in bypass mode only (and never with algo=full); LoKr's bypass
forward has no rank dropout; algo=full refuses bypass_mode; [network] conv_alpha is not read by
lycoris.kohya; networks.lora says per key where a network_args key belongs; keys lycoris.kohya reads but
loratui does not support are named so."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from loratui.cli import cli as main
from loratui.core.config import NetworkSection, network_problems
from loratui.core.config.network_args import dropout_applies, lokr_full_matrix_hint


def _net(*args, module="lycoris.kohya", **kw) -> NetworkSection:
    return NetworkSection(network_module=module, network_args=list(args), **kw)


def _one(network) -> str:
    problems = network_problems(network)
    assert len(problems) == 1 and "\n" not in problems[0], problems
    return problems[0]


@pytest.mark.parametrize("algo", ["locon", "loha", "lokr"])
def test_dora_with_bypass_mode_is_refused_naming_both_keys(algo):
    line = _one(_net(f"algo={algo}", "dora_wd=true", "bypass_mode=true"))
    assert "dora_wd=true with bypass_mode=true trains no DoRA" in line
    assert "remove bypass_mode=true to train DoRA" in line
    assert network_problems(_net(f"algo={algo}", "dora_wd=true", "bypass_mode=false")) == []


@pytest.mark.parametrize("algo", ["locon", "loha", "lokr"])
def test_dropout_is_allowed_in_bypass_mode_and_refused_without_it(algo):
    assert dropout_applies(algo, {"bypass_mode": "true"}) and not dropout_applies(algo, {})
    assert network_problems(_net(f"algo={algo}", "bypass_mode=true", "dropout=0.5")) == []
    line = _one(_net(f"algo={algo}", "dropout=0.9"))
    assert f"dropout does nothing with algo={algo} without bypass_mode=true" in line
    assert 'add "bypass_mode=true"' in line and "rank_dropout / module_dropout" in line
    assert network_problems(_net(f"algo={algo}", "dropout=0")) == []  # off: harmless


@pytest.mark.parametrize("algo", ["locon", "loha", "lokr"])
def test_network_dropout_follows_the_same_rule_as_it_is_passed_on_as_dropout(algo):
    line = _one(_net(f"algo={algo}", network_dropout=0.1))
    assert line.startswith("network_dropout = 0.1 does nothing with algo=") and "set it to 0" in line
    assert network_problems(_net(f"algo={algo}", "bypass_mode=true", network_dropout=0.1)) == []
    # a dropout in network_args wins over network_dropout (sd-scripts adds it only when absent)
    assert network_problems(_net(f"algo={algo}", "bypass_mode=true", "dropout=0.2", network_dropout=0.1)) == []


def test_dropout_with_dora_or_full_names_what_works_there():
    assert "DoRA cannot train in bypass mode" in _one(_net("algo=locon", "dora_wd=true", network_dropout=0.1))
    assert "does nothing with algo=full: set it to 0" in _one(_net("algo=full", network_dropout=0.1))
    assert "dropout does nothing with algo=full" in _one(_net("algo=full", "dropout=0.1"))


def test_lokr_rank_dropout_does_nothing_in_bypass_mode_only():
    line = _one(_net("algo=lokr", "bypass_mode=true", "rank_dropout=0.1"))
    assert "rank_dropout does nothing with algo=lokr and bypass_mode=true" in line
    for args in (["algo=lokr", "rank_dropout=0.1"], ["algo=loha", "bypass_mode=true", "rank_dropout=0.1"],
                 ["algo=locon", "bypass_mode=true", "rank_dropout=0.1"]):
        assert network_problems(_net(*args)) == []


def test_full_with_bypass_mode_is_refused_in_check():
    line = _one(_net("algo=full", "bypass_mode=true"))
    assert "bypass_mode=true is not supported with algo=full" in line and "remove it" in line
    assert network_problems(_net("algo=full", "bypass_mode=false")) == []


def test_network_conv_alpha_is_refused_with_lycoris_like_conv_dim():
    line = _one(_net("algo=locon", conv_alpha=2.0))
    assert line.startswith("conv_alpha = 2: with network_module = \"lycoris.kohya\" give it in network_args "
                           "(\"conv_alpha=2\")")
    assert network_problems(_net("algo=locon", conv_alpha=1.0)) == []  # the default every config has
    assert network_problems(_net(conv_dim=4, conv_alpha=2.0, module="networks.lora")) == []


@pytest.mark.parametrize("arg, expected", [
    ("block_dims=2,2,2", "network_args: block_dims: not supported (every block trains with network_dim); remove it"),
    ("block_alphas=1,1", "block_alphas: not supported (every block trains with network_alpha)"),
    ("conv_block_dims=4", "conv_block_dims: not supported (every 3x3 conv trains with conv_dim)"),
    ("down_lr_weight=0.5", "down_lr_weight: not supported (every block trains at the same learning rate)"),
    ("rank_dropout=0.1", "rank_dropout: not supported (network_dropout is supported"),
    ("loraplus_lr_ratio=16", "loraplus_lr_ratio: not supported"),
    ("conv_dim=4", "network_args: conv_dim=4: write conv_dim = 4 in [network]"),
    ("conv_alpha=2", "network_args: conv_alpha=2: write conv_alpha = 2 in [network]"),
    ("dropout=0.1", "network_args: dropout=0.1: write network_dropout = 0.1 in [network]"),
    ("algo=loha", "algo=loha is only read with network_module = \"lycoris.kohya\""),
    ("nonsense=1", "'nonsense' is not an argument networks.lora reads here"),
])
def test_networks_lora_says_per_key_where_a_network_arg_belongs(arg, expected):
    assert expected in _one(_net(arg, module="networks.lora"))


def test_two_networks_lora_keys_give_two_lines():
    problems = network_problems(_net("block_dims=2", "conv_dim=4", module="networks.lora"))
    assert len(problems) == 2 and "block_dims" in problems[0] and "conv_dim = 4" in problems[1]


@pytest.mark.parametrize("key", ["loraplus_lr_ratio", "loraplus_unet_lr_ratio", "constraint", "rescaled"])
def test_lycoris_keys_loratui_does_not_support_are_not_called_unknown(key):
    line = _one(_net("algo=locon", f"{key}=1"))
    assert f"network_args: {key} is read by lycoris.kohya but not supported by loratui" in line
    assert "unknown" not in line and line.endswith("remove it")


def test_lokr_full_matrix_hint_for_a_network_dim_past_the_range():
    hint = lokr_full_matrix_hint(100000)
    assert "full_matrix=true" in hint and "1024" in hint
    assert lokr_full_matrix_hint(1024) is None and lokr_full_matrix_hint("x") is None


def test_explain_bypass_mode_and_dropout_name_the_exceptions():
    bypass = CliRunner().invoke(main, ["config", "explain", "bypass_mode"]).output
    flat = " ".join(bypass.split())
    for words in ("DoRA (dora_wd) is skipped in bypass mode", "dropout works only in bypass mode",
                  "algo=full does not support it"):
        assert words in flat, flat
    dropout = " ".join(CliRunner().invoke(main, ["config", "explain", "dropout"]).output.split())
    assert "in bypass mode only" in dropout and "algo locon/loha/lokr" in dropout
