"""The dataset the app has open: its image rows, their captions, and every write to them.

A thin layer over core: rows come from a directory listing (fast: the first frame needs only file
names; the reg folder's images follow the train folder's, marked reg: ``all_rows``, while ``rows`` stays
the train images, what "every image" means for a bulk change, the tag counts and the Caption screen),
captions from core.captions.load_captions, problems from core.dataset.scan_dataset, edits go through
core's plan + journal path (``plan_set_tags`` / ``plan_edits`` -> ``apply_plan``, undo and
redo from the journal). Nothing here touches a widget: the blocking methods run in thread workers,
and the results are handed to ``adopt_*`` on the UI thread, which only swaps references.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from loratui.core.captions import (
    DEFAULT_SEPARATOR, Caption, EditPlan, TagInfo, apply_plan, load_captions, load_selected_tags, plan_set_tags,
    read_caption, tag_categories, tag_frequency,
)
from loratui.core.dataset import (
    DatasetLocation, DatasetScan, Problem, caption_problems, captions_of_unreadable_images, config_reg_dir,
    config_token_limit, missing_caption_problem, parse_subset_name, scan_dataset,
)
from loratui.core.errors import LoratuiError, PartialWriteError
from loratui.tui.services.dataset_filter import (  # noqa: F401 - the filter's names are this module's too
    WHERE_FLAGS, WHERE_WORDS, FilterResult, RowFilter, split_filter,
)
from loratui.tui.services.dataset_journals import drop_stale_redo, journal_root, redo_root, undo_root
from loratui.tui.services.dataset_rows import (  # noqa: F401 - ImageRow, PREVIEW_CHARS: this module's names too
    PREVIEW_CHARS, ImageRow, RowListing, captions_of_rows, list_image_rows, list_with_reg, unreadable_folders_line,
)

@dataclass
class CaptionLoad:
    captions: dict[Path, Caption] = field(default_factory=dict)
    error: str | None = None     # one line for the notification: what could not be read, and what to do
    unreadable: dict[str, str] = field(default_factory=dict)  # caption file -> why it cannot be read


class PathIndex(dict):
    """Rows by caption file, looked up by Path or str alike."""

    def get(self, key, default=None):
        return super().get(os.fspath(key), default)

    def __getitem__(self, key):
        return super().__getitem__(os.fspath(key))

    def __contains__(self, key) -> bool:
        return super().__contains__(os.fspath(key))


def config_caption_extension(config_path: Path | None) -> str:
    """The config's dataset.caption_extension (".caption" in kohya configs), read without loading the
    config (a config with other errors still opens: Settings shows them); ".txt" without one, or
    when the value is not an extension (Settings names it)."""
    import tomllib

    if config_path is None:
        return ".txt"
    try:
        data = tomllib.loads(Path(config_path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ".txt"
    dataset = data.get("dataset")
    value = dataset.get("caption_extension") if isinstance(dataset, dict) else None
    if isinstance(value, str) and value.startswith(".") and len(value) > 1 and "/" not in value:
        return value
    return ".txt"


class DatasetStore(RowFilter):
    """The open dataset. Row objects are stable: filtering and sorting reorder references (the filter box:
    RowFilter, services.dataset_filter)."""

    def __init__(self, location: DatasetLocation, caption_extension: str = ".txt",
                 separator: str = DEFAULT_SEPARATOR):
        self.location = location
        self.caption_extension = caption_extension
        self.separator = separator
        self.rows: list[ImageRow] = RowListing()  # the train images: a RowListing once listed (adopt_rows)
        self.all_rows: list[ImageRow] = self.rows  # the table's rows: the train images, then the reg images
        self.reg_root: Path | None = None  # the reg folder whose images are rows too (adopt_rows)
        self.by_caption: PathIndex = PathIndex()
        self.scan: DatasetScan | None = None
        self.captions_loaded = False
        self.frequency: Counter = Counter()
        self.tagger_csv: Path | None = None     # the WD14 tag list completions and categories come from
        self.tagger_tags: list[TagInfo] = []
        self.categories: dict[str, int] = {}
        self.problems_by_image: dict[str, list[Problem]] = {}  # the scan's problems, kept current after writes
        self.config_path: Path | None = None  # the app's config (set by the screen): its caption token limit
        self.unreadable: dict[str, str] = {}  # caption files that could not be read -> why (read_captions)
        self._search_cache: tuple[list, list, list[str]] | None = None  # (rows, their captions, search texts)
        # told (done, total) from the writer threads of the write running now (one at a time: the
        # Dataset screen's write gate); the screen sets it before the write's worker starts
        self.write_progress: Callable[[int, int], None] | None = None
        self._problem_count: int | None = None  # problem_count's, dropped by every _rank
        self._problem_rows: list[ImageRow] | None = None

    @property
    def root(self) -> Path:
        return self.location.train_dir

    @property
    def unreadable_folders(self) -> list[str]:
        """The concept folders the adopted listing could not read, each one line: held by the rows
        themselves (a RowListing), so the two always belong to the same listing."""
        return getattr(self.rows, "unreadable_folders", [])

    # ---- blocking work (thread workers) -------------------------------------------------------

    def list_rows(self) -> RowListing:
        """The images of the train folder and its concept folders, then the reg folder's (``reg_to_list``),
        from the directory entries only. A concept folder that cannot be read is left out and named (the
        listing's ``unreadable_folders``, the store's once ``adopt_rows`` takes it on the UI thread): one
        folder never empties the table. Sets nothing here: it runs in a worker."""
        return list_with_reg(self.root, self.reg_to_list(), self.caption_extension)

    def reg_to_list(self) -> Path | None:
        """The reg folder whose images the table lists beside the train images: with a config open, its
        dataset.reg_data_dir only (what trains; "" is none, so no reg rows, even beside a reg/ folder);
        without one, the project's reg/ (core's locate_dataset). None when the folder opened is itself a
        reg folder: its images are all the rows already."""
        if self.location.is_reg:
            return None
        if self.config_path is not None:
            return config_reg_dir(self.config_path)
        return self.location.reg_dir

    @property
    def reg_rows(self) -> list[ImageRow]:
        return self.all_rows[len(self.rows):] if self.all_rows is not self.rows else []

    def journal_root(self, paths) -> Path:
        """The folder whose undo journal records a write of these caption files (services.dataset_journals)."""
        return journal_root(self, paths)

    def undo_root(self) -> Path:
        return undo_root(self)

    def redo_root(self) -> Path:
        return redo_root(self)

    def read_captions(self) -> CaptionLoad:
        """Every caption; one that cannot be read (a folder named a.txt, no permission) is named and
        the rest load, so one odd file never blanks the whole table; so is a concept folder list_rows
        could not read (the error names it first)."""
        unreadable: list[str] = []
        rows = self.all_rows  # once: the rows and their unreadable folders, of one listing (a rescan may adopt another)
        folders = getattr(rows, "unreadable_folders", [])
        reg_root = getattr(rows, "reg_root", None)
        try:
            captions = load_captions(self.root, self.caption_extension, self.separator, unreadable=unreadable)
            if reg_root is not None:
                captions += load_captions(reg_root, self.caption_extension, self.separator, unreadable=unreadable)
        except LoratuiError as exc:
            if not folders:
                return CaptionLoad(error=str(exc))
            # a concept folder cannot be listed: the captions of the rows the others gave, one by one
            captions = captions_of_rows(rows, self.separator, unreadable)
        load = CaptionLoad({c.path: c for c in captions})
        if unreadable:
            loaded = set(map(str, load.captions))
            # the messages start with the file's path (core.captions.read_caption): that is the row's key
            for row in rows:
                if row.caption_str not in loaded:
                    why = next((line for line in unreadable if line.startswith(row.caption_str + ":")), None)
                    if why is not None:
                        load.unreadable[row.caption_str] = why
            more = f" ({len(unreadable) - 1:,} more caption(s) cannot be read either)" if len(unreadable) > 1 else ""
            load.error = f"{unreadable[0]}{more}; the other captions loaded"
        if folders:  # said first: a whole folder of images is missing from the table
            also = f"; also: {load.error}" if load.error else ""
            load.error = unreadable_folders_line(folders) + also
        # one reference swapped (as adopt_* do): set here so that the screen, which adopts only the
        # captions, still gets the reason instead of "still loading" for those rows
        self.unreadable = load.unreadable
        return load

    def read_scan(self) -> DatasetScan:
        # a reg folder opened on its own is given as its own reg folder (core's "scan it as reg")
        reg = self.location.reg_dir if self.location.is_reg else self.reg_root
        return scan_dataset(self.root, reg, self.caption_extension, max_tokens=self.token_limit(),
                            unreadable_as_problem=True)  # one unreadable folder is named, the rest still shows

    def token_limit(self) -> int | None:
        """The long-caption check's limit: the config's max_token_length, read now (Settings may have
        changed it); None without a config (core's default, MAX_CLIP_TOKENS: the 75 sd-scripts reads
        when max_token_length is unset)."""
        return config_token_limit(self.config_path)

    def find_tagger_csv(self) -> Path | None:
        """The tagger vocabulary in use (commands.tagger_csv, shared with `loratui tags remove-category`):
        the project's or train folder's selected_tags.csv, else the newest in its wd14_tagger_model/ or
        models/, else the model store's most recently used."""
        from loratui.commands.tagger_csv import find_tagger_csv  # stdlib only: no ML import

        return find_tagger_csv(self.location.project_dir, self.root)

    def read_tagger(self) -> tuple[Path | None, list[TagInfo]]:
        path = self.find_tagger_csv()
        return path, (load_selected_tags(path) if path else [])

    def adopt_tagger(self, found: tuple[Path | None, list[TagInfo]]) -> None:
        self.tagger_csv, self.tagger_tags = found
        self.categories = tag_categories(self.tagger_tags)

    def unreadable_new_captions(self, plan: EditPlan) -> dict[Path, list[Path]]:
        """The caption files ``plan`` would create for images sd-scripts cannot load, each with those
        images (core.dataset.captions_of_unreadable_images). Blocking: only the images that would get
        a new caption are probed, by their headers, so an edit of captioned images costs nothing more."""
        new_files = {edit.path for edit in plan.edits if edit.new_file}
        if not new_files:
            return {}

        def pairs():
            for path in new_files:
                row = self.by_caption.get(path)
                if row is not None:
                    for image in (row.image_str, *(row.twins or ())):
                        yield Path(image), path

        return captions_of_unreadable_images(pairs(), new_files)

    def reread(self, paths: list[Path]) -> dict[Path, Caption]:
        """Fresh captions for these caption files (after a write, an undo or an outside change)."""
        out = {}
        for path in paths:
            try:
                out[path] = read_caption(path, self.separator)
            except LoratuiError:
                continue
        return out

    # ---- adopting results (UI thread) ---------------------------------------------------------

    def adopt_rows(self, rows: list[ImageRow]) -> None:
        """A listing (list_rows') taken on the UI thread, with its unreadable folders (``unreadable_folders``)
        and its reg rows (after the train rows: ``all_rows``; ``rows`` is the train rows)."""
        self.all_rows = rows
        self.rows = rows.train_part() if isinstance(rows, RowListing) else rows
        self.reg_root = getattr(rows, "reg_root", None)  # kept with no reg image too: the scan names its problems
        self.by_caption = PathIndex((row.caption_str, row) for row in rows)

    def adopt_captions(self, captions: dict[Path, Caption]) -> list[ImageRow]:
        """Attach captions to rows; returns the rows whose caption changed."""
        self.captions_loaded = True
        changed = []
        for path, caption in captions.items():
            row = self.by_caption.get(path)
            if row is not None and row.caption is not caption:
                row.caption = caption
                changed.append(row)
        self.frequency = tag_frequency(row.caption for row in self.rows if row.caption is not None)
        return changed

    def adopt_scan(self, scan: DatasetScan) -> None:
        self.scan = scan
        by_image: dict[str, list[Problem]] = {}
        for problem in scan.problems:
            key = str(problem.path)
            if key.endswith(self.caption_extension):
                row = self.by_caption.get(key)
                key = row.image_str if row else key
            by_image.setdefault(key, []).append(problem)
        self.problems_by_image = by_image
        for row in self.all_rows:
            self._rank(row)

    def _rank(self, row: ImageRow) -> None:
        """The row's most severe problem becomes its mark and status line."""
        self._problem_count = None
        rank = {"error": 0, "warning": 1, "info": 2}
        found = min(self.problems_by_image.get(row.image_str, ()), key=lambda p: rank.get(p.severity, 3),
                    default=None)
        row.severity, row.problem, row.problem_kind = (
            (found.severity, found.message, found.kind) if found else (None, None, None))

    def check_captions(self, paths: list[Path]) -> dict[str, list[Problem]]:
        """The caption problems of these caption files now (what the scan would say of them): after a
        write, an undo or an outside change only the files touched are checked again, not the
        dataset. Blocking (reads each file): a worker runs it for a bulk change."""
        out: dict[str, list[Problem]] = {}
        limit = self.token_limit() if paths else None
        for path in paths:
            row = self.by_caption.get(path)
            if row is None or not row.folder:  # a loose image: the scan (like sd-scripts) reads none of them
                continue
            if os.path.lexists(row.caption_str):
                out[row.caption_str] = caption_problems(row.caption_file, max_tokens=limit)
            else:
                parsed = parse_subset_name(row.folder) if row.folder else None
                out[row.caption_str] = [missing_caption_problem(row.image, parsed[1] if parsed else "",
                                                                is_reg=row.reg or self.location.is_reg)]
        return out

    def adopt_checks(self, checks: dict[str, list[Problem]]) -> None:
        """Swap the caption problems of the checked files (marks, the problem count, ``p`` and the
        summary follow); the image problems of the scan stay."""
        if self.scan is None or not checks:
            return
        dropped: set[int] = set()
        added: list[Problem] = []
        for caption_str, fresh in checks.items():
            row = self.by_caption.get(caption_str)
            if row is None:
                continue
            old = self.problems_by_image.get(row.image_str, [])
            stale = [p for p in old if str(p.path) == caption_str or p.kind == "missing_caption"]
            dropped.update(id(p) for p in stale)
            kept = [p for p in old if id(p) not in dropped]
            self.problems_by_image[row.image_str] = kept + fresh
            added += fresh
            self._rank(row)
        self.scan.problems[:] = [p for p in self.scan.problems if id(p) not in dropped] + added  # scan is frozen

    # ---- queries ------------------------------------------------------------------------------

    def problem_count(self) -> int:
        """Images with an error or a warning (the status line's count), kept until a scan or a check
        changes a row's problem: counting 20,000 rows at every key of the filter took 10 ms."""
        count = self._problem_count
        if count is None or self._problem_rows is not self.all_rows:
            count = sum(1 for r in self.all_rows if r.severity in ("error", "warning"))
            self._problem_count, self._problem_rows = count, self.all_rows
        return count

    def unreadable_reason(self, row: ImageRow) -> str | None:
        """Why the row's caption could not be read (a folder named a.txt...), or None: it loaded, or is
        still loading. The editor shows it in place of "loading…"."""
        return self.unreadable.get(row.caption_str) if row.caption is None else None

    def frequency_of(self, kind: str) -> Counter:
        """The tag counts of the tag list's scope (screens.dataset_reg_scope ``tag_scope``): "train" is kept
        current by every caption adopted; "reg" and "train and reg" are counted here, kept until a caption
        changes (``frequency`` is then a new Counter) or the rows are listed again."""
        if kind == "train":
            return self.frequency
        kept = getattr(self, "_scope_frequency", None)
        if kept is not None and kept[0] == kind and kept[1] is self.frequency and kept[2] is self.all_rows:
            return kept[3]
        rows = self.reg_rows if kind == "reg" else self.all_rows
        counts = tag_frequency(row.caption for row in rows if row.caption is not None)
        self._scope_frequency = (kind, self.frequency, self.all_rows, counts)
        return counts

    # ---- writes -------------------------------------------------------------------------------

    def set_tags(self, row: ImageRow, tags: list[str], description: str, based_on: Caption | None = None) -> EditPlan:
        """Write one image's tags through core's plan + journal (undoable). ConflictError when the
        file changed on disk since it was read (``based_on``: the caption the tags were edited from,
        else the row's); LoratuiError for anything else."""
        caption = based_on or row.caption
        if caption is None:
            why = self.unreadable_reason(row)
            if why is not None:
                raise LoratuiError(why)
            raise LoratuiError(f"{row.caption_file}: the caption is still loading; try again in a moment")
        plan = plan_set_tags([(caption, tags)], description)
        self.apply(plan, description)
        return plan

    def apply(self, plan: EditPlan, description: str = "") -> list[Path]:
        """Apply a plan (journal first, atomic writes); returns the caption files written."""
        return self.apply_entry(plan, description)[0]

    def apply_entry(self, plan: EditPlan, description: str = "",
                    root: Path | None = None) -> tuple[list[Path], Path | None, int]:
        """``apply``, with the undo journal entry it made (None: nothing written) and how many of the oldest
        changes it pushed out of the undo history (ApplyResult.dropped). ``write_progress`` is told each
        caption written (core.captions.apply_plan's ``progress``). ``root``: the journal's folder, for a
        caption no row lists yet (an image followed into a renamed folder: screens.dataset_moved)."""
        if not plan.edits:
            return [], None, 0
        root = root or self.journal_root([edit.path for edit in plan.edits])
        try:
            result = apply_plan(plan, root, description=description, progress=self.write_progress)
        except PartialWriteError:
            drop_stale_redo(self)  # some captions were written: a change, as below
            raise
        if result.journal is not None:  # a change: what the other journal (train or reg) undid is not redone
            drop_stale_redo(self)
        return list(result.written), result.journal, result.dropped
