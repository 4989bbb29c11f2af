"""Which loratui config the app opens on a folder, and so the config beside a folder for the commands that
read one (`dataset scan` and `balance`, `tags`, the live-run notes): the project's (or train folder's) only
loratui .toml, else its config.toml among several, else none. sd-scripts' own TOML files (a --config_file,
a --dataset_config: core.config's foreign.py tells them) and tag recipes beside it are no loratui config.
What to say about it (several configs, only sd-scripts' files, a kohya_ss GUI .json) is the app's:
tui/launch.py. core.config is imported only when the folder holds a .toml.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TOML_LOOKS = 20  # .toml files read to tell sd-scripts' own files apart (more: taken as configs, unread)
_READ_MAX_BYTES = 4 << 20  # a config or a recipe is a few KB: a large file is read when opened, not looked at
_RECIPE_KEYS = frozenset({"op", "where", "description"})  # a recipe's top level (core.captions recipe_from_dict)


@dataclass(frozen=True)
class FolderConfigs:
    """The .toml files of the folder the app looks in for a config, told apart."""

    base: Path | None        # the project folder, else the train folder (None: a concept folder, no looking)
    configs: list[Path]      # its loratui configs, by name
    refused: list[str]       # the line refusing each of sd-scripts' own files there, by name
    config: Path | None      # the one the app opens: the only config, else config.toml, else None


def folder_configs(location) -> FolderConfigs:
    """The configs beside ``location`` (core.dataset.locate_dataset's, of the folder given)."""
    base = location.project_dir or (location.train_dir if location.kind != "concept" else None)
    if base is None:
        return FolderConfigs(None, [], [], None)
    found = sorted(Path(base).glob("*.toml"))
    foreign = {path: _sdscripts_file(path) for path in found[:_TOML_LOOKS]}
    recipes = {path for path in found[:_TOML_LOOKS] if foreign[path] is None and is_tag_recipe(path)}
    configs = [path for path in found if foreign.get(path) is None and path not in recipes]
    named = Path(base) / "config.toml"
    config = configs[0] if len(configs) == 1 else named if named in configs else None
    return FolderConfigs(Path(base), configs, [line for line in foreign.values() if line is not None], config)


def config_in_folder(folder: str | os.PathLike) -> Path | None:
    """The config the app opens on ``folder`` (a project, dataset or concept folder), or None."""
    from loratui.core.dataset import locate_dataset

    return folder_configs(locate_dataset(Path(folder))).config


def is_tag_recipe(path: Path) -> bool:
    """A tag cleanup recipe (`tags ... --save-recipe`): a top level of [[op]] tables and maybe where and
    description, and nothing else. A cheap key check: any problem reads as 'no'."""
    import tomllib

    try:
        if path.stat().st_size > _READ_MAX_BYTES:
            return False
        data = tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return isinstance(data.get("op"), list) and set(data) <= _RECIPE_KEYS


def _sdscripts_file(path: Path) -> str | None:
    """The line that refuses ``path`` when it is one of sd-scripts' own TOML files (a --config_file or
    --dataset_config, e.g. what `config export-sdscripts` wrote beside the config), else None: the loader
    tells them apart (core.config foreign.py). A loratui config with problems is still one."""
    from loratui.core.config import ConfigError, load_config

    try:
        if path.stat().st_size > _READ_MAX_BYTES:
            return None  # a config is ~10 KB: a big file is read when opened, not while looking around
        load_config(path)
    except ConfigError as exc:
        return str(exc) if getattr(exc, "foreign", None) else None
    except OSError:
        return None
    return None
