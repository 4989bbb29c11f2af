"""ctrl+q's question, mixed into LoratuiApp: what quitting now would lose or stop (Settings changes never
saved, a tag typed and not entered, text typed in an open dialog, a caption run going on, a tag write
running) is named before the app goes; with nothing at stake it quits at once."""

from __future__ import annotations

import shlex


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
        try:  # a tag write, undo or redo running in the Dataset screen's worker (screens.dataset_write_progress)
            writer = next((s for s in self.get_screen_stack("dataset") if getattr(s, "writing", None)), None)
        except (KeyError, LookupError):
            writer = None
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
