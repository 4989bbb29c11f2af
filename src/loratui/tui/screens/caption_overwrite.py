"""The Caption screen's question before an overwrite run: "N of M images have a caption already".

With write mode overwrite, the images of the run that have a caption are counted on disk in a thread
(captioners.existing_captions: the run's own extension, subfolder rule and folder; 20,000 images take
~0.4 s); with any, a dialog asks overwrite / append / skip, else the run starts at once. kohya_ss users
expect the question; undo stays one ctrl+z anyway.

A mixin of CaptionScreen, kept apart so each file stays readable: it expects ``#common-form`` (the
Writing options), ``self.app.store.root`` (the dataset) and ``_start(dry_run, mode)``.
"""

from __future__ import annotations

from collections.abc import Callable

from loratui.tui.services.work import run_in_thread
from loratui.tui.widgets.caption_form import OptionsForm

OVERWRITE_CHOICES = [("o", "overwrite"), ("a", "append"), ("s", "skip those")]
MODE_OF_CHOICE = {"o": "overwrite", "a": "append", "s": "skip"}


def overwrite_question(existing, recursive: bool) -> str:
    """The dialog's text for ``existing`` (an ExistingCaptions count) and the run's All subfolders."""
    where = ", all subfolders" if recursive else ""
    return (f"{existing.with_caption:,} of {existing.images:,} images have a caption already "
            f"({existing.extension} files{where}). Overwrite replaces them (ctrl+z on the Dataset screen puts the "
            "whole run back); append merges the new tags in; skip captions only the others.")


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

        run_in_thread(self, count_existing_captions, self.app.store.root, recursive, extension, done=counted,
                      what="looking for captions the run would replace", group="overwrite-count", exclusive=True)
        return True

    def _ask_overwrite(self, existing, recursive: bool) -> None:
        from loratui.tui.screens.config_dialogs import ChoiceDialog

        self.app.push_screen(
            ChoiceDialog("images with captions", overwrite_question(existing, recursive), OVERWRITE_CHOICES),
            lambda key: key and self._start(dry_run=False, mode=MODE_OF_CHOICE[key]))
