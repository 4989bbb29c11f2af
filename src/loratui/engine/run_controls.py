"""Requests to a live run: save now, sample now and stop from NAME.control.jsonl (core/run_control.py), each
answered with a control event; SIGINT / SIGTERM / SIGHUP stop after the current step (twice: at once; a
second SIGHUP is ignored, and so is a SIGTERM after a SIGHUP, and the line says so; a second signal during
a save waits for that save to end, SavesFinishFirst); while
the run still loads, at the end of the loading stage under way, before anything is saved. A stop read
after step N: one process stops there (train_loop looks again after the step's hooks); several agree on
it at step N + 1 (the flag travels with that step's gradients) and stop after it."""

from __future__ import annotations

import contextlib
import signal


def again_words(signum: int) -> str:
    """What stops the run at once after ``signum`` stopped it gracefully: the same signal again, except
    SIGHUP (a second one is ignored, engine/run.py: the kernel and the shell may each send one; so is the
    SIGTERM logout sends after it: logind's KillUserProcesses, a supervisor)."""
    if signum == signal.SIGHUP:
        return "a second SIGHUP or a SIGTERM is ignored; Ctrl-C to stop at once"
    return "again to stop at once"


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

    def _on_signal(self, signum, frame) -> None:
        if getattr(self, "peer_failed", False):
            return  # torchrun's SIGTERM after a process failed (said by execute): nothing can be saved
        name = signal.Signals(signum).name
        first = getattr(self, "first_stop", None)
        if signum == signal.SIGTERM and first == "SIGHUP":
            return  # logout's SIGTERM after the hangup: the stop under way, not a second one
        if not self.signals_seen:
            self.first_stop = name
        again = again_words(signum)
        if getattr(self, "world", 1) > 1 and self.training_began and not self.signals_seen:
            # a stop needs every process at the same step: each gets the signal and stops after the next one
            self.signals_seen = 1
            self.trainer.stop_requested = True
            self.say(f"\n{name}: stopping after the next step, once all {self.world} processes reach it; the LoRA "
                     f"and the state are saved then ({again}, without saving)")
            return
        self.signals_seen += 1
        if self.signals_seen > 1:
            if getattr(self, "saves_under_way", 0):  # a half-written save is worth nothing: it ends first
                if not getattr(self, "stop_after_save", None):
                    self.stop_after_save = name
                    self.say(f"\n{name}: the save under way ends first, then the run stops, saving nothing more")
                return
            raise KeyboardInterrupt  # asked twice: stop now, without saving
        if not self.training_began:
            # still loading: a KeyboardInterrupt raised here could land inside a lazy import (diffusers,
            # numpy) and leave a module half-imported; the run stops at its next loading stage instead
            # (stop_if_asked_while_loading), with nothing trained and nothing saved
            self.stop_asked_while_loading = name
            self.say(f"\n{name}: stopping once the current loading stage is done; nothing is saved ({again})")
            return
        self.trainer.stop_requested = True
        self.say(f"\n{name}: finishing the current step, then saving the LoRA and the "
                 f"state ({again}, without saving)")

    def stop_if_asked_while_loading(self) -> None:
        """Called between loading stages and before the first step: a SIGINT / SIGTERM received while
        loading ends the run here, as a stop before anything was saved (execute: exit 130)."""
        if self.stop_asked_while_loading:
            raise KeyboardInterrupt(self.stop_asked_while_loading)
