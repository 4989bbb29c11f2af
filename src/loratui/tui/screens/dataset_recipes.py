"""Recipes on the Dataset screen: the operations applied in this session, each with its scope as a
--where, saved as a recipe; a recipe replayed over the selected (else filtered, else all) images.

A change to reg captions (the reg folder's rows, screens.dataset_reg_scope) is saved too, its where kept to
`reg` ("reg and folder:1_person and file:p1.txt"); in a recipe that holds both kinds, each train operation is
kept to `not reg`. A replay goes to one kind at a time, as every bulk change does: the train images (no
filter), or the reg images (filter `reg`; `loratui tags apply DIR RECIPE --where reg` in a shell), and each
operation runs on its own kind only.

A mixin of DatasetScreen through DatasetEdits (it needs ``store``, ``filter_text``, ``scope_rows``,
``preview_plan`` and ``write_plan``, ``reread``).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import NamedTuple

from loratui.core.errors import LoratuiError
from loratui.core.termline import shell_arg
from loratui.tui.services.dataset_store import ImageRow


class AppliedOp(NamedTuple):
    """An operation applied in this session: its scope as a --where (None: cannot be written as one), the
    scope in words, and the undo journal entry it made (``entry`` in ``root``'s journal: the train
    folder's, or the reg folder's when ``reg``)."""

    op: object  # core.captions.Op
    where: str | None
    label: str
    entry: str
    root: Path
    reg: bool = False


def where_kind(where: str | None) -> str | None:
    """"reg" when every or-part of a --where keeps to reg images (holds `reg`), "train" when every one
    keeps to the others (`not reg`, `-reg`); None otherwise (no reg term, or both kinds)."""
    if not where or not where.strip():
        return None
    lexer = shlex.shlex(where, posix=True)  # split as core's filter splits (quotes group, no escapes)
    lexer.whitespace_split, lexer.escape, lexer.commenters = True, "", ""
    try:
        tokens = list(lexer)
    except ValueError:  # an unclosed quote: parse_where names it
        return None
    kinds, part, negate = set(), set(), False
    for token in [*tokens, "or"]:
        low = token.lower()
        if low == "or":
            kinds.add(part.pop() if len(part) == 1 else None)
            part, negate = set(), False
        elif low == "not":
            negate = not negate
        elif low != "and":
            if low.startswith("-") and len(low) > 1:
                low, negate = low[1:], not negate
            if low == "reg":
                part.add("train" if negate else "reg")
            negate = False
    return kinds.pop() if len(kinds) == 1 else None


def kept_to_kind(where: str | None, reg: bool) -> str:
    """``where`` limited to reg images (``reg``) or to the others, unless it already is."""
    from loratui.core.captions import combine_where

    if where_kind(where) == ("reg" if reg else "train"):
        return where
    return combine_where("reg" if reg else "not reg", where)


class DatasetRecipes:
    """Mixin: what a recipe saved now would hold, saving one, replaying one."""

    # ---- what a recipe saved now would hold ----------------------------------------------------------

    def _remember_ops(self, ops, where: str | None, label: str, entry: Path | None, written: list[Path]) -> None:
        """Operations applied in this session, with their scope as a --where (None: the scope cannot be
        written as one), the undo journal entry they made (undone: not in a recipe) and whose journal that
        is: the reg folder's for reg captions (``written``)."""
        if entry is None:
            return  # nothing was written
        reg = self.wrote_reg(written)
        root = self.store.reg_root if reg and self.store.reg_root is not None else self.store.root
        self.applied_ops = [*getattr(self, "applied_ops", []),
                            *[AppliedOp(op, where, label, entry.name, root, reg) for op in ops]]

    MAX_LISTED_FILES = 50  # a selection as a --where of file names, up to this many images

    def scope_where(self, rows: list[ImageRow], label: str) -> str | None:
        """The scope of a bulk change as a --where: "" for every train image, the filter's expression, or
        the images' file names; reg images' kept to `reg`. None when it cannot be written as one (too many
        images picked by hand, filter words that are not a --where, reg images a recipe's `reg` would not
        find on replay: a reg folder away from the project, which core tells from the folders)."""
        from loratui.core.captions import parse_where
        from loratui.tui.services.dataset_store import split_filter

        reg = bool(rows) and all(row.reg for row in rows)
        if not reg:
            if len(rows) == len(self.store.rows) and not any(row.reg for row in rows):
                return ""  # every train image
        elif len(rows) == len(self.store.reg_rows):
            return self._picks_exactly("reg", rows)  # every reg image
        if label.startswith("filtered"):
            where_text, words = split_filter(getattr(self, "filter_text", ""))
            if where_text and not words:
                return self._picks_exactly(kept_to_kind(where_text, True), rows) if reg else where_text
        if not rows or len(rows) > self.MAX_LISTED_FILES:
            return None

        def value(text: str) -> str:
            # quoted as the where tokenizer reads it
            return shlex.quote("".join(f"[{ch}]" if ch in "*?[" else ch for ch in text))

        terms = []
        for row in rows:
            term = f"file:{value(row.caption_file.name)}"
            terms.append(f"folder:{value(row.folder)} and {term}" if row.folder else term)
        where = " or ".join(terms)
        if reg:
            return self._picks_exactly(kept_to_kind(where, True), rows)
        try:
            matches = parse_where(where, is_reg=self.store.reg_caption_test())
        except LoratuiError:
            return None
        # written down, it must pick exactly these images again (a loose image's file name may sit in a
        # concept folder too; a name the language cannot spell must not widen or empty the step)
        return where if _picks_only(matches, self.store.rows, rows) else None

    def _picks_exactly(self, where: str, rows: list[ImageRow]) -> str | None:
        """``where`` when, compiled as a recipe's operation compiles it (core's `reg`: told from the folders),
        it picks exactly ``rows`` of the table's train and reg rows; else None."""
        from loratui.core.captions import parse_where

        try:
            matches = parse_where(where)
        except LoratuiError:
            return None
        return where if _picks_only(matches, self.store.all_rows, rows) else None

    def undone_since(self) -> set[tuple[Path, str]]:
        """(journal folder, entry) of this session's operations that were undone: by this session's ctrl+z,
        or elsewhere (then waiting on the redo stack, or gone from it with no older change still
        undoable). An entry gone from the undo history because it is older than what the history
        keeps (it forgets its oldest changes) was not undone: its operation is still in effect. Each
        kind's journal is its own (the train folder's, the reg folder's): their entry names repeat."""
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

        applied = getattr(self, "applied_ops", [])
        undone = set()
        for root in {done.root for done in applied}:
            live, redo = names(journal_dir(root)), names(redo_dir(root))
            oldest_live = min(map(number, live), default=None)
            train = root == self.store.root
            # ctrl+z here records the train journal's entries (screens.dataset_undo); a reg entry's undo shows
            # in the reg journal: waiting to be redone, or dropped by a later train change (drop_stale_redo)
            undone_here = getattr(self, "undone_entries", set()) if train else set()
            for done in applied:
                if done.root != root or done.entry in live:
                    continue  # another journal's; in effect (redone in a shell after an undo here, too)
                if (done.entry in undone_here or done.entry in redo or oldest_live is None
                        or number(done.entry) > oldest_live):
                    undone.add((root, done.entry))  # undone: waiting to be redone, or newer than a live change
        return undone

    def recipe_ops(self) -> tuple[list, list[str]]:
        """The operations still in effect (not undone; see ``undone_since``), each limited to the scope
        it was applied to (reg captions' kept to `reg`; with those, the train ones to `not reg`); and, in
        words, those left out because their scope is not a --where. A replayed recipe's operation kept to
        the other kind than the images it was replayed on changed nothing: it is not repeated."""
        from loratui.core.captions import combine_where, op_from_dict

        undone = self.undone_since()
        kept = [done for done in getattr(self, "applied_ops", []) if (done.root, done.entry) not in undone
                and where_kind(done.op.where) != ("train" if done.reg else "reg")]
        saved = [done for done in kept if done.where is not None]
        both_kinds = any(done.reg for done in saved) and not all(done.reg for done in saved)
        ops, left_out = [], []
        for done in kept:
            op, where = done.op, done.where
            if where is None:
                left_out.append(f"{op.describe_where()} ({'reg images, ' if done.reg else ''}{done.label})")
                continue
            if done.reg or both_kinds:  # a replay on one kind runs each operation on its own kind only
                where = kept_to_kind(where, done.reg)
                if where_kind(op.where) == where_kind(where) and where in ("reg", "not reg"):
                    where = ""  # the operation's own where keeps it to that kind already
            ops.append(op_from_dict({**op.to_dict(), "where": combine_where(op.where, where)}) if where else op)
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
            skipped = (f"; left out {len(left_out)} whose images a recipe cannot name (picked by hand, by filter "
                       f"words, or reg images away from the project): {'; '.join(left_out)}")
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
            f"{replay_hint(ops, path)}",
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

        other = other_kind_note(recipe, rows)
        if other:  # said apart: the preview's title is cut at 80 columns
            self.app.notify(f"{path.name}: {other}", timeout=10)
        title = f"recipe {path.name} · {label}{self.reg_note(plan)}"
        self.preview_plan(plan, planned, title, lambda final: self.write_plan(
            final, f"recipe {path.name}", lambda *out: self._replayed(recipe.ops, scope_where, label, *out)))

    def _replayed(self, ops, where: str | None, label: str, written: list[Path], fresh: dict, checks: dict,
                  entry: Path | None) -> None:
        self._remember_ops(ops, where, label, entry, written)  # reg captions too: journaled in the reg folder
        self.reread(list(written), mark="saved", fresh=fresh, checks=checks)
        undoes = self.key_does("dataset.undo", "undoes the whole recipe")  # keymap.toml may move it
        self.app.notify(f"wrote {len(written):,} caption(s): {undoes}")


def replay_hint(ops, path: Path) -> str:
    """How the saved operations are replayed: in a shell (`--where reg` reads a project's reg folder) and,
    for reg operations, here (a replay goes to the reg images when the filter shows only them)."""
    command = f"`loratui tags apply DIR {shell_arg(path)}`"
    reg = sum(1 for op in ops if where_kind(op.where) == "reg")
    if not reg:
        return f"{command} replays them"
    if reg == len(ops):
        return f"{command[:-1]} --where reg` replays them on the reg images (here: filter `reg`, then replay)"
    return (f"{command} replays the train ones; with `--where reg`, the {reg} on reg images (here: filter `reg`, "
            "then replay)")


def other_kind_note(recipe, rows: list[ImageRow]) -> str:
    """"1 reg operation(s) skipped: …" when the recipe holds operations kept to the other kind than the
    images replayed on (a recipe saved from train and reg changes); "" otherwise."""
    from loratui.core.captions import combine_where

    reg = bool(rows) and all(row.reg for row in rows)
    other = "train" if reg else "reg"
    skipped = sum(1 for op in recipe.ops if where_kind(combine_where(recipe.where, op.where)) == other)
    if not skipped:
        return ""
    how = "clear the filter, then replay" if reg else "filter `reg`, then replay"
    return f"{skipped} {other} operation(s) skipped: they run on the {other} images ({how})"


def _picks_only(matches, pool: list[ImageRow], rows: list[ImageRow]) -> bool:
    """``matches`` (a compiled where) picks exactly ``rows`` out of ``pool``: a row whose caption is not read
    yet cannot be told, so it may only be one that is not chosen."""
    chosen = {id(row) for row in rows}
    for row in pool:
        if row.caption is None:
            if id(row) in chosen:
                return False
        elif bool(matches(row.caption)) != (id(row) in chosen):
            return False
    return True
