"""The preview of a bulk change on the Dataset screen, without captions for images that cannot be loaded
(and the question before captions are saved as UTF-8, which lists them the same way).

A bulk "add a tag" (a paste, a recipe) over images without a caption makes a caption file for each.
For an image sd-scripts cannot load (0 bytes, a corrupt or cut header) that file would only hide the
problem the scan reports, so, as `loratui tags add` does, such captions are left out of the plan and
the preview names the images. Only images that would get a new caption file are probed (headers only,
in a worker), so a change to captioned images opens its preview as before. A new caption file beside
a caption with another extension (a13.txt beside a13.caption: caption_extension is probably wrong) is
made as planned, and the preview says how many and where, so the user can cancel; so are read-only
caption files, which would make the write refuse the whole change. The preview with the
notes is screens.noted_plan_preview (imported when needed: the Dataset screen's first frame waits for
its imports).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from loratui.core.dataset import other_caption_file
from loratui.core.termline import escape_controls

SHOWN_UNREADABLE = 5  # images named in the note (then "and N more")


def unreadable_note(broken: dict[Path, list[Path]], root: Path) -> str:
    """One line: how many unreadable images were left out, a few of them by name, and where to look."""
    images = [image for found in broken.values() for image in found]
    names = [_shown(image, root) for image in images[:SHOWN_UNREADABLE]]
    more = f" and {len(images) - SHOWN_UNREADABLE:,} more" if len(images) > SHOWN_UNREADABLE else ""
    return (f"left out {len(images):,} unreadable image(s), no caption file made for them: {', '.join(names)}{more} "
            "(sd-scripts cannot load them; p on the table shows why: fix or remove them)")


def captions_beside(plan) -> dict[Path, Path]:
    """{new caption file: the caption with another usual extension already beside it} for the files
    ``plan`` would create: the dataset's caption_extension is probably not the one its captions use.
    The usual extensions are the scan's (core.dataset.other_caption_file: its missing_caption check
    says the same of an image the scan finds without a caption)."""
    found = {}
    for edit in plan.edits:
        if edit.new_file:
            path = Path(edit.path)
            other = other_caption_file(path)  # the new file's own name is not there yet: any found is another
            if other is not None and other != path:
                found[path] = other
    return found


def beside_note(beside: dict[Path, Path], root: Path, new_files: int, settings_key: str) -> str:
    """One line: how many new caption files would sit beside another caption, a few by name, the fix."""
    others = list(beside.values())
    names = [_shown(path, root) for path in others[:SHOWN_UNREADABLE]]
    more = f" and {len(others) - SHOWN_UNREADABLE:,} more" if len(others) > SHOWN_UNREADABLE else ""
    ours = next(iter(beside)).suffix
    suffixes = [path.suffix for path in others]
    theirs = max(set(suffixes), key=suffixes.count)
    settings = f"Settings ({settings_key})" if settings_key else "Settings"
    return (f"{len(beside):,} of the {new_files:,} new caption file(s) would sit beside a caption with another "
            f"extension: {', '.join(names)}{more}. The dataset reads {ours} captions, so those are not read: if "
            f"they are the captions, cancel and set caption_extension = \"{theirs}\" on {settings}")


READ_ONLY_CHECKED_INLINE = 2_000  # edits whose files are stat'ed on the UI thread; more go to a worker


def read_only_note(plan, root: Path) -> str:
    """One line naming the caption files ``plan`` would rewrite that are read-only (mode 0444): the
    write refuses the whole change for them (core.captions.check_rewritable), so the user learns it
    before going ahead, not after. "" when there are none."""
    from loratui.core.captions import read_only

    locked = [Path(edit.path) for edit in plan.edits if not edit.new_file and read_only(edit.path)]
    if not locked:
        return ""
    names = [_shown(path, root) for path in locked[:SHOWN_UNREADABLE]]
    more = f" and {len(locked) - SHOWN_UNREADABLE:,} more" if len(locked) > SHOWN_UNREADABLE else ""
    return (f"{len(locked):,} caption file(s) are read-only: {', '.join(names)}{more}. Writing refuses the whole "
            f"change and writes nothing: make them writable first (chmod u+w '{locked[0]}'), or narrow the "
            "filter to leave them out")


def _shown(path: Path, root: Path) -> str:
    """``path`` under ``root`` on one line of a note: a newline, a tab or an undecodable byte escaped
    (core.termline's rule, as the CLI prints it), CJK, emoji and joined emoji as they are."""
    text = os.path.relpath(path, root) if Path(root) in Path(path).parents else str(path)
    return escape_controls(text)


class BulkPreview:
    """Mixin of the Dataset screen (needs ``store``, ``start_busy``, ``end_busy``, ``key_for``): ``preview_plan``."""

    def preview_plan(self, plan, replan: Callable[[set[Path]], object], title: str,
                     apply: Callable[[object], None]) -> None:
        """Show ``plan`` and call ``apply(plan)`` if the user goes ahead. When it would make new caption
        files, their images are probed first (a worker) and ``replan(left_out)`` plans again without
        the caption files of images that cannot be loaded; the preview names those images, and the new
        caption files that would sit beside a caption with another extension (a.caption beside a.txt).
        A plan a bulk form built has a preview whose escape opens that form again, as it was typed."""
        from loratui.tui.screens.noted_plan_preview import NotedPlanPreview
        from loratui.tui.screens.plan_preview import PlanPreviewScreen
        from loratui.tui.services.work import run_in_thread

        form = self._form_of(plan)

        def answered(go: bool | None, final) -> None:
            if go:
                apply(final)
            elif go is None and form is not None:  # escape: back to the form, which remembers its fields
                kind, scope = form
                # "all N images" is the scope with no selection and no filter, or the tag list's
                # everywhere: reopening with everywhere gives the same images either way
                self.action_bulk(kind, everywhere=scope.startswith("all "))

        def show(out) -> None:
            final, notes = out
            back = form is not None
            screen = NotedPlanPreview(final, self.store.root, title, notes, back=back) if notes else \
                PlanPreviewScreen(final, self.store.root, title, back=back)
            self.app.push_screen(screen, lambda go: answered(go, final))

        new_files = sum(1 for edit in plan.edits if edit.new_file)
        if not new_files and len(plan.edits) <= READ_ONLY_CHECKED_INLINE:  # a few stats: no worker needed
            locked = read_only_note(plan, self.store.root)
            show((plan, [locked] if locked else []))
            return

        settings_key = self.key_for("app.settings", self.app)  # here: the worker reads no bindings

        def work():
            final, notes = plan, []
            if new_files:
                broken = self.store.unreadable_new_captions(plan)
                if broken:
                    final, notes = replan(set(broken)), [unreadable_note(broken, self.store.root)]
                beside = captions_beside(final)
                if beside:
                    notes.append(beside_note(beside, self.store.root, final.new_files, settings_key))
            locked = read_only_note(final, self.store.root)
            if locked:
                notes.append(locked)
            return final, notes

        def done(out) -> None:
            self.end_busy()
            show(out)

        def failed(exc: BaseException) -> None:
            from loratui.tui.services.work import report_failure

            self.end_busy()
            report_failure(self.app, title, exc)

        self.start_busy(f"checking the {new_files:,} image(s) that would get a new caption…" if new_files else
                        f"checking the {len(plan.edits):,} caption file(s) it would rewrite…")
        run_in_thread(self, work, done=done, failed=failed, what=title)

    def _reg_not_utf8(self, rows) -> str:
        """"; 2 reg caption(s) too: filter with `reg` to save them" when the scope leaves out reg captions
        that need it (the default scope is the train images); "" otherwise."""
        from loratui.core.captions import recode_plan

        if any(row.reg for row in rows) or not self.store.reg_rows:
            return ""
        count = len(recode_plan([row.caption for row in self.store.reg_rows if row.caption is not None], []))
        if not count:
            return ""
        opens = self.key_for("dataset.filter") or "the filter box"
        return f"; {count:,} reg caption(s) too: filter with `reg` ({opens}) to save them"

    def _form_of(self, plan) -> tuple[str, str] | None:
        """(kind, scope label) of the bulk form that built ``plan`` (its op, or a Replace's ops), or None."""
        from loratui.tui.screens.bulk_op import form_that_built

        return form_that_built(self.app, list(plan.ops))  # a recipe's ops are not the form's: None

    def action_to_utf8(self) -> None:
        """Re-save the captions that are not plain UTF-8 (what `loratui tags to-utf8` does), after a
        question that lists them; one undo. The scope of the other bulk changes: the selection, else the
        filter, else the train images; reg captions when the filter (`reg`) or selection shows them,
        journaled in the reg folder (screens.dataset_reg_scope)."""
        from loratui.core.captions import recode_captions, recode_plan
        from loratui.tui.screens.config_dialogs import ChoiceDialog
        from loratui.tui.services.work import run_in_thread

        if self.refuse_while_writing():
            return
        rows, label = self.scope_rows()
        if self.refuse_mixed_scope(rows, label):
            return
        if any(row.caption is None for row in rows) and not self.store.captions_loaded:
            self.app.notify("captions are still loading: try again in a moment", severity="warning")
            return
        skipped: list[str] = []
        items = recode_plan([row.caption for row in rows if row.caption is not None], skipped)
        reg_left = self._reg_not_utf8(rows)
        if not items:
            if skipped:
                self.app.notify(f"{len(skipped):,} caption(s) cannot be saved as UTF-8 here: {skipped[0]}",
                                severity="warning", timeout=12)
            else:
                self.app.notify(f"every caption ({label}) is plain UTF-8 already (no Windows-1252, UTF-16 or "
                                f"byte-order mark){reg_left}")
            return
        journal = self.store.journal_root([item.path for item in items])  # reg captions: the reg folder's
        base = self.store.reg_root if journal != self.store.root and self.store.reg_root else self.store.root
        shown = [f"{os.path.relpath(item.path, base)}: {item.was}" for item in items[:8]]
        if len(items) > 8:
            shown.append(f"… and {len(items) - 8:,} more")
        if skipped:  # named, not silently dropped: the user fixes those by hand
            shown.append(f"left as they are ({len(skipped):,}): {skipped[0]}")
        body = (f"{len(items):,} caption(s) are not plain UTF-8 ({label}): sd-scripts stops on Windows-1252 and "
                "UTF-16 and keeps a byte-order mark in the first tag. Save them as UTF-8, text and line endings "
                f"kept? {self.key_does('dataset.undo', 'puts them back')}{reg_left}.\n\n" + "\n".join(shown))

        def work():
            written, problems = recode_captions(items, journal)
            return written, problems, self.store.reread(written), self.store.check_captions(written)

        def done(out) -> None:
            written, problems, fresh, checks = out
            try:
                self.reread(list(written), mark="saved", fresh=fresh, checks=checks)
            finally:
                self.end_write()
            if problems:
                self.app.notify(f"saved {len(written):,} as UTF-8; {len(problems):,} left as they are: {problems[0]}",
                                severity="warning", timeout=10)
            else:
                undo = self.key_does("dataset.undo", "undoes it")
                self.app.notify(f"saved {len(written):,} caption(s) as UTF-8: {undo}")

        def answered(choice: str | None) -> None:
            if choice == "w" and self.begin_write(f"writing {len(items):,} caption(s)…", [i.path for i in items]):
                run_in_thread(self, work, done=done, what="save as UTF-8",
                              failed=lambda exc: (self.end_write(), self._write_failed("save as UTF-8", exc)))

        self.app.push_screen(ChoiceDialog("save captions as UTF-8", body, [("w", "write them")]), answered)
