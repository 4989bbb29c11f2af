"""Each image of a listed concept folder paired with its caption file the way sd-scripts pairs them, and
the folder's Subset: with a Problem for an image it cannot load, a missing caption, a caption with no
image (or whose image is in a format it does not train), two images sharing one stem, an animated or
tiny image, an empty folder, and whatever caption_check.py finds in a caption in use.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from loratui.core.dataset.caption_check import caption_problems, missing_caption_problem
from loratui.core.dataset.imagesize import ImageHeader, header_problems, shown_name
from loratui.core.dataset.scan_folder import ListedFolder, format_fix
from loratui.core.dataset.scan_images import CheckedImage
from loratui.core.dataset.types import ImageEntry, Problem, Subset

# A side of one pixel (a 1x1 spacer, a 1-pixel line) is no picture at all: named. (Anything under 8
# px is under one latent pixel too, but tiny test fixtures of 2x2 images stay quiet.)
MIN_IMAGE_SIDE = 2


def caption_candidates(image: Path, caption_ext: str) -> Iterable[str]:
    """The caption names sd-scripts tries for ``image``, in order: its stem + ``caption_ext``, then for a
    face crop (``<stem>_<4 numbers>``) the stem less those + ``caption_ext``. With ``caption_ext`` ""
    these are the bases a caption name starts with (core.captions.image_gone: which image an undo
    judges gone)."""
    stem = os.path.splitext(image.name)[0]
    yield stem + caption_ext
    pieces = stem.split("_")
    if len(pieces) >= 5:  # face-crop names: <stem>_<4 numbers>
        yield "_".join(pieces[:-4]) + caption_ext


def _rel(path: Path) -> str:
    """`folder/file`: enough to find a file in a problem list without the full path (a name with a
    line break quoted)."""
    return f"{shown_name(path.parent.name)}/{shown_name(path.name)}"


def build_subset(
    folder: ListedFolder, sizes: list[CheckedImage | str], caption_ext: str, problems: list[Problem],
    max_tokens: int | None = None,
) -> Subset:
    """The Subset of ``folder`` (``sizes``: scan_images.read_sizes of its image_paths), its problems
    added to ``problems``."""
    used_captions: dict[str, Path] = {}
    unreadable_captions: set[str] = set()
    entries: list[ImageEntry] = []
    checked: list[tuple[Path, ImageHeader, bool | None]] = []
    by_stem: dict[str, list[Path]] = {}
    for image, size in zip(folder.image_paths, sizes):
        by_stem.setdefault(os.path.splitext(image.name)[0], []).append(image)
        if isinstance(size, str):
            problems.append(
                Problem("unreadable_image", image, f"{_rel(image)}: {size}; it is left out of training", "error")
            )
            # its caption has an image, an unreadable one: not an orphan (the problem above names it)
            unreadable_captions.update(caption_candidates(image, caption_ext))
            continue
        header = size.header
        if header.animated:
            problems.append(Problem("animated_image", image, f"{_rel(image)} is animated: only its first frame "
                                    "trains (save that frame as a still image to be sure which)", "warning"))
        if min(header.width, header.height) < MIN_IMAGE_SIDE:
            problems.append(Problem("tiny_image", image, f"{_rel(image)} is only {header.width}x{header.height} "
                                    "pixels, smaller than one latent pixel (8x8): it trains as a flat colour; remove "
                                    "it or use a larger image",
                                    "warning"))
        checked.append((image, header, size.transparent))
        caption_path = None
        for candidate in caption_candidates(image, caption_ext):
            if candidate in folder.caption_names:
                caption_path = used_captions.get(candidate)
                if caption_path is None:
                    caption_path = used_captions[candidate] = folder.path / candidate
                break
        if caption_path is None:
            problems.append(missing_caption_problem(image, folder.class_tokens, folder.is_reg))
        entries.append(ImageEntry(image, header.width, header.height, caption_path))
    problems.extend(header_problems(folder.path, checked))

    for stem, paths in by_stem.items():
        if len(paths) > 1:
            names = ", ".join(p.name for p in paths)
            problems.append(
                Problem(
                    "duplicate_stem",
                    paths[0],
                    f"{folder.path.name}/: {names} share the stem '{stem}': they share one caption "
                    f"({stem}{caption_ext}) and sd-scripts' latent cache ({stem}.npz); rename one",
                    "warning",
                )
            )

    for name in sorted(folder.caption_names.difference(used_captions, unreadable_captions)):
        path = folder.path / name
        other = folder.other_images.get(name[:-len(caption_ext)]) if name.endswith(caption_ext) else None
        if other is not None:
            fix = format_fix(os.path.splitext(other)[1]).replace("it to", "the image to", 1)
            message = (f"{folder.path.name}/{name} is not used: its image {other} is in a format sd-scripts does "
                       f"not train ({fix})")
        elif name.endswith(caption_ext):
            message = f"{folder.path.name}/{name} has no image with the same name; it is not used"
        else:
            message = (
                f"{folder.path.name}/{name} is not read: sd-scripts looks for '{caption_ext}' exactly "
                f"(extension case differs)"
            )
        problems.append(Problem("orphan_caption", path, message, "warning"))

    for name in sorted(used_captions):
        problems.extend(caption_problems(used_captions[name], max_tokens=max_tokens))

    if not folder.image_paths:
        problems.append(
            Problem(
                "empty_folder",
                folder.path,
                f"concept folder {folder.path.name} has no images: sd-scripts skips it",
                "warning",
            )
        )
    return Subset(folder.path, folder.path.name, folder.repeats, folder.class_tokens, folder.is_reg, entries)
