"""TagFrequencyPane: every tag of some images with its count and category, sortable and filterable.

The counts come from core (`loratui.core.captions.tag_frequency`) for the images the owner names (the
Dataset screen: the selected images, else the filtered, else all; the summary line says which); this
pane only shows them and turns keys into requests. Rename, remove and add are not done here: the owner
builds the core operation, shows its preview and applies it, so the pane posts `RenameRequested` /
`RemoveRequested`, `AddRequested` (a: onto the image under the owner's cursor, A: onto the images counted)
and `TagChosen` (Enter: the owner filters its images by that tag).

Tags selected in the table (space, shift+arrows, ctrl+a or `*`) are what d and Enter act on, also
those the Find box hides now (select, find another, select it: both stay; the summary counts the hidden
ones, and ctrl+d clears them all). a / A add them all, d removes
them all in one bulk operation (one preview, one undo: the owner's ``run_bulk_op``), Enter shows the
images holding any of them (the owner's filter box). r renames one tag at a time, as taggui does (a
rename onto a tag that exists merges the two): with several selected it says so and does nothing.

Rows go into an `ImageTable` (the virtual Line-API table), so 20,000 distinct tags cost one list of
small row objects and a sort, and only the rows on screen are ever formatted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from loratui.core.captions import CATEGORY_LABELS, CATEGORY_ORDER, EditContext, any_tag_term
from loratui.tui.services.keymap import bound_key
from loratui.tui.widgets.image_table import Column, ImageTable

# Counts past this would crowd the 6-cell column ("Uses ▼"), so they are shown in thousands ("1234k").
_COUNT_WIDTH = 6
# Below this width the pane shows the categories short ("char"), so the tag names keep the room.
NARROW_PANE = 40
SHORT_CATEGORY = {"general": "gen", "artist": "art", "copyright": "copy", "character": "char",
                  "meta": "meta", "rating": "rate"}
_UNKNOWN_RANK = len(CATEGORY_ORDER)


def fold(text: str) -> str:
    """The form the filter compares: case-folded, `_` read as a space (`long_hair` == `long hair`)."""
    return text.casefold().replace("_", " ")


def format_count(count: int) -> str:
    return str(count) if count < 100_000 else f"{count // 1000}k"


@dataclass(frozen=True, slots=True)
class TagRow:
    """One table row: a tag, the number of captions holding it, and its tagger category."""

    tag: str
    count: int
    category: int | None  # tagger category number; None when unknown
    label: str            # CATEGORY_LABELS name of the category, "" when unknown
    folded: str           # fold(tag), precomputed for the filter and the name sort
    order: int            # position in A-Z order: breaks ties the same way in every sort


def _category_key(row: TagRow) -> tuple[int, int, int, int]:
    # Same order as `tags sort --by category`: rating, character, copyright, artist, general, meta,
    # then other numbers, then unknown tags; within a category the most used first.
    if row.category is None:
        rank, number = _UNKNOWN_RANK + 1, 0
    elif row.category in CATEGORY_ORDER:
        rank, number = CATEGORY_ORDER.index(row.category), 0
    else:
        rank, number = _UNKNOWN_RANK, row.category
    return (rank, number, -row.count, row.order)


_TAG = Column("tag", "Tag", None, lambda r: r.tag, sort_key=lambda r: r.order, cut="middle")
# -order: most used first (the table sorts reversed) and ties still A-Z
_COUNT = Column("count", "Uses", _COUNT_WIDTH, lambda r: format_count(r.count), sort_key=lambda r: (r.count, -r.order),
                align="right")
_CATEGORY = Column("category", "Category", 9, lambda r: r.label, sort_key=_category_key)
_SHORT_CATEGORY = Column("category", "Cat", 5, lambda r: SHORT_CATEGORY.get(r.label, r.label[:4]),
                         sort_key=_category_key)
COLUMNS: tuple[Column, ...] = (_TAG, _COUNT, _CATEGORY)


def columns_for(width: int, categories_known: bool) -> tuple[Column, ...]:
    """The columns for a pane ``width`` cells wide: no Category column when no tag has one (no
    tagger CSV), short category names in a narrow pane; the tag names get the rest."""
    if not categories_known:
        return (_TAG, _COUNT)
    return (_TAG, _COUNT, _SHORT_CATEGORY if width < NARROW_PANE else _CATEGORY)


class TagTable(ImageTable):
    """The pane's table: sorting by count starts with the most used tags (ImageTable starts ascending)."""

    DESCENDING_FIRST: ClassVar[frozenset[str]] = frozenset({"count"})
    BINDINGS: ClassVar[list[BindingType]] = [  # the Dataset screen's * selects images: here it selects tags
        Binding("asterisk", "select_all", "Select all tags", show=False, id="freq.select_all",
                tooltip="Same as ctrl+a: every tag shown (after the Find filter); d and Enter then act on them"),
    ]

    def action_cycle_sort(self) -> None:
        keys = [c.key for c in self.columns]
        column, _ = self.sort
        following = keys[0] if column is None else keys[(keys.index(column) + 1) % len(keys)]
        self.sort_by(following, reverse=following in self.DESCENDING_FIRST)

    def set_rows_keeping_selection(self, rows: list[TagRow], known: set[str]) -> None:
        """``set_rows``, with the selected tags the rows leave out still selected (the Find box hides
        them; ImageTable drops them, which lost a tag picked before typing the next find). ``known``:
        the dataset's tags; a selected tag no caption has any more goes."""
        kept = self._selected & known
        super().set_rows(rows)
        if kept != self._selected:
            self._set_selection(kept)

    def action_select_all(self) -> None:
        """Every tag shown joins the selection (those the Find box hides stay selected)."""
        self._anchor = None
        self._set_selection(self._selected | {self.row_key(row) for row in self._rows})


class TagFrequencyPane(Vertical):
    """Tag counts of the dataset: `set_frequencies(counter, categories)`, then keys post requests."""

    BINDING_GROUP_TITLE = "Tag counts"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "Images", id="freq.choose",
                tooltip="Show only the images whose caption holds the tag under the cursor (tags selected: any "
                        "of them)"),
        Binding("r", "rename", "Rename", id="freq.rename",
                tooltip="Rename the tag under the cursor in the images the list counts (the selected, else the "
                        "filtered, else all; preview first); one tag at a time, as in taggui: renaming onto a tag "
                        "that exists merges them"),
        Binding("d,delete", "remove", "Remove", id="freq.remove",
                tooltip="Remove the selected tags (none selected: the one under the cursor) from the images the "
                        "list counts (the selected, else the filtered, else all): one preview, one undo"),
        Binding("slash", "focus_filter", "Find tag", id="freq.filter",
                tooltip="Type part of a tag to show only matching tags (_ matches a space)"),
        Binding("a", "add(False)", "Add to image", id="freq.add_to_image",
                tooltip="Add the selected tags (none selected: the one under the cursor) at the end of the caption "
                        "of the image under the table's cursor: saved at once, one undo"),
        Binding("A", "add(True)", "Add to scope", id="freq.add_to_scope",
                tooltip="Add the selected tags (none selected: the one under the cursor) to all the images the "
                        "list counts (the selected images, else the filtered, else all; its first line says "
                        "which): one preview, one undo"),
    ]

    DEFAULT_CSS = """
    TagFrequencyPane {
        height: 1fr;
        & > #freq-summary { height: auto; padding: 0 1; color: $text-muted; }
        & > #freq-filter { height: 1; }
        & > TagTable { height: 1fr; }
    }
    """

    class _PaneMessage(Message):
        def __init__(self, pane: TagFrequencyPane, tag: str) -> None:
            super().__init__()
            self.pane = pane
            self.tag = tag

        @property
        def control(self) -> TagFrequencyPane:
            return self.pane

    class TagChosen(_PaneMessage):
        """Enter on a tag: the owner shows the images whose caption holds `tag`."""

    class RenameRequested(_PaneMessage):
        """`r` on a tag: the owner asks for the new name, previews and applies the rename."""

    class RemoveRequested(_PaneMessage):
        """`d`/Delete on a tag: the owner previews and applies removing `tag` everywhere."""

    class AddRequested(Message):
        """`a` / `A` on tags: the owner adds ``tags`` to the image under its table's cursor (``to_scope`` False)
        or to the images the counts are of (True)."""

        def __init__(self, pane: TagFrequencyPane, tags: list[str], to_scope: bool) -> None:
            super().__init__()
            self.pane = pane
            self.tags = tags
            self.to_scope = to_scope

        @property
        def control(self) -> TagFrequencyPane:
            return self.pane

    class Highlighted(Message):
        """The cursor is on another tag, or the same tag with a new count (`row` None: no tag shown):
        the owner names the tag r and d act on. The pane re-posts its table's CursorMoved because
        Textual ends a message's bubbling at its sender (the node whose handler made it): rows set by
        the Find box (the pane handling Input.Changed) never told the screen."""

        def __init__(self, pane: TagFrequencyPane, row: TagRow | None) -> None:
            super().__init__()
            self.pane = pane
            self.row = row

        @property
        def control(self) -> TagFrequencyPane:
            return self.pane

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._all_rows: list[TagRow] = []
        self._filter = ""
        self._uses = 0
        self._scope = ""  # what the counts are of, said in the summary ("36 filtered images"); "" says nothing
        # Built here, not in compose, so set_frequencies works before the pane is mounted.
        self._summary = Static(self._summary_text(None), id="freq-summary")
        self._input = Input(placeholder="/ filter tags", id="freq-filter", compact=True)
        self._table = TagTable(COLUMNS, row_key=lambda r: r.tag, id="freq-table")
        self._table.sort_by("count", reverse=True)

    def compose(self) -> ComposeResult:
        yield self._summary
        yield self._input
        yield self._table

    # ---- public API -------------------------------------------------------------------------

    @property
    def table(self) -> ImageTable:
        return self._table

    @property
    def filter_text(self) -> str:
        return self._filter

    @property
    def cursor_tag(self) -> str | None:
        """The tag under the cursor, None when no tag is shown."""
        row = self.table.cursor_row
        return row.tag if row is not None else None

    @property
    def selected_tags(self) -> list[str]:
        """The tags selected, shown ones in display order, then those the Find box hides (A-Z)."""
        shown = [row.tag for row in self.table.selected_rows]
        hidden = self.table.selected_keys - set(shown)
        return shown + [row.tag for row in self._all_rows if row.tag in hidden]

    @property
    def shown_tags(self) -> list[str]:
        """The tags shown (after the filter), in display order."""
        return [row.tag for row in self.table.rows]

    def set_frequencies(self, counter: Mapping[str, int], categories: Mapping[str, int] | None = None,
                        scope: str = "") -> None:
        """Show `counter` (tag -> captions holding it); `categories` maps tags to tagger categories; `scope`:
        which images they are of, said in the summary ("36 filtered images", "3 selected images"; "": unsaid).

        The cursor stays on the same tag while it is still shown; the sort and the filter are kept.
        """
        context = EditContext(categories=dict(categories or {}))
        labels = CATEGORY_LABELS
        # Counter arithmetic can leave zero or negative entries behind: those tags are gone.
        named = sorted(((fold(tag), tag, count) for tag, count in counter.items() if count > 0))
        rows = []
        for order, (folded, tag, count) in enumerate(named):
            category = context.category(tag)
            label = labels.get(category, "") if category is not None else ""
            rows.append(TagRow(tag, count, category, label, folded, order))
        self._all_rows = rows
        self._uses = sum(row.count for row in rows)
        self._scope = scope
        self._fit_columns()
        self._show()

    def set_filter(self, text: str) -> None:
        """Show only tags containing `text` (case-insensitive, `_` == space); also fills the input."""
        if self._input.value != text:
            self._input.value = text  # posts Input.Changed, which lands in _apply_filter too
        self._apply_filter(text)

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        """Sort by "tag", "count" or "category" (count: most used first unless `reverse=False`)."""
        if reverse is None:
            reverse = column in TagTable.DESCENDING_FIRST
        self.table.sort_by(column, reverse=reverse)

    # ---- actions ----------------------------------------------------------------------------

    def action_choose(self) -> None:
        tags = self.selected_tags
        if len(tags) > 1 and self._filter_owner_images(tags):
            return
        self._post(self.TagChosen, tags[0] if len(tags) == 1 else None)

    def action_rename(self) -> None:
        tags = self.selected_tags
        if len(tags) > 1:
            clear = bound_key(self._table, "table.clear_selection")  # the user's keymap may move either
            clear = f"{clear} clears the selection" if clear else "deselect them"
            remove = bound_key(self, "freq.remove")
            remove = f", or {remove} removes all {len(tags)}" if remove else ""
            self.app.notify(f"rename takes one tag and {len(tags)} are selected: {clear}, then rename one at a "
                            f"time{remove}", severity="warning")
            return
        self._post(self.RenameRequested, tags[0] if tags else None)

    def action_remove(self) -> None:
        tags = self.selected_tags
        if len(tags) > 1 and self._remove_everywhere(tags):
            return
        self._post(self.RemoveRequested, tags[0] if tags else None)

    def action_add(self, to_scope: bool) -> None:
        tags = self.selected_tags or ([self.cursor_tag] if self.cursor_tag is not None else [])
        if tags:
            self._deliver(self.AddRequested(self, tags, to_scope))

    def action_focus_filter(self) -> None:
        self._input.focus()

    # ---- events -----------------------------------------------------------------------------

    def on_resize(self, event) -> None:
        self._fit_columns()

    def on_image_table_cursor_moved(self, event: ImageTable.CursorMoved) -> None:
        if event.table is self._table:
            event.stop()
            self.post_message(self.Highlighted(self, self._table.cursor_row))

    def on_image_table_selection_changed(self, event: ImageTable.SelectionChanged) -> None:
        if event.table is self._table:  # not stopped: the owner may count it too
            self._summary.update(self._summary_text(len(self._table.rows) if self._filter else None))

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "freq-filter":
            event.stop()
            self._apply_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "freq-filter":  # Enter in the filter: go pick a tag
            event.stop()
            self.table.focus()

    # ---- internals --------------------------------------------------------------------------

    def _post(self, message_type: type[_PaneMessage], tag: str | None = None) -> None:
        """Tell the owner now about ``tag`` (default: the cursor's): its handler runs before the next key is
        routed, so what it opens (the rename form) gets the keys typed after r. Posted, those keys reached the
        Dataset table first."""
        tag = tag or self.cursor_tag
        if tag is None:
            return
        self._deliver(message_type(self, tag))

    def _deliver(self, message: Message) -> None:
        for node in self.ancestors:
            handler = getattr(node, message.handler_name, None)
            if callable(handler):
                handler(message)
                return
        self.post_message(message)

    def _owner(self, *needs: str):
        """The nearest container with all of ``needs`` (the Dataset screen), or None."""
        return next((node for node in self.ancestors if all(hasattr(node, name) for name in needs)), None)

    def _remove_everywhere(self, tags: list[str]) -> bool:
        """Several tags out of every caption as one bulk operation of the owner (one preview, one undo)."""
        from loratui.core.captions import RemoveTags

        owner = self._owner("run_bulk_op", "store")
        if owner is None:
            return False
        rows = list(owner.store.rows)  # the train images: reg captions change only when the filter shows them
        named = ", ".join(repr(tag) for tag in tags[:3]) + (f" and {len(tags) - 3} more" if len(tags) > 3 else "")
        # the counts' images: the selected, else the filtered, else all (a mixed train and reg scope is refused there)
        scope = owner.tag_scope()[:2] if hasattr(owner, "tag_scope") else (rows, f"all {len(rows):,} images")
        everywhere = " everywhere" if scope[1].startswith("all ") else ""  # else the preview's title names the scope
        owner.run_bulk_op(RemoveTags(list(tags), mode="exact"), f"remove {named}{everywhere}", scope)
        return True

    def _filter_owner_images(self, tags: list[str]) -> bool:
        """The owner's images that hold any of ``tags``, through its filter box (the filter language's
        `or` of one exact term per tag, as for one tag)."""
        owner = self._owner("on_tag_frequency_pane_tag_chosen")
        boxes = owner.query("#filter").results(Input) if owner is not None else []
        box = next(iter(boxes), None)
        if box is None:
            return False
        # its Input.Changed refilters; the owner keeps it to the reg images when the counts are theirs
        box.value = owner.tag_filter(tags) if hasattr(owner, "tag_filter") else any_tag_term(tags)
        for images in owner.query("#images"):  # back to the images, as for one tag
            images.focus()
        return True

    def _fit_columns(self) -> None:
        categories_known = any(row.category is not None for row in self._all_rows)
        width = self.size.width if self.is_mounted else NARROW_PANE
        columns = columns_for(width, categories_known)
        if columns != self._table.columns:
            sorted_by = self._table.sort
            self._table.set_columns(columns)
            if sorted_by[0] is not None and sorted_by[0] not in {c.key for c in columns}:
                self._table.sort_by("count", reverse=True)  # sorted by category, now gone

    def _apply_filter(self, text: str) -> None:
        needle = fold(text.strip())
        if needle == self._filter:
            return
        self._filter = needle
        self._show()

    def _show(self) -> None:
        needle = self._filter
        rows = [row for row in self._all_rows if needle in row.folded] if needle else self._all_rows
        known = {row.tag for row in self._all_rows} if self._table.selected_count else set()
        self._table.set_rows_keeping_selection(rows, known)
        self._summary.update(self._summary_text(len(rows) if needle else None))

    def _summary_text(self, shown: int | None) -> str:
        scope = getattr(self, "_scope", "")
        text = f"{len(self._all_rows):,} tags" + (f" of {scope}" if scope else "") + f", {self._uses:,} uses"
        if shown is not None:
            text += f" ({shown:,} shown)"
        selected = self._table.selected_count if hasattr(self, "_table") else 0
        if selected:  # what d and Enter act on now, not the tag under the cursor
            keys = " and ".join(key for key in (bound_key(self, "freq.remove"), bound_key(self, "freq.choose")) if key)
            hidden = selected - len(self._table.selected_rows)
            text += f"; {selected:,} selected" + (f" ({hidden:,} hidden by the find)" if hidden else "")
            text += f": {keys} act on them" if keys else ""
        return text
