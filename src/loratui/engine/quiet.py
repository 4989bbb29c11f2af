"""Keep the libraries' own chatter out of loratui's output.

transformers, diffusers, bitsandbytes and peft log notes meant for their developers (a missing
optional kernel package, a torchvision fallback, per-file loading bars) that would bury the run's
own progress lines. Errors still come through; what matters is reported by loratui in one line.
"""

from __future__ import annotations

import logging

_DONE = False


def quiet_libraries() -> None:
    """Once per process: library loggers at ERROR, their progress bars off."""
    global _DONE
    if _DONE:
        return
    _DONE = True
    for name in ("bitsandbytes", "peft", "accelerate", "huggingface_hub", "diffusers", "transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - transformers is a dependency
        pass
    try:
        from diffusers.utils import logging as df_logging

        df_logging.set_verbosity_error()
        df_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - diffusers is a dependency
        pass
