"""What `loratui train` checks before a model loads (the config, the packages it needs, settings slow on a
CPU), the digest a state keeps of its config, and the hints an out-of-memory or NaN error ends with."""

from __future__ import annotations

import hashlib
import json

from loratui.core.errors import LoratuiError


def oom_hint(cfg, family: str | None, config_path: str) -> str:
    preset = f"{'sdxl' if family == 'sdxl' else 'sd15'}-8gb"
    return (f"try the 8 GB preset (`loratui presets apply {preset} {config_path}`) or gradient_checkpointing = "
            f"true; a smaller train_batch_size or resolution and cache_latents = true also help")


def nan_hint(cfg) -> str:
    if cfg.training.mixed_precision == "fp16":
        return ("fp16 overflowed: use mixed_precision = \"bf16\" (RTX 30xx and newer) or \"no\", "
                f"or lower learning_rate (now {cfg.optimizer.learning_rate})")
    return (f"lower the learning rate (now {cfg.optimizer.learning_rate}), set max_grad_norm = 1.0, "
            "or check the base model (a broken VAE gives NaN latents)")


def config_digest(cfg) -> str:
    from loratui.core.config import config_to_dict

    data = config_to_dict(cfg)
    for volatile in ("saving", "sampling"):
        data.pop(volatile, None)
    data.get("training", {}).pop("max_train_epochs", None)
    data.get("training", {}).pop("max_train_steps", None)
    return hashlib.sha1(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def check_config(cfg) -> None:
    """Everything that can be wrong before a model is loaded; raises LoratuiError."""
    from loratui.core.config import check_paths, validate
    from loratui.engine.data import check_data_config
    from loratui.engine.optim import check_optimizer

    problems = validate(cfg) + check_paths(cfg)
    if problems:
        raise LoratuiError(problems[0] + (f" (and {len(problems) - 1} more: `loratui config check`)"
                                          if len(problems) > 1 else ""))
    check_optimizer(cfg)
    check_data_config(cfg)
    if cfg.training.xformers:
        import importlib.util

        if importlib.util.find_spec("xformers") is None:
            raise LoratuiError("training.xformers is true but xformers is not installed: pip install xformers, "
                               "or use sdpa = true")


def cpu_slow_settings(cfg) -> list[str]:
    """Settings that are right on a GPU and slow on a CPU (8-bit optimizers, bf16/fp16 autocast)."""
    slow = []
    if cfg.optimizer.optimizer_type in ("AdamW8bit", "Lion8bit"):
        slow.append(f"optimizer_type = \"{cfg.optimizer.optimizer_type}\"")
    if cfg.training.mixed_precision in ("bf16", "fp16"):
        slow.append(f"mixed_precision = \"{cfg.training.mixed_precision}\"")
    return slow


def crash_line(exc: BaseException) -> str:
    """The one line a run that crashed (a bug, not a LoratuiError) ends with on stderr, as the CLI's main says
    it: ``internal error: TYPE: MESSAGE (details in LOG)``, the traceback in the crash log
    (core/crashlog.py); with LORATUI_DEBUG=1 the traceback is printed to stderr as well."""
    import sys
    import traceback

    from loratui.core.crashlog import debug_enabled, internal_error_line, write_crash_log

    if debug_enabled():
        traceback.print_exception(exc, file=sys.stderr)
    return internal_error_line(exc, write_crash_log(exc, kind="train-crash"))
