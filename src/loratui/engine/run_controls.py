"""Requests to a live run: save now, sample now and stop from NAME.control.jsonl (core/run_control.py), each
answered with a control event; SIGINT / SIGTERM / SIGHUP stop after the current step (twice: at once; a
second SIGHUP is ignored, and so is a SIGTERM after a SIGHUP, and the line says so; a second signal during
a save waits for that save to end, SavesFinishFirst); while
the run still loads, at the end of the loading stage under way, before anything is saved. A stop read
after step N: one process stops there (train_loop looks again after the step's hooks); several agree on
it at step N + 1 (the flag travels with that step's gradients) and stop after it."""

from __future__ import annotations

import contextlib
import os
import signal


def again_words(signum: int) -> str:
    """What stops the run at once after ``signum`` stopped it gracefully: the same signal again, except
    SIGHUP (a second one is ignored, engine/run.py: the kernel and the shell may each send one; so is the
    SIGTERM logout sends after it: logind's KillUserProcesses, a supervisor)."""
    if signum == signal.SIGHUP:
        return "a second SIGHUP or a SIGTERM is ignored; Ctrl-C to stop at once"
    return "again to stop at once"


class SignalCount:
    """How many times each signal was delivered since its handler last ran. Python runs a handler between two
    bytecodes of the main thread, once however many times the signal came meanwhile: a sample's denoising on a
    CPU spends a long time inside one torch call, and a second SIGTERM sent then was never seen as the second
    (the h6 hunt: a run went on rendering 17 min after "again to stop at once"). The C-level handler writes one
    byte per delivery to the wakeup fd (signal.set_wakeup_fd), which _on_signal reads back."""

    def __init__(self) -> None:
        self.read_fd: int | None = None
        self.write_fd: int | None = None
        self.previous = -1
        self.pending: dict[int, int] = {}

    def start(self) -> None:
        """From the main thread, once the run's handlers are set; elsewhere (a thread) it counts nothing."""
        read_fd, write_fd = os.pipe()
        try:
            for fd in (read_fd, write_fd):
                os.set_blocking(fd, False)
            self.previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        except (ValueError, OSError):
            os.close(read_fd)
            os.close(write_fd)
            return
        self.read_fd, self.write_fd = read_fd, write_fd

    def stop(self) -> None:
        if self.read_fd is None:
            return
        with contextlib.suppress(ValueError, OSError):
            signal.set_wakeup_fd(self.previous)
        for fd in (self.read_fd, self.write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.read_fd = self.write_fd = None

    def take(self, signum: int) -> int | None:
        """The deliveries of ``signum`` not yet handled (0: an earlier call of its handler counted this one);
        None when not counting."""
        if self.read_fd is None:
            return None
        while True:
            try:
                data = os.read(self.read_fd, 4096)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                return None
            if not data:
                break
            for number in data:
                self.pending[number] = self.pending.get(number, 0) + 1
        return self.pending.pop(signum, 0)


class SavesFinishFirst:
    """Placed before RunSaves in Run's bases: a LoRA or state save (and the state a LoRA save writes with
    it) runs to its end even when a second stop signal comes meanwhile (_on_signal defers it); the run
    then stops at once, as that signal asked, keeping what the save wrote. Every process counts the same
    saves (they call them at the same points), so none leaves the others inside a save's collective."""

    WRAPS = ("save_lora", "save_state")  # RunSaves' own, each called through super(): on purpose
    saves_under_way = 0
    stop_after_save: str | None = None  # the signal's name, received during a save

    def save_lora(self, tr, kind: str):
        with self._save_finishes_first(tr):
            return super().save_lora(tr, kind)

    def save_state(self, tr, folder):
        with self._save_finishes_first(tr):
            return super().save_state(tr, folder)

    @contextlib.contextmanager
    def _save_finishes_first(self, tr):
        self.saves_under_way += 1
        try:
            yield
        finally:
            self.saves_under_way -= 1
        if not self.saves_under_way and self.stop_after_save:  # the save ended well: now the deferred stop
            if self.is_main and self.last_save and self.last_save[0] == tr.step:
                self.saved_lora = self.last_save[1]  # this step's LoRA is complete: execute names it
            raise KeyboardInterrupt(self.stop_after_save)


class RunControls:
    """Run's control requests: the first process reads them (``controls``), the others follow at the next step."""

    def answer(self, request: dict, status: str, message: str) -> None:
        self.emit("control", request=request["request"], id=request.get("id"), status=status, message=message)
        self.say(f"{request['request']} request: {message}")

    def poll_controls(self, tr) -> None:
        """The first process reads new requests: stop at once (the stop flag), save/sample at this step
        (one process) or the next (several: agreed with the others first)."""
        if self.controls is None:
            return
        for request in self.controls.poll():
            kind = request["request"]
            if kind == "stop":
                tr.stop_requested = True
                when = (f"after step {tr.step:,}" if self.world == 1 else
                        f"after step {tr.step + 1:,} (all {self.world} processes agree on it then)")
                self.answer(request, "done", f"stopping {when}: the LoRA and the state will be saved")
            else:
                tr.requests.add(kind)
                self.waiting.setdefault(kind, []).append(request)

    def handle_requests(self, tr) -> None:
        requests, tr.requests = tr.requests, set()
        if "save" in requests:
            saved = self.last_save[1] if self.last_save and self.last_save[0] == tr.step else None
            saved = saved or self.save_lora(tr, "step")
            for request in self.waiting.pop("save", []):
                self.answer(request, "done", f"saved {saved} at step {tr.step}")
        if "sample" in requests:
            waiting = self.waiting.pop("sample", [])
            if not self.prompts:
                for request in waiting:
                    self.answer(request, "refused", "no sample prompts: set sampling.sample_prompts in the config")
            else:
                self.sample(tr)
                for request in waiting:
                    self.answer(request, "done", f"sampled at step {tr.step}")

    signal_count: SignalCount | None = None  # run.py starts one with its handlers

    def count_signals(self) -> None:
        self.signal_count = SignalCount()
        self.signal_count.start()

    def stop_counting_signals(self) -> None:
        if self.signal_count is not None:
            self.signal_count.stop()

    def _on_signal(self, signum, frame) -> None:
        """Each delivery of ``signum`` since the handler last ran counts (SignalCount): two SIGTERMs sent
        while the main thread was inside one long torch call are a first and a second."""
        count = getattr(self, "signal_count", None)
        counted = count.take(signum) if count is not None else None
        for index in range(1 if counted is None else counted):
            if index and signum == signal.SIGHUP and self.signals_seen:
                break  # a second SIGHUP is ignored (run.py's handler), delivered together or not
            one_signal(self, signum)

    def stop_if_asked_while_loading(self) -> None:
        """Called between loading stages and before the first step: a SIGINT / SIGTERM received while
        loading ends the run here, as a stop before anything was saved (execute: exit 130)."""
        if self.stop_asked_while_loading:
            raise KeyboardInterrupt(self.stop_asked_while_loading)


def one_signal(run, signum) -> None:
    """One delivery of a stop signal to ``run`` (RunControls._on_signal calls it for each)."""
    if getattr(run, "peer_failed", False):
        return  # torchrun's SIGTERM after a process failed (said by execute): nothing can be saved
    name = signal.Signals(signum).name
    first = getattr(run, "first_stop", None)
    if signum == signal.SIGTERM and first == "SIGHUP":
        return  # logout's SIGTERM after the hangup: the stop under way, not a second one
    if not run.signals_seen:
        run.first_stop = name
    again = again_words(signum)
    if getattr(run, "world", 1) > 1 and run.training_began and not run.signals_seen:
        # a stop needs every process at the same step: each gets the signal and stops after the next one
        run.signals_seen = 1
        run.trainer.stop_requested = True
        run.say(f"\n{name}: stopping after the next step, once all {run.world} processes reach it; the LoRA "
                f"and the state are saved then ({again}, without saving)")
        return
    run.signals_seen += 1
    if run.signals_seen > 1:
        if getattr(run, "saves_under_way", 0):  # a half-written save is worth nothing: it ends first
            if not getattr(run, "stop_after_save", None):
                run.stop_after_save = name
                run.say(f"\n{name}: the save under way ends first, then the run stops, saving nothing more")
            return
        raise KeyboardInterrupt  # asked twice: stop now, without saving
    if not run.training_began:
        # still loading: a KeyboardInterrupt raised here could land inside a lazy import (diffusers,
        # numpy) and leave a module half-imported; the run stops at its next loading stage instead
        # (stop_if_asked_while_loading), with nothing trained and nothing saved
        run.stop_asked_while_loading = name
        run.say(f"\n{name}: stopping once the current loading stage is done; nothing is saved ({again})")
        return
    run.trainer.stop_requested = True
    run.say(f"\n{name}: finishing the current step, then saving the LoRA and the "
            f"state ({again}, without saving)")
