"""Optimizers and learning-rate schedules by their sd-scripts names.

``check_optimizer`` runs at config time, so a missing optional package (bitsandbytes for the 8-bit
optimizers, prodigyopt for Prodigy) is one clear error before any model is loaded.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import math

import torch

from loratui.core.errors import LoratuiError

NEEDS = {"AdamW8bit": "bitsandbytes", "Lion8bit": "bitsandbytes", "Prodigy": "prodigyopt",
         "Adafactor": "transformers"}


def parse_optimizer_args(args: list[str] | None) -> dict:
    """["weight_decay=0.01", "betas=(0.9,0.99)"] -> {"weight_decay": 0.01, "betas": (0.9, 0.99)}.

    The key=value syntax is core's (the field's own check, which `config check` and Settings use), so a
    config built in code is refused with the words a loaded one is; values are read as sd-scripts reads them."""
    from loratui.core.config import coerce_value, field_spec

    raw = args if isinstance(args, str) else list(args or [])  # a string: kohya style, read as core reads it
    try:
        items = coerce_value(field_spec("optimizer_args", "optimizer"), raw)
    except ValueError as exc:
        raise LoratuiError(f"optimizer.optimizer_args: {exc}") from None
    result = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            result[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            # a bare word stays text; core's check (coerce_value above) has refused true/false/none/null words,
            # which would reach the optimizer as a non-empty string that counts as on. bool_word_misfit refuses
            # any other word given to an argument the optimizer takes as a bool
            result[key.strip()] = value.strip()
    return result


def bool_word_misfit(name: str, cls, kwargs: dict) -> str | None:
    """The one line for a text value given to an argument ``cls`` takes as a bool (its default is True or
    False, or its annotation says bool), e.g. ``amsgrad=off``: the optimizer would read the non-empty text
    as on. None when there is none. Read from the class signature: no optimizer is built."""
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return None
    for key, value in kwargs.items():
        param = params.get(key)
        if param is None or not isinstance(value, str):
            continue
        annotation = param.annotation
        takes_bool = isinstance(param.default, bool) or (
            annotation is not inspect.Parameter.empty and "bool" in str(annotation) and "str" not in str(annotation))
        if takes_bool:
            return (f"optimizer.optimizer_args: {key}={value}: {name}'s {key} is True or False: write {key}=True "
                    f"or {key}=False (values are Python literals, as sd-scripts reads them; {value!r} would be "
                    "the text, which counts as on)")
    return None


def args_misfit(name: str, kwargs: dict, exc: Exception) -> str:
    """The one line for optimizer_args the optimizer refused: the element it names (an unknown argument)
    or the elements whose values are not plain numbers (a tuple or a word, the usual misfit), and the fix."""
    text = str(exc)
    unknown = next((key for key in kwargs if f"argument '{key}'" in text), None)
    if unknown is not None:
        return (f"optimizer.optimizer_args do not fit {name}: it has no argument {unknown!r} "
                f"({unknown}={kwargs[unknown]!r}): remove it or check its spelling")
    odd = [f"{key}={value!r} (read as a {type(value).__name__})" for key, value in kwargs.items()
           if not isinstance(value, (bool, int, float))]
    if odd:
        return (f"optimizer.optimizer_args do not fit {name} ({text}): check {', '.join(odd)}; a tuple is only "
                "for an argument that takes one (betas=0.9,0.99), other values are one number (weight_decay=0.01)")
    return f"optimizer.optimizer_args do not fit {name}: {text}: check their values ({', '.join(kwargs)})"


OPTIMIZERS = ("AdamW", "AdamW8bit", "Lion", "Lion8bit", "Adafactor", "Prodigy", "SGD")
SCHEDULERS = ("constant", "constant_with_warmup", "linear", "cosine", "cosine_with_restarts", "polynomial")


def check_optimizer(cfg) -> None:
    """Everything build_optimizer / build_lr_scheduler would refuse, before any model is loaded."""
    name = cfg.optimizer.optimizer_type
    if name not in OPTIMIZERS:
        raise LoratuiError(f"optimizer.optimizer_type {name!r} is unknown: use one of {', '.join(OPTIMIZERS)}")
    if cfg.optimizer.lr_scheduler not in SCHEDULERS:
        raise LoratuiError(f"optimizer.lr_scheduler {cfg.optimizer.lr_scheduler!r} is unknown: use one of "
                           f"{', '.join(SCHEDULERS)}")
    package = NEEDS.get(name)
    if package and importlib.util.find_spec(package) is None:
        raise LoratuiError(f"optimizer.optimizer_type {name} needs the {package} package: pip install {package}")
    kwargs = parse_optimizer_args(cfg.optimizer.optimizer_args)
    _refuse_unsupported_args(cfg.optimizer)
    warmup_steps(cfg, 1)
    if kwargs:  # unknown or bad optimizer_args: now, not after the model has loaded
        build_optimizer(cfg, [{"params": [torch.nn.Parameter(torch.zeros(1))]}])
    if name == "Prodigy":
        o, network = cfg.optimizer, getattr(cfg, "network", None)
        unet_lr = o.unet_lr if o.unet_lr is not None else o.learning_rate
        te_lr = o.text_encoder_lr if o.text_encoder_lr is not None else o.learning_rate
        both = network is None or not (network.network_train_unet_only or network.network_train_text_encoder_only)
        if both and unet_lr and te_lr and unet_lr != te_lr:
            # prodigyopt raises on the first step otherwise; core's validate() (prodigy_problems) says the same line
            # to `config check`, and the preflight runs it first: this covers a direct call
            raise LoratuiError(f"optimizer: Prodigy needs one learning rate for the UNet and the text encoder "
                               f"(unet_lr {unet_lr} vs text_encoder_lr {te_lr}): set them equal (usually 1.0), "
                               f"0 to freeze one, or network_train_unet_only = true")


def _refuse_unsupported_args(optimizer_section) -> None:
    """What core refuses in optimizer_args (`config check` says the same line): Adafactor's relative_step /
    warmup_init = True, which would replace learning_rate and lr_scheduler with Adafactor's own schedule."""
    problem = optimizer_section.optimizer_args_problem()
    if problem:
        raise LoratuiError(f"optimizer.{problem}")


class Lion(torch.optim.Optimizer):
    """Lion (Chen et al. 2023): sign of an interpolated momentum; decoupled weight decay."""

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p)
                exp_avg = state["exp_avg"]
                if group["weight_decay"]:
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                update = exp_avg.mul(beta1).add(p.grad, alpha=1 - beta1).sign_()
                p.add_(update, alpha=-group["lr"])
                exp_avg.mul_(beta2).add_(p.grad, alpha=1 - beta2)
        return loss


def build_optimizer(cfg, param_groups: list[dict], *, fused: bool = False) -> torch.optim.Optimizer:
    """``fused``: AdamW's fused CUDA kernel when every parameter is a CUDA float tensor (engine/speed.py),
    unless optimizer_args choose foreach / fused themselves."""
    name = cfg.optimizer.optimizer_type
    kwargs = parse_optimizer_args(cfg.optimizer.optimizer_args)
    lr = cfg.optimizer.learning_rate
    try:
        if name == "AdamW":
            params = [p for g in param_groups for p in g["params"]]
            if (fused and params and "fused" not in kwargs and "foreach" not in kwargs
                    and all(p.is_cuda and p.is_floating_point() for p in params)):
                kwargs["fused"] = True
            return _build(name, torch.optim.AdamW, param_groups, lr, kwargs)
        if name == "SGD":
            return _build(name, torch.optim.SGD, param_groups, lr, kwargs)
        if name == "Lion":
            return _build(name, Lion, param_groups, lr, kwargs)
        if name in ("AdamW8bit", "Lion8bit"):
            import bitsandbytes as bnb

            # bitsandbytes keeps 32-bit state for tensors under min_8bit_size (4096) elements, as in
            # sd-scripts; optimizer_args can lower it
            cls = bnb.optim.AdamW8bit if name == "AdamW8bit" else bnb.optim.Lion8bit
            return _build(name, cls, param_groups, lr, kwargs)
        if name == "Prodigy":
            from prodigyopt import Prodigy

            return _build(name, Prodigy, param_groups, lr, kwargs)
        if name == "Adafactor":
            from transformers.optimization import Adafactor

            _refuse_unsupported_args(cfg.optimizer)
            # the given args plus loratui's defaults (scale_parameter, relative_step, warmup_init False), not
            # transformers' / sd-scripts' (relative_step=True): what the export writes and ss_optimizer shows
            kwargs = parse_optimizer_args(cfg.optimizer.effective_optimizer_args())
            return _build(name, Adafactor, param_groups, lr, kwargs)
    except (TypeError, ValueError) as exc:
        raise LoratuiError(args_misfit(name, kwargs, exc)) from None
    raise LoratuiError(f"optimizer.optimizer_type {name!r} is unknown: use one of {', '.join(OPTIMIZERS)}")


def _build(name: str, cls, param_groups: list[dict], lr: float, kwargs: dict) -> torch.optim.Optimizer:
    problem = bool_word_misfit(name, cls, kwargs)
    if problem:
        raise LoratuiError(problem)
    return cls(param_groups, lr=lr, **kwargs)


def warmup_steps(cfg, total_steps: int) -> int:
    """lr_warmup_steps as steps: a float below 1 is a fraction of the total, rounded down like
    sd-scripts' ``int(ratio * max_train_steps)``."""
    value = cfg.optimizer.lr_warmup_steps or 0
    if value < 0:
        raise LoratuiError(f"optimizer.lr_warmup_steps must be 0 or more, not {value}")
    if isinstance(value, float) and value < 1:
        return int(value * total_steps)
    return int(value)


def lr_lambda(name: str, warmup: int, total: int, cycles: int = 1, power: float = 1.0, lr_end_ratio: float = 0.0):
    """The multiplier of the base learning rate at a step (diffusers' get_scheduler semantics;
    ``lr_end_ratio`` is polynomial's lr_end (1e-7) over the initial learning rate)."""
    def f(step: int) -> float:
        if name == "constant":
            return 1.0
        if step < warmup:
            return float(step) / float(max(1, warmup))
        if name == "constant_with_warmup":
            return 1.0
        progress = float(step - warmup) / float(max(1, total - warmup))
        if name == "linear":
            return max(0.0, 1.0 - progress)
        if name == "cosine":
            return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))
        if name == "cosine_with_restarts":
            if progress >= 1.0:
                return 0.0
            return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((float(cycles) * progress) % 1.0))))
        if name == "polynomial":
            if step > total:
                return lr_end_ratio
            return (1.0 - lr_end_ratio) * (1.0 - progress) ** power + lr_end_ratio
        raise LoratuiError(f"unknown lr_scheduler {name!r}")
    return f


def build_lr_scheduler(cfg, optimizer, total_steps: int):
    """A LambdaLR stepped once per optimizer step over ``total_steps`` (what sd-scripts' accelerate-wrapped
    schedule amounts to: with N processes it makes N scheduler steps per optimizer step over N x the
    total). A warmup given as a ratio lands on the same step; one given in steps is counted here in optimizer
    steps, where sd-scripts' ends after lr_warmup_steps / N of them (it does not scale an integer warmup):
    kept, as the meaning a user expects, and `config export-sdscripts` writes it x N for sd-scripts."""
    o = cfg.optimizer
    lr_init = optimizer.defaults.get("lr") or o.learning_rate
    end_ratio = 1e-7 / lr_init if lr_init else 0.0
    fn = lr_lambda(o.lr_scheduler, warmup_steps(cfg, total_steps), total_steps,
                   int(o.lr_scheduler_num_cycles or 1), float(o.lr_scheduler_power or 1.0), end_ratio)
    fn(0)  # unknown names fail here, before training
    return torch.optim.lr_scheduler.LambdaLR(optimizer, fn)
