"""What a run tells: events (only the first process writes them), console lines and the progress bar,
and the hooks train_loop and the latent / text-encoder caches call to report (engine/run.py)."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from loratui.engine.run import Run


def tell(text: str, *, end: str = "\n", stream=None) -> None:
    """A line on stderr (or ``stream``). The terminal gone (a closed SSH link or tmux pane: EIO after the
    hangup; a closed pipe: EPIPE) must not end the run mid-save: the stream then goes to the null device."""
    from loratui.core.termline import silence_stream

    stream = stream or sys.stderr
    try:
        print(text, end=end, file=stream, flush=True)
    except (OSError, ValueError):
        silence_stream(stream)


class RunEvents:
    """Run's events and console lines. Uses the Run's writer, is_main, echo_json, show_progress, bar_open
    and last_line; ``emit`` first looks at the output folder (``check_output``, engine/run_folder.py)."""

    def emit(self, kind: str, /, **fields) -> dict | None:
        if self.writer is None:
            return None
        self.check_output(force=False)
        return self.writer.emit(kind, **fields)

    def emit_last(self, kind: str, /, **fields) -> dict | None:
        """An event of the run's end (error, finished): when it cannot be written (the full disk that ended
        the run, the output folder gone) the run still ends, with its error said on stderr and its lock
        released; readers then see the run end without it (crashed, with the log's last lines)."""
        from loratui.core.diskspace import is_disk_full
        from loratui.core.errors import LoratuiError

        try:
            return self.emit(kind, **fields)
        except (OSError, LoratuiError) as exc:
            if not is_disk_full(exc):  # a full disk is the error said next; anything else is said here
                self.say(f"warning: the {kind} event could not be written to {self.events_file}: {exc}")
            return None

    def say(self, text: str) -> None:
        if self.is_main and not self.echo_json:
            if self.bar_open:  # end the progress bar's line first
                tell("")
                self.bar_open = False
            tell(text.lstrip("\n"))

    def warn(self, message: str) -> None:
        self.emit("warning", message=message)
        self.say(f"warning: {message}")

    def progress(self, tr, avg_loss, images_per_s, eta_s) -> None:
        if not self.is_main or self.echo_json:
            return
        from loratui.core.durations import duration_text
        from loratui.core.termline import fit

        now = time.monotonic()
        total = tr.data.total_steps
        if not self.show_progress and now - self.last_line < 10 and tr.step not in (1, total):
            return
        self.last_line = now
        eta = duration_text(eta_s, missing="?")  # days past 24 h (a strftime clock wrapped there)
        width = 20
        filled = int(width * tr.step / max(total, 1))
        # most useful first: on a narrow terminal fit() cuts from the right
        line = (f"[{'#' * filled}{'.' * (width - filled)}] step {tr.step}/{total} epoch {tr.epoch}/{tr.data.epochs} "
                f"ETA {eta} loss {avg_loss:.4f} {images_per_s:.2f} img/s")
        if self.show_progress:
            tell("\r" + fit(line), end="\n" if tr.step == total else "")
            self.bar_open = tr.step != total
        else:
            tell(line)


class Reporter:
    """Events (rank 0), a progress line, checkpoints and samples: the hooks train_loop calls."""

    def __init__(self, run: "Run"):
        self.run = run

    def on_step(self, tr, *, loss, avg_loss, images_per_s, eta_s):
        run = self.run
        if getattr(run, "first_step_at", None) is not None:
            if tr.speed.compile_unet:
                run.say(f"torch.compile: first step done in {time.perf_counter() - run.first_step_at:.0f} s")
            run.first_step_at = None
        lr = tr.optimizer.param_groups[0]["lr"]
        vram = torch.cuda.max_memory_allocated() / 1024 ** 3 if tr.device.type == "cuda" else None
        run.emit("step", step=tr.step, total_steps=tr.data.total_steps, epoch=tr.epoch, loss=round(loss, 6),
                 avg_loss=round(avg_loss, 6), lr=lr, images_per_s=round(images_per_s, 3),
                 eta_s=None if eta_s is None else round(eta_s, 1),
                 peak_vram_gib=None if vram is None else round(vram, 3))
        run.progress(tr, avg_loss, images_per_s, eta_s)
        s = run.cfg.saving
        if s.save_every_n_steps and tr.step % s.save_every_n_steps == 0 and tr.step < tr.data.total_steps:
            run.save_lora(tr, "step")
        sp = run.cfg.sampling
        # as sd-scripts: sample_every_n_epochs, when set, overrides sample_every_n_steps (core/plan notes it)
        if sp.sample_every_n_steps and not sp.sample_every_n_epochs and tr.step % sp.sample_every_n_steps == 0:
            run.sample(tr)
        # control requests: one process acts at once; several agree on them at the next step first
        if run.world == 1:
            run.poll_controls(tr)
        run.handle_requests(tr)
        if run.world > 1:
            run.poll_controls(tr)

    def on_epoch_end(self, tr, *, avg_loss):
        run = self.run
        run.emit("epoch_end", epoch=tr.epoch, step=tr.step, avg_loss=round(avg_loss, 6))
        s = run.cfg.saving
        last = tr.epoch >= tr.data.epochs or tr.step >= tr.data.total_steps
        if s.save_every_n_epochs and tr.epoch % s.save_every_n_epochs == 0 and not last:
            run.save_lora(tr, "epoch")
        sp = run.cfg.sampling
        if sp.sample_every_n_epochs and tr.epoch % sp.sample_every_n_epochs == 0:
            run.sample(tr, epoch_end=True)  # named by epoch (NAME_e000002_...), as sd-scripts names them

    def on_limit_inside_epoch(self, tr):
        """max_train_steps fell inside an epoch: sd-scripts leaves its step loop and still runs the epoch's
        end, sampling when sample_every_n_epochs divides the epoch (no epoch save: the final save follows).
        Not for `--max-steps N`, a pause that `--resume` continues (the epoch's end comes then)."""
        run = self.run
        sp = run.cfg.sampling
        if run.max_steps_override is None and sp.sample_every_n_epochs and tr.epoch % sp.sample_every_n_epochs == 0:
            run.sample(tr, epoch_end=True)


class CacheProgress:
    """The data code's progress hook while latents / text-encoder outputs are cached: cache_progress
    events (at most twice a second, and each phase's last), a bar on a terminal, a line every 10 s
    otherwise; the ETA counts from the phase's start."""

    EVENT_EVERY = 0.5
    LINE_EVERY = 10.0

    def __init__(self, run: "Run"):
        self.run, self.phase, self.started, self.last_event, self.last_line = run, None, 0.0, 0.0, 0.0

    def __call__(self, done: int, total: int, what: str) -> None:
        run, now = self.run, time.monotonic()
        run.stop_if_asked_while_loading()  # between two images: a stop asked while caching ends the run here
        if what != self.phase:
            self.phase, self.started, self.last_event, self.last_line = what, now, 0.0, now
        elapsed = now - self.started
        eta = (total - done) * elapsed / done if done and elapsed > 0 else None
        last = done >= total
        if last or now - self.last_event >= self.EVENT_EVERY:
            self.last_event = now
            run.emit("cache_progress", what=what, done=done, total=total,
                     eta_s=None if eta is None else round(eta, 1))
        if not run.is_main or run.echo_json:
            return
        from loratui.core.durations import duration_text
        from loratui.core.termline import fit

        eta_text = duration_text(eta, missing="?")
        filled = int(20 * done / max(total, 1))
        line = f"[{'#' * filled}{'.' * (20 - filled)}] {what} {done}/{total} ETA {eta_text}"
        if run.show_progress:
            tell("\r" + fit(line), end="\n" if last else "")
            run.bar_open = not last
        elif last or now - self.last_line >= self.LINE_EVERY or done == 1:
            self.last_line = now
            tell(line)
