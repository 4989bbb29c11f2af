"""Optional packages a config needs, checked without importing them (find_spec only: no torch here).

`loratui train` refuses a config whose optimizer or attention needs a package that is not installed
(engine/optim.py ``NEEDS``, engine/run.py ``check_config``); `loratui config check` asks the same
questions here, so it never says ok for such a config, and the kohya_ss import uses ``installed``
to keep xformers only where it can run. A test keeps OPTIMIZER_PACKAGES equal to the engine's table.
"""

from __future__ import annotations

import importlib.util

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
    sampler = getattr(getattr(cfg, "sampling", None), "sample_sampler", None)
    if sampler == "lms" and not installed("scipy"):  # diffusers' LMSDiscreteScheduler integrates with scipy
        problems.append("sampling.sample_sampler lms needs the scipy package: pip install scipy, or pick another "
                        "sampler (euler_a is sd-scripts' default)")
    if cfg.training.xformers and not installed("xformers"):
        problems.append("training.xformers is true but xformers is not installed: pip install xformers, "
                        "or use sdpa = true")
    return problems
