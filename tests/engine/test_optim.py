"""engine.optim: every optimizer and schedule builds and steps; sd-scripts' warmup and arg rules."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from loratui.core.config import OptimizerSection
from loratui.core.errors import LoratuiError
from loratui.engine import optim
from loratui.engine.optim import Lion, build_lr_scheduler, build_optimizer, check_optimizer, parse_optimizer_args


def _cfg(**kw):
    o = OptimizerSection()
    for k, v in kw.items():
        setattr(o, k, v)
    return SimpleNamespace(optimizer=o)


def _groups(lrs=(1e-3, 5e-4)):
    torch.manual_seed(0)
    a = torch.nn.Parameter(torch.randn(8, 4))
    b = torch.nn.Parameter(torch.randn(4))
    return [{"params": [a], "lr": lrs[0]}, {"params": [b], "lr": lrs[1]}]


ARGS = {"AdamW8bit": ["min_8bit_size=0"], "Lion8bit": ["min_8bit_size=0"], "Prodigy": ["weight_decay=0.01"],
        "SGD": ["momentum=0.9"], "AdamW": ["weight_decay=0.01", "betas=(0.9,0.99)"], "Lion": ["betas=0.9,0.99"],
        "Adafactor": []}


@pytest.mark.parametrize("name", optim.OPTIMIZERS)
def test_every_optimizer_takes_a_step(name):
    cfg = _cfg(optimizer_type=name, optimizer_args=ARGS[name], learning_rate=1e-3 if name != "Prodigy" else 1.0)
    check_optimizer(cfg)
    groups = _groups((1.0, 1.0) if name == "Prodigy" else (1e-3, 5e-4))
    opt = build_optimizer(cfg, groups)
    params = [p for g in groups for p in g["params"]]
    before = [p.detach().clone() for p in params]
    for _ in range(2):
        loss = sum((p ** 2).sum() for p in params)
        loss.backward()
        opt.step()
        opt.zero_grad()
    assert all(not torch.equal(b, p) for b, p in zip(before, params))
    assert all(torch.isfinite(p).all() for p in params)
    assert [g["lr"] for g in opt.param_groups][:2] == [1e-3, 5e-4] or name == "Prodigy"


def test_lion_matches_its_definition():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = Lion([p], lr=0.1, betas=(0.9, 0.99), weight_decay=0.5)
    p.grad = torch.tensor([0.3, -0.4])
    opt.step()
    # decay then sign(0.1 * grad) step, the moment becomes 0.01 * grad
    assert torch.allclose(p.detach(), torch.tensor([1.0 * 0.95 - 0.1, -2.0 * 0.95 + 0.1]))
    assert torch.allclose(opt.state[p]["exp_avg"], torch.tensor([0.003, -0.004]))


def test_optimizer_args_parse_like_sd_scripts():
    assert parse_optimizer_args(["weight_decay=0.01", "betas=0.9,0.99", "decouple=True", "mode=x"]) == {
        "weight_decay": 0.01, "betas": (0.9, 0.99), "decouple": True, "mode": "x"}
    with pytest.raises(LoratuiError, match="key=value"):
        parse_optimizer_args(["weight_decay"])
    with pytest.raises(LoratuiError, match="do not fit AdamW"):
        build_optimizer(_cfg(optimizer_type="AdamW", optimizer_args=["nonsense=1"]), _groups())


def test_config_time_errors(monkeypatch):
    with pytest.raises(LoratuiError, match="optimizer_type 'Adam9' is unknown"):
        check_optimizer(_cfg(optimizer_type="Adam9"))
    with pytest.raises(LoratuiError, match="lr_scheduler 'cosine_annealing' is unknown"):
        check_optimizer(_cfg(optimizer_type="AdamW", lr_scheduler="cosine_annealing"))
    with pytest.raises(LoratuiError, match="relative_step"):
        check_optimizer(_cfg(optimizer_type="Adafactor", optimizer_args=["relative_step=True"]))
    with pytest.raises(LoratuiError, match="do not fit AdamW"):  # before any model is loaded
        check_optimizer(_cfg(optimizer_type="AdamW", optimizer_args=["foo=1"]))
    with pytest.raises(LoratuiError, match="do not fit AdamW"):
        check_optimizer(_cfg(optimizer_type="AdamW", optimizer_args=["betas=2.0,0.9"]))
    check_optimizer(_cfg(optimizer_type="AdamW", optimizer_args=["weight_decay=0.1"]))
    with pytest.raises(LoratuiError, match="Prodigy needs one learning rate"):
        check_optimizer(_cfg(optimizer_type="Prodigy", learning_rate=1.0, text_encoder_lr=0.5))
    real = optim.importlib.util.find_spec
    monkeypatch.setattr(optim.importlib.util, "find_spec", lambda n: None if n == "prodigyopt" else real(n))
    with pytest.raises(LoratuiError, match="pip install prodigyopt"):
        check_optimizer(_cfg(optimizer_type="Prodigy"))
    monkeypatch.setattr(optim.importlib.util, "find_spec", lambda n: None if n == "bitsandbytes" else real(n))
    for name in ("AdamW8bit", "Lion8bit"):
        with pytest.raises(LoratuiError, match="pip install bitsandbytes"):
            check_optimizer(_cfg(optimizer_type=name))


def _lrs(name, total=20, **kw):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = build_lr_scheduler(_cfg(lr_scheduler=name, learning_rate=1.0, **kw), opt, total)
    out = []
    for _ in range(total + 1):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


@pytest.mark.parametrize("name", optim.SCHEDULERS)
def test_every_schedule_against_diffusers(name):
    from diffusers.optimization import get_scheduler

    total, warmup = 20, 4
    p = torch.nn.Parameter(torch.zeros(1))
    ref_opt = torch.optim.SGD([p], lr=1.0)
    ref = get_scheduler(name, ref_opt, num_warmup_steps=warmup, num_training_steps=total,
                        num_cycles=2 if name == "cosine_with_restarts" else None,
                        power=2.0 if name == "polynomial" else 1.0)
    expected = []
    for _ in range(total + 1):
        expected.append(ref_opt.param_groups[0]["lr"])
        ref_opt.step()
        ref.step()
    ours = _lrs(name, total, lr_warmup_steps=warmup, lr_scheduler_num_cycles=2, lr_scheduler_power=2.0)
    assert ours == pytest.approx(expected, abs=1e-12)


def test_warmup_ratio_is_a_fraction_of_the_total():
    lrs = _lrs("constant_with_warmup", total=20, lr_warmup_steps=0.25)  # int(0.25 * 20) = 5 steps
    assert lrs[:6] == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    lrs = _lrs("linear", total=10, lr_warmup_steps=0.15)  # int(1.5) = 1 step, like sd-scripts
    assert lrs[0] == 0 and lrs[1] == 1.0 and math.isclose(lrs[2], 8 / 9)
    assert _lrs("constant", total=5, lr_warmup_steps=3) == [1.0] * 6  # diffusers' constant ignores warmup
