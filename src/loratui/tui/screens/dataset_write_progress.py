"""The status line while a caption write, undo or redo runs on the Dataset screen, and a quit that waits
for it.

A bulk write of 20,000 captions takes 15-25 s here, an undo of it 10-15 s: the writer threads count each
file (core.captions.apply_plan / undo_last ``progress``), and the status line shows "writing 2,082 of
20,000 caption(s)…", redrawn at most every PROGRESS_EVERY_S. ctrl+q meanwhile (tui.app ``action_quit``)
asks, then waits for the write to end with "finishing the write of N caption(s) (M done), then quitting…"
on screen: the write's thread cannot be stopped part-way, and quitting under it left a blank terminal for
seconds. A write that fails keeps the app open, its error on screen.

A mixin of DatasetScreen through DatasetEdits (needs ``writing`` and ``end_write`` from
screens.dataset_write_gate, ``update_status`` from the screen).
"""

from __future__ import annotations

from collections.abc import Callable

PROGRESS_EVERY_S = 0.25
NOUNS = {"writing": "write", "undoing": "undo", "redoing": "redo"}


class WriteProgress:
    """Mixin: the running write's progress on the status line, and quitting once it has ended."""

    busy_text: str | None = None       # what runs in a worker now (a write, a check before one), said first
    write_progress: tuple[int, int] | None = None  # (captions done, to do) of the running write
    progress_verb = "writing"          # "writing", "undoing" or "redoing"
    quit_when_written: Callable[[], None] | None = None  # ctrl+q chose to quit once the write ends
    _progress_timer = None

    def start_busy(self, text: str) -> None:
        """A write, undo or redo runs in a worker (seconds for thousands of captions): the status line
        says so until it ends, whatever the cursor does meanwhile."""
        self.busy_text = text
        self.update_status()

    def end_busy(self) -> None:
        self.busy_text = None
        self.update_status()

    def write_progress_to(self, verb: str) -> Callable[[int, int], None]:
        """The ``progress`` callback for the write that just began (``verb``: "writing", "undoing",
        "redoing"). The writer threads only swap one tuple; a UI timer draws it."""
        self.progress_verb = verb
        self.write_progress = None

        def progress(done: int, total: int) -> None:
            self.write_progress = (done, total)

        if self._progress_timer is None:
            self._progress_timer = self.set_interval(PROGRESS_EVERY_S, self._draw_progress)
        return progress

    def _draw_progress(self) -> None:
        if self.writing and self.write_progress is not None:
            self.update_status()

    def busy_line(self) -> str | None:
        """What the status line says first while something runs in a worker (None: nothing does)."""
        if not self.busy_text:
            return None
        progress = self.write_progress if self.writing else None
        if self.writing and self.quit_when_written is not None:
            noun = NOUNS.get(self.progress_verb, "write")
            of = f" of {progress[1]:,} caption(s) ({progress[0]:,} done)" if progress else ""
            return f"finishing the {noun}{of}, then quitting…"
        if progress is not None:
            return f"{self.progress_verb} {progress[0]:,} of {progress[1]:,} caption(s)…"
        return self.busy_text

    def end_write(self) -> None:
        super().end_write()
        self.write_progress = None
        self.store.write_progress = None
        if self._progress_timer is not None:
            self._progress_timer.stop()
            self._progress_timer = None
        if self.quit_when_written is not None:
            # after the callback that ended the write: a failure it reports next keeps the app open
            self.call_after_refresh(self._quit_after_write)

    # ---- ctrl+q while a write runs ----------------------------------------------------------------

    def running_write(self) -> str | None:
        """The write running now, in words for ctrl+q's question (None: none runs)."""
        if not self.writing:
            return None
        progress = self.write_progress
        what = {"undoing": "An undo", "redoing": "A redo"}.get(self.progress_verb, "A tag write")
        at = f" is at {progress[0]:,} of {progress[1]:,} caption(s)" if progress else " is running"
        return (f"{what}{at}: quitting waits for it to finish (it is never stopped part-way), then the app "
                "closes.")

    def quit_after_write(self, quit: Callable[[], None]) -> None:
        """ctrl+q chose to quit: at once when no write runs, else once it has ended (the status line
        says how far it is meanwhile)."""
        if not self.writing:
            quit()
            return
        self.quit_when_written = quit
        self.update_status()

    def _quit_after_write(self) -> None:
        quit, self.quit_when_written = self.quit_when_written, None
        if quit is not None and not self.writing:
            quit()

    def keep_open_after_failure(self) -> None:
        """The write that ctrl+q waited for failed or stopped part-way: the app stays, its message shown."""
        if self.quit_when_written is not None:
            self.quit_when_written = None
            quits = self.app.key_does(self.app, "app.quit", "quits", "app: quit")  # keymap.toml may move it
            self.app.notify(f"not quitting: the write did not finish (its message says why); {quits}",
                            severity="warning", timeout=10)
