"""The loratui app: four screens (Textual modes), the command palette, help, themes and keymaps.

Thin on purpose: the dataset lives in services.dataset_store (over core), each screen in its own
module, slow work in thread workers (services.work); mixed in: the keys texts name and the palette's app
commands (app_keys), ctrl+q's question (app_quit), themes (app_themes). Nothing here imports torch or an
ML library.
"""

from __future__ import annotations

from pathlib import Path
from weakref import WeakKeyDictionary

from textual.app import App
from textual.binding import Binding

from loratui.core.dataset import DatasetLocation
from loratui.tui.app_keys import SCREEN_TITLES, AppKeys, screen_command_title  # noqa: F401 - named here too
from loratui.tui.app_quit import AppQuitGuard
from loratui.tui.app_themes import AppThemes
from loratui.tui.palette import LoratuiCommands, LoratuiPalette
from loratui.tui.services.dataset_store import DatasetStore, config_caption_extension
from loratui.tui.services.drafts import DraftKeeper
from loratui.tui.services.themes import THEMED_WIDGETS_CSS
from loratui.tui.widgets import escape_keys, footer_fixes, keys_in_order

escape_keys.install()  # Escape then a letter in one packet stays two keys (not Alt+letter)
keys_in_order.install()  # a backspace typed fast stays where it was typed (Textual #6605)
footer_fixes.install()  # the Footer forgets removed keys, and is rebuilt only when what it shows changes

SCREENS = Binding.Group("Screens", compact=True)


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


class LoratuiApp(AppKeys, AppQuitGuard, AppThemes, App):
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
        from loratui.tui.screens.settings_preload import preload_settings_later

        preload_settings_later(self)  # Settings' imports and CSS, once the first screen is up (its first visit was slow)
        if self.attach_dir is None and self.config_path is not None:
            from loratui.tui.services.work import run_in_thread

            run_in_thread(self, self._live_runs, what="looking for live runs", done=self._tell_live_runs,
                          failed=lambda exc: None)  # only a hint: a broken config shows on Settings

    def _screen_changed(self, screen) -> None:
        self.call_after_refresh(self._show_size_notice)
        from textual.screen import ModalScreen

        if isinstance(screen, ModalScreen):  # what its boxes hold on opening is not "typed" (a remembered form)
            self.call_after_refresh(self._note_dialog_text, screen)

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
        """Follow outside changes to caption files (one watch per app; the worker outlives screens).
        Called at every listing of the images: a watch that ended with an error (named in its toast)
        starts again then, F5 included; one that runs is left alone (it follows a train folder
        removed and made again by itself: services.watcher)."""
        worker = getattr(self, "_watch_worker", None)
        if worker is not None and not worker.is_finished:
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

        def tell(line: str) -> None:  # a name watchfiles cannot decode: looked at every few seconds instead
            try:
                self.call_from_thread(self.notify, line, severity="warning", timeout=10)
            except RuntimeError:
                pass

        # the reg folder too: its images are rows (store.reg_root, known once the rows are listed)
        self._watch_worker = run_in_thread(
            self, watch_captions, self.store.root, lambda: self.store.caption_extension, self._watch_stop, deliver,
            lambda: self.store.reg_root, tell, what="watching the dataset for changes", group="watch")

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
        self.echo_after_signal(message, severity)  # on stderr too once a signal gave the terminal back (app_quit)
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
