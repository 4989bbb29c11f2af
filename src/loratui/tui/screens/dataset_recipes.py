"""Recipes on the Dataset screen: the operations applied in this session, each with its scope as a
--where, saved as a recipe; a recipe replayed over the selected (else filtered, else all) images.

A mixin of DatasetScreen through DatasetEdits (it needs ``store``, ``filter_text``, ``scope_rows``,
``preview_plan`` and ``write_plan``, ``reread``).
"""

from __future__ import annotations

from pathlib import Path

from loratui.core.errors import LoratuiError
from loratui.core.termline import shell_arg
from loratui.tui.services.dataset_store import ImageRow


class DatasetRecipes:
    """Mixin: what a recipe saved now would hold, saving one, replaying one."""

    # ---- what a recipe saved now would hold ----------------------------------------------------------

    def _remember_ops(self, ops, where: str | None, label: str, entry: Path | None) -> None:
        """Operations applied in this session, with their scope as a --where (None: the scope cannot be
        written as one) and the undo journal entry they made (undone: not in a recipe)."""
        if entry is None:
            return  # nothing was written
        self.applied_ops = [*getattr(self, "applied_ops", []), *[(op, where, label, entry.name) for op in ops]]

    MAX_LISTED_FILES = 50  # a selection as a --where of file names, up to this many images

    def scope_where(self, rows: list[ImageRow], label: str) -> str | None:
        """The scope of a bulk change as a --where: "" for every image, the filter's expression, or the
        images' file names; None when it cannot be written as one (too many images picked by hand,
        or by filter words that are not a --where)."""
        from loratui.core.captions import parse_where
        from loratui.tui.services.dataset_store import split_filter

        if len(rows) == len(self.store.rows) and not any(row.reg for row in rows):
            return ""  # every train image
        if label.startswith("filtered"):
            where_text, words = split_filter(getattr(self, "filter_text", ""))
            if where_text and not words:
                return where_text
        if not rows or len(rows) > self.MAX_LISTED_FILES:
            return None

        def value(text: str) -> str:
            import shlex

            return shlex.quote("".join(f"[{ch}]" if ch in "*?[" else ch for ch in text))  # the where tokenizer's quoting

        terms = []
        for row in rows:
            term = f"file:{value(row.caption_file.name)}"
            terms.append(f"folder:{value(row.folder)} and {term}" if row.folder else term)
        where = " or ".join(terms)
        try:
            matches = parse_where(where, is_reg=self.store.reg_caption_test())
        except LoratuiError:
            return None
        # written down, it must pick exactly these images again (a loose image's file name may sit in a
        # concept folder too; a name the language cannot spell must not widen or empty the step)
        chosen = {id(row) for row in rows}
        for row in self.store.rows:
            if row.caption is None:
                if id(row) in chosen:
                    return None
            elif bool(matches(row.caption)) != (id(row) in chosen):
                return None
        return where

    def undone_since(self) -> set[str]:
        """The journal entries of this session's operations that were undone: by this session's ctrl+z,
        or elsewhere (then waiting on the redo stack, or gone from it with no older change still
        undoable). An entry gone from the undo history because it is older than what the history
        keeps (it forgets its oldest changes) was not undone: its operation is still in effect."""
        from loratui.core.captions import journal_dir, redo_dir

        def names(folder: Path) -> set[str]:
            found = set()
            for path in folder.glob("*.json") if folder.is_dir() else ():
                try:
                    if path.stem.isdigit() and path.stat().st_size > 0:
                        found.add(path.name)
                except OSError:  # walked by another loratui a moment ago
                    pass
            return found

        def number(name: str) -> int:
            return int(Path(name).stem)

        live, redo = names(journal_dir(self.store.root)), names(redo_dir(self.store.root))
        oldest_live = min(map(number, live), default=None)
        undone_here = getattr(self, "undone_entries", set())
        undone = set()
        for _op, _where, _label, entry in getattr(self, "applied_ops", []):
            if entry in live:
                continue  # in effect (redone in a shell after an undo here, too)
            if entry in undone_here or entry in redo or (oldest_live is not None and number(entry) > oldest_live):
                undone.add(entry)  # undone here, waiting to be redone, or newer than a change still undoable
        return undone

    def recipe_ops(self) -> tuple[list, list[str]]:
        """The operations still in effect (not undone; see ``undone_since``), each limited to the scope
        it was applied to; and, in words, those left out because their scope is not a --where."""
        from loratui.core.captions import combine_where, op_from_dict

        undone = self.undone_since()
        ops, left_out = [], []
        for op, where, label, entry in getattr(self, "applied_ops", []):
            if entry in undone:
                continue
            if where is None:
                left_out.append(f"{op.describe_where()} ({label})")
            elif where:
                ops.append(op_from_dict({**op.to_dict(), "where": combine_where(op.where, where)}))
            else:
                ops.append(op)
        return ops, left_out

    # ---- recipes ------------------------------------------------------------------------------------

    def recipe_folders(self) -> list[Path]:
        from loratui.core.captions import journal_dir

        folders = [journal_dir(self.store.root).parent / "recipes"]
        if self.store.location.project_dir is not None:
            folders.insert(0, self.store.location.project_dir / "recipes")
        return folders

    def action_save_recipe(self) -> None:
        from loratui.tui.screens.recipe_dialogs import SaveRecipeScreen

        ops, left_out = self.recipe_ops()
        skipped = ""
        if left_out:
            skipped = (f"; left out {len(left_out)} applied to images picked by hand or by filter words, "
                       f"which a recipe cannot name: {'; '.join(left_out)}")
        if not ops:
            if left_out:
                self.app.notify("nothing saved" + skipped, severity="warning", timeout=10)
            elif getattr(self, "applied_ops", []):
                self.app.notify("nothing to save: the operations applied in this session were undone",
                                severity="warning")
            else:
                self.app.notify("no operation applied yet in this session: apply one, then save it as a recipe",
                                severity="warning")
            return
        screen = SaveRecipeScreen(self.recipe_folders()[0], ops=list(ops))
        self.app.push_screen(screen, lambda path: path and self.app.notify(
            f"saved {len(ops)} operation(s){'; ' + screen.note if screen.note else ''}{skipped}. "
            f"`loratui tags apply DIR {shell_arg(path)}` replays them",
            severity="warning" if skipped else "information", timeout=10 if skipped or screen.note else 5))

    def action_replay_recipe(self) -> None:
        from loratui.tui.screens.recipe_dialogs import PickRecipeScreen

        if self.refuse_while_writing():
            return
        self.app.push_screen(PickRecipeScreen(self.recipe_folders()), self._replay)

    def _replay(self, path: Path | None) -> None:
        from loratui.core.captions import EditContext, load_recipe, parse_where, plan_edits

        if path is None:
            return
        try:
            recipe = load_recipe(path)
            rows, label = self.scope_rows()
            if self.refuse_mixed_scope(rows, label):
                return
            captions = [r.caption for r in rows if r.caption is not None]
            where = parse_where(recipe.where, is_reg=self.store.reg_caption_test())  # `reg`: the rows listed as reg
            ctx = EditContext(frequency=self.store.frequency, categories=self.store.categories)

            def planned(left_out: set[Path] = frozenset()):  # left_out: new captions of unreadable images
                return plan_edits([c for c in captions if c.path not in left_out], recipe.ops, where=where,
                                  ctx=ctx, description=f"recipe {path.name}: {recipe.describe()}")

            plan = planned()
        except LoratuiError as exc:
            self.app.notify(str(exc), severity="error")
            return

        scope_where = self.scope_where(rows, label)
        if scope_where is not None and recipe.where:
            from loratui.core.captions import combine_where

            scope_where = combine_where(recipe.where, scope_where)

        title = f"recipe {path.name} · {label}{self.reg_note(plan)}"
        self.preview_plan(plan, planned, title, lambda final: self.write_plan(
            final, f"recipe {path.name}", lambda *out: self._replayed(recipe.ops, scope_where, label, *out)))

    def _replayed(self, ops, where: str | None, label: str, written: list[Path], fresh: dict, checks: dict,
                  entry: Path | None) -> None:
        if not self.wrote_reg(written):  # journaled in the reg folder: a recipe saved later leaves it out
            self._remember_ops(ops, where, label, entry)
        self.reread(list(written), mark="saved", fresh=fresh, checks=checks)
        undoes = self.key_does("dataset.undo", "undoes the whole recipe")  # keymap.toml may move it
        self.app.notify(f"wrote {len(written):,} caption(s): {undoes}")
