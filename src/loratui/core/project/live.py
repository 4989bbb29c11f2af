"""Is a training run live on this project? What a balance or a caption / config edit says when one is.

A run holds ``OUTPUT_DIR/NAME.lock`` (core.run_lock) while it trains; the project's config names
OUTPUT_DIR and NAME. A run reads its image list and captions once, at start (engine/data.py, as
sd-scripts does): a caption or config edit made now applies from the next run (or a resume), and a
balance's folder renames either go unseen (cached latents: the old repeats go on) or stop a run that
reads each image as it trains (cache_latents = false) at the first image of a renamed folder.

Shared by the CLI (`dataset balance`, `tags`) and the app (its balance dialog, ctrl+z of a balance, and
tui/services/live_run.py's one note per live run after a caption or config write).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from loratui.core.errors import LoratuiError
from loratui.core.project.folder_config import folder_configs


@dataclass(frozen=True)
class LiveRun:
    """A training run live on a project's output (its lock's owner runs)."""

    name: str
    pid: int
    output_dir: Path
    config: Path                 # the config its folders and cache_latents were read from
    train_dir: Path | None       # dataset.train_data_dir, resolved (None: unset)
    reg_dir: Path | None
    caches_latents: bool

    @property
    def key(self) -> tuple[str, str, int]:
        """What tells one live run from another (a note is said once per run)."""
        return (os.path.realpath(self.output_dir), self.name, self.pid)

    def trains_from(self, folder: str | os.PathLike) -> bool:
        """Whether ``folder`` is the run's train or reg folder, or inside one."""
        here = os.path.realpath(folder)
        for root in (self.train_dir, self.reg_dir):
            if root is not None:
                top = os.path.realpath(root)
                if here == top or here.startswith(top.rstrip(os.sep) + os.sep):
                    return True
        return False

    def balance_warning(self) -> str:
        """One line for a balance (or its undo) while this run trains from the folders it renames."""
        head = (f"training run {self.name} (pid {self.pid}) trains from these folders: the new repeats apply "
                "from the next run; a run without cached latents (cache_latents = false) stops when it reaches "
                "an image of a renamed folder")
        if self.caches_latents:
            return f"{head}: this one caches them, so it goes on with the old repeats"
        return f"{head}, as this one will (its config: cache_latents = false)"

    def edit_note(self) -> str:
        """The one note for a caption or config change saved while this run trains."""
        return (f"training run {self.name} (pid {self.pid}) read its captions and config at start: this change "
                "applies from the next run (or a resume)")


def live_run(config: str | os.PathLike | None) -> LiveRun | None:
    """The run live on ``config``'s output (saving.output_dir / output_name), or None: no config, one that
    does not load (Settings names it), or no live lock. Its folders and cache_latents come from the config
    its run_started event names when that one loads (a run started from another file), else ``config``."""
    if config is None:
        return None
    from loratui.core.config import latents_cached, load_config
    from loratui.core.events import run_is_alive

    try:
        cfg = load_config(Path(config))
    except (LoratuiError, OSError, ValueError):
        return None
    output_dir = _resolved(cfg, cfg.saving.output_dir or ".")
    name = cfg.saving.output_name
    pid = run_is_alive(output_dir, name) if output_dir is not None and name else None
    if pid is None:
        return None
    source, used = _started_config(output_dir, name), Path(config)
    if source is not None and os.path.realpath(source) != os.path.realpath(config):
        try:
            cfg, used = load_config(source), source
        except (LoratuiError, OSError, ValueError):
            pass  # gone or broken since: the project's config stands in
    return LiveRun(name, pid, output_dir, used, _resolved(cfg, cfg.dataset.train_data_dir),
                   _resolved(cfg, cfg.dataset.reg_data_dir), latents_cached(cfg.dataset))


def live_run_on(config: str | os.PathLike | None, folder: str | os.PathLike) -> LiveRun | None:
    """``live_run(config)`` when that run trains from ``folder`` (its train or reg folder, or inside one)."""
    run = live_run(config)
    return run if run is not None and run.trains_from(folder) else None


def project_config(train_dir: str | os.PathLike) -> Path | None:
    """The config the app opens on the project whose img/ is ``train_dir`` (`loratui dataset balance img` run
    in the project: no config sits in img/ itself, the project's is beside it; folder_config.py), or None."""
    from loratui.core.dataset import locate_dataset

    location = locate_dataset(Path(os.path.abspath(train_dir)).parent)
    if location.kind != "project" or os.path.realpath(location.train_dir) != os.path.realpath(train_dir):
        return None
    return folder_configs(location).config


def _resolved(cfg, value: str) -> Path | None:
    from loratui.core.config import resolve_path

    return Path(resolve_path(cfg, value)) if value else None


def _started_config(output_dir: Path, name: str) -> Path | None:
    """The config file the live run's latest run_started names (None before that event, or unreadable)."""
    from loratui.core.runs import read_summary

    try:
        started = read_summary(output_dir, name).record.started or {}
    except (OSError, ValueError):
        return None
    config = started.get("config")
    return Path(config) if isinstance(config, str) and config else None
