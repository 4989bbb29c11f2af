"""ImageTable's bookkeeping: cursor, selection, sort order, scrolling the cursor into view.

``TableCursor`` is a mixin of ImageTable, kept apart so each file stays readable: moving the cursor
(and posting CursorMoved), changing the selection (and posting SelectionChanged), shift+arrow range
selection from an anchor, sorting the rows in place, and redrawing or scrolling only what is needed.
It needs from ImageTable: ``_rows``, ``_cursor``, ``_selected`` (and ``_hidden_selected``, a count it
caches), ``_anchor``, ``_anchor_base``, ``_sort_column``, ``_sort_reverse``, ``_last_cursor_row``,
``columns``, ``row_key`` and the message classes.
"""

from __future__ import annotations

from collections.abc import Hashable


class TableCursor:
    """Mixin of ImageTable: cursor, selection and sort bookkeeping."""

    def _sort_in_place(self) -> None:
        column = next(c for c in self.columns if c.key == self._sort_column)
        key = column.sort_key or column.getter
        # list.sort is stable in both directions, so ties keep their previous order
        self._rows.sort(key=key, reverse=self._sort_reverse)

    def _index_of(self, wanted: Hashable) -> int | None:
        key = self.row_key
        return next((i for i, row in enumerate(self._rows) if key(row) == wanted), None)

    def _restore_cursor(self, old_key: Hashable | None) -> None:
        index = self._index_of(old_key) if old_key is not None else None
        self._cursor = index if index is not None else max(0, min(self._cursor, len(self._rows) - 1))

    def _set_cursor(self, index: int) -> None:
        index = max(0, min(index, len(self._rows) - 1))
        if index == self._cursor:
            return
        old = self._cursor
        self._cursor = index
        self._refresh_index(old)
        self._refresh_index(index)
        self._scroll_cursor_into_view()
        self._post_cursor()

    def action_extend(self, step: int) -> None:
        """shift+arrows: select from the anchor (where the range started) to the cursor."""
        if not self._rows:
            return
        if self._anchor is None:
            self._anchor = self._cursor
            self._anchor_base = frozenset(self._selected)
        anchor = self._anchor
        self._set_cursor(self._cursor + step)
        low, high = sorted((anchor, self._cursor))
        key = self.row_key
        self._set_selection(set(self._anchor_base).union(key(r) for r in self._rows[low : high + 1]))
        self._anchor = anchor  # _set_cursor leaves it; keep it for the next shift+arrow

    def _set_selection(self, new: set[Hashable]) -> None:
        if new == self._selected:
            return
        self._selected = new
        self._hidden_selected = None
        self.refresh()
        self.post_message(self.SelectionChanged(self, len(self._selected)))

    def _post_cursor(self) -> None:
        row = self.cursor_row
        if row is self._last_cursor_row:
            return
        self._last_cursor_row = row
        self.post_message(self.CursorMoved(self, row))

    def _visible_range(self) -> tuple[int, int]:
        """(first row index shown, number of row lines)."""
        return int(self.scroll_offset.y), max(self.scrollable_content_region.height - 1, 0)

    def _refresh_index(self, index: int) -> None:
        top, height = self._visible_range()
        if top <= index < top + height:
            self.refresh_line(index + 1)  # virtual line: header is line 0 of the viewport

    def _scroll_cursor_into_view(self, center: bool = False) -> None:
        """Scroll as little as possible; `center`: a jump (new rows, new order) centres the cursor."""
        top, height = self._visible_range()
        if height <= 0:
            return
        if center and not top <= self._cursor < top + height:
            self.scroll_to(y=self._cursor - height // 2, animate=False)
        elif self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False)
        elif self._cursor >= top + height:
            self.scroll_to(y=self._cursor - height + 1, animate=False)
