"""Caption runs as child processes of the CLI, owned by the App (they outlive the Caption screen).

``caption_runner(app)`` makes the one ``CaptionRunner`` of the app. ``start`` launches
``python -m loratui caption wd14|blip DIR ... --json-events`` in its own session (so neither
onnxruntime nor torch ever loads in the app, and a crash there cannot take the UI down), reads its
JSON event stream (schema: loratui.commands.caption_cmd) and its stderr in two daemon threads, and
folds the events into a ``CaptionRun`` on the UI thread every 100 ms (a timer of the App). Screens
``subscribe`` to hear about changes. Cancel sends SIGINT: the CLI finishes the caption being
written, reports, and exits 130; ``resume_args`` continues that run (the CLI's --resume: it skips
what the run wrote, from its undo journal). A child that died without reporting (kill -9, out of
memory) is named by its signal, and what it wrote is found in the journal on disk, so that the
undo and resume hints hold for it too. When a run that wrote captions ends, the Dataset screen rescans.
Leaving the app stops a live run the same way (SIGINT, then waits a few seconds).

The error a run ends with and each image's failure reason are worded for the app
(caption_models.app_wording).
"""

from __future__ import annotations

import atexit
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from textual.app import App

from loratui.commands.caption_reg import reg_note
from loratui.core.errors import LoratuiError
from loratui.tui.services.caption_models import app_wording

MAX_LISTED = 500          # failed images / dry-run samples kept for display
STDERR_LINES = 20
EXIT_GRACE_S = 8.0        # how long quitting the app waits for a cancelled run to finish its caption


@dataclass
class SampleCaption:
    image: str
    caption_file: str
    current: str | None   # the caption file's text now (None: no caption file)
    new: str              # what the run would write (first line)


@dataclass
class CaptionRun:
    """What one run has reported so far (changed on the UI thread only)."""

    captioner: str
    command: list[str]
    dry_run: bool = False
    sample: int = 0                   # dry run: caption only the first this many (0: all); the CLI's --sample
    sample_of: int | None = None      # a sampled dry run: how many images there were to caption
    requested_at: float = field(default_factory=time.monotonic)  # the start key
    started_wall: float = field(default_factory=time.time)  # to find its journal entry if it dies
    phase: str = "starting"           # starting, running, done, cancelled, failed
    model: str = ""
    provider: str = ""
    total: int = 0                    # images found
    to_caption: int = 0
    skipped: int = 0
    resume_of: str | None = None      # --resume: the journal entry of the run it continues
    reg_images: int = 0               # the reg images it leaves out (the app's reg rows, or started's
    reg_note: str | None = None       # reg_left_out) and the line saying so, with the command captioning them
    done: int = 0
    captioned: int = 0
    failed_count: int = 0
    images_per_s: float = 0.0
    eta_s: float | None = None
    elapsed_s: float = 0.0
    warnings: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    image_warnings: list[tuple[str, str]] = field(default_factory=list)  # e.g. an animated image
    samples: list[SampleCaption] = field(default_factory=list)
    last_caption: tuple[str, str] | None = None
    finished: dict | None = None
    found_journal: str | None = None  # a child that died: its journal entry, found on disk
    found_written: int = 0            # ... and how many captions it lists
    error: str | None = None
    exit_code: int | None = None
    cancel_requested: bool = False
    first_event_s: float | None = None     # start key -> first event of the child
    first_progress_s: float | None = None  # start key -> first progress event
    stderr_tail: deque = field(default_factory=lambda: deque(maxlen=STDERR_LINES))

    @property
    def active(self) -> bool:
        return self.phase in ("starting", "running")

    @property
    def command_line(self) -> str:
        """The same run from a shell (with its own progress bar instead of JSON events)."""
        return shlex.join(["loratui", *(arg for arg in self.command[3:] if arg != "--json-events")])

    @property
    def journal(self) -> str | None:
        """The undo journal entry holding what the run wrote (None: it wrote nothing)."""
        if self.finished is not None:
            return self.finished.get("journal") or None
        return self.found_journal

    @property
    def resumable(self) -> bool:
        """An ended run that wrote captions but did not get through every image."""
        if self.dry_run or self.active or self.journal is None:
            return False
        return self.phase == "cancelled" or self.phase == "failed" or bool(self.failed_count)

    @property
    def general_warning(self) -> str | None:
        """The latest warning about the run itself (a CPU fallback), not about one image."""
        return self.warnings[-1] if self.warnings else None

    def summary(self) -> str:
        """One line: how it ended, or how far it is."""
        if self.phase == "failed":
            return f"caption run failed: {self.error or 'the caption command ended with exit code ' + str(self.exit_code)}"
        failed = f", {self.failed_count} failed" if self.failed_count else ""
        had = "captioned before" if self.resume_of else "had a caption"
        skipped = f", {self.skipped} skipped ({had})" if self.skipped else ""
        reg = f"; {self.reg_images} reg image(s) left out" if self.reg_images else ""  # reg_note says more
        if self.dry_run and self.phase in ("done", "cancelled"):
            shown = len(self.samples)
            of = self.sample_of if self.sample_of is not None else self.to_caption
            return (f"dry run: {shown} sample caption(s) of {of} image(s) to caption{skipped}{failed}; "
                    f"nothing was written{reg}")
        if self.phase == "cancelled" and self.finished is None:
            return "cancelled before captioning started; nothing was written"
        if self.phase == "cancelled":
            resume = ("'caption: resume' (ctrl+p) continues this run" if self.resumable
                      else "nothing was written")
            return f"cancelled: {self.captioned} of {self.to_caption} captioned{failed}{skipped}; {resume}{reg}"
        if self.phase == "done":
            return f"done: {self.captioned} captioned{failed}{skipped} in {self.elapsed_s:.1f}s{reg}"
        if self.phase == "starting":
            return "starting the caption command (loading the model)…"
        stopping = "; stopping after the caption being written" if self.cancel_requested else ""
        return f"captioning {self.done} of {self.to_caption}{failed}{stopping}"


class CaptionRunner:
    """Starts, follows and cancels caption runs; one at a time; lives as long as the App."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.run: CaptionRun | None = None
        self._proc: subprocess.Popen | None = None
        self._events: deque = deque()
        self._listeners: list[Callable[[CaptionRun], None]] = []
        self._timer = None
        self.options_by_entry: dict[str, list[str]] = {}  # journal entry name -> options of the run that wrote it
        atexit.register(_stop_at_exit, weakref.ref(self))

    # ---- listeners (UI thread) ------------------------------------------------------------------

    def subscribe(self, listener: Callable[[CaptionRun], None]) -> None:
        if listener not in self._listeners:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[CaptionRun], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    # ---- control --------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.run is not None and self.run.active

    def _cancel_key(self) -> str:
        """The key keymap.toml gives caption.cancel ("ctrl+g"), or its palette command where it has none."""
        from loratui.tui.screens.caption import CaptionScreen

        key_for = getattr(self.app, "key_for", None)
        key = key_for("caption.cancel", CaptionScreen) if key_for is not None else "ctrl+g"
        return key or "'caption: cancel' (ctrl+p)"

    def start(self, captioner: str, dataset_dir: Path, args: list[str], *, dry_run: bool = False,
              sample: int = 0, requested_at: float | None = None) -> CaptionRun:
        """Launch ``loratui caption CAPTIONER DATASET_DIR ARGS --json-events`` (LoratuiError when one runs)."""
        if self.busy:
            raise LoratuiError(f"a caption run is already running: cancel it first ({self._cancel_key()})")
        command = [sys.executable, "-m", "loratui", "caption", captioner, str(dataset_dir), *args]
        if dry_run:
            command.append("--dry-run")
            if sample:  # the CLI captions only these: progress, ETA and the count are the sample's
                command += ["--sample", str(sample)]
        command.append("--json-events")
        run = CaptionRun(captioner, command, dry_run=dry_run, sample=sample if dry_run else 0)
        if requested_at is not None:
            run.requested_at = requested_at
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        try:
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=env, start_new_session=True)
        except OSError as exc:
            raise LoratuiError(f"cannot start {sys.executable} -m loratui caption ({exc.strerror or exc}): "
                               "check that loratui is installed in this Python") from None
        self.run, self._proc = run, proc
        self._events.clear()
        stderr_done = threading.Event()
        threading.Thread(target=self._read_stderr, args=(proc, stderr_done), name="caption-stderr",
                         daemon=True).start()
        threading.Thread(target=self._read_stdout, args=(proc, run, stderr_done), name="caption-events",
                         daemon=True).start()
        if self._timer is None:
            self._timer = self.app.set_interval(0.1, self._drain, name="caption-run-events")
        else:
            self._timer.resume()
        self._notify()
        return run

    def cancel(self) -> bool:
        """Ask the run to stop after the caption being written (a second call stops it at once)."""
        if not self.busy or self._proc is None:
            return False
        self.run.cancel_requested = True
        try:
            self._proc.send_signal(signal.SIGINT)
        except (ProcessLookupError, OSError):
            return False
        self._notify()
        return True

    # ---- threads: read the child, never touch widgets ------------------------------------------

    def _read_stdout(self, proc: subprocess.Popen, run: CaptionRun, stderr_done: threading.Event) -> None:
        sampled = 0  # current captions read for the dry-run list (at most MAX_LISTED)
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                self._events.append({"event": "_stderr", "line": line})  # not ours: show it like stderr
                continue
            if not isinstance(event, dict):
                continue
            if event.get("event") == "captioned" and run.dry_run and sampled < MAX_LISTED:
                event["current"] = _read_current(event.get("caption_file"))
                sampled += 1
            self._events.append(event)
        code = proc.wait()
        stderr_done.wait(2.0)
        self._events.append({"event": "_exit", "code": code})

    def _read_stderr(self, proc: subprocess.Popen, finished: threading.Event) -> None:
        """Lines of stderr, split on \\r too (download progress bars redraw one line)."""
        pending = b""
        try:
            while True:
                chunk = proc.stderr.read1(4096) if hasattr(proc.stderr, "read1") else proc.stderr.read(4096)
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.replace(b"\r", b"\n").split(b"\n")
                for line in lines:
                    text = line.decode("utf-8", "replace").strip()
                    if text:
                        self._events.append({"event": "_stderr", "line": text})
            if pending.strip():
                self._events.append({"event": "_stderr", "line": pending.decode("utf-8", "replace").strip()})
        finally:
            finished.set()

    # ---- UI thread: fold events into the run ------------------------------------------------------

    def _drain(self) -> None:
        run = self.run
        if run is None or not self._events:
            return
        ended = False
        while self._events:
            event = self._events.popleft()
            ended |= self._apply(run, event)
        self._notify()
        if ended:
            if self._timer is not None:
                self._timer.pause()
            self._ended(run)

    def _apply(self, run: CaptionRun, event: dict) -> bool:
        kind = event.get("event")
        now = time.monotonic() - run.requested_at
        if kind != "_stderr" and run.first_event_s is None:
            run.first_event_s = now
        if kind == "started":
            run.phase = "running"
            run.model, run.provider = str(event.get("model", "")), str(event.get("provider", ""))
            run.total, run.to_caption = int(event.get("total", 0)), int(event.get("to_caption", 0))
            run.skipped = int(event.get("skipped", 0))
            run.resume_of = event.get("resume_of") or None
            said = reg_note(run.captioner, event.get("reg_left_out"), relative=False)  # the app's own, when None
            if said:
                run.reg_note, run.reg_images = said, int(event["reg_left_out"]["images"])
            sample_of = event.get("sample_of")
            run.sample_of = int(sample_of) if sample_of is not None else None
        elif kind == "warning":
            image = event.get("image")
            if image:
                if len(run.image_warnings) < MAX_LISTED:
                    run.image_warnings.append((str(image), str(event.get("message", ""))))
            else:
                run.warnings.append(str(event.get("message", "")))
        elif kind == "progress":
            if run.first_progress_s is None:
                run.first_progress_s = now
            run.done, run.captioned = int(event.get("done", 0)), int(event.get("captioned", 0))
            run.failed_count = max(run.failed_count, int(event.get("failed", 0)))
            run.images_per_s = float(event.get("images_per_s") or 0.0)
            run.eta_s = event.get("eta_s")
            run.elapsed_s = float(event.get("elapsed_s") or 0.0)
        elif kind == "captioned":
            run.last_caption = (str(event.get("image", "")), str(event.get("caption", "")))
            if run.dry_run and len(run.samples) < MAX_LISTED:
                run.samples.append(SampleCaption(str(event.get("image", "")), str(event.get("caption_file", "")),
                                                 event.get("current"), str(event.get("caption", ""))))
        elif kind == "image_failed":
            run.failed_count += 1
            if len(run.failures) < MAX_LISTED:
                run.failures.append((str(event.get("image", "")), app_wording(str(event.get("reason", "")))))
        elif kind == "finished":
            run.finished = event
            run.captioned = int(event.get("captioned", run.captioned))
            run.failed_count = max(run.failed_count, len(event.get("failed") or []))
            run.elapsed_s = float(event.get("elapsed_s") or run.elapsed_s)
            run.images_per_s = float(event.get("images_per_s") or run.images_per_s)
        elif kind == "error":
            run.error = app_wording(str(event.get("message", "")))
        elif kind == "_stderr":
            run.stderr_tail.append(str(event.get("line", "")))
        elif kind == "_exit":
            run.exit_code = int(event["code"])
            run.phase = self._end_phase(run)
            return True
        return False

    @staticmethod
    def _end_phase(run: CaptionRun) -> str:
        if run.finished is not None:
            return "cancelled" if run.finished.get("interrupted") else "done"
        if run.cancel_requested and run.exit_code in (1, 130, -signal.SIGINT):
            return "cancelled"  # cancelled while the model loaded: click says "Aborted!"
        _find_journal(run)
        if run.error is None:
            run.error = app_wording(_stderr_reason(run))
        if run.found_journal is not None:
            run.error += (f"; it had written {run.found_written} caption(s): 'caption: resume' (ctrl+p) continues "
                          "the run")
        return "failed"

    def _ended(self, run: CaptionRun) -> None:
        self._proc = None
        if not run.dry_run and run.journal is not None and len(run.command) > 6:
            self.options_by_entry[Path(run.journal).name] = run_options(run)
        severity = "error" if run.phase == "failed" else "warning" if run.phase == "cancelled" else "information"
        reg = f"\n{run.reg_note}" if run.reg_note and run.phase != "failed" else ""
        self.app.notify(run.summary() + reg, severity=severity, timeout=8)
        if not run.dry_run and (run.finished is not None or run.found_journal is not None):
            self._refresh_dataset()

    def _refresh_dataset(self) -> None:
        """New captions and tag counts in the Dataset screen, without a restart."""
        try:
            stack = self.app.get_screen_stack("dataset")
        except (KeyError, LookupError):
            return
        for screen in stack:
            rescan = getattr(screen, "action_rescan", None)
            if rescan is not None:
                rescan()

    def options_of(self, entry_names: list[str]) -> list[str] | None:
        """The options of the newest of these journal entries that a run of this session wrote (None:
        none did): what a resume of them compares the form against."""
        return next((self.options_by_entry[name] for name in entry_names if name in self.options_by_entry), None)

    def _notify(self) -> None:
        if self.run is None:
            return
        for listener in list(self._listeners):
            listener(self.run)

    def stop_for_exit(self, grace_s: float = EXIT_GRACE_S) -> None:
        """The app is going: the caption being written is finished, then the run ends (SIGINT)."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, grace_s), (signal.SIGINT, 2.0), (signal.SIGKILL, 2.0)):
            try:
                proc.send_signal(sig)
                proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue
            except OSError:
                return


def _stop_at_exit(ref: weakref.ref) -> None:
    runner = ref()
    if runner is not None:
        runner.stop_for_exit()


def _read_current(caption_file: object) -> str | None:
    if not caption_file:
        return None
    try:
        return Path(str(caption_file)).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _stderr_reason(run: CaptionRun) -> str:
    """Why a run that sent no error event ended: click's 'Error: ...' line, the signal that ended
    it, else the last stderr line."""
    lines = list(run.stderr_tail)
    for line in reversed(lines):
        if line.startswith("Error:"):
            return line[len("Error:"):].strip()
    killed = _signal_reason(run.exit_code)
    if killed:
        return killed
    if lines:
        return lines[-1]
    return f"the caption command ended with exit code {run.exit_code} and said nothing"


def _signal_reason(exit_code: int | None) -> str | None:
    """``-9`` (Popen's code for a child killed by a signal) as words: SIGKILL is mostly the kernel's
    out-of-memory killer, SIGSEGV/SIGBUS/SIGABRT a crash of native code."""
    if exit_code is None or exit_code >= 0:
        return None
    try:
        name = signal.Signals(-exit_code).name
    except ValueError:
        name = f"signal {-exit_code}"
    if name == "SIGKILL":
        return "the caption command was killed by SIGKILL (out of memory? try a smaller Batch size)"
    if name in ("SIGSEGV", "SIGBUS", "SIGABRT", "SIGILL", "SIGFPE"):
        return f"the caption command crashed ({name})"
    return f"the caption command was stopped by {name}"


def _find_journal(run: CaptionRun) -> None:
    """What a run that died without its ``finished`` event wrote: its journal entry on disk (the
    newest caption run of this captioner begun after the start key)."""
    if run.dry_run or len(run.command) < 6:
        return
    from loratui.captioners.resume import run_entry_since
    from loratui.core.dataset import locate_dataset

    captioner = run.command[4]
    try:
        train_dir = locate_dataset(run.command[5]).train_dir
        families = ("blip", "blip2", "git") if captioner == "blip" else (captioner,)
        entry = next((e for e in (run_entry_since(train_dir, name, run.started_wall - 1.0) for name in families)
                      if e is not None), None)
    except (LoratuiError, OSError):
        return
    if entry is not None and entry.written:
        run.found_journal, run.found_written = str(entry.path), entry.written


def run_options(run: CaptionRun) -> list[str]:
    """The options ``run`` was started with (model and all), less the app's and the resume's flags."""
    return [arg for arg in run.command[6:] if arg not in ("--json-events", "--resume")]


def resume_args(run: CaptionRun) -> tuple[str, Path, list[str]] | None:
    """(captioner, dataset folder, options) that continue ``run`` with the CLI's --resume: the same
    model and options, and the mode its journal names; None when it has nothing to resume."""
    if not run.resumable or len(run.command) < 6:
        return None
    return run.command[4], Path(run.command[5]), [*run_options(run), "--resume"]


def caption_runner(app: App) -> CaptionRunner:
    """The app's caption runner, made on first use."""
    runner = getattr(app, "_caption_runner", None)
    if runner is None:
        runner = CaptionRunner(app)
        app._caption_runner = runner
    return runner
