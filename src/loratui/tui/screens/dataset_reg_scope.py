"""Reg images in the Dataset screen's bulk changes: who may touch them, and what the preview says of them.

The table lists the reg folder's images after the train images (marked reg/). A bulk change (the bulk
forms, paste, the tag list's remove / rename everywhere, a recipe replayed) changes a reg caption only
when the user's selection or filter shows reg rows: "every image" (no selection, no filter) means the
train images. The tag list counts (and changes) the reg captions when the filter shows reg rows only
(``tag_scope``), the train captions otherwise. A scope of train and reg images together is refused
with one line that says how to pick one kind (`reg`, `not reg`): the two are journaled in their own
folders, and one change must stay one ctrl+z. The preview's title says how many reg captions the change touches. A mixin of DatasetScreen
through DatasetEdits (needs ``store``, ``app``, ``table``, ``key_for``).
"""

from __future__ import annotations

from loratui.tui.services.dataset_store import ImageRow

MIXED_SCOPE = ("{train:,} train and {reg:,} reg image(s) {where}: a bulk change goes to one kind at a time "
               "(each is one undo): add `reg` or `not reg` to the filter{select}")


class DatasetRegScope:
    """Mixin: the train-only "every image" scope, the mixed-scope refusal, the preview's reg count."""

    def everywhere_scope(self) -> tuple[list[ImageRow], str]:
        """Every train image (the tag list's everywhere, a bulk change with no selection and no filter);
        the label says the reg images are left out when there are some."""
        rows = list(self.store.rows)
        kind = " train" if self.store.reg_rows else ""
        return rows, f"all {len(rows):,}{kind} images"

    def tag_scope(self) -> tuple[list[ImageRow], str, str]:
        """(rows, label, kind): the images the tag list counts and its remove / rename change. kind "reg" (every
        reg image) when the filter shows reg rows only; "train and reg" when a filter naming `reg` shows both (the
        counts are of both; a change is refused, as for the bulk ops); else "train" (everywhere_scope): a filter
        that does not name `reg` (`solo`, `not reg`) keeps the tag list on the train images."""
        from loratui.tui.services.dataset_store import split_filter

        reg_rows = self.store.reg_rows
        shown = self.shown if self.filter_text.strip() else []
        reg_shown = sum(1 for row in shown if row.reg) if reg_rows else 0
        if reg_shown and reg_shown == len(shown):
            return list(reg_rows), f"all {len(reg_rows):,} reg images", "reg"
        names_reg = any(term.lower().lstrip("-") == "reg" for term in split_filter(self.filter_text)[0].split())
        if reg_shown and names_reg:
            return list(shown), f"filtered: {len(shown):,} of {len(self.store.all_rows):,}", "train and reg"
        return (*self.everywhere_scope(), "train")

    def tag_filter(self, tags: list[str]) -> str:
        """The filter that shows the images holding any of ``tags`` (the tag list's Enter), kept to the reg
        images when the tag list counts theirs: a tag both kinds hold would otherwise flip it to the train's."""
        from loratui.core.captions import tag_term

        prefix = "reg " if self.tag_scope()[2] == "reg" else ""
        return " or ".join(prefix + tag_term(tag) for tag in tags)

    def tag_scope_word(self, kind: str) -> str:
        """What the tag counts are of, said in the tag list and the summary: "" for a dataset without reg
        images (there is only one kind), else the kind ("train", "reg", "train and reg")."""
        return kind if self.store.reg_rows else ""

    def refuse_mixed_scope(self, rows: list[ImageRow], label: str) -> bool:
        """True (and the user told why, in one line) when ``rows`` hold train and reg images both."""
        reg = sum(1 for row in rows if row.reg)
        if not reg or reg == len(rows):
            return False
        selected = label.startswith("selected")
        where = "are selected" if selected else "match the filter"
        deselect = self.key_for("table.clear_selection", self.table)  # the user's keymap applied
        select = (f", or select one kind only ({deselect} deselects all)" if deselect else
                  ", or select one kind only") if selected else ""
        self.app.notify(MIXED_SCOPE.format(train=len(rows) - reg, reg=reg, where=where, select=select),
                        severity="warning", timeout=10)
        return True

    def reg_note(self, plan) -> str:
        """" · 3 reg caption(s) touched" for the preview's title ("no reg caption touched" when the
        dataset has reg images and the change leaves them be); "" for a dataset without reg images."""
        if not self.store.reg_rows:
            return ""
        by_caption = self.store.by_caption
        touched = sum(1 for edit in plan.edits if (row := by_caption.get(edit.path)) is not None and row.reg)
        return f" · {touched:,} reg caption(s) touched" if touched else " · no reg caption touched"

    def wrote_reg(self, written) -> bool:
        """Whether a write went to reg captions (journaled in the reg folder; a recipe keeps it to `reg`)."""
        by_caption = self.store.by_caption
        return any((row := by_caption.get(path)) is not None and row.reg for path in written)
