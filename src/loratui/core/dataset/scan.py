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
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from loratui.core.dataset.caption_check import caption_problems, missing_caption_problem
from loratui.core.dataset.types import DatasetScan, ImageEntry, Problem, Subset
from loratui.core.errors import LoratuiError
from loratui.core.dataset.imagesize import (
    MAX_IMAGE_PIXELS, ImageHeader, ImageSizeError, decode_error, header_problems, one_line, probe_image_header,
    shown_name, transparency_of,
)
from loratui.core.dataset.images import IMAGE_EXTENSIONS, list_folder
from loratui.core.dataset.concepts import (  # noqa: F401 - MAX_REPEATS, parse_subset_name: re-exported
    MAX_REPEATS, SHOWN_NAMES, broken_link, concept_folders, concepts_child, is_dir, parse_subset_name,
)

# Pillow warns over this many pixels (Image.MAX_IMAGE_PIXELS, without importing Pillow here) and refuses
# an image over twice it (DecompressionBombError): in between an image trains, as in sd-scripts (the scan
# names its size), over it the scan leaves it out.
HARD_LIMIT_PIXELS = 2 * MAX_IMAGE_PIXELS
# A side of one pixel (a 1x1 spacer, a 1-pixel line) is no picture at all: named. (Anything under 8
# px is under one latent pixel too, but tiny test fixtures of 2x2 images stay quiet.)
MIN_IMAGE_SIDE = 2
# Images sd-scripts does not glob (its IMAGE_EXTENSIONS are ours): named, never silently ignored.
# JPEG files under other names (Pillow opens them; sd-scripts' glob never finds them): a rename is the fix.
JPEG_ALIAS_EXTENSIONS = frozenset({".jfif", ".jpe", ".jfi", ".jif", ".pjpeg", ".pjp"})
# Pillow reads most of these (TGA, JPEG 2000, the netpbm family...), sd-scripts' glob finds none.
OTHER_IMAGE_EXTENSIONS = frozenset({".gif", ".tif", ".tiff", ".avif", ".heic", ".heif", ".jxl", ".ico", ".psd",
                                    ".tga", ".jp2", ".j2k", ".jpx", ".jpf", ".j2c", ".ppm", ".pgm", ".pbm", ".pnm",
                                    ".pfm", ".pcx", ".dds", ".icns", ".sgi", ".qoi", ".xbm", ".xpm", ".dib", ".apng"}
                                   | JPEG_ALIAS_EXTENSIONS)


def format_fix(extension: str) -> str:
    """What to do with an image in a format sd-scripts does not read: ``rename it to .jpg`` for a
    JPEG under another extension (.jfif, .jpe, ...), else ``convert it to PNG``."""
    return "rename it to .jpg: it is a JPEG" if extension.lower() in JPEG_ALIAS_EXTENSIONS else "convert it to PNG"

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
    max_token_length; default 225, the most sd-scripts reads).

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
    folders: list[_Folder] = []
    roots = ((train_root, True),) if reg_only else ((train_root, False), (reg_root, True))
    for root, is_reg in roots:
        if root is not None:
            folders.extend(_find_subset_folders(root, is_reg, caption_extension, problems,
                                                train_root if is_reg and not reg_only else None,
                                                unreadable_as_problem))

    all_images = [img for folder in folders for img in folder.image_paths]
    sizes = _check_transparency(all_images, _read_sizes(all_images, workers))

    subsets = []
    start = 0
    for folder in folders:
        end = start + len(folder.image_paths)
        subsets.append(_build_subset(folder, sizes[start:end], caption_extension, problems, max_tokens))
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


@dataclass
class _Folder:
    path: Path
    repeats: int
    class_tokens: str
    is_reg: bool
    image_paths: list[Path]
    caption_names: set[str]  # names of files with the caption extension (any case)
    other_images: dict[str, str] = field(default_factory=dict)  # stem -> name, images sd-scripts does not train


def _rel(path: Path) -> str:
    """`folder/file`: enough to find a file in a problem list without the full path (a name with a
    line break quoted)."""
    return f"{shown_name(path.parent.name)}/{shown_name(path.name)}"


def _listdir(path: Path) -> list[os.DirEntry]:
    return list_folder(path)  # an unreadable folder is one line naming it


def _find_subset_folders(root: Path, is_reg: bool, caption_ext: str, problems: list[Problem],
                         train_root: Path | None = None, unreadable_as_problem: bool = False) -> list[_Folder]:
    found, skipped = concept_folders(root, is_reg, train_root=train_root)
    problems.extend(skipped)
    listed = []
    for folder in found:
        try:
            listed.append(_list_folder(folder.path, folder.repeats, folder.class_tokens, is_reg, caption_ext, problems))
        except LoratuiError as exc:
            if not unreadable_as_problem:
                raise
            # one unreadable concept folder (chmod 000) is named, the others are still scanned: sd-scripts
            # would stop on it, so it is an error, with list_folder's fix (chmod u+rx) in its one line
            problems.append(Problem("unreadable_folder", folder.path, str(exc), "error"))
    return listed


def _list_folder(
    path: Path, repeats: int, tokens: str, is_reg: bool, caption_ext: str, problems: list[Problem]
) -> _Folder:
    images: list[Path] = []
    caption_names: set[str] = set()
    other_images: dict[str, str] = {}
    cap_lower = caption_ext.lower()
    leftover = _leftover_pattern(caption_ext, path)
    hidden: list[str] = []
    apple_double: list[str] = []  # ._a.png: macOS keeps a file's metadata there when it copies to a foreign disk
    for entry in _listdir(path):
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
    return _Folder(path, repeats, tokens, is_reg, images, caption_names, other_images)


APPLE_DOUBLE_PREFIX = "._"


def apple_double_problem(folder: Path, names: list[str]) -> Problem:
    """The info naming macOS AppleDouble files (``._a.png``) in a concept folder: metadata, not images,
    so "remove the dot" would only make sd-scripts fail on them; deleting them loses nothing."""
    more = f" and {len(names) - SHOWN_NAMES} more" if len(names) > SHOWN_NAMES else ""
    return Problem(
        "macos_metadata", folder,
        f"{folder.name}/: {len(names)} macOS metadata file(s) not trained: {', '.join(names[:SHOWN_NAMES])}{more} "
        "(AppleDouble files a Mac leaves beside copied files, not images: sd-scripts never reads them; they can "
        "be deleted)", "info")


LEFTOVER_AGE_S = 60.0  # a temporary file younger than this may be a write going on right now


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


def unreadable_reason(path: str | os.PathLike) -> str | None:
    """Why neither sd-scripts nor loratui can load the image at ``path`` (what the scan reports as
    ``unreadable_image``: no readable header, 0 bytes, cut short or corrupt, over Pillow's hard pixel
    limit), or None. Reads the header (and tail) only; a full decode only for a tail that looks cut."""
    found = _size_or_error(Path(path), details=False)
    return found if isinstance(found, str) else None


@dataclass(frozen=True)
class _Checked:
    """A trainable image: its header, and whether some pixel is see-through (decoded only when the
    header says there is alpha)."""

    header: ImageHeader
    transparent: bool | None = False  # None: it has alpha, not decoded (the scan's time for that ran out)


def _size_or_error(path: Path, details: bool = True) -> _Checked | str:
    """The image's header (with ``details``: and whether it has transparent pixels), or why it cannot
    be trained."""
    try:
        header = probe_image_header(path)
    except ImageSizeError as exc:
        return str(exc)
    width, height = header.width, header.height
    if width * height > HARD_LIMIT_PIXELS:
        return (f"{width}x{height} is {width * height / 1e6:.0f} megapixels, over Pillow's decompression-bomb limit "
                f"({HARD_LIMIT_PIXELS / 1e6:.0f} MP): neither loratui nor sd-scripts can open it; downscale it under "
                f"{HARD_LIMIT_PIXELS / 1e6:.0f} MP to train it")
    if not header.tail_ok:
        # The tail lacks the end marker: usually a copy cut short, but some writers append data
        # after it, so let a real decode (what the trainer does) decide.
        reason = decode_error(path)
        if reason is not None:
            return f"truncated or corrupt ({reason})"
    return _Checked(header, header.alpha and None if details else False)


def _check_transparency(paths: list[Path], sizes: list[_Checked | str]) -> list[_Checked | str]:
    """The images whose header has alpha, decoded (within the scan's time for it) to see whether some
    pixel is see-through: imagesize.transparency_of."""
    alpha = [path for path, size in zip(paths, sizes) if isinstance(size, _Checked) and size.transparent is None]
    found = transparency_of(alpha) if alpha else {}
    return [_Checked(size.header, found.get(path)) if isinstance(size, _Checked) and size.transparent is None
            else size for path, size in zip(paths, sizes)]


def _read_sizes(paths: list[Path], workers: int | None) -> list[_Checked | str]:
    # Measured on 10,000 small files with a warm page cache (2 shared cores): one thread 0.64 s,
    # a pool of 4 threads 1.57 s (GIL contention). So the default is serial; a pool only pays off
    # when opens are slow (network or cold spinning disks): pass workers= for that.
    if workers is None or workers <= 1:
        return [_size_or_error(p) for p in paths]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_size_or_error, paths, chunksize=64))


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


def _build_subset(
    folder: _Folder, sizes: list[_Checked | str], caption_ext: str, problems: list[Problem],
    max_tokens: int | None = None,
) -> Subset:
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
            problems.append(_missing_caption(image, folder))
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
        _check_caption(used_captions[name], problems, max_tokens)

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


def _missing_caption(image: Path, folder: _Folder) -> Problem:
    return missing_caption_problem(image, folder.class_tokens, folder.is_reg)


def _check_caption(path: Path, problems: list[Problem], max_tokens: int | None = None) -> None:
    problems.extend(caption_problems(path, max_tokens=max_tokens))
