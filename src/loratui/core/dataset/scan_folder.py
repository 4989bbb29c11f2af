"""One concept folder's files as sd-scripts sees them: the images it globs, the caption files, and a
Problem for every file it passes over (a format it does not read, an extension in the wrong case, a
hidden image, a macOS metadata file, a nested folder, a pipe or broken link, a caption write's leftover
temp file). Names only: the images themselves are read by scan_images.py.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from loratui.core.dataset.concepts import SHOWN_NAMES, broken_link, is_dir
from loratui.core.dataset.images import IMAGE_EXTENSIONS, list_folder
from loratui.core.dataset.types import Problem

# Images sd-scripts does not glob (its IMAGE_EXTENSIONS are ours): named, never silently ignored.
# JPEG files under other names (Pillow opens them; sd-scripts' glob never finds them): a rename is the fix.
JPEG_ALIAS_EXTENSIONS = frozenset({".jfif", ".jpe", ".jfi", ".jif", ".pjpeg", ".pjp"})
# Pillow reads most of these (TGA, JPEG 2000, the netpbm family...), sd-scripts' glob finds none.
OTHER_IMAGE_EXTENSIONS = frozenset({".gif", ".tif", ".tiff", ".avif", ".heic", ".heif", ".jxl", ".ico", ".psd",
                                    ".tga", ".jp2", ".j2k", ".jpx", ".jpf", ".j2c", ".ppm", ".pgm", ".pbm", ".pnm",
                                    ".pfm", ".pcx", ".dds", ".icns", ".sgi", ".qoi", ".xbm", ".xpm", ".dib", ".apng"}
                                   | JPEG_ALIAS_EXTENSIONS)
APPLE_DOUBLE_PREFIX = "._"
LEFTOVER_AGE_S = 60.0  # a temporary file younger than this may be a write going on right now


def format_fix(extension: str) -> str:
    """What to do with an image in a format sd-scripts does not read: ``rename it to .jpg`` for a
    JPEG under another extension (.jfif, .jpe, ...), else ``convert it to PNG``."""
    return "rename it to .jpg: it is a JPEG" if extension.lower() in JPEG_ALIAS_EXTENSIONS else "convert it to PNG"


@dataclass
class ListedFolder:
    """One concept folder as listed: what the pairing of images and captions works from."""

    path: Path
    repeats: int
    class_tokens: str
    is_reg: bool
    image_paths: list[Path]
    caption_names: set[str]  # names of files with the caption extension (any case)
    other_images: dict[str, str] = field(default_factory=dict)  # stem -> name, images sd-scripts does not train


def list_concept_folder(
    path: Path, repeats: int, tokens: str, is_reg: bool, caption_ext: str, problems: list[Problem]
) -> ListedFolder:
    """The images and caption files of the concept folder ``path``; what sd-scripts passes over is added
    to ``problems``. Raises LoratuiError (one line, with its fix) when the folder cannot be listed."""
    images: list[Path] = []
    caption_names: set[str] = set()
    other_images: dict[str, str] = {}
    cap_lower = caption_ext.lower()
    leftover = _leftover_pattern(caption_ext, path)
    hidden: list[str] = []
    apple_double: list[str] = []  # ._a.png: macOS keeps a file's metadata there when it copies to a foreign disk
    for entry in list_folder(path):  # an unreadable folder is one line naming it
        name = entry.name
        if name.startswith("."):
            if leftover.match(name) and _older_than(entry, LEFTOVER_AGE_S):
                problems.append(Problem(
                    "leftover_temp_file", Path(entry.path),
                    f"{path.name}/{name}: a caption write killed part-way left this temporary file (the caption "
                    "itself is whole, old or new): delete it", "info"))
            elif os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS | OTHER_IMAGE_EXTENSIONS:
                (apple_double if name.startswith(APPLE_DOUBLE_PREFIX) else hidden).append(name)
            continue
        ext = os.path.splitext(name)[1]
        lower = ext.lower()
        if is_dir(entry):
            if lower in IMAGE_EXTENSIONS or lower in OTHER_IMAGE_EXTENSIONS or name.lower().endswith(caption_ext.lower()):
                what = "an image" if lower in IMAGE_EXTENSIONS | OTHER_IMAGE_EXTENSIONS else "a caption file"
                problems.append(Problem(
                    "folder_named_like_file", Path(entry.path),
                    f"{path.name}/{name} is a folder, not {what}: sd-scripts does not read it (and a folder "
                    f"named like an image stops it); rename or move it", "warning"))
            _report_nested(Path(entry.path), path, problems)
            continue
        if (lower in IMAGE_EXTENSIONS or lower in OTHER_IMAGE_EXTENSIONS) and not _is_regular(entry):
            # a FIFO named x.png blocked the scan forever on open(); a dangling link reads as nothing
            broken = broken_link(entry)
            what = f"a broken link ({broken})" if broken else "not a regular file (a pipe or device)"
            problems.append(Problem(
                "not_a_file", Path(entry.path),
                f"{path.name}/{name} is {what}: it is left out; remove it or put the real image there", "warning"))
            continue
        if lower in OTHER_IMAGE_EXTENSIONS:
            other_images.setdefault(os.path.splitext(name)[0], name)
            problems.append(Problem(
                "unsupported_image", Path(entry.path),
                f"{path.name}/{name}: {lower[1:].upper()} images are not trained (sd-scripts reads "
                f"{', '.join(sorted(IMAGE_EXTENSIONS))}): it is left out; {format_fix(lower)}"
                + (" (an animated GIF: pick one frame)" if lower == ".gif" and _gif_animated(Path(entry.path)) else ""),
                "warning"))
            continue
        if lower in IMAGE_EXTENSIONS:
            images.append(Path(entry.path))
            if ext not in (lower, ext.upper()):
                problems.append(
                    Problem(
                        "extension_case",
                        Path(entry.path),
                        f"{path.name}/{name}: sd-scripts only matches '{lower}' or '{lower.upper()}' on case-sensitive "
                        f"file systems (Linux); rename the extension",
                        "warning",
                    )
                )
        elif name.lower().endswith(cap_lower):
            caption_names.add(name)
    if hidden:
        more = f" and {len(hidden) - SHOWN_NAMES} more" if len(hidden) > SHOWN_NAMES else ""
        problems.append(Problem(
            "hidden_images", path,
            f"{path.name}/: {len(hidden)} hidden image(s) not trained: {', '.join(hidden[:SHOWN_NAMES])}{more} "
            "(sd-scripts never reads a name starting with '.': remove the dot to train one)", "info"))
    if apple_double:
        problems.append(apple_double_problem(path, apple_double))
    return ListedFolder(path, repeats, tokens, is_reg, images, caption_names, other_images)


def apple_double_problem(folder: Path, names: list[str]) -> Problem:
    """The info naming macOS AppleDouble files (``._a.png``) in a concept folder: metadata, not images,
    so "remove the dot" would only make sd-scripts fail on them; deleting them loses nothing."""
    more = f" and {len(names) - SHOWN_NAMES} more" if len(names) > SHOWN_NAMES else ""
    return Problem(
        "macos_metadata", folder,
        f"{folder.name}/: {len(names)} macOS metadata file(s) not trained: {', '.join(names[:SHOWN_NAMES])}{more} "
        "(AppleDouble files a Mac leaves beside copied files, not images: sd-scripts never reads them; they can "
        "be deleted)", "info")


def _leftover_pattern(caption_ext: str, folder: Path):
    """``.NAME.txt.XXXXXXXX.tmp``: what core.fsutil's atomic write of a caption names its temp file (a long
    name's stand-in only when it is exactly the temp of a caption, or an image's caption, in ``folder``)."""
    from loratui.core.fsutil import atomic_temp_pattern, names_for_ext

    return atomic_temp_pattern(rf".+{re.escape(caption_ext)}", targets=lambda: names_for_ext(folder, caption_ext))


def _older_than(entry: os.DirEntry, seconds: float) -> bool:
    import time

    try:
        return time.time() - entry.stat(follow_symlinks=False).st_mtime > seconds
    except OSError:
        return False


def _is_regular(entry) -> bool:
    try:
        return entry.is_file()  # follows a link: one to a real image is fine
    except OSError:
        return False


def _report_nested(nested: Path, parent: Path, problems: list[Problem]) -> None:
    count = 0
    for _dirpath, _dirs, files in os.walk(nested):
        count += sum(1 for f in files if os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS)
    if count:
        problems.append(
            Problem(
                "nested_folder",
                nested,
                f"{count} image(s) in nested folder {nested.name}/ inside {parent.name} are not used: "
                f"sd-scripts does not look into subfolders",
                "warning",
            )
        )


def _gif_animated(path: Path) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as image:
            return bool(getattr(image, "is_animated", False))
    except Exception:  # noqa: BLE001 - unreadable: only the format is named
        return False
