"""The config the app opens on a dataset folder, as the commands that take a folder read it: `dataset scan`
and `balance` count its reg_data_dir's images, and `tags` names that folder as the one left out and reads
`--where reg` by it, as `train`, `steps` and the app's table do. No config beside the folder: as core's
locate_dataset found it (a project's reg/)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import click


def config_beside(directory: Path, location) -> Path | None:
    """The loratui config the app opens on DIR (core.project's config_in_folder: the one loratui config in the
    project or train folder, else config.toml); None for a reg folder (its own dataset) or when there is none."""
    from loratui.core.project import config_in_folder

    if location.is_reg:
        return None
    return config_in_folder(directory)


class ConfigBeside(NamedTuple):
    """What ``with_config_beside`` found: the dataset as the config beside DIR says (its reg folder), that
    config's caption_extension (None: unset or no config) and the config itself (None: there is none)."""

    location: object  # core.dataset.DatasetLocation
    caption_extension: str | None
    config: Path | None


def with_config_beside(directory: Path, location, *, say: bool = True) -> ConfigBeside:
    """The dataset as the config the app opens on DIR says: its reg_data_dir is the reg folder ("" = none,
    even beside a reg/ folder), so every command counts the same images; its caption_extension is the
    default. No config: as core found it. ``say``: a reg_data_dir that names no folder, or an empty one
    beside a reg/ folder, is said on stderr (what `dataset scan` leaves out). The config is found and
    read once here: pass the result's ``config`` on (``reg_test``) rather than looking again."""
    import tomllib
    from dataclasses import replace

    from loratui.core.dataset import config_reg_dir

    config = config_beside(directory, location)
    if config is None:
        return ConfigBeside(location, None, None)
    try:
        section = tomllib.loads(Path(config).read_text(encoding="utf-8-sig")).get("dataset")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        section = None  # Settings and `config check` name a broken config; its reg folder is unknown
    section = section if isinstance(section, dict) else {}
    written = section.get("reg_data_dir")
    written = written.strip() if isinstance(written, str) else ""
    reg = config_reg_dir(config, section)  # the table read above: the file is not parsed twice
    if say and written and reg is None:
        click.echo(f"note: {config}: dataset.reg_data_dir = {written!r} is not a folder: no reg images scanned; "
                   "set it to the folder with the N_concept folders (\"\" for none)", err=True)
    elif say and not written and location.reg_dir is not None:
        click.echo(f"note: {config}: dataset.reg_data_dir is empty, so {location.reg_dir} is not trained and not "
                   f"scanned: set reg_data_dir = \"{os.path.relpath(location.reg_dir, Path(config).parent)}\" to train "
                   "with it", err=True)
    extension = section.get("caption_extension")
    return ConfigBeside(replace(location, reg_dir=reg), extension if isinstance(extension, str) and extension else None,
                        Path(config))


def reg_test(location, config: Path | None):
    """The `reg` of a --where on a dataset: with a config beside it (``with_config_beside``'s ``config``), a
    caption in its reg_data_dir (``location.reg_dir``, as that read it; none when it is ""), as the app's
    table marks reg rows; None without a config (core's default: told from the folders)."""
    if config is None:
        return None
    reg = os.path.realpath(location.reg_dir) if location.reg_dir is not None else None
    if reg is None:
        return lambda caption: False
    inside = reg.rstrip(os.sep) + os.sep
    by_folder: dict[str, bool] = {}  # each caption folder resolved once

    def is_reg(caption) -> bool:
        folder = os.fspath(Path(caption.path).parent)
        found = by_folder.get(folder)
        if found is None:
            found = by_folder[folder] = (os.path.realpath(folder) + os.sep).startswith(inside)
        return found

    return is_reg
