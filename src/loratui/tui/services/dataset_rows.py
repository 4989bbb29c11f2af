"""The Dataset screen's rows: one ``ImageRow`` per image (or per caption two images share), listed from
the directory entries alone, so the first frame waits for no image or caption read. DatasetStore
(services/dataset_store.py) holds them; a concept folder that cannot be read is named, not fatal.
The reg folder's images (sd-scripts trains them too: with their captions, or the folder's class tokens
when a caption is missing) are rows as well, marked ``reg``, after the train folder's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from loratui.core.captions import Caption, nfc, read_caption
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
    reg: bool = False           # a regularisation image (the reg folder's): bulk changes leave it out unless asked

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
        """"folder/name first-line-of-the-caption", in NFC and lowercased (a macOS copy's decomposed `café`
        matches a typed one): what the filter's words look in. Kept until
        the caption changes: building it for every row on every key was most of a filter's time at 20,000."""
        caption = self.caption
        kept = self.__dict__.get("_search")
        if kept is not None and kept[0] is caption:
            return kept[1]
        folder = ("reg/" + self.folder) if self.reg else self.folder  # as the Concept column shows it
        text = nfc(folder + "/" + self.name + " " + (caption.first_line if caption is not None else "")).lower()
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
    caption read of an earlier listing never pairs its rows with a later listing's folders. The train
    folder's rows come first, the reg folder's (``reg_root``) after them, from ``train_count`` on."""

    def __init__(self, rows=(), unreadable_folders=(), reg_root: Path | None = None,
                 train_count: int | None = None) -> None:
        super().__init__(rows)
        self.unreadable_folders: list[str] = list(unreadable_folders)
        self.reg_root = reg_root
        self.train_count = len(self) if train_count is None else train_count

    def train_part(self) -> RowListing:
        """The train folder's rows (self when there are no reg rows), with the unreadable folders."""
        if self.train_count == len(self):
            return self
        return RowListing(self[:self.train_count], self.unreadable_folders)


def list_with_reg(root: Path, reg_root: Path | None, caption_extension: str) -> RowListing:
    """The train folder's rows, then the reg folder's (marked reg): one listing. A reg folder that cannot
    be read is one more unreadable line, never an empty table; one that is the train folder is not listed twice."""
    train = list_image_rows(root, caption_extension)
    if reg_root is None or os.path.realpath(reg_root) == os.path.realpath(root):
        return train
    try:
        reg = list_image_rows(reg_root, caption_extension, reg=True)
    except LoratuiError as exc:
        return RowListing(train, [*train.unreadable_folders, str(exc)], reg_root, len(train))
    return RowListing([*train, *reg], [*train.unreadable_folders, *reg.unreadable_folders], reg_root, len(train))


def list_image_rows(root: Path, caption_extension: str, reg: bool = False) -> RowListing:
    """The images of the train folder ``root`` and its concept folders, from the directory entries only,
    with one line for each concept folder that cannot be read (left out: the others still list, as the
    scan names it). LoratuiError when ``root`` itself cannot be read. ``reg``: ``root`` is a reg folder:
    its rows are marked, and images lying directly in it are not listed (sd-scripts reads none of them)."""
    rows: list[ImageRow] = []
    unreadable: list[str] = []
    folders: list[tuple[str, str]] = [] if reg else [("", str(root))]
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
            rows.append(row := ImageRow(entry.path, folder, size, cap, reg=reg))
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
