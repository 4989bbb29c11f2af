"""A project folder as a whole: which config the app opens on a folder, and the training run live on it.

Here live the config the app (and a command given a folder: `dataset scan` and `balance`, `tags`) reads
beside a dataset (folder_config.py: the one loratui .toml, else config.toml; sd-scripts' own files and tag
recipes are none), and whether a training run from a project's config is live, with what a balance or a
caption / config edit says while it is (live.py). It builds on core.dataset and core.config, imported
only where a folder holds a config (a project without one pays for neither), and is used by the commands
and the app alike. Import from here, not from the modules.
"""

from __future__ import annotations

from loratui.core.project.folder_config import FolderConfigs, config_in_folder, folder_configs, is_tag_recipe
from loratui.core.project.live import LiveRun, live_run, live_run_on, project_config

__all__ = [
    "FolderConfigs", "LiveRun", "config_in_folder", "folder_configs", "is_tag_recipe", "live_run", "live_run_on",
    "project_config",
]
