"""Scan a kohya-style dataset (train dir of `N_concept` folders, optional reg dir) the way sd-scripts sees it.

Facts mirrored from sd-scripts (library/config_util.py, library/train_util.py), checked against its
source:
- Only *direct* subfolders of train_data_dir / reg_data_dir are subsets. The folder name is split on
  "_"; the first piece must parse as ``int`` (repeats), the rest joined with "_" are the class tokens.
  So `10_` and even `10` are valid (empty class tokens). A name whose first piece is not an integer is
  skipped with a warning; repeats < 1 (`0_x`) are skipped silently; there is no upper limit (concepts.py
  picks the folders, for the scan, `steps` and the export alike).
- Images are found with a non-recursive glob per extension, in lower- AND upper-case spellings only
  (`.png`/`.PNG`, ...): nested folders are ignored, files directly in train_data_dir are ignored, and on a
  case-sensitive file system `a.Png` is not found. Hidden files (".x.png") never match ``*``.
- The caption is `<image path without extension><caption_extension>`, and for stems with 5+ "_" pieces
  the stem minus its last 4 pieces is tried next (face-crop naming). Only the first line is used; an
  empty caption file aborts training; a non-UTF-8 one raises. No caption -> the class tokens are used.
- Images are loaded with Pillow without EXIF rotation (see imagesize.py), so sizes are stored sizes.
"""

from __future__ import annotations

import os
from pathlib import Path

# Every name this module held or imported before it was split stays importable from here (noqa: F401).
from loratui.core.dataset.caption_check import caption_problems, missing_caption_problem  # noqa: F401
from loratui.core.dataset.types import DatasetScan, ImageEntry, Problem, Subset  # noqa: F401
from loratui.core.errors import LoratuiError
from loratui.core.dataset.imagesize import (  # noqa: F401
    MAX_IMAGE_PIXELS, ImageHeader, ImageSizeError, decode_error, header_problems, one_line, probe_image_header,
    shown_name, transparency_of,
)
from loratui.core.dataset.images import IMAGE_EXTENSIONS, list_folder  # noqa: F401
from loratui.core.dataset.concepts import (  # noqa: F401
    MAX_REPEATS, SHOWN_NAMES, broken_link, concept_folders, concepts_child, is_dir, parse_subset_name,
)
from loratui.core.dataset.name_utf8 import NOT_UTF8_FOLDER, is_utf8_name
# What scan_dataset is made of, one module per job: listing a concept folder, reading its images' headers,
# pairing images with captions into a Subset.
from loratui.core.dataset.scan_folder import (  # noqa: F401
    APPLE_DOUBLE_PREFIX, JPEG_ALIAS_EXTENSIONS, LEFTOVER_AGE_S, OTHER_IMAGE_EXTENSIONS, ListedFolder, apple_double_problem,
    format_fix, list_concept_folder,
)
from loratui.core.dataset.scan_images import (  # noqa: F401
    HARD_LIMIT_PIXELS, CheckedImage, check_transparency, read_sizes, unreadable_reason,
)
from loratui.core.dataset.caption_pairing import MIN_IMAGE_SIDE, build_subset, caption_candidates  # noqa: F401


def scan_dataset(
    train_data_dir: str | os.PathLike,
    reg_data_dir: str | os.PathLike | None = None,
    caption_extension: str = ".txt",
    *,
    workers: int | None = None,
    max_tokens: int | None = None,
    unreadable_as_problem: bool = False,
) -> DatasetScan:
    """Scan the train (and reg) folders; dataset problems are collected, never raised.

    ``max_tokens``: the caption token limit the long-caption check uses (the config's
    max_token_length; default 75, what sd-scripts reads when max_token_length is unset).

    A reg folder given as both train and reg is scanned on its own, as reg (what locate_dataset gives
    for one: `loratui reg`, `dataset scan reg`): its concept folders are reg subsets, and no training
    images is no error (``DatasetScan.reg_only``). Any other folder given as both is scanned twice, as
    sd-scripts would (a config naming one folder as both is refused by core.config check_paths).

    ``unreadable_as_problem``: a concept folder that cannot be listed (chmod 000) is an
    ``unreadable_folder`` error and the others are scanned (`dataset scan`, the app); without it the
    scan stops with its one line, as sd-scripts would (steps, training, balance).

    Raises LoratuiError only for unusable arguments: a missing folder or a caption extension
    without its leading dot (or an unreadable folder, as above).
    """
    if not caption_extension.startswith(".") or len(caption_extension) < 2:
        raise LoratuiError(
            f"caption extension {caption_extension!r}: give a file extension with its dot, such as .txt or .caption"
        )
    train_root = _check_dir(train_data_dir, "train data folder")
    reg_root = _check_dir(reg_data_dir, "reg data folder") if reg_data_dir is not None else None
    reg_only = (reg_root is not None and os.path.realpath(reg_root) == os.path.realpath(train_root)
                and _known_reg_folder(train_root))
    if reg_only:
        reg_root = train_root  # one name for both in what the scan reports

    problems: list[Problem] = []
    folders: list[ListedFolder] = []
    roots = ((train_root, True),) if reg_only else ((train_root, False), (reg_root, True))
    for root, is_reg in roots:
        if root is not None:
            folders.extend(_find_subset_folders(root, is_reg, caption_extension, problems,
                                                train_root if is_reg and not reg_only else None,
                                                unreadable_as_problem))

    all_images = [img for folder in folders for img in folder.image_paths]
    sizes = check_transparency(all_images, read_sizes(all_images, workers))

    subsets = []
    start = 0
    for folder in folders:
        end = start + len(folder.image_paths)
        subsets.append(build_subset(folder, sizes[start:end], caption_extension, problems, max_tokens))
        start = end

    if reg_only:
        if not subsets:
            problems.append(Problem(
                "no_subsets", train_root, f"{train_root} has no `N_name` concept folders"
                f"{_left_out_count(problems, train_root)}: no regularisation images", "error"))
    elif not any(not s.is_reg for s in subsets):
        child = train_root / "img" if (train_root / "img").is_dir() else concepts_child(train_root, train=True)
        hint = f" (did you mean {child}?)" if child is not None else ""
        problems.append(
            Problem(
                "no_subsets",
                train_root,
                f"{train_root} has no `N_name` concept folders{_left_out_count(problems, train_root)}: nothing to "
                f"train on{hint}",
                "error",
            )
        )
    elif not any(s.images for s in subsets if not s.is_reg):
        problems.append(Problem("no_images", train_root, f"no usable training images under {train_root}", "error"))
    problems = [one_line(p) for p in problems]  # a name with a line break, quoted: one problem, one line
    return DatasetScan(train_root, reg_root, caption_extension, subsets, problems, reg_only)


def _known_reg_folder(folder: Path) -> bool:
    from loratui.core.dataset.locate import regularised_train_dir  # locate imports this module

    return regularised_train_dir(folder) is not None


def _left_out_count(problems: list[Problem], root: Path) -> str:
    """ that train (2 left out, each named with why)" when folders were there but each was left out."""
    from loratui.core.dataset.types import SKIPPED_FOLDER_KINDS

    count = sum(1 for p in problems if p.kind in SKIPPED_FOLDER_KINDS and p.kind != "hidden_folders"
                and p.path.parent == root)
    return f" that train ({count} left out, each named with why)" if count else ""


def _check_dir(value: str | os.PathLike, what: str) -> Path:
    path = Path(value)
    if not path.exists():
        raise LoratuiError(f"{what} {path} does not exist")
    if not path.is_dir():
        raise LoratuiError(f"{what} {path} is not a folder")
    return path


def _find_subset_folders(root: Path, is_reg: bool, caption_ext: str, problems: list[Problem],
                         train_root: Path | None = None, unreadable_as_problem: bool = False) -> list[ListedFolder]:
    found, skipped = concept_folders(root, is_reg, train_root=train_root)
    problems.extend(skipped)
    listed = []
    for folder in found:
        if not is_utf8_name(folder.path.name):
            # sd-scripts lists it, but `config check` and `train` refuse it (core.config.preflight, in
            # these words): an error here too, and its images are still scanned
            problems.append(Problem("folder_name_not_utf8", folder.path, f"{'reg' if is_reg else 'train'} folder "
                                    f"{shown_name(folder.path.name)}: {NOT_UTF8_FOLDER}", "error"))
        try:
            listed.append(list_concept_folder(folder.path, folder.repeats, folder.class_tokens, is_reg, caption_ext,
                                              problems))
        except LoratuiError as exc:
            if not unreadable_as_problem:
                raise
            # one unreadable concept folder (chmod 000) is named, the others are still scanned: sd-scripts
            # would stop on it, so it is an error, with list_folder's fix (chmod u+rx) in its one line
            problems.append(Problem("unreadable_folder", folder.path, str(exc), "error"))
    return listed
