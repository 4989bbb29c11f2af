"""ctrl+q's question, mixed into LoratuiApp: what quitting now would lose or stop (Settings changes never
saved, a tag typed and not entered, text typed in an open dialog, a caption run going on, a tag write
running) is named before the app goes; with nothing at stake it quits at once.

Also how SIGHUP / SIGTERM end the app (``exit_for_signal``, from services.drafts ``end_app`` once the
drafts are written): at once, unless a tag write, undo or redo runs in the Dataset screen's worker. That
one is finished first, as ctrl+q does: a kill mid-write would leave the change half made, the writer's
temp files in the dataset and the journal's ``.writing`` marker, for nothing (every caption is whole
either way: core.captions.journal). Meanwhile the terminal is given back at once (alternate screen
left, cursor shown, input off) with one line on stderr saying what the app waits for and how to take the
change back; the app exits with 128 + the signal when the write has ended. The exit watchdog
(services.drafts) counts its grace from then, as long as the app's loop answers (``signal_exit_held``);
a second signal still ends the process at once.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
import time

SIGNAL_POLL_S = 0.1  # how often the app looks whether the write it waits for after a signal has ended


def _box_text(box) -> str:
    """An Input's value or a TextArea's text."""
    return box.value if hasattr(box, "value") else box.text


class AppQuitGuard:
    """Mixin for LoratuiApp (an App with ``unsaved_settings``, ``settings_screen``, ``dataset_undo`` and
    ``_dialog_text_at_open``, the text each dialog box held when shown)."""

    def _note_dialog_text(self, screen) -> None:
        """What a dialog's boxes hold on opening (a remembered form): not "typed" (``typed_in_dialog``)."""
        for box in screen.query("Input, TextArea"):
            self._dialog_text_at_open.setdefault(box, _box_text(box))

    def typed_caption_edit(self) -> str | None:
        """What the Dataset screen's tag editor holds typed but not entered (None: nothing)."""
        try:
            stack = self.get_screen_stack("dataset")
        except (KeyError, LookupError):
            return None
        from loratui.tui.widgets.tag_editor import TagEditor

        for screen in stack:
            for editor in screen.query(TagEditor):
                pending = editor.typed_not_entered()
                if pending:
                    return pending
        return None

    def typed_in_dialog(self) -> str | None:
        """Text typed into an open dialog and not applied (a bulk form's tags), in words; None: nothing.
        Text a box held when the dialog opened (a remembered form) does not count."""
        from textual.command import CommandPalette
        from textual.screen import ModalScreen

        for screen in reversed(self.screen_stack):
            if not isinstance(screen, ModalScreen) or isinstance(screen, CommandPalette):
                continue
            for box in screen.query("Input, TextArea"):
                text = _box_text(box)
                if text.strip() and text != self._dialog_text_at_open.get(box, ""):
                    titled = next((str(node.border_title) for node in screen.query("*") if node.border_title), "")
                    shown = text.strip() if len(text.strip()) <= 40 else text.strip()[:39] + "…"
                    return f"'{shown}' typed in the {titled or 'open'} dialog, not applied"
        return None

    def live_caption_run(self) -> str | None:
        """A caption run still going, in words with how to undo what it wrote (None: none is)."""
        runner = getattr(self, "_caption_runner", None)
        run = runner.run if runner is not None and runner.busy else None
        if run is None:
            return None
        if run.phase == "starting":
            return "A caption run is starting (loading the model): quitting stops it."
        if run.dry_run:
            return f"A caption dry run (it writes nothing) is at {run.done}/{run.to_caption}: quitting stops it."
        folder = shlex.quote(run.command[5]) if len(run.command) > 5 else ""
        return (f"A caption run is at {run.done}/{run.to_caption}: quitting stops it after the caption being "
                f"written; what it wrote stays (undo with {self.dataset_undo()} / loratui tags undo {folder}).")

    def dataset_writer(self):
        """The Dataset screen while a tag write, undo or redo runs in its worker (screens.dataset_write_progress);
        None when none runs."""
        try:
            return next((s for s in self.get_screen_stack("dataset") if getattr(s, "writing", None)), None)
        except (KeyError, LookupError):
            return None

    def action_quit(self) -> None:  # type: ignore[override]
        """ctrl+q: quit, after a question when something would be lost or stopped: Settings changes never
        saved, a tag typed and not entered, text typed in an open dialog, a caption run going on, a tag
        write (or undo) going on: that one is waited for, its progress on the Dataset status line."""
        from loratui.tui.screens.config_dialogs import ChoiceDialog

        if isinstance(self.screen, ChoiceDialog) and self.screen.dialog_title == "quit":
            return  # asked already
        runs = getattr(self, "run_service", None)  # named in the shell once the app is gone (launch.run_app)
        self.runs_at_quit = [(run.output_dir, run.name) for run in runs.followed.values() if not run.earlier] \
            if runs is not None else []
        writer = self.dataset_writer()
        if writer is not None and writer.quit_when_written is not None:
            self.notify("quitting once the write has finished (the status line says how far it is)", timeout=4)
            return

        def quit_app() -> None:  # a write running is never cut off: the app closes when it has ended
            if writer is None or not writer.writing:
                self.exit()
                return
            if self.current_mode != "dataset":
                self.switch_mode("dataset")  # its status line says how far the write is until then
            writer.quit_after_write(self.exit)

        count = self.unsaved_settings()
        typed = self.typed_caption_edit()
        also = [line for line in (
            f"The tag editor holds {typed}, not entered: quitting drops it (esc, then Enter in the editor, "
            "keeps it)." if typed else None,
            self.typed_in_dialog(), self.live_caption_run(), writer.running_write() if writer else None) if line]
        if not count and not also:
            self.exit()
            return
        also = [line if line.endswith(".") else line + ": quitting drops it." for line in also]
        if not count:
            label = "quit anyway" if len(also) > 1 else "stop it and quit" if also[0].startswith("A caption") else \
                "quit when it has finished" if writer is not None else "drop it and quit"
            self.push_screen(ChoiceDialog("quit", " ".join([*also, "Training runs go on either way."]),
                                          [("q", label)]),
                             lambda choice: quit_app() if choice == "q" else None)
            return

        def answered(choice: str | None) -> None:
            if choice == "d":
                self.settings_screen().forget_form_draft()  # discarded on purpose: no draft offered next time
                quit_app()
            elif choice == "s":  # on Settings: a field that cannot be saved shows its problem there
                if self.current_mode != "settings":
                    self.switch_mode("settings")
                self.settings_screen().action_save(quit_app)

        self.push_screen(ChoiceDialog("quit", " ".join([f"Settings holds {count} unsaved change(s); quitting now "
                                                        "discards them.", *also, "Training runs go on either way."]),
                                      [("s", "save Settings, then quit"), ("d", "discard and quit")]), answered)

    # ---- SIGHUP / SIGTERM (services.drafts.end_app) -----------------------------------------------

    _signal_writer = None      # the Dataset screen whose write the app waits for after a signal
    _signal_beat = 0.0         # when the app's loop last looked at that write (monotonic)
    _signal_echo = None        # writes a line on stderr once the terminal was given back (None: not given)

    def exit_for_signal(self, code: int) -> None:
        """On the app's loop after SIGHUP/SIGTERM, the drafts written: exit with ``code`` (128 + the signal),
        once a tag write, undo or redo running has ended (see the module doc)."""
        if self._signal_writer is not None:  # a SIGHUP after the terminal watch found it gone: waited for already
            return
        writer = self.dataset_writer()
        if writer is None:
            self.exit(None, code)
            return
        self._signal_writer = writer
        self._signal_beat = time.monotonic()
        self._give_terminal_back(self.signal_wait_line(writer))
        loop = asyncio.get_running_loop()

        def check() -> None:  # plain asyncio: called from a signal's callback, outside Textual's context
            self._signal_beat = time.monotonic()
            if writer.writing:
                loop.call_later(SIGNAL_POLL_S, check)
            else:  # ended, its results adopted (saves that waited for it are written)
                self.exit(None, code)

        loop.call_later(SIGNAL_POLL_S, check)

    def signal_exit_held(self) -> bool:
        """For the exit watchdog (another thread): True while the write the app waits for runs and the app's
        loop still answers; a loop stuck for the watchdog's grace gets its os._exit (every caption is whole
        then too: each is a temp file renamed over it, and the journal counts what landed)."""
        from loratui.tui.services.drafts import EXIT_GRACE_S

        writer = self._signal_writer
        return (writer is not None and bool(getattr(writer, "writing", None))
                and time.monotonic() - self._signal_beat < EXIT_GRACE_S)

    def signal_wait_line(self, writer) -> str:
        """The line on stderr while the app finishes a write after a signal: what, how far, how to take it back."""
        from loratui.core.termline import shell_path

        noun = {"undoing": "undo", "redoing": "redo"}.get(writer.progress_verb, "tag write")
        progress = writer.write_progress
        done = f"{progress[0]:,} of {progress[1]:,} captions done" if progress else "no caption written yet"
        folder = shell_path(self.location.project_dir or self.location.train_dir)
        back = f"`loratui tags redo {folder}` puts it back" if noun == "undo" else \
            f"`loratui tags undo {folder}` takes it back"
        return f"loratui: finishing the {noun} ({done}) before exiting; {back}"

    def _give_terminal_back(self, line: str) -> None:
        """Leave application mode now (alternate screen left, cursor shown, mouse and input off) and write
        ``line`` after it, in the same stream; nothing more is drawn. Textual's own restore at the exit is
        kept off the terminal: its second "leave the alternate screen" puts the cursor back where the app
        started, and the shell's prompt would then be written over the line."""
        driver = self._driver
        if driver is None or self.is_headless:  # a test's app: nothing to give back; the process's stderr
            self._signal_echo = lambda text: (sys.__stderr__.write(text), sys.__stderr__.flush())
            self._signal_echo(line + "\n")
            return
        echo = driver.write
        try:
            driver.stop_application_mode()
            echo(line + "\n")
            driver.flush()
        except Exception:  # noqa: BLE001 - a terminal gone (SIGHUP: it points at /dev/null) takes nothing
            pass
        driver.write = lambda data: None  # nothing drawn from here on (the app runs on until the write ends)
        self._signal_echo = echo

    def echo_after_signal(self, message: str, severity: str) -> None:
        """An error the app shows while it finishes a write after a signal (the write failed part-way) goes
        to stderr too: the screen is given back by then (LoratuiApp.notify)."""
        if self._signal_echo is not None and severity == "error":
            try:
                self._signal_echo("loratui: " + " ".join(str(message).split()) + "\n")
            except Exception:  # noqa: BLE001 - nothing more can be done on the way out
                pass
