"""The Dataset screen's rows: one ``ImageRow`` per image (or per caption two images share), listed from
the directory entries alone, so the first frame waits for no image or caption read. DatasetStore
(services/dataset_store.py) holds them; a concept folder that cannot be read is named, not fatal.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from loratui.core.captions import Caption, read_caption
from loratui.core.dataset import IMAGE_EXTENSIONS, entry_is_dir, entry_is_file, list_folder, parse_subset_name
from loratui.core.errors import LoratuiError

PREVIEW_CHARS = 200


@dataclass(eq=False)
class ImageRow:
    """One image in the browser. ``caption`` is None until the caption worker has read it.

    Paths are kept as strings and made Path objects on first use: building 20,000 Paths costs more
    than the whole directory listing, and the first frame waits for the listing.
    """

    image_str: str
    folder: str                 # the concept folder's name, "" for images directly in the train folder
    size: int                   # bytes on disk
    caption_str: str
    caption: Caption | None = None
    problem: str | None = None  # the scan's most severe problem for this image (or its caption)
    severity: str | None = None
    problem_kind: str | None = None
    state: str = ""             # "saved", "conflict", "error: ..." after a write from the app
    twins: list[str] | None = None  # other images sharing this caption (a.png + a.jpg -> a.txt): one row

    @cached_property
    def image(self) -> Path:
        return Path(self.image_str)

    @cached_property
    def caption_file(self) -> Path:
        return Path(self.caption_str)

    @cached_property
    def name(self) -> str:
        return os.path.basename(self.image_str)

    def search_text(self) -> str:
        """"folder/name first-line-of-the-caption", lowercased: what the filter's words look in. Kept until
        the caption changes: building it for every row on every key was most of a filter's time at 20,000."""
        caption = self.caption
        kept = self.__dict__.get("_search")
        if kept is not None and kept[0] is caption:
            return kept[1]
        text = (self.folder + "/" + self.name + " " + (caption.first_line if caption is not None else "")).lower()
        self._search = (caption, text)  # one tuple swapped: a filter worker and the UI thread may both build it
        return text

    @property
    def tag_count(self) -> int | None:
        return None if self.caption is None else len(self.caption.tags)

    @property
    def caption_text(self) -> str:
        if self.caption is None:
            return ""
        return self.caption.first_line[:PREVIEW_CHARS]

    @property
    def uncaptioned(self) -> bool:
        return self.caption is not None and (not self.caption.exists or not self.caption.tags)


class RowListing(list):
    """The rows of one listing, carrying the lines of the concept folders it could not read
    (``unreadable_folders``): one object, so the store adopts both at once, on the UI thread, and a
    caption read of an earlier listing never pairs its rows with a later listing's folders."""

    def __init__(self, rows=(), unreadable_folders=()) -> None:
        super().__init__(rows)
        self.unreadable_folders: list[str] = list(unreadable_folders)


def list_image_rows(root: Path, caption_extension: str) -> RowListing:
    """The images of the train folder ``root`` and its concept folders, from the directory entries only,
    with one line for each concept folder that cannot be read (left out: the others still list, as the
    scan names it). LoratuiError when ``root`` itself cannot be read."""
    rows: list[ImageRow] = []
    unreadable: list[str] = []
    folders: list[tuple[str, str]] = [("", str(root))]
    for entry in list_folder(root):
        # a link loop is no folder (the scan names it), as sd-scripts skips it
        if not entry.name.startswith(".") and parse_subset_name(entry.name) and entry_is_dir(entry):
            folders.append((entry.name, entry.path))
    seen: dict[str, ImageRow] = {}
    for folder, path in folders:
        try:
            entries = list_folder(path)
        except LoratuiError as exc:
            unreadable.append(str(exc))
            continue
        for entry in entries:
            stem, suffix = os.path.splitext(entry.path)
            if suffix.lower() not in IMAGE_EXTENSIONS or entry.name.startswith(".") or not entry_is_file(entry):
                continue
            cap = stem + caption_extension
            if cap in seen:  # a.png and a.jpg share one caption: one row, as `tags` counts it
                twin = seen[cap]
                twin.twins = [*(twin.twins or []), entry.path]
                continue
            try:
                size = entry.stat().st_size
            except OSError:
                size = 0
            rows.append(row := ImageRow(entry.path, folder, size, cap))
            seen[cap] = row
    return RowListing(rows, unreadable)


def captions_of_rows(rows: list[ImageRow], separator: str, unreadable: list[str]) -> list[Caption]:
    """Each row's caption read on its own (what core's load_captions gives, when a folder it would list
    cannot be read); one that cannot be read goes to ``unreadable`` as its one line."""
    captions = []
    for row in rows:
        try:
            captions.append(read_caption(row.caption_file, separator))
        except LoratuiError as exc:
            unreadable.append(str(exc))
    return captions


def unreadable_folders_line(lines: list[str]) -> str:
    """The notification for concept folders the table leaves out: the first one's line (its fix
    included), how many more, and that the rest loaded."""
    more = f" ({len(lines) - 1} more folder(s) cannot be read either)" if len(lines) > 1 else ""
    return f"{lines[0]}{more}; its images are not listed, the other folders loaded"
