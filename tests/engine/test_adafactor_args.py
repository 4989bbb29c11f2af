"""Adafactor: loratui's defaults (scale_parameter, relative_step, warmup_init False) are what the optimizer
gets, what ss_optimizer shows (sd-scripts' format) and what the export writes; relative_step / warmup_init
= True are refused with one line naming the key."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from loratui.core.config import OptimizerSection, TrainingConfig
from loratui.core.errors import LoratuiError
from loratui.engine.metadata import build_metadata
from loratui.engine.optim import build_optimizer, check_optimizer

CLASS = "transformers.optimization.Adafactor"


def _cfg(args, lr=1e-3):
    cfg = TrainingConfig()
    cfg.optimizer.optimizer_type, cfg.optimizer.optimizer_args, cfg.optimizer.learning_rate = "Adafactor", args, lr
    return cfg


def _params():
    return [{"params": [torch.nn.Parameter(torch.randn(8, 4))], "lr": 1e-3}]


def _ss_optimizer(cfg) -> str:
    meta = build_metadata(cfg, "sd1", session_id=1, training_started_at=1.0, steps=1, epochs=1,
                          num_train_images=1, num_reg_images=0, tag_frequency={}, dataset_dirs={})
    return meta["ss_optimizer"]


def test_the_optimizer_gets_loratuis_defaults_and_the_learning_rate():
    opt = build_optimizer(_cfg([]), _params())
    d = opt.defaults
    assert (d["scale_parameter"], d["relative_step"], d["warmup_init"], d["lr"]) == (False, False, False, 1e-3)
    given = build_optimizer(_cfg(["scale_parameter=True", "clip_threshold = 1.0"]), _params()).defaults
    assert given["scale_parameter"] is True and given["clip_threshold"] == 1.0 and given["relative_step"] is False


@pytest.mark.parametrize("args, shown", [
    ([], "scale_parameter=False,relative_step=False,warmup_init=False"),
    (["relative_step=False"], "relative_step=False,scale_parameter=False,warmup_init=False"),
    (["clip_threshold=1.0", "scale_parameter=True"], "clip_threshold=1.0,scale_parameter=True,relative_step=False,"
                                                    "warmup_init=False"),
])
def test_ss_optimizer_shows_the_effective_args_as_sd_scripts_formats_them(args, shown):
    assert _ss_optimizer(_cfg(args)) == f"{CLASS}({shown})"


def test_other_optimizers_get_no_added_args():
    cfg = _cfg(["weight_decay = 0.01"])
    cfg.optimizer.optimizer_type = "AdamW"
    assert _ss_optimizer(cfg) == "torch.optim.adamw.AdamW(weight_decay=0.01)"
    cfg.optimizer.optimizer_args = []
    assert _ss_optimizer(cfg) == "torch.optim.adamw.AdamW"


@pytest.mark.parametrize("args, words", [
    (["relative_step=True"], "optimizer.optimizer_args relative_step=True (Adafactor's own learning-rate schedule"),
    (["warmup_init=True"], "optimizer.optimizer_args warmup_init=True needs relative_step=True"),
    (["warmup_init=True", "relative_step=False"], "warmup_init=True needs relative_step=True"),
    (["relative_step=true"], "relative_step=true: write relative_step=True (values are Python literals"),  # core's rule
    (["relative_step=on"], "relative_step=on: Adafactor's relative_step is Python's True or False"),
])
def test_relative_step_and_warmup_init_are_refused_in_one_line(args, words):
    for call in (lambda: check_optimizer(_cfg(args)), lambda: build_optimizer(_cfg(args), _params())):
        with pytest.raises(LoratuiError) as err:
            call()
        assert words in str(err.value) and "\n" not in str(err.value)


def test_check_optimizer_takes_a_plain_section_too():
    # engine tests build configs from an OptimizerSection alone
    check_optimizer(SimpleNamespace(optimizer=OptimizerSection(optimizer_type="Adafactor")))
