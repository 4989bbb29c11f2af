"""Which dataset a path names: a project folder, a train folder, or one concept folder.

`loratui PATH` (the app) and the commands that take a dataset accept the same forms:
- a project folder made by `loratui dataset init` (``img/``, ``reg/``, ``model/``): its ``img/``,
  and ``reg/`` when it holds concept folders;
- a train folder holding ``N_concept`` folders (or images directly: a flat folder);
- a single ``N_concept`` folder: its parent is the train folder and the concept is remembered, so
  the caller can start filtered to it while repeats and balance still see every concept.
A config file is resolved one level up (core.config knows ``train_data_dir``), not here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from loratui.core.dataset.images import is_image
from loratui.core.dataset.scan import parse_subset_name
from loratui.core.errors import LoratuiError


@dataclass(frozen=True)
class DatasetLocation:
    train_dir: Path
    reg_dir: Path | None = None
    project_dir: Path | None = None   # the folder holding img/ (and model/, configs), when there is one
    concept: str | None = None        # set when the path named one concept folder
    kind: str = "dataset"             # "project", "dataset", "concept" or "flat"

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
    return any(e.is_dir() and not e.name.startswith(".") and _is_concept_name(e.name) for e in _entries(folder))


def _has_images(folder: Path) -> bool:
    return any(e.is_file() and is_image(Path(e.path)) for e in _entries(folder))


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
        raise LoratuiError(f"{path}: not a folder: pass a project, dataset or concept folder (or a config .toml)")
    img = path / "img"
    if img.is_dir() and not _has_concepts(path):
        reg = path / "reg"
        reg_dir = reg if reg.is_dir() and _has_concepts(reg) else None
        return DatasetLocation(img, reg_dir, path, None, "project")
    if _has_concepts(path):
        return DatasetLocation(path, None, None, None, "dataset")
    if _is_concept_name(path.name) and path.parent != path:
        # `10_alice` from inside img/: a train folder of `.` would list rows as `./a.png`, which do
        # not match the `a.txt` the caption reader returns, and hides the project: absolute
        parent = path.parent if path.parent != Path(".") else Path(os.path.abspath(path)).parent
        project = parent.parent if parent.name == "img" else None
        return DatasetLocation(parent, None, project, path.name, "concept")
    return DatasetLocation(path, None, None, None, "flat" if _has_images(path) else "dataset")


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
    if where.kind == "flat":
        return (f"; the images sit directly in {path}: move them into a `N_name` folder inside it "
                "(`loratui dataset init` makes one)")
    return ""
