"""The Caption screen's run panel: status, progress bar, images/s, ETA, the execution provider that
really runs (with the CPU-fallback warning), failed images with their reasons, and a dry run's sample
captions next to the current ones. It only draws a ``CaptionRun`` (services.caption_runs)."""

from __future__ import annotations

import shlex
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import ProgressBar, Static

from loratui.tui.services.caption_runs import CaptionRun

# the keys the panel names, as the Caption screen finds them in the user's keymap (``keys`` of the panel);
# a value may be a palette command ("'caption: start' (ctrl+p)") where the keymap left an action no key
DEFAULT_KEYS = {"start": "ctrl+r", "dry_run": "ctrl+t", "cancel": "ctrl+g", "leave": "Esc", "screens": "1-4",
                "undo_in_app": "1 (Dataset) then ctrl+z"}
IDLE_HINT_TEMPLATE = ("{start} starts captioning, {dry_run} shows what a dry run would write for a sample, {cancel} "
                      "cancels a run (after the caption being written); Up/Down or Tab move between fields, {leave} "
                      "leaves a text field (then {screens} switch screens).")
IDLE_HINT = IDLE_HINT_TEMPLATE.format(**DEFAULT_KEYS)


def duration(seconds: float | None) -> str:
    from loratui.core.termline import short_duration  # as `loratui caption` prints it

    return "--" if seconds is None else short_duration(seconds)


def _relative(path: str, root: Path | None) -> str:
    if root is not None:
        try:
            return str(Path(path).relative_to(root))
        except ValueError:
            pass
    return path


def rate_line(run: CaptionRun) -> str:
    if run.phase == "starting" and run.stderr_tail:
        return run.stderr_tail[-1]  # e.g. a download's progress
    parts = []
    if run.phase != "starting":
        parts.append(f"{run.done}/{run.to_caption} images")
        parts.append(f"{run.images_per_s:.1f} img/s")
        if run.active:
            parts.append(f"ETA {duration(run.eta_s)}")
        else:
            parts.append(f"took {duration(run.elapsed_s)}")
    if run.provider:
        parts.append(f"on {run.provider}")
    return "  ·  ".join(parts)


def results_text(run: CaptionRun | None, root: Path | None, keys: dict[str, str] | None = None) -> Text:
    """The list under the bar: dry-run samples, failed images, the stderr of a failed start. ``keys``: the
    keys to name (``DEFAULT_KEYS`` by default)."""
    keys = {**DEFAULT_KEYS, **(keys or {})}
    text = Text()
    if run is None:
        text.append(IDLE_HINT_TEMPLATE.format(**keys), style="dim")
        return text
    if run.phase == "failed" and run.stderr_tail:
        text.append("last output of the caption command:\n", style="bold")
        for line in list(run.stderr_tail)[-6:]:
            text.append(f"  {line}\n", style="dim")
    if run.dry_run:
        for sample in run.samples:
            text.append(_relative(sample.image, root) + "\n", style="bold")
            now = sample.current if sample.current is not None else "(no caption file)"
            text.append("  now:   ", style="dim")
            text.append(now.replace("\n", " ⏎ ") + "\n")
            text.append("  would: ", style="dim")
            text.append(sample.new + "\n", style="bold" if sample.new != sample.current else "")
    elif run.last_caption is not None and run.active:
        image, caption = run.last_caption
        text.append(f"wrote {_relative(image, root)}: {caption}\n", style="dim")
    if run.failed_count:
        text.append(f"{run.failed_count} image(s) failed:\n", style="bold")
        for image, reason in run.failures:
            text.append(f"  ✗ {_relative(image, root)}: {reason}\n")
        if run.failed_count > len(run.failures):
            text.append(f"  … and {run.failed_count - len(run.failures)} more (the CLI's summary lists all)\n")
    if run.image_warnings:
        text.append(f"{len(run.image_warnings)} warning(s):\n", style="bold")
        for image, message in run.image_warnings:
            text.append(f"  ! {_relative(image, root)}: {message}\n")
    if run.journal:  # also a run that died (kill -9): its journal was found on disk
        where = shlex.quote(str(root)) if root is not None else ""
        if run.resumable:
            text.append("resume: ctrl+p, 'caption: resume' (skips what the run wrote, same mode)\n", style="dim")
        text.append(f"undo: {keys['undo_in_app']}, or in a shell: loratui tags undo {where}\n", style="dim")
    text.append("the same from a shell: " + run.command_line, style="dim")
    return text


def bar_state(run: CaptionRun) -> dict[str, float | None]:
    """The bar's ``total`` and ``progress`` for ``run``: indeterminate (total None, animated 15 times a
    second) only while the run is on and its image count is not known yet; a run that ended shows a
    still bar (a failed start 0%)."""
    if run.active and (run.phase == "starting" or not run.to_caption):
        return {"total": None, "progress": 0}
    if run.to_caption:
        return {"total": max(run.to_caption, 1), "progress": run.done}
    return {"total": 1, "progress": 1 if run.phase != "failed" else 0}


class CaptionRunPanel(Vertical):
    """Draws the state of the current (or last) caption run."""

    DEFAULT_CSS = """
    CaptionRunPanel { height: auto; }
    CaptionRunPanel #run-status { height: auto; max-height: 2; text-style: bold; }
    CaptionRunPanel #run-status.failed { color: $error; }
    CaptionRunPanel #run-bar { height: 1; }
    CaptionRunPanel #run-rate { height: auto; max-height: 2; color: $text-muted; }
    CaptionRunPanel #run-warning { height: auto; max-height: 2; color: $warning; }
    CaptionRunPanel #run-results { height: 1fr; }
    """

    def __init__(self, root: Path | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.root = root
        self.keys: dict[str, str] = dict(DEFAULT_KEYS)  # the screen sets those of the user's keymap

    def compose(self) -> ComposeResult:
        yield Static("no caption run yet", id="run-status", markup=False)
        # determinate until a run starts: an indeterminate bar redraws 15 times a second (its auto_refresh),
        # hidden or not, so an app that once showed this screen woke every 66 ms for good (h9)
        yield ProgressBar(total=1, show_eta=False, id="run-bar")
        yield Static("", id="run-rate", markup=False)
        yield Static("", id="run-warning", markup=False)
        with VerticalScroll(id="run-results"):
            yield Static(results_text(None, self.root, self.keys), id="run-list", markup=False)

    def on_mount(self) -> None:
        self.query_one("#run-warning").display = False

    def show(self, run: CaptionRun | None) -> None:
        status = self.query_one("#run-status", Static)
        bar = self.query_one("#run-bar", ProgressBar)
        warning = self.query_one("#run-warning", Static)
        bar.display = run is not None
        if run is None:
            bar.update(total=1, progress=0)  # no run: no animation (see compose)
            status.update("no caption run yet")
        else:
            status.update(run.summary())
            status.set_class(run.phase == "failed", "failed")
            bar.update(**bar_state(run))
            self.query_one("#run-rate", Static).update(rate_line(run))
            cpu = run.general_warning
            warning.update(f"! {cpu}" if cpu else "")
            warning.display = bool(cpu)
        self.query_one("#run-list", Static).update(results_text(run, self.root, self.keys))
