"""ImageTable: a virtual table that draws only the rows on screen (Textual's Line API).

Why not DataTable: it measures every cell on idle, so 10,000 rows take 1.5-2.5 s to the first frame.
Here a row costs nothing until it scrolls into view: `set_rows` stores the list, `render_line` formats
one visible row. Columns are laid out from the widget width (one flexible column takes what is left).

No colour-only signals (the app must work on TERM=linux): the cursor row has a `▶` in the gutter,
selected rows a `●`, and the sort column a `▲`/`▼` after its label, as well as their styles.

Columns, glyphs and fitting text to a cell are in widgets.table_text; the cursor, selection and
sort bookkeeping in widgets.table_cursor.
"""

from __future__ import annotations

from pathlib import Path
from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from loratui.tui.widgets.table_cursor import TableCursor
from loratui.tui.widgets.table_text import ASCII_GLYPHS, UNICODE_GLYPHS, Column, Glyphs, fit_text
from loratui.tui.services.terminal_graphics import ascii_only

MIN_FLEX_WIDTH = 8  # a flexible column never gets narrower than this; columns past the edge are cut


def default_glyphs() -> Glyphs:
    return ASCII_GLYPHS if ascii_only() else UNICODE_GLYPHS


class ImageTable(TableCursor, ScrollView, can_focus=True, inherit_bindings=False):
    """A keyboard-driven table over any row objects, for 10,000+ rows."""

    GUTTER = 3  # cursor mark, selection mark, space

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False, id="table.cursor_up"),
        Binding("down", "move(1)", "Down", show=False, id="table.cursor_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="table.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="table.page_down"),
        Binding("home", "move_to(0)", "First row", show=False, id="table.cursor_first"),
        Binding("end", "move_to(-1)", "Last row", show=False, id="table.cursor_last"),
        Binding("space", "toggle_select", "Select", show=False, id="table.toggle_select",
                tooltip="Select or deselect the row under the cursor"),
        Binding("shift+up", "extend(-1)", "Extend selection up", show=False, id="table.extend_up"),
        Binding("shift+down", "extend(1)", "Extend selection down", show=False, id="table.extend_down"),
        Binding("ctrl+a", "select_all", "Select all", show=False, id="table.select_all",
                tooltip="Select every row shown (after filtering)"),
        Binding("ctrl+d", "clear_selection", "Deselect all", show=False, id="table.clear_selection"),
        Binding("s", "cycle_sort", "Sort", show=False, id="table.sort_next", tooltip="Sort by the next column"),
        Binding("S", "reverse_sort", "Reverse", show=False, id="table.sort_reverse", tooltip="Reverse the sort order"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "image-table--header",
        "image-table--cursor",
        "image-table--selected",
        "image-table--problem",
        "image-table--muted",
        "image-table--selected-problem",  # the problem and dim cells of a selected row
        "image-table--selected-muted",
    }

    DEFAULT_CSS = (Path(__file__).parent / "image_table.tcss").read_text(encoding="utf-8")

    class _TableMessage(Message):
        def __init__(self, table: ImageTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> ImageTable:
            return self.table

        def can_replace(self, message: Message) -> bool:  # a queued older one is dropped
            return type(message) is type(self) and message.table is self.table  # type: ignore[attr-defined]

    class CursorMoved(_TableMessage):
        """The cursor is on another row (`row` None: the table is empty)."""

        def __init__(self, table: ImageTable, row: Any | None) -> None:
            super().__init__(table)
            self.row = row

    class RowOpened(_TableMessage):
        """A row was double-clicked: open it (the Dataset screen edits its tags, as its key does)."""

        def __init__(self, table: ImageTable, row: Any) -> None:
            super().__init__(table)
            self.row = row

        def can_replace(self, message: Message) -> bool:  # each double-click counts
            return False

    class SelectionChanged(_TableMessage):
        """The set of selected rows changed; `count` is its new size."""

        def __init__(self, table: ImageTable, count: int) -> None:
            super().__init__(table)
            self.count = count

    def __init__(
        self,
        columns: Sequence[Column],
        row_key: Callable[[Any], Hashable],
        rows: Sequence[Any] = (),
        *,
        glyphs: Glyphs | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        if not columns:
            raise ValueError("ImageTable needs at least one column")
        keys = [column.key for column in columns]
        if len(set(keys)) != len(keys):
            raise ValueError(f"column keys must be unique: {keys}")
        self.columns: tuple[Column, ...] = tuple(columns)
        self.row_key = row_key
        self.glyphs = glyphs or default_glyphs()
        self._rows: list[Any] = []
        self._cursor = 0
        self._selected: set[Hashable] = set()
        self._hidden_selected: int | None = None  # hidden_selected_count, until the rows or the selection change
        self._anchor: int | None = None  # range selection: where shift+arrows started
        self._anchor_base: frozenset[Hashable] = frozenset()  # the selection before that range
        self._sort_column: str | None = None
        self._sort_reverse = False
        self._columns_layout: tuple[int, list[tuple[Column, int]]] | None = None
        self._last_cursor_row: Any | None = None
        self._part_styles: dict[str, Style] = {}
        if rows:
            self.set_rows(rows)

    # ---- public API -------------------------------------------------------------------------

    @property
    def rows(self) -> Sequence[Any]:
        """The rows shown, in display (sorted) order. Do not mutate."""
        return self._rows

    @property
    def cursor_index(self) -> int:
        return self._cursor

    @property
    def cursor_row(self) -> Any | None:
        return self._rows[self._cursor] if self._rows else None

    @property
    def selected_keys(self) -> frozenset[Hashable]:
        return frozenset(self._selected)

    @property
    def selected_count(self) -> int:
        """Every selected row, those a filter hides included (``set_rows(..., known=)``)."""
        return len(self._selected)

    @property
    def selected_rows(self) -> list[Any]:
        """The selected rows that are shown, in display order: what an action on the selection acts on."""
        if not self._selected:
            return []
        key, selected = self.row_key, self._selected
        return [row for row in self._rows if key(row) in selected]

    @property
    def hidden_selected_count(self) -> int:
        """Selected rows that are not shown (a filter hides them; they are selected again when shown)."""
        if not self._selected:
            return 0
        if self._hidden_selected is None:  # the status line asks at each cursor move: counted once per change
            key, selected = self.row_key, self._selected
            self._hidden_selected = len(selected) - sum(1 for row in self._rows if key(row) in selected)
        return self._hidden_selected

    @property
    def sort(self) -> tuple[str | None, bool]:
        """(sort column key or None, reversed)."""
        return self._sort_column, self._sort_reverse

    def set_rows(self, rows: Sequence[Any], *, known: Collection[Hashable] | None = None) -> None:
        """Show `rows` (e.g. after filtering), sorted by the current sort column.

        The cursor stays on the same row (by `row_key`) when that row is still shown, otherwise it is
        clamped. Selected rows that are no longer shown are deselected; with `known` (the keys of every
        row there is, shown or not: the Dataset screen's images), those still known stay selected while a
        filter hides them (`selected_rows` gives the ones shown, `hidden_selected_count` the others).
        """
        old_key = self.row_key(self._rows[self._cursor]) if self._rows else None
        self._rows = list(rows)
        self._hidden_selected = None
        if self._sort_column is not None:
            self._sort_in_place()
        self._anchor = None
        self._restore_cursor(old_key)
        if self._selected:
            key = self.row_key
            shown = {key(row) for row in self._rows}
            kept = self._selected & shown if known is None else \
                {k for k in self._selected if k in shown or k in known}
            if len(kept) != len(self._selected):
                self._selected = kept
                self.post_message(self.SelectionChanged(self, len(self._selected)))
        self.virtual_size = Size(0, len(self._rows) + 1)  # +1: the header line
        self._scroll_cursor_into_view(center=True)
        # again once laid out: from a short list (a filter) to a long one, the scroll limit is still the
        # short list's here, so the cursor row (End in the filtered rows, then esc) stayed off screen
        self.call_after_refresh(self._scroll_cursor_into_view, True)
        self.refresh()
        self._post_cursor()

    def refresh_rows(self, keys: Iterable[Hashable] | None = None) -> None:
        """Redraw rows whose objects changed in place (all rows when `keys` is None). No re-sort."""
        if keys is None:
            self.refresh()
            return
        wanted = set(keys)
        top, height = self._visible_range()
        for index in range(top, min(top + height, len(self._rows))):
            if self.row_key(self._rows[index]) in wanted:
                self._refresh_index(index)

    def move_cursor(self, index: int) -> None:
        """Put the cursor on row `index` (clamped) and scroll it into view."""
        self._set_cursor(index)
        self._anchor = None

    def move_cursor_to_key(self, key: Hashable) -> bool:
        """Put the cursor on the row with `key`; False if that row is not shown."""
        index = self._index_of(key)
        if index is not None:
            self.move_cursor(index)
        return index is not None

    def select_keys(self, keys: Iterable[Hashable], *, replace: bool = False) -> None:
        """Add rows to the selection (or replace it); keys of rows not shown are ignored."""
        shown = {self.row_key(row) for row in self._rows}
        wanted = set(keys) & shown
        new = wanted if replace else self._selected | wanted
        self._set_selection(new)

    def clear_selection(self) -> None:
        self._anchor = None
        self._set_selection(set())

    action_clear_selection = clear_selection

    def set_columns(self, columns: Sequence[Column]) -> None:
        """Show other columns (a narrower set for a narrow pane). The sort stays when its column is
        still there; otherwise the rows keep their order, unsorted."""
        keys = [column.key for column in columns]
        if not columns or len(set(keys)) != len(keys):
            raise ValueError(f"column keys must be unique and at least one: {keys}")
        if tuple(columns) == self.columns:
            return
        self.columns = tuple(columns)
        if self._sort_column not in keys:
            self._sort_column = None
        self._columns_layout = None
        self.refresh()

    def sort_by(self, column_key: str | None, reverse: bool | None = None) -> None:
        """Sort by a column (stable); `reverse=None` toggles when it is already the sort column.

        `column_key=None` drops the sort (rows keep the order of the next `set_rows`).
        """
        if column_key is not None and column_key not in {c.key for c in self.columns}:
            raise KeyError(f"no column {column_key!r}")
        if reverse is None:
            reverse = (not self._sort_reverse) if column_key == self._sort_column else False
        self._sort_column = column_key
        self._sort_reverse = bool(reverse)
        if column_key is None:
            self.refresh()
            return
        old_key = self.row_key(self._rows[self._cursor]) if self._rows else None
        self._sort_in_place()
        self._anchor = None
        self._restore_cursor(old_key)
        self._scroll_cursor_into_view(center=True)
        self.refresh()

    # ---- actions ----------------------------------------------------------------------------

    def action_move(self, delta: int) -> None:
        self.move_cursor(self._cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self._cursor + direction * max(self._visible_range()[1] - 1, 1))

    def action_move_to(self, index: int) -> None:
        """Row `index`; negative counts from the end (-1: the last row)."""
        self.move_cursor(index if index >= 0 else len(self._rows) + index)

    def action_toggle_select(self) -> None:
        row = self.cursor_row
        if row is None:
            return
        key = self.row_key(row)
        new = set(self._selected)
        new.symmetric_difference_update((key,))
        self._anchor = None
        self._set_selection(new)

    def action_select_all(self) -> None:
        """Every row shown joins the selection (rows a filter hides stay selected, see set_rows)."""
        self._anchor = None
        self._set_selection(self._selected | {self.row_key(row) for row in self._rows})

    def action_cycle_sort(self) -> None:
        keys = [c.key for c in self.columns]
        if self._sort_column is None:
            self.sort_by(keys[0], reverse=False)
        else:
            self.sort_by(keys[(keys.index(self._sort_column) + 1) % len(keys)], reverse=False)

    def action_reverse_sort(self) -> None:
        self.sort_by(self._sort_column or self.columns[0].key, reverse=not self._sort_reverse)

    # ---- mouse ------------------------------------------------------------------------------

    def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:  # header: sort by the clicked column
            x = self.GUTTER
            for column, width in self._layout():
                if x <= offset.x < x + width:
                    self.sort_by(column.key)
                x += width + 1
            return
        index = int(self.scroll_offset.y) + offset.y - 1
        if not 0 <= index < len(self._rows):
            return
        # as in taggui and file managers: shift+click extends as shift+arrows do, ctrl+click toggles as space
        # does, a double-click opens the row (the Dataset screen's tag editor)
        if event.shift:
            self._extend_to(index)
        elif event.ctrl:
            self.move_cursor(index)
            self.action_toggle_select()
        else:
            self.move_cursor(index)
            if event.chain == 2:
                self.post_message(self.RowOpened(self, self.cursor_row))

    def _extend_to(self, index: int) -> None:
        """Select from the anchor (where the range started: the cursor, else) to row ``index``."""
        if self._anchor is None:
            self._anchor, self._anchor_base = self._cursor, frozenset(self._selected)
        self.action_extend(index - self._cursor)

    # ---- rendering --------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            return self._render_header(width, base)
        index = int(self.scroll_offset.y) + y - 1
        if index >= len(self._rows):
            return Strip.blank(width, base)
        return self._render_row(index, width, base)

    def _render_header(self, width: int, base: Style) -> Strip:
        style = self.get_component_rich_style("image-table--header")
        glyphs, cells = self.glyphs, []
        for column, col_width in self._layout():
            label = column.label
            if column.key == self._sort_column:  # the arrow survives truncation of the label
                mark = glyphs.descending if self._sort_reverse else glyphs.ascending
                label = fit_text(label, max(col_width - 2, 0), "left", glyphs.ellipsis).rstrip() + " " + mark
            cells.append(Segment(fit_text(label, col_width, column.align, glyphs.ellipsis), style))
        return self._join(" " * self.GUTTER, cells, style, width)

    def _render_row(self, index: int, width: int, base: Style) -> Strip:
        row, glyphs = self._rows[index], self.glyphs
        is_cursor = index == self._cursor
        is_selected = bool(self._selected) and self.row_key(row) in self._selected
        row_style = base + self._part_style("image-table--selected") if is_selected else base
        cursor_style = self._part_style("image-table--cursor") if is_cursor else None
        line_style = row_style + cursor_style if cursor_style else row_style
        cells = []
        for column, col_width in self._layout():
            try:
                text = str(column.getter(row))
            except Exception:  # a getter bug must not blank the whole screen
                text = "?"
            cell_style = line_style
            component = column.style_getter(row) if column.style_getter is not None else None
            if component:  # e.g. the problem column; on the cursor row the cursor's colours win
                if is_selected and f"image-table--selected-{component.removeprefix('image-table--')}" \
                        in self.COMPONENT_CLASSES:  # its own colour on the selected row's background
                    component = f"image-table--selected-{component.removeprefix('image-table--')}"
                cell_style = row_style + self._part_style(component)
                cell_style = cell_style + cursor_style if cursor_style else cell_style
            cells.append(Segment(fit_text(text, col_width, column.align, glyphs.ellipsis, column.cut), cell_style))
        gutter = (glyphs.cursor if is_cursor else " ") + (glyphs.selected if is_selected else " ") + " "
        return self._join(gutter, cells, line_style, width)

    def _part_style(self, component: str) -> Style:
        """A component's own style, its colours made opaque over the table's background.

        Textual's ``get_component_rich_style(partial=True)`` drops a colour's alpha: `$secondary 30%`
        was drawn as the full secondary colour (white on lilac). Cached until the styles change."""
        style = self._part_styles.get(component)
        if style is None:
            styles = self.get_component_styles(component)
            _, table_back = self.background_colors
            back = table_back + styles.background if styles.has_rule("background") else None
            fore = None
            if styles.has_rule("color"):
                under = back or table_back
                fore = (under + under.get_contrast_text(styles.color.a)) if styles.auto_color \
                    else under + styles.color
            style = Style(color=fore.rich_color if fore is not None and fore.a > 0 else None,
                          bgcolor=back.rich_color if back is not None and back.a > 0 else None) + styles.text_style
            if component == "image-table--cursor":  # a cursor without bold is not bold on a selected row either
                style += Style(bold=bool(style.bold))
            self._part_styles[component] = style
        return style

    def notify_style_update(self) -> None:
        self._part_styles.clear()
        super().notify_style_update()

    @staticmethod
    def _join(gutter: str, cells: list[Segment], style: Style, width: int) -> Strip:
        segments = [Segment(gutter, style)]
        for cell in cells:
            segments += (cell, Segment(" ", style))
        return Strip(segments).adjust_cell_length(width, style)

    def _layout(self) -> list[tuple[Column, int]]:
        """(column, width) for each column that fits (one space between), cached per widget width."""
        width = self.scrollable_content_region.width
        if self._columns_layout is not None and self._columns_layout[0] == width:
            return self._columns_layout[1]
        columns = [c for c in self.columns if c.drop_below is None or width >= c.drop_below]
        flexible = [c for c in columns if c.width is None]
        spare = width - self.GUTTER - sum(c.width or 0 for c in columns) - (len(columns) - 1)
        # a column that may grow (the file name) takes up to half of the room the flexible ones do not
        # need (all of it when there is no flexible one)
        budget = max(0, spare - MIN_FLEX_WIDTH * len(flexible))
        budget = budget // 2 if flexible else budget
        grown: dict[str, int] = {}
        for column in reversed(columns):  # the file name grows before the concept
            if column.width is not None and column.grow and budget > 0:
                grown[column.key] = min(column.grow, budget)
                budget -= grown[column.key]
                spare -= grown[column.key]
        if not flexible:  # no column takes the rest: the ones that can use it do (a whole state word)
            for column in columns:
                if column.spare_grow and spare > 0:
                    grown[column.key] = grown.get(column.key, 0) + min(column.spare_grow, spare)
                    spare -= min(column.spare_grow, spare)
        each, extra = divmod(max(spare, 0), max(len(flexible), 1))
        layout: list[tuple[Column, int]] = []
        x = self.GUTTER
        for column in columns:
            if column.width is None:
                col_width = max(MIN_FLEX_WIDTH, each + (1 if column is flexible[0] else 0) * extra)
            else:
                col_width = column.width + grown.get(column.key, 0)
            col_width = min(col_width, width - x)  # the column that reaches the edge is cut
            if col_width < 2:
                break
            layout.append((column, col_width))
            x += col_width + 1
        self._columns_layout = (width, layout)
        return layout

    # ---- internals --------------------------------------------------------------------------

    def _on_resize(self, event: events.Resize) -> None:
        self._columns_layout = None
        self._scroll_cursor_into_view()
