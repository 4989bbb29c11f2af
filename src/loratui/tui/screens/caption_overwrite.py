"""The Caption screen's question before an overwrite run: "N of M images have a caption already".

With write mode overwrite, the images of the run that have a caption are counted; with any, a dialog
asks overwrite / append / skip, else the run starts at once. kohya_ss users expect the question; undo
stays one ctrl+z anyway (the dialog names the key keymap.toml gives dataset.undo). When the run reads what
the Dataset screen shows (its caption extension, concept folders without All subfolders) the app's own
rows are counted, at once; otherwise the disk is, in a thread (captioners.existing_captions: the run's own
rule; 20,000 images take ~0.9 s), with the run panel's status line saying so, and a second ctrl+r meanwhile
waits for that count rather than restarting it.

The question also names the reg images the run leaves out (the app's reg rows, ``reg_of_store``: a run
captions the train folder only) and the command that captions them; the run's end says it again.

A resume of an overwrite run asks the same (never skipped: the run resumed may not be the one the
user has in mind), counting only the captions that run did not write; overwrite continues it, append
and skip start a new run in that mode.

A mixin of CaptionScreen, kept apart so each file stays readable: it expects ``#common-form`` (the
Writing options), ``self.app.store.root`` (the dataset) and ``_start(dry_run, mode)``.
"""

from __future__ import annotations

from collections.abc import Callable

from loratui.tui.services.work import report_failure, run_in_thread
from loratui.tui.widgets.caption_form import OptionsForm

COUNTING = "looking for captions the run would replace…"
OVERWRITE_CHOICES = [("o", "overwrite"), ("a", "append"), ("s", "skip those")]
RESUME_CHOICES = [("o", "overwrite (resume)"), ("a", "append (a new run)"), ("s", "skip those (a new run)")]
MODE_OF_CHOICE = {"o": "overwrite", "a": "append", "s": "skip"}


def overwrite_question(existing, recursive: bool, undo: str = "ctrl+z", reg_line: str | None = None) -> str:
    """The dialog's text for ``existing`` (an ExistingCaptions count) and the run's All subfolders; ``undo``:
    the Dataset screen's undo key as the keymap binds it (app.dataset_undo_key); ``reg_line``: the reg images
    the run leaves out (``reg_line_of_store``), said after the rest."""
    where = ", all subfolders" if recursive else ""
    reg = f" {reg_line[0].upper()}{reg_line[1:]}." if reg_line else ""
    return (f"{existing.with_caption:,} of {existing.images:,} images have a caption already "
            f"({existing.extension} files{where}). Overwrite replaces them ({undo} on the Dataset screen puts the "
            f"whole run back); append merges the new tags in; skip captions only the others.{reg}")


def resume_question(existing, run_line: str, undo: str = "ctrl+z") -> str:
    """The dialog's text before resuming an overwrite run, ``existing`` counting the captions it did not write."""
    return (f"{run_line}. {existing.with_caption:,} of {existing.images:,} images have a caption it did not write "
            f"({existing.extension} files). Overwrite replaces them ({undo} on the Dataset screen puts the whole run "
            "back); append merges the new tags in; skip captions only the others.")


def _arg(args: list[str], name: str, default: str) -> str:
    return args[args.index(name) + 1] if name in args[:-1] else default


def count_in_store(store, recursive: bool, extension: str):
    """``count_existing_captions`` from the app's rows, without touching the disk: an ExistingCaptions, or
    None when the run would read other files than the rows are (another extension, All subfolders) or
    the captions are still loading. The rows follow the run's rules: images of the train folder and
    its N_concept folders, a.png + a.jpg one row (twins) whose caption counts once, an empty file none."""
    from loratui.captioners.existing_captions import ExistingCaptions
    from loratui.core.dataset import caption_extension_option
    from loratui.core.errors import LoratuiError

    if recursive or not store.captions_loaded:
        return None
    try:
        extension = caption_extension_option(extension, add_dot=False)
    except LoratuiError:
        return None  # the count on disk names the problem
    rows = store.rows
    if extension != store.caption_extension or any(row.caption is None for row in rows):
        return None
    with_caption = sum(1 for row in rows if row.caption.raw)
    return ExistingCaptions(with_caption, sum(1 + len(row.twins or ()) for row in rows), extension)


def reg_of_store(store, recursive: bool, extension: str) -> dict | None:
    """The reg images a run of the open dataset leaves out, from the app's reg rows (no disk), in the form of
    the CLI's ``reg_left_out`` (commands/caption_reg.py): the app runs the CLI on the train folder, which has
    no reg folder of its own to name. None with no reg rows, or when All subfolders takes the reg folder in
    (inside the train folder). ``without_caption`` is None when the rows hold another extension's captions,
    or are still loading."""
    import os

    from loratui.core.dataset import caption_extension_option
    from loratui.core.errors import LoratuiError

    reg_root, rows = getattr(store, "reg_root", None), store.reg_rows
    if reg_root is None or not rows:
        return None
    if recursive and (os.path.realpath(reg_root) + os.sep).startswith(os.path.realpath(store.root) + os.sep):
        return None
    try:
        extension = caption_extension_option(extension, add_dot=False)
    except LoratuiError:
        extension = None  # the run itself names the problem
    bare = None
    if store.captions_loaded and extension == store.caption_extension and all(row.caption is not None for row in rows):
        bare = sum(1 + len(row.twins or ()) for row in rows if not row.caption.raw)
    return {"reg_dir": str(reg_root), "images": sum(1 + len(row.twins or ()) for row in rows), "without_caption": bare}


def reg_line_of_store(store, captioner: str, recursive: bool, extension: str) -> str | None:
    """``reg_of_store`` as the line the CLI says (``reg_note``), the folder absolute; None: nothing left out."""
    from loratui.commands.caption_reg import reg_note

    return reg_note(captioner, reg_of_store(store, recursive, extension), relative=False)


class CaptionOverwriteQuestion:
    """Asks before a run overwrites captions (see the module doc)."""

    def _ask_before_overwriting(self, launch: Callable[[], None]) -> bool:
        """With write mode overwrite, count the run's images that have a caption (a thread); with any,
        ask first, else ``launch()``. True: the count decides (and starts the run, or asks)."""
        from loratui.captioners.existing_captions import count_existing_captions

        common = self.query_one("#common-form", OptionsForm)
        if common.value("mode") != "overwrite":
            return False
        recursive = bool(common.value("recursive"))
        extension = str(common.value("caption_extension")) or ".txt"  # empty: the CLI's default

        def counted(existing) -> None:
            if existing.with_caption:
                self._ask_overwrite(existing, recursive)
            else:
                launch()

        known = count_in_store(self.app.store, recursive, extension)
        if known is not None:
            counted(known)
            return True
        counting = getattr(self, "_count_worker", None)
        if counting is not None and not counting.is_finished:
            self.app.notify(f"still {COUNTING}", timeout=3)
            return True

        def ended() -> None:
            self._count_worker = None
            self._show_counting(False)

        self._show_counting(True)
        self._count_worker = run_in_thread(
            self, count_existing_captions, self.app.store.root, recursive, extension,
            done=lambda existing: (ended(), counted(existing)), what="looking for captions the run would replace",
            failed=lambda exc: (ended(), report_failure(self.app, "looking for captions the run would replace", exc)))
        return True

    def _show_counting(self, counting: bool) -> None:
        """The run panel's status line says the count is running (seconds on a large dataset or a slow
        disk); afterwards it shows the run again."""
        from textual.widgets import Static

        from loratui.tui.widgets.caption_progress import CaptionRunPanel

        panel = self.query_one(CaptionRunPanel)
        if counting:
            panel.query_one("#run-status", Static).update(COUNTING)
        else:
            panel.show(self.runner.run)

    def _ask_overwrite(self, existing, recursive: bool) -> None:
        from loratui.tui.screens.config_dialogs import ChoiceDialog

        reg = reg_line_of_store(self.app.store, self.captioner, recursive, existing.extension)
        self.app.push_screen(
            ChoiceDialog("images with captions",
                         overwrite_question(existing, recursive, self.app.dataset_undo_key(), reg), OVERWRITE_CHOICES),
            lambda key: key and self._start(dry_run=False, mode=MODE_OF_CHOICE[key]))

    def _ask_before_resuming(self, target, args: list[str], launch: Callable[[], None]) -> None:
        """Before resuming the overwrite run ``target`` (captioners.resume.InterruptedRun) with the CLI
        options ``args``: count, in a thread, the captions it would replace (those it did not write);
        with any, ask, else ``launch()``."""
        from loratui.captioners.existing_captions import count_existing_captions

        recursive = "--recursive" in args
        extension = _arg(args, "--caption-extension", ".txt")

        def counted(existing) -> None:
            self._show_counting(False)
            if not existing.with_caption:
                return launch()
            from loratui.tui.screens.config_dialogs import ChoiceDialog

            self.app.push_screen(
                ChoiceDialog("images with captions",
                             resume_question(existing, target.line(), self.app.dataset_undo_key()), RESUME_CHOICES),
                lambda key: key and (launch() if key == "o" else self._start(dry_run=False, mode=MODE_OF_CHOICE[key])))

        self._show_counting(True)
        run_in_thread(self, count_existing_captions, self.app.store.root, recursive, extension, target,
                      done=counted, what="looking for captions the run would replace", group="resume-count",
                      failed=lambda exc: (self._show_counting(False),
                                          report_failure(self.app, "looking for captions the run would replace", exc)))
