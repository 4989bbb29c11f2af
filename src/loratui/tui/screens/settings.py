"""The Settings screen: the whole training config as a form, with room for the calculator and VRAM panels.

Layout (fits 80x24): a line naming the sections (the focused field's one bracketed; widgets.section_line), the
form (widgets.config_form) beside the ``#settings-panels`` column, the focused field's help (the text of
`loratui config explain KEY`; past 6 lines it scrolls: shift+down/up), a status line (file, changed fields,
problems, model family).

The screen shows ``app.config_path``; with none it shows the config `loratui config new` would
write for the open dataset, and ctrl+s creates it. Every edit that leaves all fields valid hands the
current (maybe unsaved) TrainingConfig on at once, in the same handler (what training would refuse
about the files it names, core's check_paths, follows from a thread worker and shows under the
fields like the other problems): ``SettingsScreen.ConfigChanged``
is posted and every panel's ``update_config(cfg, scan)`` is called. Panels talk back with
``StepCalculator.EpochsChosen(epochs)`` and ``VramPanel.FieldsChanged(changes, origin)`` (a preset
or a VRAM fix), whose values go through core's checks into the fields. File actions (save, import,
export, train) are in config_actions; the draft of unsaved edits (kept on disk, offered back on
opening; f6) and the temp files a killed save left are in settings_drafts; the section line, help,
status line, palette and the keys they name are in settings_texts; ctrl+g (go to a field) and ctrl+f (pick a
file) in settings_picks.

With network_module = lycoris.kohya the form shows network_args' LyCORIS arguments as fields of their own
(widgets.lycoris_fields); ctrl+g finds them by key name ("network_args.NAME"), and names one the network
does not read instead of focusing a hidden field.

A file that cannot be read (an unknown key, a wrong type, a duplicate key) shows why, line by line, in
place of the form: the defaults the form would hold are not the file's values, so nothing is saved,
exported or trained from them. While the screen is shown the file is polled each second
(services.config_watch): an outside change is loaded when the form holds no edits (a broken file
fixed in an editor too), and named in the status line when it does (ctrl+s then merges or asks).
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Footer, Header, Static

from loratui.core.config import PATH_KEYS, SECTIONS, ConfigError, TrainingConfig, load_config
from loratui.tui.screens.config_actions import (
    ConfigFileActions, family_line, file_state, read_config_text, starter_config, suggested_path,
)
from loratui.tui.screens.focus_in_view import FocusInView
from loratui.tui.screens.settings_drafts import SettingsDrafts
from loratui.tui.screens.settings_picks import SettingsPicks
from loratui.tui.screens.settings_texts import (  # MODEL_KEYS, PALETTE, PATH_PICKS stay importable from here
    MODEL_KEYS, PALETTE, PATH_PICKS, SettingsTexts,
)
from loratui.tui.services.config_watch import POLL_SECONDS, ConfigWatch
from loratui.tui.widgets.config_field import ConfigField
from loratui.tui.widgets.config_form import SECTION_TITLES, ConfigForm, config_values
from loratui.tui.widgets.keys_in_order import key_kept_below
from loratui.tui.widgets.section_line import SectionLine

PANELS = (("loratui.tui.widgets.step_calculator", "StepCalculator"), ("loratui.tui.widgets.vram_panel", "VramPanel"))
# the values core's check_paths and missing_packages read: a change re-checks the files
FILE_CHECK_KEYS = [*sorted(PATH_KEYS), ("model", "model_family"), ("dataset", "resolution"),
                   ("optimizer", "optimizer_type"), ("training", "xformers")]


def panel_classes() -> list[type[Widget]]:
    """The calculator and VRAM panel classes, for those of their modules that exist yet."""
    classes = []
    for module_name, class_name in PANELS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        classes.append(getattr(module, class_name))
    return classes


def load_panels() -> list[Widget]:
    """The calculator and VRAM panels, for those of their modules that exist yet."""
    return [panel() for panel in panel_classes()]


class SettingsScreen(SettingsTexts, SettingsPicks, SettingsDrafts, ConfigFileActions, FocusInView):
    """Edit the training config with help and checks on every field; save, import, export, train."""

    # below 74 columns (the form's min-width and the panels' width) the column with the focus takes the
    # screen: v and s show the panel they focus (screens.focus_in_view)
    FOCUS_COLUMNS = ("#settings-form", "#settings-panels")
    AUTO_FOCUS = ""  # arrive with no field focused (None would mean the app's "*"): 1-4 switch screens until tab

    CSS_PATH = "settings.tcss"
    DEFAULT_CSS = """
    SettingsScreen #settings-broken { width: 1fr; height: 1fr; padding: 1 2; display: none; color: $text-error; }
    /* while a field is invalid the panels keep the last valid config's numbers: said, and dimmed */
    SettingsScreen #settings-panels-stale { height: auto; display: none; padding: 0 1; color: $text-warning; }
    SettingsScreen #settings-panels.-stale #settings-panels-stale { display: block; }
    SettingsScreen #settings-panels.-stale > StepCalculator, SettingsScreen #settings-panels.-stale > VramPanel {
        text-opacity: 60%;
    }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="settings.save", tooltip="Save in place (comments and order kept)"),
        # ctrl+r runs this screen's job, as on Caption (caption.start); ids stay, keymap.toml files name them
        Binding("ctrl+r", "train", "Train", id="settings.train",
                tooltip="Save (asks first), then start a run on the Train screen (its command shown first)"),
        # priority: run when the App reads the key, so the picker is open before the keys typed after it are
        # routed (a busy screen otherwise let them go to the focused field: "ctrl+g batch" typed into seed).
        # ctrl+g means "cancel" on Caption (emacs' keyboard-quit) and "go to" here (editors' go-to-line): both
        # are what users of those tools expect, and neither screen has the other action, so it stays on both
        Binding("ctrl+g", "goto", "Field", id="settings.goto", tooltip="Go to a field: type part of its key name",
                priority=True),
        Binding("ctrl+down,ctrl+n", "next_section", "Section", id="settings.next_section",
                tooltip="The next section (ctrl+up: the one before)"),
        Binding("ctrl+up", "previous_section", "Previous section", id="settings.previous_section", show=False),
        Binding("ctrl+f", "pick_file", "Pick file", id="settings.pick_file", show=False,
                tooltip="For a path field: choose a file or folder", priority=True),  # as ctrl+g: "ctrl+f img"
        # ctrl+z: the app's undo key (Dataset); no field here (Input) has a ctrl+z of its own
        Binding("ctrl+z", "revert_field", "Revert field", id="settings.revert_field", show=False,
                tooltip="Put back the file's value of the focused field"),
        # priority: in a text box (the calculator's) Input's ctrl+x (cut) ran instead; check_action hands it
        # back there when nothing is to drop or text is selected (then it cuts)
        Binding("ctrl+x", "drop_unread_args", "Drop unread args", id="settings.drop_unread_args", show=False,
                tooltip="Remove from network_args the LyCORIS keys the chosen algo does not read (Revert field "
                        "on network_args puts them back)", priority=True),
        Binding("shift+down", "help_down", "More help", id="settings.help_down", show=False,
                tooltip="Scroll the help under the form to its next lines (from its end: back to its top)"),
        Binding("shift+up", "help_up", "Help back", id="settings.help_up", show=False,
                tooltip="Scroll the help under the form back to its previous lines"),
        Binding("f2", "save_as", "Save as", id="settings.save_as", show=False),
        Binding("f3", "import_kohya", "Import kohya_ss", id="settings.import_kohya", show=False),
        Binding("f4", "export", "Export sd-scripts", id="settings.export", show=False),
        Binding("f5", "reload", "Reload", id="settings.reload", show=False, tooltip="Read the file again"),
        Binding("ctrl+o", "open", "Open config", id="settings.open", show=False),
        Binding("f6", "draft", "Unsaved draft", id="settings.draft", show=False,
                tooltip="Offer again the draft of unsaved changes a closed app left (or say there is none)"),
        Binding("v", "vram_panel", "VRAM panel", id="settings.vram", show=False,
                tooltip="With no field focused: go to the VRAM panel (b breakdown, p presets, f fix, c card size)"),
        Binding("p", "vram_presets", "VRAM presets", id="settings.vram_presets", show=False,
                tooltip="With no field focused: pick a VRAM preset, see what it changes, apply it"),
        Binding("s", "target_steps", "Target steps", id="settings.target_steps", show=False,
                tooltip="With no field focused: type a step count in the calculator; enter sets the epochs "
                        "that reach it, esc leaves the box"),
        # in the footer while something has the focus (typed digits go into a field): esc, then 1-4
        Binding("escape", "leave_field", "Leave field", id="settings.leave_field",
                tooltip="No field has the focus: 1-4 switch screens again; tab comes back"),
    ]

    class ConfigChanged(Message):
        """The form holds a new valid config (maybe unsaved): what the panels compute from."""

        def __init__(self, cfg: TrainingConfig) -> None:
            super().__init__()
            self.cfg = cfg

    def __init__(self) -> None:
        super().__init__()
        self.path: Path | None = None
        self.broken: str | None = None          # why the file could not be loaded
        self.broken_foreign: str | None = None  # an sd-scripts file (core's ConfigError.foreign): not fixable here
        self.loaded_stat: tuple = ()
        self.loaded_text: str | None = None      # the file's text as loaded: save as and an overwrite keep it
        self.suggested = Path("lora.toml")
        self.family = ""
        self.family_of: tuple | None = None      # (model, model_family, folder) the family was read for
        self.panels: list[Widget] = []
        self.last_edit_ms = 0.0                 # the work of the last edit, for the benchmark and tests
        self.files_checked: tuple | None = None  # the values the file problems were last checked for
        self.broken_lines: list[str] = []       # every problem of a file that cannot be read
        self.outside_note = ""                  # an outside change not loaded (the form holds edits)
        self.watch = ConfigWatch()
        self.resumes = 0                        # screen resumes so far: a later one supersedes a pending one
        # styled fresh as it mounts, with the CSS as it is now: Textual's -1 ("never styled") had the app
        # re-parse its CSS and restyle every screen twice on the first visit and once on the second
        # (~0.1-0.3 s each); a theme changed while Settings is not shown still restyles it on the next visit
        self._css_update_count = getattr(self.app, "_css_update_count", -1)

    # ---- layout ---------------------------------------------------------------------------------

    def _initial_config(self) -> tuple[TrainingConfig, bool]:
        self.suggested = suggested_path(self.app.store.location)
        # absolute: a relative path given at start-up is not read against the config's folder later
        self.path = Path(self.app.config_path).absolute() if self.app.config_path else None
        if self.path is not None:
            self.loaded_stat = file_state(self.path)
            try:
                cfg = load_config(self.path)
                self.loaded_text = read_config_text(self.path, cfg)
                return cfg, True
            except ConfigError as exc:
                self.broken, self.broken_lines = str(exc), list(exc.problems)
                self.broken_foreign = getattr(exc, "foreign", None)
        return starter_config(self.suggested, self.app.store.location), False

    def compose(self) -> ComposeResult:
        started = time.perf_counter()
        base, has_file = self._initial_config()
        self.panels = load_panels()
        yield Header()
        yield SectionLine([(s, SECTION_TITLES.get(s, s)) for s in SECTIONS], id="settings-sections")
        with Horizontal(id="settings-body"):
            yield Static("", id="settings-broken")
            self.form = ConfigForm(base, has_file=has_file, id="settings-form")
            # FocusInView's column classes (what its on_mount adds) given here: a class added on mount restyled
            # the whole form again (~160 widgets, 70-140 ms of the first visit); given now, its add is a no-op
            self.form.add_class("-focus-column-main", update=False)
            yield self.form
            with VerticalScroll(id="settings-panels", can_focus=False, classes="-focus-column-side"):
                yield Static("", id="settings-panels-stale")
                yield from self.panels
        # the focused field's help, scrolled (wheel, shift+down/up) when longer than the box (settings_texts)
        with VerticalScroll(id="settings-help-box", can_focus=False):
            yield Static("", id="settings-help")
        yield Static("", id="settings-status")
        yield Footer()
        self.compose_ms = (time.perf_counter() - started) * 1000

    def on_mount(self) -> None:
        if not self.panels:  # set only to hide: a narrow terminal hides the column too (focus_in_view)
            self.query_one("#settings-panels").display = False
        self.form.lycoris.drop_words = lambda: self.key_does("settings.drop_unread_args", "drops them")
        self.show_sections(SECTIONS[0])
        self.show_help(None)
        self.config_edited()
        self.show_broken()
        self.set_interval(POLL_SECONDS, self.poll_config_file)
        # no field focused on arrival: a digit typed next still switches screens instead of editing
        # the model path; tab (or a click) goes into the form
        self.call_after_refresh(self.form.scroll_home, animate=False)  # the [model] heading shows too
        self.start_drafts()
        self.call_after_refresh(self.check_draft_and_leftovers)  # a draft a dropped connection left

    def on_unmount(self) -> None:
        app = self.app
        form = getattr(self, "form", None)
        if app.exit_signal is None and app.return_code in (0, None) and form is not None and not form.unsaved_edits():
            # nothing unsaved (typed back before the debounce caught up): the draft this session wrote
            # goes now (write_now removes it; one put off stays). With unsaved edits a quit asked first
            app.drafts.write_now("settings")
        app.drafts.unregister("settings")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """v, p and s are the panels' keys with no field focused: in a field (a true/false one takes no
        letters) they must not pull the focus away."""
        if action in ("vram_panel", "vram_presets", "target_steps") and self.focused_field() is not None:
            return False
        if action == "leave_field":
            return self.focused is not None
        if action in ("goto", "pick_file"):  # priority keys: a box's own letter stays with it
            return not key_kept_below(self, action)
        if action == "drop_unread_args":  # a text box's ctrl+x cuts a selection, or when there is nothing to drop
            form = getattr(self, "form", None)
            if getattr(self.focused, "selected_text", "") or form is None or not form.lycoris.unread_args():
                return not key_kept_below(self, action)
        return True

    def on_resize(self, event) -> None:
        self.set_class(event.size.width >= 110, "wide")
        self.set_class(event.size.width >= 160, "wider")  # the calculator and its advice get the room
        self.call_after_refresh(lambda: self.show_help(self.focused_field()))  # "N more lines" for this width

    def on_screen_resume(self) -> None:
        """Back on this screen: it is drawn first as it was left (the problem lines of the last check stay
        until the new check's land), then ``resumed`` catches up with the disk (h9: Settings was the
        slowest screen to show)."""
        self.resumes += 1
        self.call_after_refresh(self.resumed, self.resumes)

    def resumed(self, resume: int) -> None:
        """After the first frame: follow a config the app switched to, or a change made on disk; the panels
        recompute and the files are checked again in a thread (a folder or model may have come or gone)."""
        if resume != self.resumes or not self.is_current or self.file_work_running():
            return  # left (or back again) meanwhile: the next resume does it; or our own save or load is
            # landing: its result updates the form
        wanted = Path(self.app.config_path).absolute() if self.app.config_path else None
        if wanted is not None and wanted != self.path:
            self.unless_unsaved(f"opening {wanted.name}", lambda: self.load_file(wanted))
        elif not self.poll_config_file():
            self.update_panels(self.form.current_config())
            self.check_files(force=True)  # in a thread: its problem lines land when found

    def file_work_running(self) -> bool:
        from textual.worker import WorkerState

        return any(w.node is self and w.group == "config-file" and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
                   for w in self.app.workers)

    # ---- edits ----------------------------------------------------------------------------------

    def on_config_field_edited(self, event: ConfigField.Edited) -> None:
        self.config_edited()
        if event.field is self.form.lycoris.fields["algo"]:
            self.offer_drop_unread_args()

    def offer_drop_unread_args(self) -> None:
        """After an algo change: name the hidden network_args keys that now block training, and the key that
        drops them (nothing is dropped unasked; the heading over the fields keeps saying it)."""
        blocking = self.form.lycoris.blocking_args()
        if blocking:
            algo = self.form.lycoris.fields["algo"].value
            self.notify(f"algo={algo} does not read {', '.join(self.form.lycoris.unread_args())} (hidden, still in "
                        f"network_args): training refuses {', '.join(blocking)}; "
                        f"{self.key_does('settings.drop_unread_args', 'drops them')}", severity="warning", timeout=10)

    def action_drop_unread_args(self) -> None:
        if self.refuse_while_broken("drop network_args keys"):
            return
        dropped = self.form.lycoris.drop_unread()
        if dropped:
            self.notify(f"network_args: removed {', '.join(dropped)}; "
                        f"{self.key_does('settings.revert_field', 'on network_args puts them back')}")
        else:
            self.notify("network_args holds no LyCORIS key the chosen algo does not read: nothing removed")

    def config_edited(self) -> TrainingConfig | None:
        """Check the fields together, hand a valid config to the panels, redraw the status line."""
        started = time.perf_counter()
        cfg = self.form.current_config()
        self.form.refresh_problems(cfg)
        if cfg is not None:
            self.check_files(cfg)
            self.post_message(self.ConfigChanged(cfg))
            self.update_panels(cfg)
            model = (cfg.model.pretrained_model_name_or_path, cfg.model.model_family, cfg.config_dir)
            if model != self.family_of:
                self.family_of = model
                self.detect_family(cfg)
        self.show_stale(cfg is None)
        self.show_status()
        self.app.drafts.changed("settings")  # unsaved edits reach the draft within 2 s
        self.last_edit_ms = (time.perf_counter() - started) * 1000
        return cfg

    def show_stale(self, stale: bool) -> None:
        """While a field's text is invalid the panels show the last valid config: say so above them."""
        column = self.query_one("#settings-panels")
        column.set_class(stale, "-stale")
        if stale:
            names = ", ".join(f.spec.name for f in self.form.invalid_fields()[:2])
            self.query_one("#settings-panels-stale", Static).update(
                Text(f"stale: the numbers below are from before {names} became invalid; fix it to update them"))

    def check_files(self, cfg: TrainingConfig | None = None, *, force: bool = False) -> None:
        """What training would refuse about the files and packages named (core's check_paths, as
        `loratui config check`), found in a thread when a value it reads changed (or ``force``)."""
        from loratui.tui.screens.config_actions import file_problems
        from loratui.tui.services.work import run_in_thread

        cfg = cfg or self.form.current_config()
        if cfg is None:
            return
        values = config_values(cfg)
        wanted = (str(cfg.config_dir), repr([values[key] for key in FILE_CHECK_KEYS]))
        if wanted == self.files_checked and not force:
            return
        self.files_checked = wanted

        def done(problems: list[str]) -> None:
            if wanted == self.files_checked:
                self.form.set_file_problems(self.pending_prompts_problems(problems))
                self.show_status()

        run_in_thread(self, file_problems, cfg, done=done, what="checking the config's files", group="file-check",
                      exclusive=True)

    def update_panels(self, cfg: TrainingConfig | None) -> None:
        if cfg is None:
            return
        scan = self.app.store.scan
        for panel in self.panels:
            panel.update_config(cfg, scan)

    def detect_family(self, cfg: TrainingConfig) -> None:
        from loratui.tui.services.work import run_in_thread

        def done(result: tuple[str, str]) -> None:
            self.family, line = result
            self.form.fields[("model", "pretrained_model_name_or_path")].set_info(line)
            self.show_status()

        run_in_thread(self, family_line, cfg, done=done, what="reading the model's family", group="family",
                      exclusive=True)

    def apply_changes(self, changes: dict[Any, Any], what: str, *, quiet: bool = False) -> None:
        """Values from a panel or the picker ({(section, key) or "section.key": value}) into the form."""
        pairs = [((tuple(k.split(".", 1)) if isinstance(k, str) else tuple(k)), v) for k, v in changes.items()]
        problems = self.form.set_values(pairs)
        self.config_edited()
        if problems:
            self.notify(f"{what}: not set: {problems[0]}", severity="warning")
        elif not quiet:
            self.notify(f"{what}: {len(pairs)} field(s) set; {self.key_does('settings.save', 'saves')}")

    def on_step_calculator_epochs_chosen(self, message) -> None:
        message.stop()
        self.apply_changes({("training", "max_train_epochs"): message.epochs}, "epochs from the calculator")

    def on_vram_panel_fields_changed(self, message) -> None:
        message.stop()
        origin = getattr(message, "origin", "")
        self.apply_changes(message.changes, "VRAM fix" if origin == "fix" else f"preset {origin}" if origin else
                           "preset")

    # ---- focus and sections (the texts: settings_texts) -----------------------------------------

    def focused_field(self) -> ConfigField | None:
        node = self.focused
        while node is not None and not isinstance(node, ConfigField):
            node = node.parent
        return node

    def on_descendant_focus(self, event) -> None:
        field = self.focused_field()
        if field is not None:
            self.show_sections(field.spec.section)
        self.show_help(field)

    def action_next_section(self, step: int = 1) -> None:
        if self.refuse_while_broken("show a section"):
            return
        current = self.form.section_of(self.focused_field())
        self.form.show_section(SECTIONS[(SECTIONS.index(current) + step) % len(SECTIONS)])

    def action_leave_field(self) -> None:
        self.set_focus(None)
        self.show_help(None)

    def _vram(self):
        from loratui.tui.widgets.vram_panel import VramPanel

        return self.query_one(VramPanel)

    def action_vram_panel(self) -> None:
        if self.refuse_while_broken("show the VRAM panel"):
            return
        self._vram().focus()  # its keys show in the footer; the panels scroll to it

    def action_vram_presets(self) -> None:
        if self.refuse_while_broken("apply a VRAM preset"):
            return
        self._vram().action_presets()

    def action_target_steps(self) -> None:
        from loratui.tui.widgets.step_calculator import StepCalculator

        calculators = self.query(StepCalculator)
        if not calculators or self.refuse_while_broken("set target steps"):
            return
        calculators.first().focus_target()

    def action_previous_section(self) -> None:
        self.action_next_section(-1)

    def action_revert_field(self) -> None:
        field = self.focused_field()
        if field is not None and field.revertable:  # text core refuses differs from the file too
            self.form.revert(field)
            self.config_edited()
