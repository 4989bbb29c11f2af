"""Which dataset a path names: a project folder, a train folder, or one concept folder.

`loratui PATH` (the app) and the commands that take a dataset accept the same forms:
- a project folder made by `loratui dataset init` (``img/``, ``reg/``, ``model/``): its ``img/``,
  and ``reg/`` when it holds concept folders;
- a train folder holding ``N_concept`` folders (or images directly: a flat folder);
- a single ``N_concept`` folder: its parent is the train folder and the concept is remembered, so
  the caller can start filtered to it while repeats and balance still see every concept;
- a project's reg folder on its own (the ``reg_data_dir`` of a loratui config beside it, or ``reg/``
  beside ``img/``): its images are listed like a train folder's, but it is marked (``reg_of``, and
  ``reg_dir`` is the folder itself, which core's scan reads as "scan it as reg"), so the scan counts
  it as reg (missing captions are info, no train samples) and balance refuses it: sd-scripts pads or
  cuts reg images to the train images' count, so its repeats change nothing.
A config .toml is not a folder: ``locate_config`` reads its [dataset] paths (the dataset commands take
one); the app resolves one with core.config (tui.launch).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from loratui.core.dataset.images import entry_is_dir, entry_is_file, is_image
from loratui.core.dataset.concepts import concepts_child
from loratui.core.dataset.scan import parse_subset_name
from loratui.core.errors import LoratuiError
from loratui.core.fsutil import config_relative_path


@dataclass(frozen=True)
class DatasetLocation:
    train_dir: Path
    reg_dir: Path | None = None
    project_dir: Path | None = None   # the folder holding img/ (and model/, configs), when there is one
    concept: str | None = None        # set when the path named one concept folder
    kind: str = "dataset"             # "project", "dataset", "reg", "concept" or "flat"
    reg_of: Path | None = None        # a reg folder (or a concept in one): the training folder it goes with

    @property
    def is_reg(self) -> bool:
        """The folder (or concept) named is regularisation images, not training data."""
        return self.reg_of is not None

    @property
    def images_dir(self) -> Path:
        """The folder whose images (and captions) a command works on: the concept folder when the
        path named one, else the train folder. Undo journals live in ``train_dir`` either way."""
        return self.train_dir / self.concept if self.concept else self.train_dir


def _entries(folder: Path) -> list[os.DirEntry]:
    try:
        return sorted(os.scandir(folder), key=lambda e: e.name)
    except PermissionError:
        raise LoratuiError(f"{folder}: cannot read the folder (permission denied): check its permissions") from None
    except OSError as exc:
        raise LoratuiError(f"{folder}: cannot read the folder ({exc.strerror or exc})") from None


def _is_concept_name(name: str) -> bool:
    parsed = parse_subset_name(name)
    return parsed is not None and parsed[0] >= 1


def _has_concepts(folder: Path) -> bool:
    return any(not e.name.startswith(".") and _is_concept_name(e.name) and entry_is_dir(e) for e in _entries(folder))


def _has_images(folder: Path) -> bool:
    return any(is_image(Path(e.path)) and entry_is_file(e) for e in _entries(folder))


def locate_dataset(path: str | os.PathLike) -> DatasetLocation:
    """The dataset ``path`` names; LoratuiError (one line) when it is not a folder."""
    path = Path(path)
    if path.name in ("", "..") or ".." in path.parts:
        # `.` has no name (a concept folder would read as flat) and `..` hides it: made absolute (links
        # kept as named); other relative paths stay as typed, so messages show what the user wrote
        path = Path(os.path.abspath(path))
    if not path.exists():
        raise LoratuiError(f"{path}: no such file or folder")
    if not path.is_dir():
        raise LoratuiError(f"{path}: not a folder: pass a project, dataset or concept folder")
    img = path / "img"
    if img.is_dir() and not _has_concepts(path):
        return DatasetLocation(img, _project_reg(path), path, None, "project")
    if _has_concepts(path):
        train = regularised_train_dir(path)
        if train is not None:  # reg_dir = the folder itself: the scan reads it as reg only
            return DatasetLocation(path, path, _parent(path), None, "reg", train)
        return DatasetLocation(path, None, None, None, "dataset")
    if _is_concept_name(path.name) and path.parent != path:
        # `10_alice` from inside img/: a train folder of `.` would list rows as `./a.png`, which do
        # not match the `a.txt` the caption reader returns, and hides the project: absolute
        parent = _parent(path)
        train = regularised_train_dir(parent)
        if train is not None:
            return DatasetLocation(parent, parent, _parent(parent), path.name, "concept", train)
        project = parent.parent if parent.name == "img" else None
        # the project's reg/ as for the project folder itself: its images fill every epoch's samples
        reg_dir = _project_reg(project) if project is not None else None
        return DatasetLocation(parent, reg_dir, project, path.name, "concept")
    return DatasetLocation(path, None, None, None, "flat" if _has_images(path) else "dataset")


def locate_config(config: str | os.PathLike) -> tuple[DatasetLocation, str | None]:
    """The dataset a loratui config names (its [dataset] train_data_dir, with reg_data_dir when set), and
    its caption_extension (None: unset). Read as plain TOML (core.dataset knows no core.config), so a
    config with a problem elsewhere still names its dataset; relative paths are the config's folder's,
    as core.config resolves them. LoratuiError, one line naming the file and key, when it names none."""
    import tomllib

    config = Path(config)
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise LoratuiError(f"{config}: cannot read it ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LoratuiError(f"{config}: not a readable TOML file ({' '.join(str(exc).split())})") from None
    section = data.get("dataset")
    section = section if isinstance(section, dict) else {}
    train = section.get("train_data_dir")
    if not (isinstance(train, str) and train.strip()):
        raise LoratuiError(f"{config}: dataset.train_data_dir is not set: set it to the folder with the N_concept "
                           "folders, or pass that folder itself")
    location = locate_dataset(_config_folder(config, "train_data_dir", train))
    reg = section.get("reg_data_dir")
    if isinstance(reg, str) and reg.strip() and not location.is_reg:
        location = replace(location, reg_dir=_config_folder(config, "reg_data_dir", reg))
    extension = section.get("caption_extension")
    return location, extension if isinstance(extension, str) and extension else None


def config_reg_dir(config: str | os.PathLike | None, dataset: dict | None = None) -> Path | None:
    """The folder a loratui config's [dataset] reg_data_dir names (relative to the config's folder, as
    ``train CONFIG`` resolves it), or None: no config, unset, not a folder, or a file that cannot be
    read (Settings names those). Read as plain TOML, so a config with a problem elsewhere still counts.
    ``dataset``: the config's [dataset] table when the caller parsed it already (the file is not read again)."""
    import tomllib

    if config is None:
        return None
    config = Path(config)
    if dataset is None:
        try:
            dataset = tomllib.loads(config.read_text(encoding="utf-8-sig")).get("dataset")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
            return None
    reg = dataset.get("reg_data_dir") if isinstance(dataset, dict) else None
    if not (isinstance(reg, str) and reg.strip()):
        return None
    try:
        return _config_folder(config, "reg_data_dir", reg)
    except (LoratuiError, OSError):
        return None


def _config_folder(config: Path, key: str, value: str) -> Path:
    # resolved as `train CONFIG` resolves it (core.config.resolve_path: the same helper, the same base)
    joined = config_relative_path(config.resolve().parent, value)
    if ".." in joined.parts:  # after a folder name: the folder the OS walks to, as training opens it
        joined = Path(os.path.realpath(joined))  # (locate_dataset would fold it by name: through a link, elsewhere)
    if not joined.is_dir():
        raise LoratuiError(f"{config}: dataset.{key} = {value!r}: {os.path.abspath(joined)} is not a folder; set "
                           "it to the folder with the N_concept folders")
    return joined


def _project_reg(project: Path) -> Path | None:
    """A project's ``reg/`` (beside ``img/``), when it holds concept folders."""
    reg = project / REG_FOLDER_NAME
    return reg if reg.is_dir() and _has_concepts(reg) else None


def _parent(path: Path) -> Path:
    """The folder holding ``path``, absolute when ``path`` is a bare name (``reg`` typed in the project)."""
    return path.parent if path.parent != Path(".") else Path(os.path.abspath(path)).parent


REG_FOLDER_NAME = "reg"  # what `loratui dataset init` names a project's reg folder, beside img/
_TOML_LOOKS = 20  # config files read beside a folder to learn whether it is their reg_data_dir
_TOML_MAX_BYTES = 4 << 20


def regularised_train_dir(folder: Path) -> Path | None:
    """The training folder whose regularisation images ``folder`` holds, or None when it is no reg folder
    that can be told: it is the ``reg_data_dir`` of a loratui config in the folder above it (the
    project's), or it is named ``reg`` beside an ``img/`` folder (the layout `dataset init` makes).
    Configs are read as plain TOML here (core.dataset knows no core.config): only [dataset]'s two paths."""
    parent = _parent(folder)
    here = os.path.realpath(folder)
    try:
        configs = sorted(parent.glob("*.toml"))[:_TOML_LOOKS]
    except OSError:
        configs = []
    for config in configs:
        train = _train_dir_if_reg(config, here)
        if train is not None:
            return train
    img = parent / "img"
    if folder.name.lower() == REG_FOLDER_NAME and img.is_dir() and os.path.realpath(img) != here:
        return img
    return None


def _train_dir_if_reg(config: Path, folder_real: str) -> Path | None:
    """The config's train_data_dir when its reg_data_dir is ``folder_real`` (relative paths are the
    config's folder's, as core.config resolves them); None for anything else, a broken file too."""
    import tomllib

    try:
        if config.stat().st_size > _TOML_MAX_BYTES:
            return None
        data = tomllib.loads(config.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return None
    section = data.get("dataset")
    if not isinstance(section, dict):
        return None
    reg, train = section.get("reg_data_dir"), section.get("train_data_dir")
    if not (isinstance(reg, str) and reg.strip() and isinstance(train, str) and train.strip()):
        return None
    base = config.parent
    reg_path = base / os.path.expanduser(reg)
    train_path = base / os.path.expanduser(train)
    if os.path.realpath(reg_path) != folder_real or os.path.realpath(train_path) == folder_real:
        return None  # another folder, or the same folder as train (a config `config check` refuses)
    return train_path


def train_dir_hint(path: str | os.PathLike) -> str:
    """What to set train_data_dir to when ``path`` holds no `N_name` folders but is a form the
    other commands accept (a project folder, one concept folder, a flat folder of images); "" when
    there is nothing better to say. Starts with "; " so callers append it to their message."""
    try:
        where = locate_dataset(path)
    except LoratuiError:
        return ""
    if where.kind == "project" and _has_concepts(where.train_dir):
        return f"; {path} is a project folder: set train_data_dir to its img folder, {where.train_dir}"
    if where.kind == "concept":
        return (f"; {path} is one concept folder: set train_data_dir to the folder that holds it, "
                f"{where.train_dir}")
    if where.kind == "dataset":  # L4/train/10_a given as L4: the concept folders are one level down
        child = concepts_child(where.train_dir, train=True)
        if child is not None:
            return f"; {child} holds the concept folders: set train_data_dir to {child}"
    if where.kind == "flat":
        return (f"; the images sit directly in {path}: move them into a `N_name` folder inside it "
                "(`loratui dataset init` makes one)")
    return ""


def reg_dir_hint(path: str | os.PathLike) -> str:
    """train_dir_hint's counterpart for reg_data_dir: what to set it to when ``path`` holds no `N_name`
    folders (one concept folder, a folder one level too high, loose images); "" when there is nothing
    better to say. Starts with "; "."""
    path = Path(path)
    try:
        if not path.is_dir() or _has_concepts(path):
            return ""
        if _is_concept_name(path.name) and _has_images(path):
            return (f"; {path} is one concept folder: set reg_data_dir to the folder that holds it, "
                    f"{_parent(path)}")
        child = concepts_child(path)
        if child is not None:
            return f"; {child} holds the concept folders: set reg_data_dir to {child}"
        if _has_images(path):
            return (f"; the images sit directly in {path}: move them into a `N_name` folder inside it "
                    "(e.g. 1_person)")
    except LoratuiError:
        return ""  # an unreadable folder: the scan names it
    return ""
