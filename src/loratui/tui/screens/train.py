"""The Train screen: follow a training run (a process of its own) through its events file.

On arrival it follows the one live run of the config's output folder, or else offers its runs (and
those of ``app.attach_dir``, set by `loratui attach`; ``app.attach_run`` names one to follow at once):
live ones, finished ones, crashed ones (with their log's end), earlier runs of a name (read-only), or
a new run from ``app.config_path`` after showing its exact command; ``s`` while a run is live on
the config's output says so at once and offers to follow it. While no run is followed, the output
folder's lock files are looked at once a second: a run another app or a shell starts is named on the
status line (f follows it), and 4 follows the one live run at once unless it was passed over (esc on
the runs). Opening a dialog clears the toasts (at
80x24 they would cover its lines), and a run's notices wait while one is open. The App's RunService
(services/runs.py) starts, follows and controls runs; this screen shows what its ``RunUpdated`` snapshots say (at most
~2 a second) and asks it to act. Layout at 80x24, top to bottom: the run's state and numbers
(widgets/run_status), an engine error as one line, the loss chart (widgets/loss_chart) beside the
checkpoints with a preview of their samples (the path, prompt and seed of the one shown under it; y copies
the path: screens/train_checkpoints.py), the last lines of the run's own launch log. What starts, stops,
saves, samples, resumes and extends a run is screens/train_controls.py.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult, ScreenStackError
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from loratui.core.events import events_path
from loratui.core.runs import earlier_title
from loratui.tui.palette import PaletteCommand
from loratui.tui.screens.run_picker import RunPicker, error_setting, list_for_picker, run_service
from loratui.tui.screens.train_checkpoints import PALETTE, PALETTE_TITLES, CheckpointActions, TrainKeys
from loratui.tui.screens.train_controls import RunControls
from loratui.tui.screens.train_footer import FollowedFooter
from loratui.tui.services.runs import FollowedRun, RunNotice, RunService, RunSnapshot, RunUpdated
from loratui.tui.services.work import run_in_thread
from loratui.tui.widgets.checkpoint_list import CheckpointList
from loratui.tui.widgets.loss_chart import LossChart
from loratui.tui.widgets.run_status import RunStatus, run_error_line

ZOOMS = (10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000)  # "last N steps" views


class TrainScreen(RunControls, CheckpointActions, TrainKeys, FollowedFooter, Screen):
    """Start, follow, stop, resume and extend training runs; promote a checkpoint."""

    CSS_PATH = "train.tcss"
    BINDINGS = [  # the footer shows those that apply to the shown run (train_footer.FOOTER_KEYS), in this order
        Binding("a", "pick_run", "Runs", id="train.pick_run", tooltip="Live and past runs; follow one"),
        # ctrl+r too: the key that runs a screen's job on Caption and Settings (messages name s, the first)
        Binding("s,ctrl+r", "start", "Start", id="train.start",
                tooltip="A new run from the config (command shown first)"),
        Binding("f", "follow_live", "Follow live", id="train.follow_live", show=False,
                tooltip="Follow the run live now in the config's output folder (the status line names it)"),
        Binding("x", "stop", "Stop", id="train.stop", show=False,
                tooltip="Graceful: finish the step, save LoRA and state"),
        Binding("w", "save_now", "Save now", id="train.save_now", show=False),
        Binding("k", "sample_now", "Sample now", id="train.sample_now", show=False),
        Binding("r", "resume", "Resume", id="train.resume", show=False, tooltip="Continue a stopped run"),
        Binding("e", "extend", "Extend", id="train.extend", show=False, tooltip="Train a finished run N more epochs"),
        Binding("l", "log_scale", "Log scale", id="train.log_scale", show=False, tooltip="Log scale for the loss"),
        Binding("plus,equals_sign", "zoom(1)", "Zoom", id="train.zoom_in", key_display="+", show=False,
                tooltip="The last N steps"),
        Binding("minus", "zoom(-1)", "Zoom out", id="train.zoom_out", key_display="-", show=False),
        Binding("p", "promote", "Promote", id="train.promote", show=False,
                tooltip="Copy the highlighted checkpoint to NAME.safetensors, or NAME-promoted.safetensors while "
                        "the run can be resumed or extended or that name exists (never overwrites; a run moves a "
                        "promoted copy aside before writing its final)"),
        Binding("c", "continue_from", "Continue from", id="train.continue_from", show=False,
                tooltip="More epochs from the highlighted checkpoint's state"),
        Binding("v", "next_sample", "Next sample", id="train.next_sample", show=False),
        Binding("y", "copy_path", "Copy path", id="train.copy_path", show=False,
                tooltip="Copy the shown sample's path (the LoRA's without samples) to the terminal's clipboard"),
        Binding("Y", "copy_path(True)", "Copy LoRA path", id="train.copy_lora_path", show=False,
                tooltip="Copy the highlighted LoRA's path to the terminal's clipboard"),
        Binding("o", "open_setting", "Open setting", id="train.open_setting", show=False,
                tooltip="The setting the engine's error points at"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.run: FollowedRun | None = None
        self.snapshot: RunSnapshot | None = None
        self.zoom: int | None = None   # the chart shows the last `zoom` steps; None: the whole run
        self.offered = False           # the run list was offered on arrival
        self.error_setting: str | None = None
        self.sample_index = 0
        self.held_notices: list[RunNotice] = []  # said while a dialog was open: shown once it closes
        self.live_shown: list[tuple[Path, str, int]] = []  # the live runs the status line names (none followed)
        self.declined: set[int] = set()  # pids of live runs passed over (esc on the runs): never followed unasked
        self.covered = False             # a dialog was over the screen (not left with 1-4)
        self.unshown = False             # ``snapshot`` came while another screen (1-3) was shown: drawn on return
        self.chart_drawn: tuple | None = None  # (run, its series version, zoom, scope) the chart was given
        self.log_shown = ""              # the log pane's text

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Notifications here carry paths, log lines and engine text: never read as markup."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    @property
    def service(self) -> RunService:
        return run_service(self.app)

    # ---- layout -----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        from loratui.tui.widgets.image_preview import ImagePreview

        yield Header()
        yield RunStatus(id="run-status")
        yield Static("", id="run-error", markup=False)
        with Horizontal(id="train-body"):
            yield LossChart(id="loss-chart")
            with Vertical(id="train-side"):
                promote = self.key_for("train.promote")  # the user's keymap may move it
                yield Static(f"Checkpoints ({promote} promote)" if promote else "Checkpoints", id="checkpoints-title",
                             markup=False)
                yield CheckpointList(id="checkpoints")
                yield ImagePreview(mode=self.app.settings.image_preview, id="sample-preview",
                                   placeholder="no sample images")
                yield Static("", id="checkpoint-detail", markup=False)
        yield Static("", id="run-log", markup=False)
        yield Footer()

    @property
    def chart(self) -> LossChart:
        return self.query_one(LossChart)

    @property
    def checkpoints(self) -> CheckpointList:
        return self.query_one(CheckpointList)

    def on_mount(self) -> None:
        self.service.subscribe(self)
        self.query_one("#run-error").display = False
        self.show_empty()
        self.follow_footer()
        self.checkpoints.focus()
        self.set_interval(1.0, self.watch_live)

    def on_unmount(self) -> None:
        self.service.unsubscribe(self)

    def on_resize(self, event) -> None:
        self.set_class(event.size.width >= 110, "wide")
        self.set_class(event.size.height >= 34, "tall")
        self.call_after_refresh(self.show_checkpoint)  # the sample's path is cut to the side's new width

    def on_screen_suspend(self) -> None:
        try:  # a dialog over it, or another screen (1-4): only coming back from one follows a live run
            self.covered = self.app.screen.is_modal
        except ScreenStackError:  # the app is closing
            self.covered = False

    def on_screen_resume(self) -> None:
        covered, self.covered = self.covered, False
        if self.unshown and self.snapshot is not None:  # what the run said while another screen was shown
            self.show_snapshot(self.snapshot)
        held, self.held_notices = self.held_notices, []
        for message in held:  # a dialog closed: what the run said meanwhile
            self.on_run_notice(message)
        if self.run is None and not self.offered:
            self.offered = True
            attach, name = getattr(self.app, "attach_dir", None), getattr(self.app, "attach_run", None)
            if attach is not None and name:  # `loratui attach DIR --run NAME`: that run, no question
                self.follow(Path(attach), name, getattr(self.app, "attach_earlier", 0))  # --earlier N: read-only
            else:
                self.action_pick_run(auto=True)
        elif self.run is None:  # 4 again (not a dialog closing): the one live run is followed at once
            self.watch_live(arrived=not covered)

    def _on_top(self) -> bool:
        """This screen is the one shown; False once the app's screens are gone (a tick at exit)."""
        from textual.app import ScreenStackError

        try:
            return self.app.screen is self
        except ScreenStackError:
            return False

    def watch_live(self, arrived: bool = False) -> None:
        """While no run is followed: the live runs of the config's output folder, from their lock files
        (cheap: once a second), so one started by another app or a shell is seen. On arrival the one live
        run is followed at once, unless it was passed over (esc on the runs); one that appears while the
        screen is shown is named on the status line, and f follows it."""
        if self.run is not None or not self.offered or not self._on_top():
            return
        live = self.service.live_runs(self.app.config_path, getattr(self.app, "attach_dir", None))
        if arrived and len(live) == 1 and live[0][2] not in self.declined:
            self.follow(live[0][0], live[0][1])
        elif live != self.live_shown:
            self.live_shown = live
            names = ", ".join(f"{name} (pid {pid})" for _, name, pid in live)
            self.show_empty(self.hints(f"a run is live: {names}", self.key_does("train.follow_live", "follows it"),
                                       ("train.pick_run", "the runs")) if len(live) == 1 else
                            self.hints(f"{len(live)} runs are live: {names}", ("train.pick_run", "pick one")) if live
                            else None)

    def action_follow_live(self) -> None:
        following = self.run.key if self.run is not None else None
        live = [(folder, name) for folder, name, _ in self.service.live_runs(
            self.app.config_path, getattr(self.app, "attach_dir", None)) if events_path(folder, name) != following]
        if not live:
            self.notify(f"no other run is live: {self.key_does('train.pick_run', 'lists the runs')}",
                        severity="warning")
        elif len(live) > 1:
            self.action_pick_run()
        else:
            self.follow(*live[0])

    def open_dialog(self, dialog, callback=None) -> None:
        """Push one of this screen's dialogs with no toast over it (at 80x24 an earlier toast hid the
        start dialog's warning); notices that come while it is open wait for it to close."""
        self.app.clear_notifications()
        self.app.push_screen(dialog, callback)

    def show_empty(self, text: str | None = None) -> None:
        config = self.app.config_path
        start = ("train.start", f"start a new run from {Path(config).name}") if config else \
            f"no config: open or save one on {self.settings_screen_named()}"
        self.query_one(RunStatus).show(None, empty=text or self.hints("no run followed", ("train.pick_run", "the runs"),
                                                                      start))
        self.query_one("#run-log", Static).update("")
        self.log_shown = ""

    # ---- choosing a run ----------------------------------------------------------------------------

    def action_pick_run(self, auto: bool = False) -> None:
        config = Path(self.app.config_path) if self.app.config_path else None
        attach = getattr(self.app, "attach_dir", None)
        run_in_thread(self, list_for_picker, self.service, config, attach, what="listing runs",
                      done=lambda found: self._listed(found, auto, config))

    def _listed(self, found, auto: bool, config: Path | None) -> None:
        folders, entries, problem = found
        if problem:
            self.notify(problem, severity="error")
        if auto and not entries:
            if folders:
                self.show_empty(self.hints(f"no runs yet in {folders[0]}", ("train.start", f"start one from "
                                                                                       f"{config.name}"))
                                if config else None)
            return
        live = [entry.summary for entry in entries if entry.summary.status == "live"]
        if auto and len(live) == 1:  # "NAME is training: 4 follows it"; several: the picker asks which
            self.follow(live[0].output_dir, live[0].name)
            return
        self.open_dialog(RunPicker(entries, folders, config.name if config else None,
                                   following=self.run.key if self.run is not None else None),
                         partial(self._picked, {e.summary.pid for e in entries if e.summary.status == "live"}))

    def _picked(self, live_pids: set[int], choice) -> None:
        if choice is None:  # the live runs listed were passed over: 4 does not follow them unasked
            self.declined |= live_pids
            return
        what, summary = choice
        if what == "new":
            self.action_start()
        else:
            self.follow(summary.output_dir, summary.name, getattr(summary, "earlier", 0))

    def follow(self, output_dir: Path, name: str, earlier: int = 0) -> FollowedRun:
        """Follow a run from the start of its events file and show it (``earlier``: N, an earlier run
        of NAME, read-only)."""
        return self.show_run(self.service.follow(output_dir, name, earlier=earlier))

    def show_run(self, run: FollowedRun) -> FollowedRun:
        previous = self.run
        if previous is not None and previous is not run and previous.process is None:
            self.service.unfollow(previous)  # the run goes on; only this app stops reading it
        self.run, self.snapshot, self.zoom, self.live_shown = run, None, None, []
        self.unshown, self.chart_drawn = False, None
        self.checkpoints.set_checkpoints([])
        self.chart.set_series({}, [], scope="")
        if run.caught_up:  # followed already: its next update may be a while away
            from loratui.tui.services.run_following import session_pid  # rank 0 of a --processes launch

            self.show_snapshot(run.snapshot(session_pid(run, run.alive())))
        else:
            self.show_empty(f"reading {earlier_title(run.name, run.earlier)} ({run.key.name})…")
        self.follow_footer()
        return run

    # ---- what the service says ------------------------------------------------------------------

    def on_run_updated(self, message: RunUpdated) -> None:
        message.stop()
        if self.run is not None and message.snapshot.key == self.run.key:
            if self.shown():
                self.show_snapshot(message.snapshot)
            else:  # another screen (1-3) is shown: redrawing this one twice a second for nobody churned memory
                self.snapshot, self.unshown = message.snapshot, True

    def shown(self) -> bool:
        """This screen is on show: the current one, or under a dialog (not left for another with 1-3)."""
        try:
            return self in self.app.screen_stack
        except ScreenStackError:  # the app is closing
            return False

    def on_run_notice(self, message: RunNotice) -> None:
        message.stop()
        top = self.app.screen
        if top is not self and top.is_modal and self in self.app.screen_stack:  # a dialog over this screen: after it
            self.held_notices.append(message)
            return
        self.notify(message.line, severity=message.severity, timeout=8 if message.severity == "error" else 4)

    def show_snapshot(self, snapshot: RunSnapshot) -> None:
        self.snapshot, self.unshown = snapshot, False
        self.query_one(RunStatus).show(snapshot)
        error = self.query_one("#run-error", Static)
        self.error_setting = error_setting(snapshot.error) if snapshot.error else None
        error.display = snapshot.error is not None
        if snapshot.error is not None:
            # the keymap's key for "open the setting" (its palette command where the keymap left none)
            key = self.key_for("train.open_setting") or f"'{PALETTE_TITLES['train.open_setting']}' (ctrl+p)"
            error.update(run_error_line(snapshot.error, self.error_setting, key))
        self.checkpoints.set_checkpoints(snapshot.checkpoints)
        if not snapshot.checkpoints:  # no highlight to change: the lines of the last run's checkpoint go
            self.show_checkpoint()
        log = self.query_one("#run-log", Static)
        height = max(1, log.size.height or 3)
        if snapshot.log_tail:
            lines = list(snapshot.log_tail)[-height:]
        else:  # no log of its own (started in a shell): where its output went, then its story from the events
            note = [snapshot.log_note] if snapshot.log_note else []
            lines = (note + list(snapshot.notes)[-max(1, height - len(note)):])[:height]
        text = "\n".join(lines)
        if text != self.log_shown:  # a live run's snapshot each second often brings no new line
            self.log_shown = text
            log.update(Text(text))
        self.redraw_chart()
        self.follow_footer()

    def redraw_chart(self) -> None:
        if self.run is None:
            return
        last = self.zoom
        step = self.snapshot.step if self.snapshot else 0
        scope = f"last {last:,} steps" if last else f"{step:,} steps"
        drawn = (self.run, self.run.series_version(), last, scope)
        if drawn == self.chart_drawn:  # nothing new to draw: no copy of the whole series
            return
        self.chart_drawn = drawn
        self.chart.set_series(self.run.view(last), self.run.epoch_marks(), scope=scope)

    def preview_mode_changed(self, mode: str) -> None:
        from loratui.tui.widgets.image_preview import ImagePreview

        self.query_one(ImagePreview).mode = mode

    # ---- controls (start, stop, save, sample, resume, extend: RunControls in screens/train_controls.py) ----

    async def action_open_setting(self) -> None:
        key = self.error_setting
        if key is None:
            self.notify("no engine error names a setting", severity="warning")
            return
        await self.app.switch_mode("settings")

        def focus() -> None:
            form = getattr(self.app.screen, "form", None)
            try:
                field = form.field(key)
            except (AttributeError, KeyError, StopIteration):
                self.notify(f"the settings screen has no field {key}", severity="warning")
                return
            field.focus_editor()
            field.scroll_visible(animate=False)

        self.app.call_after_refresh(focus)

    def action_log_scale(self) -> None:
        self.chart.log_scale = not self.chart.log_scale

    def action_zoom(self, direction: int) -> None:
        """In: the next shorter "last N steps" view; out: the next longer one, then the whole run."""
        steps = self.snapshot.step if self.snapshot else 0
        shown = self.zoom or steps
        if direction > 0:
            shorter = [z for z in ZOOMS if z < shown]
            if not shorter:
                self.notify(f"the chart shows {shown} steps: the closest view", severity="warning")
                return
            self.zoom = shorter[-1]
        elif self.zoom is not None:
            longer = [z for z in ZOOMS if z > self.zoom and z < steps]
            self.zoom = longer[0] if longer else None
        self.redraw_chart()

    # ---- commands -------------------------------------------------------------------------------

    def palette_commands(self) -> list[PaletteCommand]:
        return [PaletteCommand(title, (self.key_for(binding_id) + note).strip(" ") or "no key (keymap.toml)",
                               partial(getattr(self, f"action_{action}"), *args))
                for title, binding_id, note, action, *args in PALETTE]
