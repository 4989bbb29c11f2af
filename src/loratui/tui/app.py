"""The loratui app: four screens (Textual modes), the command palette, help, themes and keymaps.

Thin on purpose: the dataset lives in services.dataset_store (over core), each screen in its own
module, slow work in thread workers (services.work). Nothing here imports torch or an ML library.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from weakref import WeakKeyDictionary

from textual.app import App
from textual.binding import Binding

from loratui.core.dataset import DatasetLocation
from loratui.tui.app_themes import AppThemes
from loratui.tui.palette import LoratuiCommands, LoratuiPalette, PaletteCommand
from loratui.tui.services.dataset_store import DatasetStore, config_caption_extension
from loratui.tui.services.drafts import DraftKeeper
from loratui.tui.services.themes import THEMED_WIDGETS_CSS
from loratui.tui.widgets import escape_keys, footer_fixes, keys_in_order

escape_keys.install()  # Escape then a letter in one packet stays two keys (not Alt+letter)
keys_in_order.install()  # a backspace typed fast stays where it was typed (Textual #6605)
footer_fixes.install()  # the Footer forgets removed keys, and is rebuilt only when what it shows changes

SCREENS = Binding.Group("Screens", compact=True)
SCREEN_TITLES = {"dataset": "Dataset", "caption": "Caption", "settings": "Settings", "train": "Train"}


def screen_command_title(mode: str) -> str:
    """The palette command that shows screen ``mode`` (named where the keymap left it no key)."""
    return f"app: show {SCREEN_TITLES[mode]} screen"


def _box_text(box) -> str:
    """An Input's value or a TextArea's text."""
    return box.value if hasattr(box, "value") else box.text


def _dataset_screen():
    from loratui.tui.screens.dataset import DatasetScreen

    return DatasetScreen()


def _caption_screen():
    from loratui.tui.screens.caption import CaptionScreen

    return CaptionScreen()


def _settings_screen():
    from loratui.tui.screens.settings import SettingsScreen

    return SettingsScreen()


def _train_screen():
    from loratui.tui.screens.train import TrainScreen

    return TrainScreen()


class LoratuiApp(AppThemes, App):
    """`loratui [PATH]`: clean captions, caption, configure and train, from the keyboard."""

    CSS_PATH = "app.tcss"
    CSS = THEMED_WIDGETS_CSS  # loratui's theme variables (tag-chip, loss-line...) on its widgets
    TITLE = "loratui"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {LoratuiCommands}
    MODES = {"dataset": _dataset_screen, "caption": _caption_screen, "settings": _settings_screen,
             "train": _train_screen}
    BINDINGS = [  # 1-4 show in the footer as one group: "1234 Screens"
        Binding("1", "show_screen('dataset')", "Dataset", id="app.dataset", group=SCREENS),
        Binding("2", "show_screen('caption')", "Caption", id="app.caption", group=SCREENS),
        Binding("3", "show_screen('settings')", "Settings", id="app.settings", group=SCREENS),
        Binding("4", "show_screen('train')", "Train", id="app.train", group=SCREENS),
        Binding("question_mark,f1", "help", "Help", id="app.help"),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True, show=False),
    ]

    def __init__(self, location: DatasetLocation, *, config_path: Path | None = None,
                 settings_file: Path | None = None, keymap_file: Path | None = None,
                 themes_dir: Path | None = None, watch: bool = True) -> None:
        super().__init__()
        from loratui.tui.services.user_settings import load_settings

        self.location = location
        self.config_path = config_path
        self.store = DatasetStore(location, caption_extension=config_caption_extension(config_path))
        self.settings_file = settings_file
        self.settings, self._startup_problems = load_settings(settings_file)
        self._keymap_file = keymap_file
        self._themes_dir = themes_dir
        self.watch_dataset = watch
        self.attach_dir: Path | None = None   # `loratui attach OUTPUT_DIR` (set by launch.run_app)
        self.attach_run: str | None = None
        self.attach_earlier = 0  # `loratui attach --earlier N`: that earlier run of attach_run
        self.drafts = DraftKeeper(self)  # unsaved typing kept on disk (services.drafts)
        self._dialog_text_at_open: WeakKeyDictionary = WeakKeyDictionary()  # text box -> its text when shown
        self.handle_signals = False       # SIGHUP/SIGTERM write the drafts first (set by launch.run_app)
        self.exit_signal: int | None = None  # the signal that ended the app, if one did
        folder = Path(location.project_dir or location.train_dir).resolve()  # "." from a plain `loratui`
        if location.project_dir is None and config_path is not None:  # `loratui proj/config.toml`: proj, not img
            home = Path(config_path).resolve().parent
            if home == folder or home in folder.parents:
                folder = home
        self.sub_title = folder.name or str(folder)  # the folder's name however it was given (/ for the root)

    # ---- start-up -------------------------------------------------------------------------------

    def _check_keymap(self, keymap: dict[str, str]) -> list[str]:
        """Ids no binding has, and keys given to two actions: Textual ignores the first and drops one of
        the second without a word. Needs every screen class (imported here, ~0.2 s)."""
        from loratui.tui.services.keymap import keymap_clash_lines, loratui_binding_classes, unknown_binding_ids

        classes = loratui_binding_classes()
        return [*unknown_binding_ids(keymap, classes, self._keymap_file),
                *keymap_clash_lines(keymap, classes, self._keymap_file)]

    def _tell_startup_problems(self, problems, keymap: dict[str, str]) -> None:
        """One toast for every start-up problem (five toasts do not fit at 80x24, and they go); the help
        screen keeps the lines (``startup_problems``)."""
        from loratui.tui.services.startup_problems import SUMMARY_TIMEOUT_S

        if keymap:
            problems.add("keymap.toml", self._check_keymap(keymap))
        self.startup_problems = problems.lines
        summary = problems.summary(self.keys_words("app.help"))
        if summary:
            title, message = summary
            self.notify(message, title=title, severity="warning", timeout=SUMMARY_TIMEOUT_S)

    def on_mount(self) -> None:
        from loratui.tui.services.keymap import apply_keymap, load_keymap
        from loratui.tui.services.startup_problems import StartupProblems
        from loratui.tui.services.themes import (
            apply_startup_theme,
            load_themes,
            register_themes,
            remember_theme_changes,
        )

        if self.handle_signals:  # a dropped SSH link (SIGHUP) or a kill (SIGTERM) keeps the drafts
            from loratui.tui.services.drafts import install_signal_handlers

            self._restore_signals = install_signal_handlers(self)
            import signal

            from loratui.tui.services.drafts import end_app
            from loratui.tui.services.terminal_watch import watch_terminal

            # under nohup no SIGHUP comes: a hung-up terminal is noticed by asking it (else a core spins)
            watch_terminal(self, lambda: end_app(self, signal.SIGHUP))
        catalog = load_themes(self._themes_dir)
        register_themes(self, catalog)
        self.theme_catalog = catalog
        problems = StartupProblems()
        problems.add("tui.toml", self._startup_problems)
        self._good_theme = None  # Textual's start-up theme is no fallback for tui.toml's choice
        problems.add("themes", apply_startup_theme(self, catalog, self.settings.theme))
        remember_theme_changes(self, self.settings_file)
        keymap, keymap_problems = load_keymap(self._keymap_file)
        apply_keymap(self, keymap)
        problems.add("keymap.toml", keymap_problems)
        self.startup_problems = problems.lines  # the keymap's ids and clashes join after the first frame
        for line in getattr(self, "startup_notes", ()):
            self.notify(line, severity="warning", timeout=8)
        self._tell_settings_draft()
        self.call_after_refresh(self._tell_startup_problems, problems, keymap)
        self.screen_change_signal.subscribe(self, self._screen_changed)
        # `loratui attach DIR` opens on its run; otherwise the dataset, with a word about a live run
        self.switch_mode("train" if self.attach_dir is not None else "dataset")
        if self.attach_dir is None and self.config_path is not None:
            from loratui.tui.services.work import run_in_thread

            run_in_thread(self, self._live_runs, what="looking for live runs", done=self._tell_live_runs,
                          failed=lambda exc: None)  # only a hint: a broken config shows on Settings

    def _screen_changed(self, screen) -> None:
        self.call_after_refresh(self._show_size_notice)
        from textual.screen import ModalScreen

        if isinstance(screen, ModalScreen):  # what its boxes hold on opening is not "typed" (a remembered form)
            self.call_after_refresh(self._note_dialog_text, screen)

    def _note_dialog_text(self, screen) -> None:
        for box in screen.query("Input, TextArea"):
            self._dialog_text_at_open.setdefault(box, _box_text(box))

    def _tell_settings_draft(self) -> None:
        """Unsaved Settings changes kept from a session that ended without saving (a dropped SSH link):
        said at once, as a run started now would train on the file without them."""
        if self.config_path is None:
            return
        import time

        from loratui.core.drafts import gather_settings_drafts

        try:  # only the drafts of ended sessions: another running app's are its own (Settings names it)
            draft = gather_settings_drafts(self.config_path).draft
        except Exception:  # noqa: BLE001 - a damaged draft is named when Settings opens it
            draft = None
        if draft is None or not draft.fields:
            return
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(draft.written)) if draft.written else "earlier"
        self.notify(f"{self.config_path.name}: {len(draft.fields)} unsaved Settings change(s) kept from {when} "
                    f"(the app ended without saving): {self.screen_key_does('settings', 'opens Settings')} to "
                    "restore or delete them",
                    title="unsaved draft", severity="warning", timeout=12)

    def _live_runs(self) -> list:
        from loratui.core.config import load_config, resolve_path
        from loratui.core.runs import list_runs

        cfg = load_config(self.config_path)
        output = resolve_path(cfg, cfg.saving.output_dir, key="output_dir")
        return [run for run in list_runs(output) if run.status == "live"]

    def _tell_live_runs(self, live: list) -> None:
        for run in live:
            total = f"/{run.total_steps}" if run.total_steps else ""
            self.notify(f"{run.name} is training (step {run.step}{total}): "
                        f"{self.screen_key_does('train', 'follows it')}", timeout=10)

    def start_watching(self) -> None:
        """Follow outside changes to caption files (once per app; the worker outlives screens)."""
        if getattr(self, "_watch_stop", None) is not None:
            return
        import threading

        from loratui.tui.services.watcher import watch_captions
        from loratui.tui.services.work import run_in_thread

        self._watch_stop = threading.Event()

        def deliver(paths: list[Path]) -> None:
            try:
                self.call_from_thread(self._captions_changed, paths)
            except RuntimeError:
                pass

        run_in_thread(self, watch_captions, self.store.root, lambda: self.store.caption_extension, self._watch_stop,
                      deliver, what="watching the dataset for changes", group="watch")

    def _captions_changed(self, paths: list[Path]) -> None:
        try:
            stack = self.get_screen_stack("dataset")
        except (KeyError, LookupError):
            return  # the dataset screen was never built: nothing shows these captions
        for screen in stack:
            hook = getattr(screen, "outside_changes", None)
            if hook:
                hook(paths)

    def on_unmount(self) -> None:
        restore = getattr(self, "_restore_signals", None)
        if restore is not None:
            restore()
        stop = getattr(self, "_watch_stop", None)
        if stop is not None:
            stop.set()
        runner = getattr(self, "_caption_runner", None)
        if runner is not None:
            runner.stop_for_exit()  # a caption run stops with the app (after the caption being written)
        runs = getattr(self, "run_service", None)
        if runs is not None:
            runs.shutdown()  # stops following; training runs are their own sessions and go on

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Notifications carry paths, tags, tool and engine output: never read as markup, so an
        "[ONNXRuntimeError]" or a folder named "[wip]" shows as written (screens pass markup=True)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def action_help_quit(self) -> None:
        """ctrl+c outside a text box: Textual's hint, in plain words, naming the cancel key of a caption run
        that is busy (screens.quit_hint)."""
        from loratui.tui.screens.quit_hint import help_quit_line

        self.notify(help_quit_line(self))

    # ---- actions ----------------------------------------------------------------------------------

    def action_command_palette(self) -> None:
        """Textual's palette, whose Enter waits for the search of the whole text typed."""
        if self.use_command_palette and not LoratuiPalette.is_open(self):
            self.push_screen(LoratuiPalette(id="--command-palette"))

    def action_show_screen(self, mode: str) -> None:
        if self.current_mode != mode:
            self.switch_mode(mode)

    def settings_screen(self):
        """The Settings screen, when it was opened (it holds the config form), else None."""
        try:
            stack = self.get_screen_stack("settings")
        except (KeyError, LookupError):
            return None
        return next((screen for screen in stack if hasattr(screen, "form")), None)

    def unsaved_settings(self) -> int:
        """How many Settings fields hold changes config.toml does not (0 when Settings never opened)."""
        screen = self.settings_screen()
        form = getattr(screen, "form", None) if screen is not None else None
        return form.unsaved_edits() if form is not None else 0

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

    # ---- keys named in texts: the user's keymap applied (keymap.toml may move any of them) -------------

    def key_for(self, binding_id: str, node=None) -> str:
        """The key that runs ``binding_id`` among ``node``'s bindings (the app's own by default; a screen or
        widget class for one not built yet); "" when the keymap left it none. Hints and messages name keys
        through this, so a moved key is the one named."""
        return next(iter(self.keys_for(binding_id, node)), "")

    def keys_for(self, binding_id: str, node=None) -> list[str]:
        """Every key that runs ``binding_id`` (as ``key_for``): ["?", "f1"] for the help."""
        from loratui.tui.services.keymap import class_bindings, keys_in

        node = self if node is None else node
        bindings = class_bindings(node) if isinstance(node, type) else node._bindings
        return keys_in(bindings, getattr(self, "_keymap", None), binding_id)

    def keys_words(self, binding_id: str, node=None) -> str:
        """"? or f1": every key of ``binding_id`` in words; "" without one."""
        from loratui.tui.services.keymap import or_words

        return or_words(self.keys_for(binding_id, node))

    def key_does(self, node, binding_id: str, does: str, title: str) -> str:
        """"ctrl+s saves" with the bound key; without one, the palette command ``title`` that does it."""
        key = self.key_for(binding_id, node)
        return f"{key} {does}" if key else f"'{title}' (ctrl+p) {does}"

    def dataset_undo(self) -> str:
        """How to undo the last caption change from another screen, with the keymap's keys: "1 (Dataset)
        then ctrl+z"; a palette command stands for a key the keymap left none."""
        dataset = self.key_for("app.dataset") or f"'{screen_command_title('dataset')}' (ctrl+p)"
        return f"{dataset} (Dataset) then {self.dataset_undo_key()}"

    def dataset_undo_key(self) -> str:
        """The Dataset screen's undo key ("ctrl+z"), or its palette command where the keymap left none."""
        from loratui.tui.screens.dataset import DatasetScreen

        return self.key_for("dataset.undo", DatasetScreen) or "'tags: undo the last change' (ctrl+p)"

    def screen_key_does(self, mode: str, does: str) -> str:
        """"3 opens Settings" with the key that shows screen ``mode``; else its palette command."""
        return self.key_does(self, f"app.{mode}", does, screen_command_title(mode))

    def keys_named(self, node, pairs) -> str:
        """"v the VRAM panel, p VRAM presets" from (binding id, what it does), for the actions with a key."""
        return ", ".join(f"{key} {what}" for key, what in ((self.key_for(b, node), what) for b, what in pairs)
                         if key)

    def screen_keys(self) -> str:
        """"1-4" as the keys that show the four screens (the user's keymap may move them)."""
        keys = [self.key_for(f"app.{mode}") for mode in SCREEN_TITLES]
        return "1-4" if keys == ["1", "2", "3", "4"] else "/".join(key or "-" for key in keys)

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

    def action_help(self) -> None:
        from loratui.tui.screens.help import show_help

        show_help(self)

    def set_preview_mode(self, mode: str) -> None:
        from loratui.tui.services.user_settings import SettingsNotSaved, update_settings

        try:
            self.settings = update_settings(self.settings_file, image_preview=mode)
        except OSError as exc:
            if isinstance(exc, SettingsNotSaved):  # the file is left alone; the change holds this session
                self.settings = exc.settings
            self.notify(f"could not save the preview setting: {exc}", severity="warning")
        for screen in self.screen_stack:
            hook = getattr(screen, "preview_mode_changed", None)
            if hook:
                hook(mode)
        self.notify(f"image preview: {mode}")

    def palette_commands(self) -> list[PaletteCommand]:
        """The app's commands, each with the key keymap.toml gives it (or "no key")."""
        def key_note(binding_id: str, prefix: str = "") -> str:
            keys = self.keys_words(binding_id)
            return f"{prefix}{keys}" if keys else "no key (keymap.toml)"

        cmds = [PaletteCommand(screen_command_title(mode), key_note(f"app.{mode}", "key "),
                               lambda m=mode: self.action_show_screen(m)) for mode in SCREEN_TITLES]
        cmds += [
            PaletteCommand("app: help (keys of this screen)", key_note("app.help"), self.action_help),
            PaletteCommand("app: quit", key_note("app.quit"), self.action_quit),
        ]
        cmds += [PaletteCommand(f"preview: {mode}", "image preview mode, remembered",
                                lambda m=mode: self.set_preview_mode(m))
                 for mode in ("auto", "kitty", "sixel", "halfblock", "off")]
        return cmds + self._theme_commands()

    # ---- terminal size ----------------------------------------------------------------------------

    def on_resize(self, event) -> None:
        self._show_size_notice(event.size)  # runs before Textual's own handler: self.size is still the old one

    def _show_size_notice(self, size=None) -> None:
        """Below 80x24 the screens cut keys and values: a line says so (and goes at 80x24 again)."""
        from textual.app import ScreenStackError

        from loratui.tui.widgets.size_notice import show_size_notice

        try:
            screen = self.screen
        except ScreenStackError:  # a resize before the first screen: its mount shows the notice
            return
        show_size_notice(screen, size or self.size)
