"""Where captions go and how they are written: overwrite, append (merge), skip existing.

Every write is atomic (core.captions -> core.fsutil), so Ctrl-C or a kill at any moment leaves
the old caption or the new one, never half a file; a run writes through core's ChangeWriter, which
journals what it replaces, so a whole run is one `loratui tags undo DIR` away. ``skip`` decides at
planning time; so does a resume (captioners.resume), which skips exactly the images the interrupted
run wrote and keeps its mode, so an interrupted append or overwrite run over 10,000 images resumes
where it stopped without leaving the user's own captions untouched.

Tags a captioner promises to write first (WD14's --always-first-tags and --rating first, BLIP's
--prefix) come back marked (``Leading``, ``LeadingText``) so that an append puts them first too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from loratui.core.captions import (
    OVERWRITE, ChangeWriter, caption_path, join_tags, read_caption, split_tags, write_checked,
)
from loratui.core.dataset import is_image, iter_images, list_folder, parse_subset_name
from loratui.core.errors import LoratuiError
from loratui.core.fsutil import atomic_write_bytes

if TYPE_CHECKING:
    from loratui.captioners.resume import InterruptedRun

WRITE_MODES = ("overwrite", "append", "skip")


@dataclass(frozen=True)
class Job:
    image: Path
    caption: Path
    note: str = ""  # why a skipped job is skipped, when it is not "caption exists" (a warning)
    resumed: bool = False  # skipped: the interrupted run being resumed wrote it


class Leading(list):
    """Tags whose first ``lead`` items must lead the caption, also when appended to one."""

    def __init__(self, tags=(), lead: int = 0):
        super().__init__(tags)
        self.lead = lead


class LeadingText(str):
    """Free text that starts with ``prefix``, which must lead the caption when appended to one."""

    prefix: str = ""

    def __new__(cls, text: str, prefix: str = ""):
        made = super().__new__(cls, text)
        made.prefix = prefix
        return made


def find_images(dataset: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Images of a flat folder, or of a kohya train folder's ``N_concept`` subfolders.

    Without --recursive, other subfolders are left alone (as sd-scripts' tagger does)."""
    root = Path(dataset).expanduser()
    if not root.is_dir():
        raise LoratuiError(f"{dataset}: not a folder: pass the dataset folder (images or N_concept folders)")
    if recursive:
        return list(iter_images(root, recursive=True))
    images = list(iter_images(root, recursive=False))
    for sub in list_folder(root):
        if not sub.name.startswith(".") and sub.is_dir() and parse_subset_name(sub.name) is not None:
            images.extend(iter_images(sub.path, recursive=False))
    return images


def plan(images: list[Path], extension: str = ".txt", mode: str = "overwrite",
         resume: "InterruptedRun | None" = None) -> tuple[list[Job], list[Job]]:
    """(jobs to caption, jobs skipped because a caption exists and mode is 'skip', or because the
    run ``resume`` continues wrote it)."""
    if mode not in WRITE_MODES:
        raise LoratuiError(f"write mode {mode!r}: use one of {', '.join(WRITE_MODES)}")
    todo, skipped = [], []
    owner: dict[Path, Path] = {}
    for image in images:
        if not is_image(image):
            continue
        job = Job(image, caption_path(image, extension))
        first = owner.setdefault(job.caption, image)
        if first != image:  # a.png + a.jpg: one a.txt, which sd-scripts uses for both
            skipped.append(Job(image, job.caption, f"shares {job.caption.name} with {first.name}, which is captioned; "
                                                   "rename one of them to give each its own caption"))
        elif resume is not None and resume.wrote(job.caption):
            skipped.append(Job(job.image, job.caption, resumed=True))
        elif mode == "skip" and job.caption.is_file() and job.caption.stat().st_size > 0:
            skipped.append(job)
        else:
            todo.append(job)
    return todo, skipped


def same_tag_key(tag: str) -> str:
    """What two spellings of one tag share: case, and ``_`` for a space (not in short kaomoji such as
    ``^_^``). The dataset scan's rule for repeated tags (core.dataset's caption check, which flags
    ``'white background' = 'white_background'``), so a merge adds nothing the scan flags."""
    from loratui.core.dataset import tag_variant_key

    return tag_variant_key(tag.strip())


def merge(existing: list[str], new: list[str], lead: int = 0) -> list[str]:
    """Existing tags first, as spelled (the user's words win), then new ones not already there in
    any spelling: ``white_background`` is not added beside ``white background``. The first ``lead``
    new tags (trigger words, a rating asked first) go before them all, as their options promise,
    and an existing spelling of one of them is dropped."""
    out: list[str] = []
    lead_keys: set[str] = set()
    for tag in new[:lead]:
        if same_tag_key(tag) not in lead_keys:
            lead_keys.add(same_tag_key(tag))
            out.append(tag)
    out += [tag for tag in existing if same_tag_key(tag) not in lead_keys]
    seen = lead_keys | {same_tag_key(t) for t in existing}
    for tag in new[lead:]:
        key = same_tag_key(tag)
        if key not in seen:
            seen.add(key)
            out.append(tag)
    return out


def caption_tags(result: list[str] | str) -> list[str]:
    """A captioner result as the list stored on the caption's first line (free text: one item)."""
    if isinstance(result, str):
        return [result.strip()] if result.strip() else []
    return [t for t in result if t]


def _lead(result: list[str] | str, new: list[str], separator: str) -> int:
    """How many of ``new`` (the result as tags) must lead an appended caption."""
    if isinstance(result, LeadingText):
        prefix = result.prefix.strip()
        return min(len(new), len(split_tags(prefix, separator))) if prefix else 0
    return min(len(new), getattr(result, "lead", 0))


def render_result(job: Job, result: list[str] | str, mode: str, separator: str = ",") -> tuple[str, bytes, object]:
    """(first line, the caption file's new bytes, what the file must still hold for the write to go
    ahead: its bytes as read for append, OVERWRITE for overwrite). Reads, never writes."""
    tags = caption_tags(result)
    if mode == "append":
        caption = read_caption(job.caption, separator)
        if caption.exists and caption.raw and caption.raw.strip():  # an empty file is written afresh
            # Free text is split the way the file will be read back, so a prefix such as
            # "ohwx, " (or a sentence already there) is not appended again on every run.
            new = split_tags(result, separator) if isinstance(result, str) else tags
            tags = merge(caption.tags, new, _lead(result, new, separator))
            return caption.text(tags), caption.format(tags), caption.raw  # keeps encoding, newlines, lines, style
    line = join_tags(tags, separator)
    return line, (line + "\n").encode("utf-8"), OVERWRITE  # overwrite: the whole file, as sd-scripts does


def write_result(job: Job, result: list[str] | str, mode: str, separator: str = ",", dry_run: bool = False,
                 writer: ChangeWriter | None = None, force: bool = False) -> str:
    """Write one caption (through ``writer``, which journals it for undo, when given); returns its
    first line as written (or as it would be with dry_run). A read-only caption is refused unless
    ``force``; an append whose caption changed meanwhile is a ConflictError."""
    line, data, expected = render_result(job, result, mode, separator)
    if dry_run:
        return line
    if writer is not None:
        writer.write(job.caption, data, expected)
    elif write_checked(job.caption, data, expected, force=force) is not False:
        atomic_write_bytes(job.caption, data)
    return line
