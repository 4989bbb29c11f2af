"""The Caption screen: caption the open dataset with WD14 or BLIP / BLIP-2 / GIT, from the keyboard.

A form (model, the captioner's options, how to write) over the options of `loratui caption`, and the
run panel. Runs are child processes of the CLI, owned by the app's CaptionRunner
(services.caption_runs): leaving this screen does not stop one, and coming back shows it. The model is
checked (captioners.model_search, worded for the app by services.caption_runs) before anything
starts; found models are listed from the model store, the project and the Hugging Face cache. The
last model folder that checked good is remembered per captioner in the user settings (tui.toml:
per user, since one tagger folder serves every project) and filled in at the next start; the demo
project's toy tagger is chosen in the demo project and never remembered. Before an overwrite run the
screen asks when images have captions already (screens.caption_overwrite).
"""

from __future__ import annotations

import time
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Header, Input, Label, Select, Static

from loratui.tui.palette import PaletteCommand
from loratui.tui.screens.caption_hints import (  # noqa: F401 (ESC_NOTE, MODEL_HELP importable here)
    ESC_NOTE, MODEL_HELP, CaptionHints, problem_first,
)
from loratui.tui.screens.caption_overwrite import CaptionOverwriteQuestion
from loratui.tui.screens.caption_resume import CaptionResume
from loratui.tui.screens.focus_in_view import FocusInView
from loratui.tui.services.caption_runs import CaptionRun, CaptionRunner, caption_runner
from loratui.tui.services.terminal_graphics import ascii_only
from loratui.tui.services.work import run_in_thread
from loratui.tui.widgets.caption_form import FormSelect, OptionsForm, option_fields
from loratui.tui.widgets.caption_progress import CaptionRunPanel
from loratui.tui.widgets.table_text import ASCII_GLYPHS, UNICODE_GLYPHS

CAPTIONERS = [("WD14 tagger (tags, onnxruntime)", "wd14"), ("BLIP / BLIP-2 / GIT (sentences)", "blip")]
# option names per part of the form; the rest of each subcommand's options are set by the screen
COMMON = ["mode", "batch_size", "caption_extension", "separator", "workers", "recursive", "force"]
SPECIFIC = {
    "wd14": ["general_threshold", "character_threshold", "undesired_tags", "character_tags_first",
             "always_first_tags", "rating", "tag_replacement", "remove_underscore", "character_tag_expand",
             "providers"],
    "blip": ["num_beams", "top_p", "min_length", "max_length", "repetition_penalty", "prefix", "postfix",
             "precision", "device"],
}
class FormScroll(VerticalScroll):
    """The scrolling form: Up/Down move between its fields, as on Settings (a scroll container
    scrolls with them, and with a field focused in it the field stayed put)."""

    BINDINGS = [
        Binding("down", "screen.move_field(1)", "Next field", id="caption.field_down", show=False,
                tooltip="The field below (Enter or Space lists a field's choices)"),
        Binding("up", "screen.move_field(-1)", "Previous field", id="caption.field_up", show=False,
                tooltip="The field above"),
    ]


class CaptionScreen(CaptionHints, CaptionOverwriteQuestion, CaptionResume, FocusInView):
    """Caption the dataset with a WD14 tagger or a BLIP-family model."""

    AUTO_FOCUS = "#captioner"  # the first field, not the form around it (Textual's "*" raced on_mount's focus)

    CSS_PATH = "caption.tcss"
    BINDINGS = [
        # ctrl+r runs the screen's job here, on Settings (train) and on Train; ctrl+t is this dry run only
        Binding("ctrl+r", "start", "Run", id="caption.start",
                tooltip="Caption the dataset with these settings (a child process of the CLI)"),
        Binding("ctrl+t", "dry_run", "Dry run", id="caption.dry_run",
                tooltip="Caption a sample of images and show them next to the current captions; writes nothing"),
        # ctrl+g: cancel, as emacs' keyboard-quit; Settings keeps it for "go to a field" (its comment says why)
        Binding("ctrl+g", "cancel", "Cancel", id="caption.cancel",
                tooltip="Stop after the caption being written; 'caption: resume' (ctrl+p) continues the run"),
        Binding("ctrl+b", "switch_captioner", "WD14/BLIP", id="caption.switch_captioner"),
        # not in the footer (it is full at 80 columns, and ? must stay there): help and palette list it
        Binding("ctrl+o", "focus_model", "Model folder", id="caption.model", show=False,
                tooltip="Type or paste the model folder"),
        Binding("ctrl+l", "find_models", "Find models", id="caption.find_models", show=False,
                tooltip="Look for models again (model store, project, Hugging Face cache)"),
        Binding("ctrl+n", "focus_results", "Results", id="caption.results", show=False,
                tooltip="Scroll the failed images or the dry-run sample"),
        Binding("escape", "leave_field", "Leave field", id="caption.leave_field", show=False,
                tooltip="Leave the text field, so that 1-4 and ? work again"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._left_field = None  # the text field Esc left: Up/Down go on from it
        self.captioner = "wd14"
        self.folders: dict[str, str] = {}  # the model folder typed for each captioner (ctrl+b keeps it)
        self.found: dict[str, list] = {}
        self._check_timer = None
        self.model_ok: str | None = None      # the last check's line when it passed
        self.model_problem: str | None = None
        self._settings_warned = False
        self.glyphs = ASCII_GLYPHS if ascii_only() else UNICODE_GLYPHS  # the Linux console has no ✓ or ▏
        self.set_class(self.glyphs is ASCII_GLYPHS, "-ascii")  # app.tcss: "|" and "-" separators

    @property
    def runner(self) -> CaptionRunner:
        return caption_runner(self.app)

    # ---- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        from loratui.commands.caption_cmd import caption

        yield Header()
        with Horizontal(id="caption-body"):
            with FormScroll(id="caption-form"):
                yield Static("Model", classes="section")
                yield self._row("Captioner", FormSelect(CAPTIONERS, value="wd14", allow_blank=False, id="captioner",
                                                    compact=True))
                yield self._row("Found models", FormSelect([], prompt="looking for models…", id="found-models",
                                                       compact=True))
                yield self._row("Model folder", Input(placeholder="folder with model.onnx + selected_tags.csv",
                                                      id="model-folder", compact=True))
                yield self._row("Download", Input(placeholder="repo id, only when asked: needs the network",
                                                  id="model-download", compact=True))
                yield Static("", id="model-check", markup=False)
                yield self._row("Dry-run sample", Input("8", placeholder="all", id="dry-sample", compact=True,
                                                        restrict=r"\d*"))
                for name, title in (("wd14", "WD14 tagger options"), ("blip", "BLIP / BLIP-2 / GIT options")):
                    yield Static(title, classes="section", id=f"{name}-title")
                    yield OptionsForm(option_fields(caption.commands[name], SPECIFIC[name]), id=f"{name}-form")
                yield Static("Writing", classes="section")
                yield OptionsForm(option_fields(caption.commands["wd14"], COMMON), id="common-form")
            yield CaptionRunPanel(self.app.store.root, id="run-panel")
        yield Static("", id="caption-help", markup=False)
        yield Footer()

    @staticmethod
    def _row(label: str, control) -> Horizontal:
        return Horizontal(Label(label, classes="field-label"), control, classes="field-row")

    def on_mount(self) -> None:
        from loratui.captioners.model_search import project_demo_tagger

        self.folders = self._remembered_folders()
        demo = project_demo_tagger(self.app.store.location.project_dir)
        if demo is not None:  # the demo project: its own tagger, so that ctrl+r works at once
            self.folders["wd14"] = str(demo)
        self.query_one("#model-folder", Input).value = self.folders.get(self.captioner, "")
        self._show_captioner()
        self.runner.subscribe(self.run_changed)
        self.query_one(CaptionRunPanel).keys = self.run_panel_keys()  # screens.caption_hints: the keymap's keys
        self.query_one(CaptionRunPanel).show(self.runner.run)
        self._follow_caption_extension()
        self.query_one("#captioner").focus()
        self.action_find_models()

    def _follow_caption_extension(self) -> None:
        """The Caption ext. field starts at the extension the dataset uses (the config's
        caption_extension, ".caption" in kohya configs), and follows it while the user has not typed
        another."""
        box = self.query_one("#opt-caption_extension", Input)
        current = self.app.store.caption_extension
        if box.value == getattr(self, "_extension_set", ".txt") and box.value != current:
            box.value = current
        self._extension_set = current

    def on_unmount(self) -> None:
        self.runner.unsubscribe(self.run_changed)

    def on_screen_resume(self) -> None:
        self.query_one(CaptionRunPanel).show(self.runner.run)
        self._follow_caption_extension()

    def on_resize(self, event) -> None:
        self.set_class(event.size.width >= 110, "wide")

    # ---- the run (the runner calls back on the UI thread) --------------------------------------

    def run_changed(self, run: CaptionRun) -> None:
        self.query_one(CaptionRunPanel).show(run)

    # ---- model ----------------------------------------------------------------------------------

    def _remembered_folders(self) -> dict[str, str]:
        """The model folders of the last session that checked good, where they still exist."""
        folders = {}
        for name in SPECIFIC:
            folder = getattr(self.app.settings, f"{name}_model_folder", "")
            if folder and Path(folder).expanduser().exists():
                folders[name] = folder
        return folders

    def _remember_folder(self, captioner: str, folder: str) -> None:
        """Keep a folder that checked good for the next start (the settings file is rewritten only
        when it changes)."""
        from loratui.tui.services.user_settings import SettingsNotSaved, update_settings

        from loratui.captioners.model_search import is_demo_tagger

        key = f"{captioner}_model_folder"
        if not folder or getattr(self.app.settings, key, None) == folder:
            return
        if is_demo_tagger(Path(folder).expanduser()):
            return  # a toy: filled in by the demo project itself, never in the user's other projects
        try:
            self.app.settings = update_settings(self.app.settings_file, **{key: folder})
        except OSError as exc:
            if isinstance(exc, SettingsNotSaved):  # the file is left alone; the folder holds this session
                self.app.settings = exc.settings
            if not self._settings_warned:
                self._settings_warned = True
                self.app.notify(f"could not remember the model folder: {exc}", severity="warning")

    def _show_captioner(self) -> None:
        for name in SPECIFIC:
            shown = name == self.captioner
            self.query_one(f"#{name}-form").display = shown
            self.query_one(f"#{name}-title").display = shown
        placeholder = ("folder with model.onnx + selected_tags.csv" if self.captioner == "wd14"
                       else "Hugging Face folder of a BLIP / BLIP-2 / GIT model")
        self.query_one("#model-folder", Input).placeholder = placeholder
        self._fill_found()
        self._schedule_check()

    @on(Select.Changed, "#captioner")
    def _captioner_changed(self, event: Select.Changed) -> None:
        if event.value != self.captioner and event.value in SPECIFIC:
            folder = self.query_one("#model-folder", Input)
            self.folders[self.captioner] = folder.value  # each captioner keeps the folder typed for it
            self.captioner = str(event.value)
            folder.value = self.folders.get(self.captioner, "")
            self._show_captioner()

    def action_switch_captioner(self) -> None:
        self.query_one("#captioner", Select).value = "blip" if self.captioner == "wd14" else "wd14"

    def action_find_models(self) -> None:
        from loratui.captioners.model_search import find_models

        project = self.app.store.location.project_dir

        def search() -> dict[str, list]:
            return {name: find_models(name, project) for name in SPECIFIC}

        run_in_thread(self, search, done=self._models_found, what="looking for caption models",
                      group="find-models", exclusive=True)

    def _models_found(self, found: dict[str, list]) -> None:
        self.found = found
        self._fill_found()

    def _fill_found(self) -> None:
        select = self.query_one("#found-models", Select)
        models = self.found.get(self.captioner)
        if models is None:
            return
        select.set_options([(m.label, str(m.path)) for m in models])
        # short: the prompt has ~35 columns at 120x40; where to put one is in the model check line
        select.prompt = f"{len(models)} found: choose one" if models else "none found: see below"
        folder = self.query_one("#model-folder", Input)
        complete = [m for m in models if m.problem is None]
        if not folder.value and complete:
            folder.value = str(complete[0].path)

    @on(Select.Changed, "#found-models")
    def _found_chosen(self, event: Select.Changed) -> None:
        if event.value is not Select.BLANK:
            self.query_one("#model-folder", Input).value = str(event.value)

    @on(Input.Changed, "#model-folder, #model-download")
    def _model_typed(self, event: Input.Changed) -> None:
        self._schedule_check(debounce=event.input.has_focus)

    def _schedule_check(self, debounce: bool = False) -> None:
        """Check the model again: at once, or once typing pauses (a stat per key is wasted work)."""
        if self._check_timer is not None:
            self._check_timer.stop()
            self._check_timer = None
        self.model_ok = self.model_problem = None
        if debounce:
            self._check_timer = self.set_timer(0.3, lambda: self.check_model())
        else:
            self.check_model()

    def _model_inputs(self) -> tuple[str, str]:
        return self.query_one("#model-folder", Input).value, self.query_one("#model-download", Input).value

    def check_model(self, then=None) -> None:
        """Check the model in a thread; ``then()`` (a start waiting for the check) runs when it passed."""
        from loratui.tui.services.caption_models import check_model_for_app

        captioner, (folder, download) = self.captioner, self._model_inputs()

        def passed(line: str) -> None:
            if (captioner, (folder, download)) != (self.captioner, self._model_inputs()):
                return  # changed meanwhile: a newer check follows
            self.model_ok, self.model_problem = line, None
            self._show_check()
            if folder.strip() and not download.strip():
                self._remember_folder(captioner, folder.strip())
            if then is not None:
                then()

        def failed(exc: BaseException) -> None:
            from loratui.tui.services.work import failure_line

            if (captioner, (folder, download)) != (self.captioner, self._model_inputs()):
                return
            self.model_ok, self.model_problem = None, failure_line("", exc)[0]
            self._show_check()
            if then is not None:
                self.app.notify(self.model_problem, severity="error", timeout=8)

        run_in_thread(self, check_model_for_app, captioner, folder, download, done=passed, failed=failed,
                      what="checking the model", group="model-start" if then else "model-check", exclusive=True)

    def _show_check(self) -> None:
        check = self.query_one("#model-check", Static)
        glyphs = self.glyphs
        check.update(glyphs.marked(glyphs.done, self.model_ok) if self.model_ok else
                     glyphs.marked(glyphs.problem, problem_first(self.model_problem)) if self.model_problem else "")
        check.set_class(self.model_problem is not None, "bad")

    # ---- actions --------------------------------------------------------------------------------

    def _forms(self) -> list[OptionsForm]:
        return [self.query_one(f"#{self.captioner}-form", OptionsForm), self.query_one("#common-form", OptionsForm)]

    def action_start(self) -> None:
        self._start(dry_run=False)

    def action_dry_run(self) -> None:
        self._start(dry_run=True)

    def sample_problem(self) -> str | None:
        """The Dry-run sample field's problem, as one line (it takes digits only: 0 is the one)."""
        text = self.query_one("#dry-sample", Input).value.strip()
        if text and int(text) == 0:
            return ("Dry-run sample: 0 would caption nothing: type how many images to show (1 or more), or clear "
                    "it for all")
        return None

    def _start(self, dry_run: bool, mode: str | None = None, resume: bool = False) -> None:
        requested_at = time.monotonic()
        if self.runner.busy:
            self.app.notify(f"a caption run is already running: {self.cancel_does('cancels it')}",
                            severity="warning")
            return
        if self._form_problem(dry_run) is not None:
            return
        if self._check_timer is not None:  # the check below replaces the pending one
            self._check_timer.stop()
            self._check_timer = None
        sample = int(self.query_one("#dry-sample", Input).value.strip() or "0")  # empty: all
        self.check_model(then=lambda: self._launch(dry_run, sample, requested_at, mode, resume=resume))

    def _form_problem(self, dry_run: bool) -> str | None:
        """The form's first problem, shown (its field focused); None: nothing stops a run."""
        problems = [problem for form in self._forms() for problem in form.problems()]
        if dry_run and self.sample_problem():
            problems.append(("dry-sample", self.sample_problem()))
        if not problems:
            return None
        widget_id, line = problems[0]
        self.app.notify(line, severity="error", timeout=8)
        self.query_one(f"#{widget_id}").focus()
        return line

    def _model_args(self) -> list[str]:
        folder, download = (v.strip() for v in self._model_inputs())
        if self.captioner == "wd14":
            return ["--download", download] if download else ["--model", folder]
        return ["--model", download or folder]

    def _launch(self, dry_run: bool, sample: int, requested_at: float, mode: str | None = None,
                asked: bool = False, resume: bool = False) -> None:
        from loratui.core.errors import LoratuiError

        if not (dry_run or asked or mode or resume) and self._ask_before_overwriting(
                lambda: self._launch(dry_run, sample, requested_at, asked=True)):
            return  # the count (and the answer) starts it again
        args = self._model_args() + [arg for form in self._forms() for arg in form.args()]
        if mode is not None or resume:  # this run only: the form's own --mode goes
            at = args.index("--mode") if "--mode" in args else -1
            if at >= 0:
                del args[at:at + 2]
            # a resume: the interrupted run's mode, which its journal names (the CLI refuses another)
            args += (["--mode", mode] if mode else []) + (["--resume"] if resume else [])
        try:
            run = self.runner.start(self.captioner, self.app.store.root, args, dry_run=dry_run, sample=sample,
                                    requested_at=requested_at)
        except LoratuiError as exc:
            self.app.notify(str(exc), severity="error", timeout=8)
            return
        self._note_reg_left_out(run, args)
        # off the text field (where ctrl+o leaves it): digits switch screens again, not type into a path
        self.query_one("#run-results").focus()

    def _note_reg_left_out(self, run: CaptionRun, args: list[str]) -> None:
        """The reg rows the run leaves out (the CLI runs on the train folder, which has none to name), said
        at its end: the summary counts them, the notification gives the command that captions them."""
        from loratui.commands.caption_reg import reg_note
        from loratui.tui.screens.caption_overwrite import reg_of_store

        extension = args[args.index("--caption-extension") + 1] if "--caption-extension" in args[:-1] else ".txt"
        left_out = reg_of_store(self.app.store, "--recursive" in args, extension)
        if left_out is not None:
            run.reg_note, run.reg_images = reg_note(self.captioner, left_out, relative=False), left_out["images"]

    def action_cancel(self) -> None:
        if self.runner.cancel():
            self.app.notify(f"stopping after the caption being written… ({self.cancel_does('again stops at once')})")
        else:
            self.app.notify("no caption run is running", severity="warning")

    def action_focus_model(self) -> None:
        self.query_one("#model-folder", Input).focus()

    def action_focus_results(self) -> None:
        self.query_one("#run-results").focus()

    def action_move_field(self, step: int) -> None:
        """Up/Down go from field to field of the form, as on Settings (the run panel's lists
        scroll with them instead: they take the keys first)."""
        form = self.query_one("#caption-form")
        fields = [widget for widget in self.focus_chain if form in widget.ancestors]
        if not fields:
            return
        current = self.focused if self.focused in fields else self._left_field
        if current in fields:
            index = fields.index(current) + step
            fields[max(0, min(index, len(fields) - 1))].focus()
        else:
            fields[0 if step > 0 else -1].focus()

    def action_leave_field(self) -> None:
        """Off the text field (so that 1-4 and ? work) but still in the form: Up/Down go on from
        the field left, as its hint line says."""
        if isinstance(self.focused, Input):
            self._left_field = self.focused
            self.query_one("#caption-form").focus()

    @on(Input.Changed)
    def _refresh_help(self, event: Input.Changed) -> None:
        self.refresh_hint(event.input)  # screens.caption_hints

    # ---- commands -------------------------------------------------------------------------------

    def cancel_does(self, does: str) -> str:
        """"ctrl+g cancels it" with the keymap's cancel key (its palette command where it has none)."""
        return self.app.key_does(self, "caption.cancel", does, "caption: cancel")

    def palette_commands(self) -> list[PaletteCommand]:
        def key(binding_id: str, note: str = "") -> str:  # the keymap's key first ("ctrl+r: caption the ...")
            return (self.app.key_for(binding_id, self) or "no key (keymap.toml)") + (f": {note}" if note else "")

        return [
            PaletteCommand("caption: start", key("caption.start", "caption the dataset with these settings"),
                           self.action_start),
            PaletteCommand("caption: dry run", key("caption.dry_run", "a sample of captions next to the current "
                                                   "ones, nothing written"), self.action_dry_run),
            PaletteCommand("caption: cancel", key("caption.cancel", "stop after the caption being written"),
                           self.action_cancel),
            PaletteCommand("caption: resume", "continue the interrupted run: skip only the images it wrote, same "
                           "mode, the form's options (asked when they change the captions)", self.action_resume),
            PaletteCommand("caption: switch WD14 / BLIP", key("caption.switch_captioner"), self.action_switch_captioner),
            PaletteCommand("caption: choose the model folder", key("caption.model"), self.action_focus_model),
            PaletteCommand("caption: find models again", key("caption.find_models", "model store, project, Hugging "
                                                             "Face cache"), self.action_find_models),
            PaletteCommand("caption: show results", key("caption.results", "failed images or the dry-run sample"),
                           self.action_focus_results),
        ]
