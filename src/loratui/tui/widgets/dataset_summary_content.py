"""What the Dataset summary pane says, as pure functions (a scan in, textual Content out): per concept folder
`repeats × images = samples` with its caption counts, the train samples per epoch, captions missing and
empty, tags, and the problems by severity (a mark and a word each, never colour alone). The caption counts
come from the captions the app holds now (``caption_counts``, ``captions_now``); nothing here looks at the
files. The widget that shows it is widgets/dataset_summary.py (which re-exports these names).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.content import Content

from loratui.core.captions import Caption, tag_frequency
from loratui.core.dataset import DatasetScan, Problem, Subset, is_image
from loratui.tui.services.terminal_graphics import ascii_only

SEVERITIES = ("error", "warning", "info")
_SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
UNICODE_MARKS = {"error": "✗", "warning": "!", "info": "·"}
ASCII_MARKS = {"error": "x", "warning": "!", "info": "-"}  # the Linux console font lacks ✗ and ·
SEVERITY_STYLES = {"error": "$text-error bold", "warning": "$text-warning", "info": "$text-muted"}
DEFAULT_MAX_PROBLEMS = 5


def default_marks() -> dict[str, str]:
    return ASCII_MARKS if ascii_only() else UNICODE_MARKS


def plural(count: int, word: str) -> str:
    if word == "info":
        return f"{count:,} info"
    return f"{count:,} {word}" + ("" if count == 1 else "s")


@dataclass(frozen=True)
class CaptionStats:
    """Caption facts the scan does not hold: tags in use and sentence captions."""

    captions: int = 0        # caption files that exist
    distinct_tags: int = 0
    tag_uses: int = 0        # sum over tags of the captions holding them
    free_text: int = 0       # sentence (BLIP-style) captions
    scope: str = ""          # which images the tags are of ("train", "reg"), said beside "Tags"; "": one kind only

    @classmethod
    def from_captions(cls, captions: Iterable[Caption]) -> CaptionStats:
        existing = [caption for caption in captions if caption.exists]
        counts = tag_frequency(existing)
        return cls(len(existing), len(counts), sum(counts.values()),
                   sum(1 for caption in existing if caption.is_free_text))

    @classmethod
    def from_frequency(cls, frequency: Mapping[str, int], captions: Iterable[Caption], scope: str = "") -> CaptionStats:
        """As ``from_captions``, with the tag counts of those captions already made (the app keeps
        them current): counting the tags of 20,000 captions again took most of a write's redraw."""
        existing = [caption for caption in captions if caption.exists]
        used = [count for count in frequency.values() if count > 0]
        return cls(len(existing), len(used), sum(used), sum(1 for caption in existing if caption.is_free_text), scope)


# ---- rendering (pure: scan in, Content out) ---------------------------------------------------


@dataclass(frozen=True)
class CaptionCounts:
    """One concept folder's images by caption: a prompt, an empty caption file, no caption file."""

    captioned: int = 0
    empty: int = 0    # the file exists but gives no prompt (0 bytes, or a blank first line)
    missing: int = 0


# image path -> its caption file as the app holds it now, "" when it has none
CaptionsNow = Mapping[str, str]


def captions_now(rows: Iterable[Any]) -> dict[str, str]:
    """``CaptionsNow`` of the app's image rows (``image_str``, ``caption_str``, ``caption`` and
    ``twins``, as services.dataset_store.ImageRow has them); a row whose caption is still being read is
    left out, so its images keep the scan's answer."""
    out: dict[str, str] = {}
    for row in rows:
        caption = row.caption
        if caption is None:
            continue
        found = row.caption_str if caption.exists else ""
        out[row.image_str] = found
        if row.twins:  # a.png and a.jpg share a.txt: one row, two images
            out.update(dict.fromkeys(row.twins, found))
    return out


def caption_counts(scan: DatasetScan, now: CaptionsNow | None = None) -> dict[Path, CaptionCounts]:
    """Per concept folder (by path): its images counted by caption. ``now`` says which caption file
    each image has at present (the app's rows): the scan's own counts go stale after the first write.
    Images not in ``now`` (reg folders, captions still loading) keep what the scan found; so does an
    image whose scan found a caption the table does not show (sd-scripts' face-crop names,
    ``a_1_2_3_4.png`` with ``a.txt``). Empty captions (0 bytes, or a blank first line) are the
    ``empty_caption`` problems, which the app checks again after every write. 20,000 images: 5 ms."""
    empty = {os.fspath(problem.path) for problem in scan.problems if problem.kind == "empty_caption"}
    held = (now or {}).get
    counts: dict[Path, CaptionCounts] = {}
    for subset in scan.subsets:
        captioned = empties = missing = 0
        for image in subset.images:
            found = str(image.caption_path) if image.caption_path is not None else ""
            caption = held(str(image.path))
            if caption:  # the app holds a caption file for it
                found = caption
            elif caption is not None and found and os.path.splitext(found)[0] == os.path.splitext(str(image.path))[0]:
                found = ""  # its own caption file (not a face-crop name's), deleted since the scan
            if not found:
                missing += 1
            elif found in empty:
                empties += 1
            else:
                captioned += 1
        counts[subset.path] = CaptionCounts(captioned, empties, missing)
    return counts


def _fill(pieces: list[tuple[str, str]], width: int, indent: str = " ") -> list[Content]:
    """Pieces of text (with a style each) joined by spaces, a new line (``indent`` first) only between
    two pieces: a count stays with its word (``78 missing``) when the pane is narrow."""
    lines: list[list[tuple[str, str]]] = [[]]
    used = 0
    for text, style in pieces:
        if lines[-1] and used + 1 + len(text) > width:
            lines.append([(indent, "")])
            used = len(indent)
        elif lines[-1]:
            lines[-1].append((" ", ""))
            used += 1
        lines[-1].append((text, style))
        used += len(text)
    return [Content.assemble(*line) for line in lines]


@dataclass(frozen=True)
class _ConceptCells:
    name: str
    numbers: str          # `repeats × images = samples`, padded to line up with the other folders
    plain_numbers: str    # the same, unpadded (narrow layout: one folder per block)
    captions: list[str]   # "2,400 captioned,", "22 empty,", "78 missing": pieces a narrow pane breaks between
    missing: int          # counted for the warning colour: 0 for a reg folder (its missing captions are info)
    empty: int

    @property
    def captions_text(self) -> str:
        return " ".join(self.captions)


def _concept_cells(subsets: list[Subset], by_folder: Mapping[Path, CaptionCounts]) -> list[_ConceptCells]:
    repeats_w = max(len(f"{s.repeats:,}") for s in subsets)
    images_w = max(len(f"{s.num_images:,}") for s in subsets)
    cells = []
    for subset in subsets:
        name = subset.name + (" (reg)" if subset.is_reg else "")
        warn = not subset.is_reg  # a reg image needs no caption (info: the class tokens stand in)
        numbers = f"{subset.repeats:>{repeats_w},} × {subset.num_images:>{images_w},} = {subset.samples:,}"
        plain = f"{subset.repeats:,} × {subset.num_images:,} = {subset.samples:,}"
        count = by_folder.get(subset.path, CaptionCounts())
        captioned, empty, missing = count.captioned, count.empty, count.missing
        if not subset.images:
            captions = ["no images"]
        elif captioned == subset.num_images:
            captions = ["all captioned"]
        elif not captioned and not empty:
            captions = ["no captions"]
        else:
            counts = [f"{captioned:,} captioned", f"{empty:,} empty" if empty else "",
                      f"{missing:,} missing" if missing else ""]
            counts = [count for count in counts if count]
            captions = [count + "," for count in counts[:-1]] + counts[-1:]
        cells.append(_ConceptCells(name, numbers, plain, captions, missing if warn else 0, empty if warn else 0))
    return cells


def _concept_lines(subsets: list[Subset], width: int, counts: Mapping[Path, CaptionCounts]) -> list[Content]:
    cells = _concept_cells(subsets, counts)
    name_w = max(len(c.name) for c in cells)
    numbers_w = max(len(c.numbers) for c in cells)
    captions_w = max(len(c.captions_text) for c in cells)
    lines: list[Content] = []
    if 1 + name_w + 2 + numbers_w + 2 + captions_w <= width:  # one aligned line per folder
        for c in cells:
            style = "$text-warning" if c.missing or c.empty else ""
            lines.append(Content.assemble(f" {c.name:<{name_w}}  {c.numbers:<{numbers_w}}  ",
                                          (c.captions_text, style)))
        return lines
    for c in cells:  # narrow: the name, then the numbers (and the captions beside them when they fit)
        style = "$text-warning" if c.missing or c.empty else ""
        lines.append(Content(" " + c.name))
        if 3 + len(c.plain_numbers) + 2 + len(c.captions_text) <= width:
            lines.append(Content.assemble(f"   {c.plain_numbers}  ", (c.captions_text, style)))
        else:
            lines.append(Content(f"   {c.plain_numbers}"))
            lines.extend(_fill([("  ", "")] + [(piece, style) for piece in c.captions], width, indent="   "))
    return lines


def short_path(path: Path) -> str:
    """``path`` relative to the working folder when it is under it (as the user typed it, mostly)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve())) or "."
    except (ValueError, OSError):
        return str(path)


def _sorted_problems(scan: DatasetScan) -> list[Problem]:
    return sorted(scan.problems, key=lambda p: _SEVERITY_RANK.get(p.severity, len(SEVERITIES)))


def summary_content(scan: DatasetScan | None, stats: CaptionStats | None = None, *, width: int = 35,
                    max_problems: int = DEFAULT_MAX_PROBLEMS, marks: dict[str, str] | None = None,
                    counts: Mapping[Path, CaptionCounts] | None = None) -> Content:
    """The whole summary as one Content, laid out for `width` cells; `counts`: `caption_counts` of
    the captions held now (None: as the scan found them)."""
    if scan is None:
        return Content.styled("No dataset scanned yet.", "$text-muted")
    marks = marks or default_marks()
    lines: list[Content] = []
    heading = "bold"

    legend = "(repeats × images = samples)"
    if len("Concepts ") + len(legend) <= width:
        lines.append(Content.assemble(("Concepts ", heading), (legend, "$text-muted")))
    else:  # the legend on a line of its own, indented when that still fits
        lines += [Content.styled("Concepts", heading),
                  Content.styled((" " if len(legend) < width else "") + legend, "$text-muted")]
    counts = caption_counts(scan) if counts is None else counts
    if scan.subsets:
        lines.extend(_concept_lines(scan.subsets, width, counts))
    else:
        lines.append(Content.styled(" no `N_name` concept folders", "$text-error"))
    if scan.reg_only:  # a reg folder opened on its own: reg images, no training samples
        lines.extend(_reg_only_lines(scan, counts, width))

    if not scan.reg_only:
        train = scan.train_subsets
        missing = sum(counts.get(s.path, CaptionCounts()).missing for s in train)
        empty = sum(counts.get(s.path, CaptionCounts()).empty for s in train)
        lines.append(Content(""))
        lines.extend(_fill([("Train samples per epoch:", heading), (f"{scan.train_samples_per_epoch:,}", "")], width))
        images, folders = scan.num_train_images, len(train)
        lines.extend(_fill([(f" from {images:,} image{'' if images == 1 else 's'}", ""),
                            (f"in {folders:,} folder{'' if folders == 1 else 's'}", "")], width))
        lines.append(Content.assemble(("Captions missing: ", heading),
                                      (f"{missing:,}", "$text-warning bold" if missing else "")))
        if empty:  # they exist, but sd-scripts stops on them (or trains with an empty prompt)
            lines.append(Content.assemble(("Captions empty: ", heading), (f"{empty:,}", "$text-warning bold")))
        if scan.reg_subsets:  # the table lists them after the train images (reg/1_person), counted apart here
            lines.extend(_reg_only_lines(scan, counts, width))
    if stats is not None:
        tags = f"Tags ({stats.scope}):" if stats.scope else "Tags:"  # the tag list's images: train, or reg
        lines.extend(_fill([(tags, ""), (f"{stats.distinct_tags:,} distinct,", ""),
                            (f"{stats.tag_uses:,} uses", "")], width))
        if stats.free_text:
            lines.append(Content(f" {plural(stats.free_text, 'sentence caption')}"))

    lines.append(Content(""))
    if not scan.problems:
        lines.append(Content.assemble(("Problems: ", heading), "none"))
        return Content("\n").join(lines)
    counts = {severity: 0 for severity in SEVERITIES}
    for problem in scan.problems:
        counts[problem.severity] = counts.get(problem.severity, 0) + 1
    parts = [(f"{marks[severity]} {plural(counts[severity], severity)}",
              SEVERITY_STYLES[severity] if counts[severity] else "$text-muted") for severity in SEVERITIES]
    if len("Problems:") + sum(2 + len(text) for text, _ in parts) <= width:
        lines.append(Content.assemble(("Problems:", heading), *(piece for part in parts for piece in ("  ", part))))
    else:  # narrow: one severity a line
        lines.append(Content.styled("Problems", heading))
        lines.extend(Content.assemble(" ", part) for part in parts)
    ordered = _sorted_problems(scan)
    for problem in ordered[:max_problems]:
        mark = marks.get(problem.severity, "?")
        lines.append(Content.assemble((mark, SEVERITY_STYLES.get(problem.severity, "")), " ", problem.message))
    if len(ordered) > max_problems:
        lines.append(Content.styled(f"… {len(ordered) - max_problems:,} more", "$text-muted"))
    return Content("\n").join(lines)


def _reg_only_lines(scan: DatasetScan, counts: Mapping[Path, CaptionCounts], width: int) -> list[Content]:
    """The reg images, apart from the train samples (a reg folder on its own, or a project's beside its
    train folder): sd-scripts repeats or cuts them to the training samples' count, so they are no samples
    of their own; their missing captions are info (the folder's class tokens stand in)."""
    reg = scan.reg_subsets
    missing = sum(counts.get(s.path, CaptionCounts()).missing for s in reg)
    empty = sum(counts.get(s.path, CaptionCounts()).empty for s in reg)
    folders = f"in {len(reg):,} folder{'' if len(reg) == 1 else 's'}"
    lines = [Content(""), *_fill([("Reg images:", "bold"), (f"{scan.num_reg_images:,}", ""), (folders, "")], width)]
    words = " each epoch they are repeated or cut to as many samples as the training images give".split(" ")[1:]
    lines.extend(_fill([(" " + words[0], "$text-muted")] + [(word, "$text-muted") for word in words[1:]], width))
    lines.extend(_fill([("Captions missing:", "bold"), (f"{missing:,}", "")]
                       + ([("(class tokens used)", "$text-muted")] if missing else []), width))
    if empty:  # sd-scripts stops on an empty caption file, reg or not
        lines.append(Content.assemble(("Captions empty: ", "bold"), (f"{empty:,}", "$text-warning bold")))
    return lines


def problem_image_paths(scan: DatasetScan) -> list[Path]:
    """Images with a problem, each once, in dataset order (folder order of the scan, then file name).

    A problem about a caption file counts for the images that use that caption; problems about
    folders and orphan captions have no image to show and are left out.
    """
    by_caption: dict[Path, list[Path]] = {}
    for subset in scan.subsets:
        for image in subset.images:
            if image.caption_path is not None:
                by_caption.setdefault(image.caption_path, []).append(image.path)
    found: set[Path] = set()
    for problem in scan.problems:
        if problem.path in by_caption:
            found.update(by_caption[problem.path])
        elif is_image(problem.path):
            found.add(problem.path)
    folder_rank = {subset.path: rank for rank, subset in enumerate(scan.subsets)}
    return sorted(found, key=lambda p: (folder_rank.get(p.parent, len(folder_rank)), str(p.parent), p.name))
