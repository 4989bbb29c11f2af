"""StepCalculator: the live steps/epochs panel of the Settings screen, equal to `loratui steps --json`.

The host form calls ``update_config(cfg, scan)`` on every relevant change. The numbers come from
``loratui.core.plan`` exactly as `loratui steps` computes them (``compute_schedule``; with a target,
``plan_epoch`` + ``epochs_for_target_steps``) and ``numbers()`` returns the same dict as that
command's JSON (without its "config" key, the path it was given). Shown: samples per epoch per
folder with the regularisation fill, buckets with their counts, batches and steps per epoch,
processes and accumulation, total steps and epochs, the formula spelled out as `loratui steps`
does, rules-of-thumb advice (core.plan.plan_advice: never blocking), and the estimated duration
when a past run on this GPU with close settings measured a speed (services.run_speed).

The numbers are of the config's folders as they are on disk now, as `loratui steps` scans them
(widgets.followed_scan): a scan the host hands over (Settings: the app store's) shows at once, the
scan of the disk follows from a thread worker, cached by the folders' mtimes (``SCAN_CACHE``,
services/scan_cache.py), so a config change over a cached scan is computed on the UI thread at once;
``last_update_ms`` is the time from ``update_config`` to the refresh that shows it. Every two seconds
(while the screen is shown) the folders' mtimes are checked again, in a thread, so images or repeats
changed on disk show up within about two seconds, whether the host gave a scan or not. A target
step count typed in the box gives epochs and the nearest exact step count; Enter posts ``EpochsChosen``.
The Processes box (``set_processes``) counts for N processes (torchrun: each sees ceil(batches / N)
of an epoch, `loratui steps --num-processes N`), target and duration included.
"""

from __future__ import annotations

import copy
import json
import time

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from loratui.core.config import TrainingConfig
from loratui.core.dataset import DatasetScan
from loratui.core.errors import LoratuiError
from loratui.core.plan import (
    SHOWN_FOLDERS, Schedule, TargetEpochs, compute_schedule, epochs_for_target_steps, plan_advice, plan_epoch,
)
from loratui.tui.palette import PaletteCommand
from loratui.tui.services.gpu import GPU_STATE
from loratui.tui.services.run_speed import DurationEstimate, estimate_duration, speed_key
from loratui.tui.services.scan_cache import SCAN_CACHE, folder_key  # noqa: F401 - tests import them from here
from loratui.tui.services.work import run_in_thread
from loratui.tui.widgets.followed_scan import POLL_SECONDS, FollowedScan

MAX_BUCKET_ROWS = 8


# ---- the numbers, as `loratui steps --json` prints them -------------------------------------------


def _with_scan_notes(schedule: Schedule, scan: DatasetScan) -> Schedule:
    """The notes `loratui steps` adds from the scan (errors, a reg folder that gives no image): one function."""
    from loratui.core.plan import scan_notes

    schedule.notes.extend(scan_notes(scan))
    return schedule


def _json(data: dict) -> dict:
    return json.loads(json.dumps(data))  # tuples to lists, exactly as the CLI prints


# ---- rendering -------------------------------------------------------------------------------------


def schedule_lines(s: Schedule) -> list[str]:
    """The breakdown `loratui steps` prints, in lines of about 40 columns for a side panel."""
    # the number that matters first: the panel is narrow at 80 columns and the rest scrolls
    on = f" on {s.num_processes} processes" if s.num_processes > 1 else ""
    lines = [f"Total: {s.total_steps} steps in {s.epochs} epoch(s){on}", "", "Folders (repeats x images = samples)"]
    width = max((len(f.name) for f in s.folders), default=4)
    for f in s.folders:
        lines.append(f" {'reg' if f.is_reg else 'train':<5} {f.name:<{width}} {f.repeats} x {f.images} = {f.samples}")
        if f.is_reg and (f.used_images != f.images or f.used_samples != f.samples):
            lines.append(f"   used: {f.used_images} image(s), {f.used_samples} sample(s)")
    if s.left_out_folders:  # as `loratui steps` names them: a folder quietly missing from the count misleads
        lines.append(f" left out (not counted): {len(s.left_out_folders)}")
        lines += [f"  - {line}" for line in s.left_out_folders[:SHOWN_FOLDERS]]
        if len(s.left_out_folders) > SHOWN_FOLDERS:
            lines.append(f"  ... and {len(s.left_out_folders) - SHOWN_FOLDERS} more (`loratui dataset scan`)")
    lines.append(f" train samples per epoch: {s.samples_per_epoch}")
    if s.reg is not None:
        r = s.reg
        how = [f"available {r.available_samples}", f"needed {r.train_samples}"]
        if r.extra_repeats:
            how.append(f"padded with {r.extra_repeats} extra repeat(s)")
        if r.unused_images:
            how.append(f"unused images {r.unused_images}")
        lines.append(f" reg samples per epoch: {s.reg_samples_per_epoch} ({', '.join(how)})")
    keys = list(s.buckets)[:MAX_BUCKET_ROWS]
    rows = [(k, s.bucket_images[k], s.buckets[k], s.bucket_batches[k]) for k in keys]
    rows.append(("total", sum(s.bucket_images.values()), s.total_samples_per_epoch, s.batches_per_epoch))
    # short headings: the table fits the 30 columns the panel has at 80x24
    w = [max(len(str(r[i])) for r in rows + [("bucket", "imgs", "smpls", "batch")]) for i in range(4)]
    lines += ["", f"Buckets: {len(s.buckets)} (images, samples, batches)",
              f" {'bucket':>{w[0]}} {'imgs':>{w[1]}} {'smpls':>{w[2]}} {'batch':>{w[3]}}"]
    if len(s.buckets) > MAX_BUCKET_ROWS:
        rows.insert(-1, (f"+{len(s.buckets) - MAX_BUCKET_ROWS} more", "", "", ""))
    lines += [f" {a:>{w[0]}} {b:>{w[1]}} {c:>{w[2]}} {d:>{w[3]}}" for a, b, c, d in rows]
    lines += ["", "Formula",
              f" batches per epoch = sum over buckets of ceil(samples / batch {s.train_batch_size}) "
              f"= {s.batches_per_epoch}",
              f" steps per epoch = ceil({s.batches_per_epoch} batches / {s.num_processes} process(es) / "
              f"{s.gradient_accumulation_steps} accumulation) = {s.steps_per_epoch}"]
    if s.mode == "epochs":
        lines.append(f" total steps = {s.epochs} epochs x {s.steps_per_epoch} = {s.total_steps}")
    else:
        lines.append(f" total steps = max_train_steps = {s.total_steps} ({s.epochs} epochs; the last "
                     f"runs {s.last_epoch_steps} steps)")
    lines += [""] + [f" - {note}" for note in s.notes] if s.notes else []
    return lines


class StepCalculator(Widget):
    """Live steps/epochs numbers for a config; see the module docstring."""

    DEFAULT_CSS = """
    StepCalculator {
        height: auto;
        padding: 0 1;
        #calc-status, #calc-numbers { height: auto; }
        #calc-status { color: $text-muted; &.-error { color: $text-error; } }
        #calc-target-row, #calc-processes-row { height: 3; margin-top: 1; }
        #calc-processes-row { margin-top: 0; }
        #calc-target-row > Label, #calc-processes-row > Label { padding: 1 1 0 0; }
        #calc-target { width: 16; }
        #calc-processes { width: 8; }
        #calc-target-result, #calc-duration, #calc-advice { height: auto; }
        #calc-duration, #calc-advice { margin-top: 1; }
    }
    """

    class EpochsChosen(Message):
        """The user pressed Enter on a target step count: set max_train_epochs to ``epochs``."""

        def __init__(self, epochs: int, calculator: StepCalculator | None = None) -> None:
            super().__init__()
            self.epochs = epochs
            self.calculator = calculator

        @property
        def control(self) -> StepCalculator | None:
            return self.calculator

    def __init__(self, *, num_processes: int = 1, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.num_processes = num_processes
        self.last_update_ms: float | None = None   # update_config -> refresh showing it
        self.last_compute_ms: float | None = None  # the schedule computation alone
        self.last_sync_ms: float | None = None     # update_config -> numbers ready (before the refresh)
        self.error: str | None = None
        self.advice: list = []
        self.duration: DurationEstimate | None = None
        self._cfg: TrainingConfig | None = None
        self._scan: DatasetScan | None = None
        # the scan of the config's folders as they are on disk (the host's at first)
        self._disk = FollowedScan(self, self._scan_came, group="calc", failed=self._show_error)
        self._schedule: Schedule | None = None
        self._numbers: dict = {}
        self._target: int | None = None
        self._target_result: TargetEpochs | None = None
        self._started = 0.0
        self._speed: tuple[tuple, DurationEstimate | None] | None = None  # (settings key, measured)
        self._pending: tuple[TrainingConfig, DatasetScan | None] | None = None
        self._ready = False  # mounted: the parts exist

    def compose(self) -> ComposeResult:
        yield Static("no config yet", id="calc-status")
        yield Static(id="calc-numbers")
        with Horizontal(id="calc-target-row"):
            yield Label("Target steps:")
            yield Input(placeholder="e.g. 2000", type="integer", id="calc-target", select_on_focus=False)
        with Horizontal(id="calc-processes-row"):
            # torchrun splits each epoch's batches over the processes: fewer steps per epoch (sd-scripts' count)
            yield Label("Processes (GPUs):")
            processes = Input(str(self.num_processes), type="integer", id="calc-processes", select_on_focus=False)
            processes.tooltip = "How many processes (GPUs) the run will use: the Start dialog's count"
            yield processes
        yield Static(id="calc-target-result")
        yield Static(id="calc-duration")
        yield Static(id="calc-advice")

    def on_mount(self) -> None:
        self._disk.start_polling(POLL_SECONDS)
        self._ready = True
        if self._pending is not None:  # update_config came before the widget was mounted
            self.update_config(*self._pending)

    # ---- the contract -------------------------------------------------------------------------

    def update_config(self, cfg: TrainingConfig, scan: DatasetScan | None = None) -> None:
        """Recompute for ``cfg``: from the cached scan of its folders as they are now, else from ``scan``
        (when it is of the config's folders) while they are scanned in a worker, cached by their mtimes."""
        if not self._ready:
            self._pending = (copy.deepcopy(cfg), scan)
            return
        self._started, self._pending = time.perf_counter(), None
        self._cfg = copy.deepcopy(cfg)  # the host keeps editing its own
        now = self._disk.follow(self._cfg, scan)
        if now is None:
            self._set_status("scanning the dataset ...")
            return
        self._show_scan(now)

    def numbers(self) -> dict:
        """The dict `loratui steps CONFIG --json` prints, less "config" and "network" ({} while there is none)."""
        return _json(self._numbers) if self._numbers else {}

    def target_numbers(self, target_steps: int | None = None) -> dict:
        """`loratui steps CONFIG --json --target-steps N` for N = ``target_steps`` or the number typed
        ({} without one)."""
        wanted = target_steps if target_steps is not None else self._target
        if self._cfg is None or self._scan is None or wanted is None or wanted < 1 or self.error:
            return {}
        plan = plan_epoch(self._cfg, self._scan, self.num_processes)
        target = epochs_for_target_steps(wanted, plan.steps_per_epoch)
        data = _with_scan_notes(plan.with_epochs(target.epochs), self._scan).to_dict()
        data["target"] = target.to_dict()
        return _json(data)

    def focus_target(self) -> None:
        self.query_one("#calc-target", Input).focus()

    def palette_commands(self) -> list[PaletteCommand]:
        return [PaletteCommand("steps: target steps", "Type a step count; Enter sets the epochs that reach it",
                               self.focus_target)]

    # ---- computing ------------------------------------------------------------------------------

    def _scan_came(self, result: DatasetScan | LoratuiError) -> None:
        """The scan of the disk now (after a change there, or for a config whose scan was not cached)."""
        if self._cfg is not None:
            self._started = time.perf_counter()
            self._show_scan(result)

    def _show_scan(self, scan: DatasetScan | LoratuiError) -> None:
        if isinstance(scan, LoratuiError):
            self._scan = None
            self._show_error(str(scan))
            return
        self._scan = scan
        started = time.perf_counter()
        try:
            schedule = _with_scan_notes(compute_schedule(self._cfg, scan, self.num_processes), scan)
        except LoratuiError as exc:
            self._show_error(str(exc))
            return
        self.last_compute_ms = (time.perf_counter() - started) * 1000
        self.error, self._schedule, self._numbers = None, schedule, schedule.to_dict()
        self.advice = plan_advice(self._cfg, schedule)
        self._set_status("")
        self.query_one("#calc-numbers", Static).update(Content("\n".join(schedule_lines(schedule))))
        self._show_target()
        self._show_advice()
        self._request_duration()
        self.last_sync_ms = (time.perf_counter() - self._started) * 1000
        self.call_after_refresh(self._stamp)

    def _stamp(self) -> None:
        self.last_update_ms = (time.perf_counter() - self._started) * 1000

    def _show_error(self, message: str) -> None:
        self.error, self._schedule, self._numbers, self.advice = message, None, {}, []
        self._set_status(message, error=True)
        for part in ("#calc-numbers", "#calc-target-result", "#calc-advice", "#calc-duration"):
            self.query_one(part, Static).update("")
        self.call_after_refresh(self._stamp)

    def _set_status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#calc-status", Static)
        status.update(Content(text))
        status.set_class(error, "-error")
        status.display = bool(text)

    # ---- target steps ---------------------------------------------------------------------------

    def set_processes(self, processes: int) -> None:
        """Count for ``processes`` processes (each sees ceil(batches / N) of an epoch): recomputed at once."""
        if processes < 1 or processes == self.num_processes:
            return
        self.num_processes = processes
        if self._ready and self.query_one("#calc-processes", Input).value.strip() != str(processes):
            self.query_one("#calc-processes", Input).value = str(processes)
        if self._cfg is not None and self._scan is not None:
            self._started = time.perf_counter()
            self._show_scan(self._scan)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "calc-processes":
            event.stop()
            text = event.value.strip()
            if text.isdigit() and int(text) >= 1:
                self.set_processes(int(text))
            return
        if event.input.id != "calc-target":
            return
        event.stop()
        text = event.value.strip()
        try:
            self._target = int(text) if text else None
        except ValueError:
            self._target = None
        self._show_target()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "calc-processes":
            event.stop()  # applied as typed; not a form field of the host
            return
        if event.input.id != "calc-target":
            return
        event.stop()
        if self._target_result is not None:
            self.post_message(self.EpochsChosen(self._target_result.epochs, self))

    def _show_target(self) -> None:
        result = self.query_one("#calc-target-result", Static)
        self._target_result = None
        if self._schedule is None or self._target is None:
            result.update("" if self._schedule is None else
                          Content.styled("type a step count to get epochs", "$text-muted"))
            return
        if self._target < 1:
            result.update(Content.styled("the target must be at least 1 step", "$text-error"))
            return
        target = epochs_for_target_steps(self._target, self._schedule.steps_per_epoch)
        self._target_result = target
        result.update(Content(f"{target.target_steps} steps -> {target.epochs} epoch(s) x "
                              f"{target.steps_per_epoch} = {target.total_steps} steps ({target.difference:+d}); "
                              f"Enter sets max_train_epochs = {target.epochs}"))

    # ---- advice and duration --------------------------------------------------------------------

    def _show_advice(self) -> None:
        far = [a for a in self.advice if not a.ok]
        if not far:
            text = Content.styled("Plan within common practice (steps, uses per image, samples per epoch, rank)",
                                  "$text-muted")
        else:
            lines = [Content("Advice (rules of thumb, not rules):")]
            lines += [Content.assemble("! ", a.message, (f" [{a.source}]", "$text-muted")) for a in far]
            text = Content("\n").join(lines)
        self.query_one("#calc-advice", Static).update(text)

    def _request_duration(self) -> None:
        """The measured speed depends on the settings, not on the step count: a change of epochs or
        steps only redivides (on the UI thread); other changes look the past runs up in a worker."""
        cfg, schedule, processes = self._cfg, self._schedule, self.num_processes
        key, total = speed_key(cfg, processes), schedule.total_steps or 0
        if self._speed is not None and self._speed[0] == key:
            known = self._speed[1]
            self._show_duration(known.for_steps(total) if known else None)
            return

        def job() -> DurationEstimate | None:
            GPU_STATE.detect()
            gpu = GPU_STATE.gpu
            return estimate_duration(cfg, total, gpu.name if gpu else None, num_processes=processes)

        def done(estimate: DurationEstimate | None) -> None:
            self._speed = (key, estimate)
            if self._schedule is schedule:  # else a newer config is showing
                self._show_duration(estimate)

        run_in_thread(self, job, done=done, failed=lambda exc: None, what="run speed", group="calc-speed",
                      exclusive=True)

    def _show_duration(self, estimate: DurationEstimate | None) -> None:
        self.duration = estimate
        text = (Content(f"Estimated duration: {estimate.text()}") if estimate else
                Content.styled("Estimated duration: no measured speed yet for this GPU and these settings "
                               "(a past run in output_dir gives one)", "$text-muted"))
        self.query_one("#calc-duration", Static).update(text)
