"""optimizer_args as sd-scripts reads them (split at '=', ast.literal_eval the value): what `config check`,
the Settings field and `train` refuse agree (h12 #4), and the field takes the help's own example."""

from __future__ import annotations

import pytest

from loratui.core.config import coerce_value, field_spec, loads_config
from loratui.core.config.optimizer_args import optimizer_arg_problem
from loratui.core.errors import LoratuiError
from loratui.tui.widgets.config_field import check_text

ARGS = field_spec("optimizer_args", "optimizer")


@pytest.mark.parametrize("item", ["weight_decay=0.01", "betas=0.9,0.99", "betas=(0.9, 0.99)", "eps=1e-8",
                                  "nesterov=True", "d_coef=2", "decouple=True", "algo=word"])
def test_what_sd_scripts_reads_is_taken(item):
    assert optimizer_arg_problem(item) is None


def test_a_comma_between_elements_is_named_not_trained_as_a_tuple():
    # typed "weight_decay=0.01, betas=0.9,0.99": the field splits at spaces, so the first keeps its comma,
    # which literal_eval reads as (0.01,) and AdamW then failed on with "'<=' not supported"
    with pytest.raises(ValueError) as info:
        coerce_value(ARGS, "weight_decay=0.01, betas=0.9,0.99")
    assert str(info.value) == ("'weight_decay=0.01,' ends in a comma, which makes its value the tuple (0.01,): "
                               "separate the elements with spaces, not commas (weight_decay=0.01 betas=0.9,0.99)")


def test_brackets_two_equals_and_odd_names_are_refused_with_the_fix():
    assert "holds a bracket of a TOML list" in optimizer_arg_problem("[weight_decay=0.01,")
    assert "holds a bracket of a TOML list" in optimizer_arg_problem("betas=0.9,0.99]")
    assert "holds two '='" in optimizer_arg_problem("weight_decay=0.01,betas=0.9")
    assert "is not an argument name" in optimizer_arg_problem("weight decay=0.01")


def test_config_check_reads_the_same_rule_with_the_file_line():
    with pytest.raises(LoratuiError) as info:
        loads_config('[optimizer]\noptimizer_args = ["[weight_decay=0.01,", "betas=0.9,0.99]"]\n')
    assert "optimizer_args: '[weight_decay=0.01,' holds a bracket of a TOML list" in str(info.value)


def test_the_field_takes_the_help_example_as_typed():
    assert "[\"weight_decay=0.01\", \"betas=0.9,0.99\"]" in ARGS.help
    value, problem = check_text(ARGS, '["weight_decay=0.01", "betas=0.9,0.99"]')
    assert problem is None and value == ["weight_decay=0.01", "betas=0.9,0.99"]
    value, problem = check_text(ARGS, "weight_decay=0.01 betas=0.9,0.99")
    assert problem is None and value == ["weight_decay=0.01", "betas=0.9,0.99"]
    _, problem = check_text(ARGS, "[weight_decay=0.01, betas=0.9,0.99]")  # not TOML: core names the bracket
    assert problem.startswith("optimizer_args: '[weight_decay=0.01,' holds a bracket")


def test_the_engine_names_the_element_and_the_fix():
    pytest.importorskip("torch")
    from loratui.core.config import TrainingConfig
    from loratui.engine.optim import args_misfit, build_optimizer, parse_optimizer_args

    assert parse_optimizer_args(["weight_decay=0.01", "betas=0.9,0.99"]) == {"weight_decay": 0.01,
                                                                              "betas": (0.9, 0.99)}
    with pytest.raises(LoratuiError, match="ends in a comma"):
        parse_optimizer_args(["weight_decay=0.01,", "betas=0.9,0.99"])
    message = args_misfit("AdamW", {"weight_decay": (0.01, 0.02)}, TypeError("'<=' not supported"))
    assert "weight_decay=(0.01, 0.02) (read as a tuple)" in message and "betas=0.9,0.99" in message
    cfg = TrainingConfig()
    cfg.optimizer.optimizer_type = "AdamW"
    cfg.optimizer.optimizer_args = ["weight_decay=0.01", "betas=0.9,0.99"]  # the help's example trains
    import torch

    build_optimizer(cfg, [{"params": [torch.nn.Parameter(torch.zeros(1))]}])
    cfg.optimizer.optimizer_args = ["wieght_decay=0.01"]
    with pytest.raises(LoratuiError) as info:
        build_optimizer(cfg, [{"params": [torch.nn.Parameter(torch.zeros(1))]}])
    assert str(info.value).startswith("optimizer.optimizer_args do not fit AdamW: it has no argument 'wieght_decay'")
