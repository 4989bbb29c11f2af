"""Reg images in the Dataset screen's bulk changes: who may touch them, and what the preview says of them.

The table lists the reg folder's images after the train images (marked reg/). A bulk change (the bulk
forms, paste, the tag list's remove / rename everywhere, a recipe replayed) changes a reg caption only
when the user's selection or filter shows reg rows: "every image" (no selection, no filter) means the
train images. The tag list counts (and changes) the images of that same scope (``tag_scope``): the reg
captions when the rows selected or filtered are reg rows only. A scope of train and reg images together is refused
with one line that says how to pick one kind (`reg`, `not reg`): the two are journaled in their own
folders, and one change must stay one ctrl+z. The preview's title says how many reg captions the change touches. A mixin of DatasetScreen
through DatasetEdits (needs ``store``, ``app``, ``table``, ``key_for``).
"""

from __future__ import annotations

from collections import Counter

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
        """(rows, label, kind): the images the tag list counts and its remove / rename / add change: the scope
        of every bulk key (``scope_rows``: the selected rows shown, else the filtered rows, else every train
        image; h5: the list counted the whole dataset under a filter). kind: "reg" when they are all reg
        images, "train and reg" when both (counted; a change is refused, as for the bulk ops), else "train"."""
        from loratui.tui.screens.dataset_edits import DatasetEdits

        # DatasetEdits': the screen's own refilters first, and a refilter asks for the tag list's counts again
        rows, label = DatasetEdits.scope_rows(self)
        reg = sum(1 for row in rows if row.reg) if self.store.reg_rows else 0
        return rows, label, "reg" if reg and reg == len(rows) else "train and reg" if reg else "train"

    def tag_scope_words(self, rows: list[ImageRow], label: str, kind: str) -> str:
        """The tag list's scope as its title says it: "36 filtered images", "3 selected images", "all 300
        images" ("train" / "reg" named when the dataset has reg images)."""
        count = len(rows)
        noun = "image" if count == 1 else "images"
        if self.store.reg_rows:
            noun = f"{kind} {noun}" if kind != "train and reg" else f"{noun} (train and reg)"
        if label.startswith("selected"):
            return f"{count:,} selected {noun}"
        if label.startswith("filtered"):
            return f"{count:,} filtered {noun}"
        if label.startswith("all"):
            return f"all {count:,} {noun}"
        return label  # "the current image"

    def tag_counts(self, rows: list[ImageRow]) -> Counter:
        """tag -> captions of ``rows`` holding it; the store's own counts when ``rows`` are every train image. Kept
        until a caption changes (the store's ``frequency`` is then a new Counter) or the rows do: typing the
        filter asks again at each key."""
        store = self.store
        if len(rows) == len(store.rows) and all(a is b for a, b in zip(rows, store.rows)):
            return store.frequency
        key = (store.frequency, tuple(id(row) for row in rows))
        kept = getattr(self, "_tag_counts_kept", None)
        if kept is not None and kept[0][0] is key[0] and kept[0][1] == key[1]:
            return kept[1]
        from loratui.core.captions import tag_frequency

        counts = tag_frequency(row.caption for row in rows if row.caption is not None)
        self._tag_counts_kept = (key, counts)
        return counts

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
