"""The folder a config trains into, one rule for every caller (attach, the app's launcher and its quit lines)."""

from __future__ import annotations

import os
from pathlib import Path

from loratui.core.config.load import load_config, resolve_path
from loratui.core.config.schema import TrainingConfig


def output_dir_of(config: str | os.PathLike | TrainingConfig) -> Path:
    """saving.output_dir of ``config`` (a config file, or one already loaded), resolved against the config's
    folder ("" is that folder). A file that does not load: its LoratuiError (or OSError), as load_config raises."""
    cfg = config if isinstance(config, TrainingConfig) else load_config(Path(config))
    return Path(resolve_path(cfg, cfg.saving.output_dir or "."))
