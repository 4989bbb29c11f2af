"""Lay out a new kohya-style project: `img/N_name`, `reg/`, `model/`, optionally filled from a folder.

Nothing that exists is ever overwritten: every destination file is checked before the first copy.
With --link/--hardlink only the images are linked; the captions are always copied, because they are
what the user edits in the project (a symlinked caption would carry every edit back into the source
folder, a hard-linked one would split from it on the first atomic write: neither is what anyone meant).
The files are brought in whole or not at all: built in a staging folder beside the concept
folder, then renamed into place, so a full disk or a kill leaves the project as it was (and the
folders this call made are removed again), and a rerun starts clean.
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from loratui.core.errors import LoratuiError
from loratui.core.fsutil import STAGING_SUFFIX, describe_os_error, staging_folder
from loratui.core.termline import shell_arg
from loratui.core.dataset.caption_check import OTHER_CAPTION_EXTENSIONS
from loratui.core.dataset.images import IMAGE_EXTENSIONS
from loratui.core.dataset.scan import APPLE_DOUBLE_PREFIX, JPEG_ALIAS_EXTENSIONS, MAX_REPEATS, OTHER_IMAGE_EXTENSIONS

LinkMode = Literal["copy", "symlink", "hardlink"]
PROJECT_FOLDERS = ("img", "reg", "model")  # no log/: a run logs beside its output (model/NAME.log)


@dataclass(frozen=True)
class InitResult:
    project_dir: Path
    concept_dir: Path
    created_dirs: list[Path] = field(default_factory=list)
    existing_dirs: list[Path] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)  # destination paths of images added
    captions: list[Path] = field(default_factory=list)  # destination paths of captions added (always copies)
    mode: LinkMode = "copy"  # how the images were brought in
    # source images sd-scripts does not train (AVIF, GIF, TIFF, ...) and their captions, left behind
    skipped_images: list[Path] = field(default_factory=list)
    skipped_captions: list[Path] = field(default_factory=list)
    # source files left behind without being an image it could bring: hidden images and captions
    # (".x.png": sd-scripts never reads them) and links that lead nowhere
    skipped_hidden: list[Path] = field(default_factory=list)
    skipped_broken_links: list[Path] = field(default_factory=list)
    # captions of brought-in images with another usual extension (h.caption when --caption-extension is
    # .txt): left in SRC, not renamed, and named so the user picks the extension
    skipped_other_ext_captions: list[Path] = field(default_factory=list)
    caption_extension: str = ".txt"  # the captions brought in
    # captions with another usual extension beside a caption in the chosen one (b.caption + b.txt): the
    # chosen one came in; named apart, since copying these in would overwrite it
    skipped_other_ext_beside: list[Path] = field(default_factory=list)
    # captions whose extension differs from the chosen one only in case (x.TXT for .txt): sd-scripts opens
    # stem + caption_extension exactly, so on Linux it never reads them; left in SRC and named
    skipped_case_captions: list[Path] = field(default_factory=list)

    @property
    def jpeg_note(self) -> str:
        """" (a .jfif is a JPEG: ...)" when a skipped image only needs a rename, else ""."""
        return jpeg_rename_note(self.skipped_images)

    @property
    def skipped_formats(self) -> list[str]:
        """``["AVIF", "GIF"]``: the formats of the skipped images, in the order first met."""
        return list(dict.fromkeys(p.suffix[1:].upper() for p in self.skipped_images))


def jpeg_rename_note(images: list[Path]) -> str:
    """" (a .jfif file is a JPEG: renaming it to .jpg is enough)" when some of ``images`` are JPEGs
    under other extensions, else ""."""
    aliases = list(dict.fromkeys(p.suffix.lower() for p in images if p.suffix.lower() in JPEG_ALIAS_EXTENSIONS))
    return f" (a {' or '.join(aliases)} file is a JPEG: renaming it to .jpg is enough)" if aliases else ""


def concept_folder_name(repeats: int, concept: str, class_tokens: str | None = None) -> str:
    """`10_sks` or, with class tokens, `10_sks dog` (the kohya_ss GUI's instance + class naming)."""
    if repeats < 1:
        raise LoratuiError(f"--repeats must be at least 1 (got {repeats}): sd-scripts skips folders with 0 repeats")
    if repeats > MAX_REPEATS:
        raise LoratuiError(f"--repeats {repeats:,} is more than the {MAX_REPEATS:,} a folder may say (the scan "
                           "would leave it out): use the real repeat count, e.g. 10")
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
    found = _source_files(Path(images_src), caption_extension, concept_dir) if images_src is not None else None
    pairs = found.pairs if found else []

    _refuse_same_concept(concept_dir)
    clashes = [dest for _src, dest in pairs if os.path.lexists(dest)]
    if clashes:
        more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
        raise LoratuiError(f"{clashes[0]} already exists{more}; nothing was copied or overwritten: to add only "
                           "new images, pass --images a folder holding just those; to replace it, delete it first")

    created, existing = [], []
    try:
        for folder in (root, *(root / name for name in PROJECT_FOLDERS), *([] if pairs else [concept_dir])):
            if folder.is_dir():
                existing.append(folder)
            else:
                if os.path.lexists(folder):
                    raise LoratuiError(f"{folder} exists and is not a folder")
                folder.mkdir(parents=True)
                created.append(folder)
        if pairs:
            if concept_dir.is_dir():
                existing.append(concept_dir)
            elif os.path.lexists(concept_dir):
                raise LoratuiError(f"{concept_dir} exists and is not a folder")
            _bring_in(pairs, concept_dir, mode)
            if concept_dir not in existing:
                created.append(concept_dir)
    except OSError as exc:
        _remove_empty(created)
        raise LoratuiError(_create_error(exc, root, concept_dir)) from None
    except LoratuiError:
        _remove_empty(created)  # nothing half-made is left behind: a rerun starts clean
        raise

    images = [dest for src, dest in pairs if src.suffix.lower() in IMAGE_EXTENSIONS]
    captions = [dest for src, dest in pairs if src.suffix.lower() not in IMAGE_EXTENSIONS]
    return InitResult(root, concept_dir, created, existing, images, captions, mode,
                      *((found.other_images, found.other_captions, found.hidden, found.broken_links,
                         found.other_ext_captions) if found else ()), caption_extension=caption_extension,
                      skipped_other_ext_beside=found.other_ext_beside if found else [],
                      skipped_case_captions=found.case_captions if found else [])


def _create_error(exc: OSError, root: Path, concept_dir: Path) -> str:
    """One line naming the folder that could not be made (the concept folder, never init's hidden
    staging folder beside it) and, for a permission or read-only error, what to do."""
    target = Path(exc.filename) if getattr(exc, "filename", None) else root
    if target.name.endswith(STAGING_SUFFIX):
        target = concept_dir
    if exc.errno in (errno.EACCES, errno.EPERM):
        fix = f": make {target.parent} writable (chmod u+w {shell_arg(target.parent)}) or pick another project folder"
    elif exc.errno == errno.EROFS:
        fix = ": the disk is read-only: pick a project folder on a writable disk"
    else:
        fix = ""
    return f"{target}: cannot create it ({describe_os_error(exc)}){fix}; nothing was added"


def _bring_in(pairs: list[tuple[Path, Path]], concept_dir: Path, mode: LinkMode) -> None:
    """Every file or none: they are placed in a staging folder beside the concept folder, which
    then becomes the concept folder (or, when it exists, whose files are linked into it)."""
    stage = staging_folder(concept_dir)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(stage, 0o777 & ~umask)  # mkdtemp makes it private; the concept folder is not
        for src, dest in pairs:
            try:
                _place(src, stage / dest.name, mode if src.suffix.lower() in IMAGE_EXTENSIONS else "copy")
            except OSError as exc:
                verb = {"copy": "copy", "symlink": "link", "hardlink": "hard-link"}[mode]
                raise LoratuiError(f"{src}: cannot {verb} it into {concept_dir} ({describe_os_error(exc)}); "
                                   "nothing was added") from None
        if not concept_dir.exists():
            os.rename(stage, concept_dir)
            return
        _link_all(stage, [dest for _, dest in pairs])
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _link_all(stage: Path, dests: list[Path]) -> None:
    """Staged files into an existing concept folder: hard links (never replacing a file), undone
    all together if one fails."""
    done: list[Path] = []
    try:
        for dest in dests:
            staged = stage / dest.name
            if os.path.lexists(dest):
                raise LoratuiError(f"{dest} appeared while copying; it was not overwritten, nothing was added")
            try:
                os.link(staged, dest, follow_symlinks=False)
            except OSError:
                os.rename(staged, dest)  # a file system without hard links
            done.append(dest)
    except OSError as exc:
        for dest in done:
            os.unlink(dest)
        raise LoratuiError(f"{dest}: cannot place it ({describe_os_error(exc)}); nothing was added") from None
    except LoratuiError:
        for dest in done:
            os.unlink(dest)
        raise


def _remove_empty(folders: list[Path]) -> None:
    for folder in reversed(folders):
        try:
            folder.rmdir()
        except OSError:
            pass


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


@dataclass(frozen=True)
class _SourceFiles:
    pairs: list[tuple[Path, Path]]  # (source, destination) of the images brought in and their captions
    other_images: list[Path]  # images sd-scripts does not train (AVIF, GIF, TIFF, ...): left behind
    other_captions: list[Path]  # their captions: left behind too
    hidden: list[Path]  # hidden images and captions (".x.png"): sd-scripts never reads them
    broken_links: list[Path]  # links to nothing (or a loop of links)
    other_ext_captions: list[Path]  # captions of brought-in images with another usual extension (and none in ours)
    other_ext_beside: list[Path]  # ... of images that have a caption in ours too (it came in)
    case_captions: list[Path]  # captions in ours but for the case of the extension (x.TXT), none exact


def _source_files(src: Path, caption_ext: str, dest_dir: Path) -> _SourceFiles:
    """The files directly in ``src`` to bring in, and those left behind (each kind named by the caller)."""
    if not src.is_dir():
        raise LoratuiError(f"--images {src} is not a folder")
    names, hidden, broken = [], [], []
    data_exts = IMAGE_EXTENSIONS | OTHER_IMAGE_EXTENSIONS | {caption_ext.lower()}
    with os.scandir(src) as it:
        for entry in it:
            regular = _is_file(entry)
            if entry.name.startswith("."):
                if regular and os.path.splitext(entry.name)[1].lower() in data_exts:
                    hidden.append(src / entry.name)  # .DS_Store and the like are no one's data: not named
            elif regular:
                names.append(entry.name)
            elif entry.is_symlink() and not os.path.exists(entry.path):
                broken.append(src / entry.name)
    names.sort()
    name_set = set(names)
    by_stem_ext: dict[tuple[str, str], list[str]] = {}  # (stem, extension lowercased) -> names: x.TXT, x.txt
    for name in names:
        stem, ext = os.path.splitext(name)
        by_stem_ext.setdefault((stem, ext.lower()), []).append(name)
    pairs, other_images, other_captions, other_ext_captions, other_ext_beside = [], [], [], [], []
    case_captions: list[Path] = []
    for name in names:
        stem, ext = os.path.splitext(name)
        caption = stem + caption_ext
        if ext.lower() in OTHER_IMAGE_EXTENSIONS:
            other_images.append(src / name)
            if caption in name_set:
                other_captions.append(src / caption)
            continue
        if ext.lower() not in IMAGE_EXTENSIONS:
            continue
        pairs.append((src / name, dest_dir / name))
        if caption in name_set:
            pairs.append((src / caption, dest_dir / caption))
        # any case of the extension: on Linux sd-scripts reads only stem + caption_ext exactly
        others = [src / found for other in OTHER_CAPTION_EXTENSIONS if other.lower() != caption_ext.lower()
                  for found in by_stem_ext.get((stem, other), [])]
        cased = [src / found for found in by_stem_ext.get((stem, caption_ext.lower()), []) if found != caption]
        if caption in name_set:
            other_ext_beside.extend(others + cased)
        else:
            other_ext_captions.extend(others)
            case_captions.extend(cased)
    if not pairs:
        formats = ", ".join(dict.fromkeys(p.suffix[1:].upper() for p in other_images))
        also = (f": its {len(other_images)} {formats} image(s) are formats sd-scripts does not train; convert them "
                f"to PNG first{jpeg_rename_note(other_images)}") if other_images else ""
        hidden_images = sorted(p.name for p in hidden if p.suffix.lower() in IMAGE_EXTENSIONS)
        metadata = [name for name in hidden_images if name.startswith(APPLE_DOUBLE_PREFIX)]
        hidden_images = [name for name in hidden_images if not name.startswith(APPLE_DOUBLE_PREFIX)]
        if hidden_images and not also:
            also = (f": its {len(hidden_images)} hidden image(s) ({hidden_images[0]}...) are never trained: rename "
                    "them without the leading dot")
        elif metadata and not also:
            also = (f": its {len(metadata)} {metadata[0]}... file(s) are macOS metadata (AppleDouble), not images: "
                    "copy the images themselves")
        raise LoratuiError(f"--images {src} has no images ({', '.join(sorted(IMAGE_EXTENSIONS))}){also}")
    # Two images sharing a stem share one caption: list that caption once, and it is not left behind.
    unique = list(dict.fromkeys(pairs))
    taken = {s for s, _ in unique}
    return _SourceFiles(unique, other_images, list(dict.fromkeys(c for c in other_captions if c not in taken)),
                        sorted(hidden), sorted(broken), list(dict.fromkeys(other_ext_captions)),
                        list(dict.fromkeys(other_ext_beside)), list(dict.fromkeys(case_captions)))


def _is_file(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file()  # follows a link: one to a real file counts
    except OSError:  # a loop of links
        return False


def _place(src: Path, dest: Path, mode: LinkMode) -> None:
    """One file into the staging folder (``dest`` does not exist). Captions always come as "copy"."""
    if mode == "symlink":
        os.symlink(src.resolve(), dest)
    elif mode == "hardlink":
        try:
            # the file a link leads to: os.link on Linux links the symlink itself, and a relative one
            # (real/pic.png) then dangles in the concept folder
            os.link(os.path.realpath(src), dest)
        except OSError as exc:
            raise LoratuiError(f"cannot hard-link {src} to {dest}: {exc.strerror} (use --link or copy); "
                               "nothing was added") from None
    else:
        shutil.copy2(src, dest)  # follows a link: the target's bytes, never a copy of the link
