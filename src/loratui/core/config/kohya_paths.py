"""Paths in a kohya_ss GUI JSON that cannot mean the same on this machine: Windows paths, and relative paths
(kohya_ss resolved them against its own working folder; loratui resolves them against the config file's folder).
The import keeps Windows paths as they are and says, in one line per key, that they need setting here.

When the import knows the folder its config goes to (``place_path``), a relative path is looked up the way
kohya_ss read it: from its working folder (taken to be the current folder: the GUI runs from its own
folder, where the user usually is), then beside the JSON. Found, it is rewritten relative to the config's
folder (where loratui reads it); found nowhere, it is kept and named in a warning. output_dir need not
exist yet: it is placed from the current folder, as kohya_ss would create it, and the note says it does not
exist yet (training creates it) rather than that it was found.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from loratui.core.config.fields import PATH_KEYS
from loratui.core.termline import shell_arg

# "C:\\Users\\me\\img", "C:/Users/me/img", "\\\\server\\share\\img"
_WINDOWS = re.compile(r"^(?:[A-Za-z]:[\\/]|[A-Za-z]:$|\\\\)")
# what loratui reads as a Hugging Face repo id for pretrained_model_name_or_path (see load.resolve_path)
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
_WEIGHT_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".bin")


def is_windows_path(value: str) -> bool:
    """A drive-letter or UNC path (a Windows machine's path, meaningless here)."""
    return bool(_WINDOWS.match(value.strip()))


def path_note(key: str, value: object, *, source: str = "") -> str | None:
    """One line saying why ``key``'s path must be set for this machine, or None when it can be used as is.

    ``source`` names where the value came from when that is not the JSON itself (a dataset_config TOML).
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    where = f"{source}: " if source else ""
    if is_windows_path(text):
        return f"{where}{key}: a Windows path ({text}): set it for this machine (imported as is)"
    if Path(os.path.expanduser(text)).is_absolute():
        return None
    if key == "pretrained_model_name_or_path" and _REPO_ID.match(text) and not text.lower().endswith(_WEIGHT_SUFFIXES):
        return None  # a Hugging Face repo id, not a path
    return (f"{where}{key} {text!r} was relative to the kohya_ss folder; in loratui it is relative to the config "
            "file: check it")


def place_path(key: str, value: object, *, config_dir: Path, bases: list[tuple[str, Path]], source: str = "",
               may_not_exist: bool = False) -> tuple[object, str, str | None]:
    """(the value for a config in ``config_dir``, a note on how it was placed ("" when kept as is), a warning
    or None). ``bases``: (what to call it, folder) to look a relative path up from, in order."""
    if not isinstance(value, str) or not value.strip():
        return value, "", None
    text = value.strip()
    if is_windows_path(text) or Path(os.path.expanduser(text)).is_absolute():
        return value, "", path_note(key, value, source=source)
    path = Path(os.path.expanduser(text))
    found = next(((name, folder / path) for name, folder in bases if (folder / path).exists()), None)
    if found is None and key == "pretrained_model_name_or_path" and _REPO_ID.match(text) \
            and not text.lower().endswith(_WEIGHT_SUFFIXES):
        return value, "", None  # a Hugging Face repo id, not a path
    missing = found is None and may_not_exist and bool(bases)
    if missing:  # created by training, where kohya_ss would have made it
        found = (bases[0][0], bases[0][1] / path)
    if found is None:
        where = " or ".join(f"{name} ({folder})" for name, folder in bases)
        return value, "", (f"{source + ': ' if source else ''}{key} {shell_arg(text)} (relative in kohya_ss, to its own folder) "
                           f"is not found from {where}: set it for this machine (imported as is)")
    absolute = os.path.abspath(found[1])
    placed = Path(os.path.relpath(absolute, os.path.abspath(config_dir))).as_posix()
    if placed == Path(text).as_posix():
        return value, "", None
    far = placed.startswith("../../")  # far from the config: an absolute path reads better and survives a move
    written = f"written as {absolute}" if far else f"written as {placed}, relative to the config's folder"
    if missing:
        how = f"{text} does not exist yet: placed from {found[0]} (where kohya_ss creates it), {written}; " \
              "training creates it"
    else:
        how = f"{text} found from {found[0]}: {written}"
    return (absolute if far else placed), how, None


def place_paths(report, values: dict, locked: dict, *, source_dir, config_dir) -> None:
    """Each imported path of ``values`` made right for the config's folder (place_path), with its note on the
    report's mapped line, or one warning per path that needs setting for this machine (Windows, or relative and
    found nowhere). ``locked``: the keys a dataset_config set (named as its TOML's keys)."""
    source = {ours.partition(".")[2]: k for k, ours, _ in report.mapped}
    toml = Path(report.dataset_config).name if report.dataset_config else ""
    bases = [("the current folder", Path.cwd())]
    if source_dir is not None and Path(source_dir).resolve() != Path.cwd().resolve():
        bases.append(("the JSON's folder", Path(source_dir)))
    for section, key in sorted(PATH_KEYS):
        if key not in values or key == "sample_prompts":
            continue
        named = key if key in locked else source.get(key, key)  # locked: read from the dataset_config
        where = toml if key in locked else ""
        if config_dir is None:  # where the config goes is not known: kept as is, with a note
            note = path_note(named, values[key], source=where)
            if note:
                report.warnings.append(note)
            continue
        value, how, warning = place_path(named, values[key], config_dir=Path(config_dir), bases=bases,
                                         source=where, may_not_exist=key == "output_dir")
        values[key] = value
        if how:
            report.add_note(f"{section}.{key}", how)
        if warning:
            report.warnings.append(warning)
