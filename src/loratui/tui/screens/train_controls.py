"""The Train screen's run controls: start a new run (its command shown first; one live on the config's
output is named at once), stop, save now, sample now, resume and extend the followed run.
``RunControls`` is mixed into TrainScreen (screens/train.py), which owns the run and the service."""

from __future__ import annotations

from pathlib import Path

from loratui.core.errors import LoratuiError
from loratui.core.events import events_path
from loratui.tui.screens.run_picker import NumberDialog, StartDialog, start_warnings, state_named
from loratui.tui.services.runs import FollowedRun, RunService, RunSnapshot


class RunControls:
    """What acts on the followed run (or starts one); a refusal is said in one line."""

    def _followed(self) -> FollowedRun | None:
        if self.run is None:
            self.notify(f"no run followed: {self.key_does('train.pick_run', 'lists the runs')}", severity="warning")
        return self.run

    def _shown(self) -> RunSnapshot | None:
        """The followed run as last read, or None (said in one line)."""
        if self._followed() is not None and self.snapshot is None:
            self.notify(f"still reading {self.run.key.name}", severity="warning")
        return self.snapshot if self.run is not None else None

    def _try(self, what: str, action) -> object | None:
        """Run a service call; a LoratuiError (or OSError) becomes one line."""
        try:
            return action()
        except (LoratuiError, OSError) as exc:
            self.notify(f"{what}: {exc}", severity="error")
            return None

    def action_start(self) -> None:
        config = self.app.config_path
        if not config:
            self.notify(f"no config to train: open or save one on {self.settings_screen_named()}", severity="error")
            return
        if self._live_on_output(config):
            return
        self.open_dialog(StartDialog(f"start a new run from {Path(config).name}",
                                     lambda n: self.service.command(config, processes=n),
                                     warnings=start_warnings(self.app, self.service, config),
                                     problems=lambda: self.service.problems(config)), self._start)

    def _live_on_output(self, config) -> bool:
        """A run is live on the config's output: said at once (the start would only refuse after enter),
        with f to follow it when it is not followed yet. False when none is (or the config does not load:
        the start dialog says why)."""
        from loratui.core.events import run_is_alive
        from loratui.tui.screens.config_dialogs import ChoiceDialog

        try:
            command = self.service.command(config)
        except (LoratuiError, OSError):
            return False
        key = events_path(command.output_dir, command.name)
        known = self.service.followed.get(key)
        pid = known.alive() if known is not None else run_is_alive(command.output_dir, command.name)
        if pid is None:
            return False
        if self.run is not None and self.run.key == key:
            self.notify(f"{command.name} is training (pid {pid}): a new run can start once it ends "
                        f"({self.key_does('train.stop', 'stops it gracefully')})", severity="warning")
            return True

        stop = self.key_for("train.stop")

        def answered(choice: str | None) -> None:
            if choice == "f":
                self.follow(command.output_dir, command.name)
            else:
                self.declined.add(pid)

        self.open_dialog(ChoiceDialog("a run is live", f"{command.name} is training in {command.output_dir} "
                                      f"(pid {pid}): a new run from {Path(config).name} can start once it ends. "
                                      "Follow it to watch it, or to stop it" + (f" ({stop})." if stop else "."),
                                      [("f", "follow it")]), answered)
        return True

    def _start(self, command) -> None:
        if command is None:
            return
        run = self._try("cannot start", lambda: self.service.start(command))
        if run is not None:
            self.show_run(run)
            self.notify(f"started (pid {run.process.pid}): {command.display}")

    def action_stop(self) -> None:
        from loratui.tui.screens.config_dialogs import ChoiceDialog

        run = self._followed()
        if run is None:
            return
        if run.alive() is None:
            self.notify(f"{run.name} is not running", severity="warning")
            return
        self.open_dialog(ChoiceDialog("stop the run", f"Stop {run.name} {RunService.stop_when(run)}? It saves "
                                      f"the LoRA and its state ({self.key_does('train.resume', 'resumes it later')}).",
                                      [("y", "stop")]),
                         lambda choice: choice == "y" and self._said(run, self.service.stop, "stop"))

    def _said(self, run: FollowedRun, call, what: str) -> None:
        line = self._try(what, lambda: call(run))
        if line is not None:
            self.notify(line if what == "stop" else f"{run.name}: {what} requested; the run does it at its next step")

    def action_save_now(self) -> None:
        if self._followed():
            self._said(self.run, self.service.save_now, "save")

    def action_sample_now(self) -> None:
        if self._followed():
            self._said(self.run, self.service.sample_now, "sample")

    def action_resume(self) -> None:
        snapshot = self._shown()
        if snapshot is not None:
            run = self._try("cannot resume", lambda: self.service.resume(snapshot))
            if run is not None:
                self.show_run(run)
                self.notify(f"resuming from {state_named(snapshot)}: {run.command.display}")

    def action_extend(self) -> None:
        snapshot = self._shown()
        if snapshot is None or not self._try("cannot extend", lambda: self.service.check_resumable(snapshot)):
            return  # said at once, not after the number is typed
        self.open_dialog(NumberDialog(f"extend {snapshot.name}", "Train this many more epochs from the run's "
                                      "saved state (its LoRA so far is kept under its epoch's name).",
                                      lambda n: f"train {n} more epoch(s)"),
                         lambda n: n and self._extend(snapshot, n))

    def _extend(self, snapshot: RunSnapshot, epochs: int) -> None:
        run = self._try("cannot extend", lambda: self.service.extend(snapshot, epochs))
        if run is not None:
            self.show_run(run)
            self.notify(f"extending by {epochs} epoch(s): {run.command.display} (from {state_named(snapshot)})")

    def _read_only(self, snapshot: RunSnapshot) -> bool:
        """An earlier run (shown read-only): said, True."""
        if snapshot.earlier:
            self.notify(f"{snapshot.title} is shown read-only (a later run of {snapshot.name} moved its events "
                        f"aside): {self.key_does('train.pick_run', 'lists the runs')}; follow the latest "
                        f"{snapshot.name} to go on training",
                        severity="warning")
        return bool(snapshot.earlier)
