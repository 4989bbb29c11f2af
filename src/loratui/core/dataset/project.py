"""Lay out a new kohya-style project: `img/N_name`, `reg/`, `model/`, `log/`, optionally filled from a folder.

Nothing that exists is ever overwritten: every destination file is checked before the first copy.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from loratui.core.errors import LoratuiError
from loratui.core.dataset.images import IMAGE_EXTENSIONS

LinkMode = Literal["copy", "symlink", "hardlink"]
PROJECT_FOLDERS = ("img", "reg", "model", "log")


@dataclass(frozen=True)
class InitResult:
    project_dir: Path
    concept_dir: Path
    created_dirs: list[Path] = field(default_factory=list)
    existing_dirs: list[Path] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)  # destination paths of images added
    captions: list[Path] = field(default_factory=list)  # destination paths of captions added
    mode: LinkMode = "copy"


def concept_folder_name(repeats: int, concept: str, class_tokens: str | None = None) -> str:
    """`10_sks` or, with class tokens, `10_sks dog` (the kohya_ss GUI's instance + class naming)."""
    if repeats < 1:
        raise LoratuiError(f"--repeats must be at least 1 (got {repeats}): sd-scripts skips folders with 0 repeats")
    concept = concept.strip()
    if not concept:
        raise LoratuiError("--concept must not be empty")
    for name, value in (("--concept", concept), ("--class-tokens", class_tokens or "")):
        if "/" in value or "\\" in value or value.startswith(".") or "\0" in value:
            raise LoratuiError(f"{name} {value!r} must be a plain name (no slashes, not starting with a dot)")
    tokens = f"{concept} {class_tokens.strip()}" if class_tokens and class_tokens.strip() else concept
    return f"{repeats}_{tokens}"


def init_project(
    project_dir: str | os.PathLike,
    concept: str,
    repeats: int,
    images_src: str | os.PathLike | None = None,
    *,
    class_tokens: str | None = None,
    mode: LinkMode = "copy",
    caption_extension: str = ".txt",
) -> InitResult:
    """Create the project folders and, with images_src, bring in its images and matching captions.

    Only images directly in images_src are taken (sd-scripts does not recurse either). Raises
    LoratuiError, before creating anything, if a destination file already exists.
    """
    root = Path(project_dir)
    if root.exists() and not root.is_dir():
        raise LoratuiError(f"{root} exists and is not a folder")
    concept_dir = root / "img" / concept_folder_name(repeats, concept, class_tokens)
    pairs = _source_files(Path(images_src), caption_extension, concept_dir) if images_src is not None else []

    _refuse_same_concept(concept_dir)
    clashes = [dest for _src, dest in pairs if os.path.lexists(dest)]
    if clashes:
        more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
        raise LoratuiError(f"{clashes[0]} already exists{more}; nothing was copied or overwritten")

    created, existing = [], []
    for folder in (root, *(root / name for name in PROJECT_FOLDERS), concept_dir):
        if folder.is_dir():
            existing.append(folder)
        else:
            if os.path.lexists(folder):
                raise LoratuiError(f"{folder} exists and is not a folder")
            folder.mkdir(parents=True)
            created.append(folder)

    images, captions = [], []
    for src, dest in pairs:
        _place(src, dest, mode)
        (images if src.suffix.lower() in IMAGE_EXTENSIONS else captions).append(dest)
    return InitResult(root, concept_dir, created, existing, images, captions, mode)


def _refuse_same_concept(concept_dir: Path) -> None:
    """A second folder for the same tokens with other repeats is almost always a typo."""
    img = concept_dir.parent
    if not img.is_dir():
        return
    tokens = concept_dir.name.partition("_")[2]
    for other in sorted(img.iterdir()):
        if other == concept_dir or not other.is_dir():
            continue
        first, sep, rest = other.name.partition("_")
        if sep and rest == tokens and first.strip().lstrip("+-").isdigit():
            raise LoratuiError(
                f"{other} already holds concept '{tokens}' with {first} repeats; rename it to "
                f"{concept_dir.name} or use `loratui dataset balance` instead of a second folder"
            )


def _source_files(src: Path, caption_ext: str, dest_dir: Path) -> list[tuple[Path, Path]]:
    if not src.is_dir():
        raise LoratuiError(f"--images {src} is not a folder")
    with os.scandir(src) as it:
        names = sorted(e.name for e in it if not e.name.startswith(".") and e.is_file())
    name_set = set(names)
    pairs = []
    for name in names:
        stem, ext = os.path.splitext(name)
        if ext.lower() not in IMAGE_EXTENSIONS:
            continue
        pairs.append((src / name, dest_dir / name))
        caption = stem + caption_ext
        if caption in name_set:
            pairs.append((src / caption, dest_dir / caption))
    if not any(s.suffix.lower() in IMAGE_EXTENSIONS for s, _ in pairs):
        raise LoratuiError(f"--images {src} has no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
    # Two images sharing a stem share one caption: list that caption once.
    unique = list(dict.fromkeys(pairs))
    return unique


def _place(src: Path, dest: Path, mode: LinkMode) -> None:
    if mode == "symlink":
        os.symlink(src.resolve(), dest)
    elif mode == "hardlink":
        try:
            os.link(src, dest)
        except OSError as exc:
            raise LoratuiError(f"cannot hard-link {src} to {dest}: {exc.strerror} (use --link or copy)") from exc
    else:
        # Copy to a temp name in the same folder, then link it into place: a crash never leaves a
        # half-written image under the real name, and os.link refuses to replace anything.
        temp = dest.with_name(f".{dest.name}.loratui-tmp")
        shutil.copy2(src, temp)
        try:
            os.link(temp, dest)
        except OSError:
            if os.path.lexists(dest):
                raise LoratuiError(f"{dest} appeared while copying; it was not overwritten") from None
            os.rename(temp, dest)  # file system without hard links
            return
        finally:
            if os.path.lexists(temp):
                os.unlink(temp)
