"""Optional packages a config needs, checked without importing them (find_spec only: no torch here).

`loratui train` refuses a config whose optimizer or attention needs a package that is not installed
(engine/optim.py ``NEEDS``, engine/run.py ``check_config``); `loratui config check` asks the same
questions here (the prompt file's --ss samplers too: one that cannot run only warns at each sampling), so
it never says ok for such a config, and the kohya_ss import uses ``installed`` to keep xformers only where
it can run. A test keeps OPTIMIZER_PACKAGES equal to the engine's table.
"""

from __future__ import annotations

import importlib.util

from loratui.core.config.prompts import SCHEDULER_CLASSES, parse_prompts

SCIPY_SAMPLER = "LMSDiscreteScheduler"  # diffusers' lms integrates with scipy

OPTIMIZER_PACKAGES = {"AdamW8bit": "bitsandbytes", "Lion8bit": "bitsandbytes", "Prodigy": "prodigyopt",
                      "Adafactor": "transformers"}


def installed(package: str) -> bool:
    """True when ``package`` can be imported (it is not imported)."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def missing_packages(cfg) -> list[str]:
    """One problem line per package the config needs and this Python lacks (the engine's wording)."""
    problems = []
    name = cfg.optimizer.optimizer_type
    package = OPTIMIZER_PACKAGES.get(name)
    if package and not installed(package):
        problems.append(f"optimizer.optimizer_type {name} needs the {package} package: pip install {package}")
    problems += sampler_packages(cfg)
    if cfg.training.xformers and not installed("xformers"):
        problems.append("training.xformers is true but xformers is not installed: pip install xformers, "
                        "or use sdpa = true")
    return problems


def sampler_packages(cfg) -> list[str]:
    """The samplers the config and its prompt file (--ss, sample_sampler) name whose package is missing:
    diffusers' LMSDiscreteScheduler (lms, k_lms) integrates with scipy. A prompt file that does not read
    is left to the file checks (core/config/preflight.py), which say why."""
    if installed("scipy"):
        return []
    sampling = getattr(cfg, "sampling", None)
    sampler = getattr(sampling, "sample_sampler", None)
    needs_scipy = [f"sampling.sample_sampler {sampler}"] if SCHEDULER_CLASSES.get(sampler) == SCIPY_SAMPLER else []
    path = getattr(sampling, "sample_prompts", "")
    if path:
        from loratui.core.config.load import resolve_path
        from loratui.core.errors import LoratuiError

        try:
            prompts = parse_prompts(resolve_path(cfg, path))
        except (LoratuiError, OSError):
            prompts = []
        written = sorted({p.sampler for p in prompts if SCHEDULER_CLASSES.get(p.sampler) == SCIPY_SAMPLER})
        needs_scipy += [f"--ss {name} in {path}" for name in written]
    if not needs_scipy:
        return []
    return [f"{' and '.join(needs_scipy)} needs the scipy package: pip install scipy, or pick another sampler "
            "(sd-scripts' default is ddim)"]
