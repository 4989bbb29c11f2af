"""The engine's side of optimizer_args' bool words: a true/false word never reaches the optimizer as text
(parse_optimizer_args goes through core's check), and any other word given to an argument the optimizer takes as
a bool (``amsgrad=off``) is refused by check_optimizer, before any model is loaded, in one line."""

from __future__ import annotations

import pytest
import torch

from loratui.core.config import TrainingConfig
from loratui.core.errors import LoratuiError
from loratui.engine.optim import build_optimizer, check_optimizer, parse_optimizer_args


def _cfg(optimizer_type, args):
    cfg = TrainingConfig()
    cfg.optimizer.optimizer_type, cfg.optimizer.optimizer_args = optimizer_type, args
    cfg.optimizer.learning_rate = 1.0 if optimizer_type == "Prodigy" else 1e-4
    return cfg


def _groups():
    return [{"params": [torch.nn.Parameter(torch.zeros(4))]}]


@pytest.mark.parametrize("args", [["amsgrad=false"], ["amsgrad=TRUE"], ["foreach=null"]])
def test_parse_never_hands_a_bool_word_through(args):
    with pytest.raises(LoratuiError, match=r"optimizer\.optimizer_args: .*: write .* \(values are Python literals"):
        parse_optimizer_args(args)
    assert parse_optimizer_args(["amsgrad=False", "foreach=None"]) == {"amsgrad": False, "foreach": None}


def test_amsgrad_false_trains_without_the_amsgrad_buffer():
    p = torch.nn.Parameter(torch.ones(3))
    opt = build_optimizer(_cfg("AdamW", ["amsgrad=False"]), [{"params": [p]}])
    p.grad = torch.ones(3)
    opt.step()
    assert opt.defaults["amsgrad"] is False and "max_exp_avg_sq" not in opt.state[p]


@pytest.mark.parametrize("optimizer_type, args, key", [
    ("AdamW", ["amsgrad=off"], "amsgrad"),
    ("AdamW", ["weight_decay=0.01", "foreach=yes"], "foreach"),  # Optional[bool]: read from the annotation
    ("SGD", ["momentum=0.9", "nesterov=on"], "nesterov"),
    ("Prodigy", ["decouple=no"], "decouple"),
    ("AdamW", ['amsgrad="False"'], "amsgrad"),  # a quoted text is text too
])
def test_any_word_for_a_bool_argument_is_refused_before_the_model_loads(optimizer_type, args, key):
    if optimizer_type == "Prodigy":
        pytest.importorskip("prodigyopt")
    for call in (lambda: check_optimizer(_cfg(optimizer_type, args)),
                 lambda: build_optimizer(_cfg(optimizer_type, args), _groups())):
        with pytest.raises(LoratuiError) as err:
            call()
        text = str(err.value)
        assert text.startswith(f"optimizer.optimizer_args: {key}=") and "\n" not in text
        assert f"{optimizer_type}'s {key} is True or False: write {key}=True or {key}=False" in text
        assert text.endswith("would be the text, which counts as on)")


def test_a_word_for_an_argument_that_is_not_a_bool_keeps_the_old_misfit_line():
    with pytest.raises(LoratuiError, match="do not fit AdamW"):
        build_optimizer(_cfg("AdamW", ["weight_decay=much"]), _groups())
