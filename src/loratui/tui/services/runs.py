"""The App's run service: training runs are processes of their own, the app only follows them.

``start`` launches ``loratui train CONFIG`` (``... --processes N`` for several: engine/launch.py)
in a session of its own, stdin from /dev/null and stdout/stderr into ``OUTPUT_DIR/NAME.log``, so
closing the app, Ctrl-C in it or losing the SSH link does not stop it. Every followed run (started
here, or by `loratui train` in a shell, or by another window) is read from its events file by one
thread worker of the App (``EventFollower``, 4 MiB at a time), which keeps its ``RunRecord`` and
``LossSeries`` (core/runs.py) and posts ``RunUpdated`` snapshots at most every half second, plus a
``RunNotice`` per notable event once it has caught up with the file. Controls: stop (SIGINT to the
process group leader: the engine finishes the step and saves; a launch of several processes gets a
"stop" request through the control file instead, which every process agrees on), save now and sample
now (control file, answered by ``control`` events; the launch time the app passes, LORATUI_LAUNCHED_AT,
makes requests made while the run starts count), resume from the newest state (NAME-state or a later
epoch / step save's, ``newest_state``) with the process count the run had, extend by N epochs. A launch
that ends without writing an event (train refused it: a resume too) is "refused", with its log's error;
one stopped that soon (exit 130: a stop in its first seconds) is "stopped", nothing saved, not a crash.
A launch refused because another process took the lock first (two starts at once) says so once, and
the run followed is that other one from then on. ``live_runs`` lists the live runs of a config's output
folder from their lock files alone (cheap: the Train screen asks once a second while it follows none).
NAME.log holds one section per launch of the app, headed by its launch time: a run shows its own
launch's section, and a run started in a shell (no section) says its output is in that terminal.
A live run's output folder deleted under it (its events file gone, its lock with it): said at once
as the run's error (``gone``), the process followed by its pid meanwhile; the run makes the folder
again (engine/run.py), and its new events file is read from its start, the deletion still said.
Messages go to the App and to every subscribed node (``subscribe``). An earlier run of NAME (its
events file rotated to NAME.events.N.jsonl by a later run) is followed read-only: never live, no
state or log of its own (both are the latest run's), its checkpoints where they are now
(core.runs.earlier_checkpoints), and its file read once. Nothing here imports torch. The keys its
lines name are the ones keymap.toml binds (services/train_keys.py).

``FollowedRun`` is in services/followed_run.py, its ``RunSnapshot`` and the two messages in run_snapshot.py (re-exported
here); the follow loop each run's worker runs is in services/run_following.py.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

from loratui.core.errors import LoratuiError
from loratui.core.events import EventFollower, events_path, log_path, run_is_alive
from loratui.core.run_control import LAUNCHED_AT_ENV, request_control
from loratui.core.runs import AlreadyPromoted, Checkpoint, list_runs, promote_checkpoint
# the run lives in followed_run.py, its data and messages in run_snapshot.py; imported from here by the screens and tests
from loratui.tui.services.followed_run import (FollowedRun, RunCommand, RunNotice, RunSnapshot, RunUpdated,
                                               caching_text, log_header, refusal_line)
from loratui.tui.services.train_keys import TrainKeys
from loratui.tui.services.run_following import CHUNK_BYTES, RunFollowing  # CHUNK_BYTES: re-exported (bench)

__all__ = ["CHUNK_BYTES", "FollowedRun", "RunCommand", "RunNotice", "RunService", "RunSnapshot", "RunUpdated",
           "caching_text", "refusal_line"]

# what makes a completed run keep NAME-state (engine/run.py: the keys, --save-state, --max-steps, --resume)
FINISHED_RUN_STATE = ("a finished run keeps one only with saving.save_state_on_train_end = true (at the end) or "
                      "saving.save_state = true (with every save too), or `loratui train --save-state`: set one "
                      "in the config for the next run")


def stopped_before_saving(snapshot: RunSnapshot) -> bool:
    """Stopped in its first seconds: this app's launch interrupted before any event ("stopped"), or a run
    whose `finished` says stopped with nothing saved (a stop while the model loaded)."""
    status = getattr(snapshot, "status", None)
    return status == "stopped" or (status == "finished" and snapshot.reason == "stopped" and
                                   not snapshot.checkpoints)


def session_plan(snapshot: RunSnapshot) -> dict:
    """What ``r`` passes besides --resume so that the run goes on to the end its last session planned (an
    extension stopped or crashed part way: its state may still be the one it started from, whose run planned
    less), when the config's own plan leaves the state nothing to train: {"max_epochs": N} or
    {"max_steps": N}. {} when the config still plans steps past the state (an edited max_train_epochs
    takes effect from there), or nothing is known. The engine checks it all again."""
    from loratui.core.config import load_config

    total, epochs, at = snapshot.total_steps, snapshot.epochs, snapshot.state_step
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (total, epochs, at)) or epochs < 1 \
            or total <= at or snapshot.config is None:
        return {}
    try:
        training = load_config(snapshot.config).training
    except (LoratuiError, OSError):
        return {}
    per_epoch = total // epochs if total % epochs == 0 else None  # a --max-steps session may end mid-epoch
    if training.max_train_epochs is not None:
        ours = training.max_train_epochs * per_epoch if per_epoch else None
    else:
        ours = training.max_train_steps
    if ours is None or ours > at:
        return {}
    return {"max_epochs": epochs} if per_epoch else {"max_steps": total}


class RunService(RunFollowing):
    """Owned by the App (its workers outlive screens). See the module docstring."""

    POST_INTERVAL = 0.5
    POLL_INTERVAL = 0.25
    LIVE_REFRESH = 1.0  # seconds between snapshots of a live run when nothing new was written
    EARLIER_REFRESH = 3.0  # s: how often an ended or earlier run's checkpoints are looked for again (deleted, moved)
    MISSING_FOR = 2.0   # seconds a live run's events file is missing (its folder there) before that is said

    def __init__(self, app, *, python: str | None = None):
        self.app = app
        self.python = python or sys.executable
        self.followed: dict[Path, FollowedRun] = {}
        self._subscribers: weakref.WeakSet = weakref.WeakSet()
        self._subscribers_lock = threading.Lock()  # changed on the UI thread, read by the followers
        self._output_seen: tuple | None = None  # ((config, mtime, size), its (output folder, NAME) or None)
        self.keys = TrainKeys(app)  # the Train screen's keys, as the app's keymap binds them

    # ---- listing and following --------------------------------------------------------------------

    def list_runs(self, output_dir: str | os.PathLike):
        """Live and past runs of an output folder (core.runs.RunSummary, live first)."""
        return list_runs(output_dir)

    def output_of(self, config: str | os.PathLike) -> tuple[Path, str] | None:
        """(the output folder, NAME) ``config`` trains into, or None when it does not load; read again
        only when the file changed (``live_runs`` asks once a second)."""
        path = Path(config)
        try:
            info = path.stat()
        except OSError:
            return None
        stamp = (str(path), info.st_mtime_ns, info.st_size)
        if self._output_seen is None or self._output_seen[0] != stamp:
            try:
                command = self.command(path)
                self._output_seen = (stamp, (command.output_dir, command.name))
            except (LoratuiError, OSError):
                self._output_seen = (stamp, None)
        return self._output_seen[1]

    def live_runs(self, config: str | os.PathLike | None, attach: str | os.PathLike | None = None
                  ) -> list[tuple[Path, str, int]]:
        """(output folder, NAME, pid) of each run live now in the config's output folder and the attached
        one: from their NAME.lock files alone (a directory listing and a few tiny reads), so cheap
        enough for a screen to ask once a second while it follows no run."""
        folders = []
        if config:
            output = self.output_of(config)
            if output is not None:
                folders.append(output[0])
        if attach is not None and Path(attach).resolve() not in folders:
            folders.append(Path(attach).resolve())
        live = []
        for folder in folders:
            try:
                entries = sorted(os.listdir(folder))
            except OSError:
                continue
            for entry in entries:
                pid = run_is_alive(folder, entry[:-5]) if entry.endswith(".lock") else None
                if pid is not None:
                    live.append((folder, entry[:-5], pid))
        return live

    def subscribe(self, node) -> None:
        """Also post RunUpdated / RunNotice to ``node`` (a screen or widget), besides the App."""
        with self._subscribers_lock:
            self._subscribers.add(node)

    def unsubscribe(self, node) -> None:
        with self._subscribers_lock:
            self._subscribers.discard(node)


    def follow(self, output_dir: str | os.PathLike, name: str, *, fresh: tuple | None = None,
               earlier: int = 0) -> FollowedRun:
        """Follow a run from the start of its events file (again the same object when followed).
        ``fresh``: a new run is replacing that file, whose (inode, size) this is, taken before the run
        was launched: what the file held then is the last run's, and is not shown (its checkpoints
        are the ones the new run overwrites). ``earlier``: N follows NAME.events.N.jsonl (read-only)."""
        run = FollowedRun(Path(output_dir).resolve(), name, earlier)
        known = self.followed.get(run.key)
        if known is not None:
            run = known
        if fresh is not None:
            run.reset(skip=fresh)
        if known is not None:
            return known
        run.keys = self.keys
        self.followed[run.key] = run
        run.worker = self.app.run_worker(lambda: self._follow_safely(run), name=f"follow run {name}",
                                         group="runs", thread=True, exit_on_error=False)
        return run

    def unfollow(self, run: FollowedRun) -> None:
        """Stop reading a run (the run itself goes on)."""
        run.stopping.set()
        self.followed.pop(run.key, None)

    def shutdown(self) -> None:
        for run in list(self.followed.values()):
            self.unfollow(run)

    def _post(self, message_factory) -> None:
        with self._subscribers_lock:
            targets = [self.app, *self._subscribers]
        for target in targets:
            try:
                target.post_message(message_factory())
            except Exception:  # noqa: BLE001 - a closing node or app: nobody to tell
                pass

    # ---- starting ---------------------------------------------------------------------------------

    @staticmethod
    def problems(config: str | os.PathLike) -> list[str]:
        """What `loratui config check` finds in ``config``'s values and the paths it names (the base
        model, output_dir, the folders, the prompts): train would refuse each. A config that does not
        load says so through ``command``; here it gives []. The dataset itself is not scanned."""
        from loratui.core.config import check_paths, load_config, missing_packages, validate

        try:
            cfg = load_config(config)
        except (LoratuiError, OSError):
            return []
        return validate(cfg) + check_paths(cfg) + missing_packages(cfg)

    def command(self, config: str | os.PathLike, *, processes: int = 1, resume: str | os.PathLike | None = None,
                extend_epochs: int | None = None, save_state: bool = False,
                max_steps: int | None = None, max_epochs: int | None = None) -> RunCommand:
        """The command that trains ``config`` (show ``display`` before ``start``). Bad config: LoratuiError."""
        from loratui.core.config import load_config, output_dir_of

        config = Path(config).resolve()
        cfg = load_config(config)
        output_dir = output_dir_of(cfg).resolve()
        args = ["train", str(config)]
        if resume is not None:
            args += ["--resume", str(resume)]
        if extend_epochs is not None:
            args += ["--extend-epochs", str(extend_epochs)]
        if max_steps is not None:
            args += ["--max-steps", str(max_steps)]
        if max_epochs is not None:
            args += ["--max-train-epochs", str(max_epochs)]
        if save_state:
            args.append("--save-state")
        if processes < 1:
            raise LoratuiError(f"processes must be at least 1, not {processes}")
        if processes > 1:  # loratui's own launcher (engine/launch.py): a stop that saved exits 0, as with one
            args += ["--processes", str(processes)]
        argv, display = [self.python, "-m", "loratui", *args], shlex.join(["loratui", *args])
        return RunCommand(tuple(argv), display, processes, output_dir, cfg.saving.output_name, config.parent,
                          config)

    def start(self, command: RunCommand) -> FollowedRun:
        """Launch ``command`` detached and follow it; LoratuiError when a run is live on its output."""
        known = self.followed.get(events_path(command.output_dir, command.name))
        owner = known.alive() if known is not None else run_is_alive(command.output_dir, command.name)
        if owner is not None:  # (one this app started may not hold the lock yet)
            raise LoratuiError(f"a run (pid {owner}) is already writing {command.name} in {command.output_dir}: "
                               "attach to it, or stop it first")
        command.output_dir.mkdir(parents=True, exist_ok=True)
        # a new run rotates the events file: what it holds now, taken before launching, is the last run's
        fresh = "--resume" not in command.argv
        last_file = EventFollower(events_path(command.output_dir, command.name)).identity() if fresh else None
        log = log_path(command.output_dir, command.name)
        launched_at = time.time()  # the run honours control requests made from now on (core/run_control.py)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", LAUNCHED_AT_ENV: f"{launched_at:.3f}"}
        with open(log, "ab") as handle:
            handle.write(log_header(launched_at, command.display).encode())  # names this launch's section
            handle.flush()
            process = subprocess.Popen(command.argv, cwd=command.cwd, stdin=subprocess.DEVNULL, stdout=handle,
                                       stderr=subprocess.STDOUT, env=env, start_new_session=True, close_fds=True)
        run = self.follow(command.output_dir, command.name, fresh=last_file)
        run.process, run.command, run.exit_code, run.launched_at = process, command, None, launched_at
        return run

    def resume(self, run: FollowedRun | RunSnapshot, *, processes: int | None = None,
               extend_epochs: int | None = None, save_state: bool = False) -> FollowedRun:
        """Continue a stopped (or crashed) run from its newest saved state (``RunSnapshot.state``), or
        extend a finished one; with as many processes as the run had, unless ``processes`` says (a
        state's place in an epoch is per process: the engine refuses another count)."""
        snapshot = run if isinstance(run, RunSnapshot) else run.snapshot()
        self.check_resumable(snapshot)
        processes = processes or getattr(snapshot, "processes", 1) or 1
        plan = session_plan(snapshot) if extend_epochs is None else {}
        return self.start(self.command(snapshot.config, processes=processes, resume=snapshot.state,
                                       extend_epochs=extend_epochs, save_state=save_state, **plan))

    def check_resumable(self, snapshot: RunSnapshot) -> bool:
        """True, or a LoratuiError saying why the run cannot go on (running, no state, no config, an
        earlier run: its state, if it kept one, is the latest run's to continue)."""
        if getattr(snapshot, "earlier", 0):
            raise LoratuiError(f"{snapshot.title} is shown read-only (its events were moved aside when a later "
                               f"run of {snapshot.name} started): follow the latest {snapshot.name} "
                               f"({self.keys.does('train.pick_run', 'lists the runs')}) to resume or extend it")
        known = self.followed.get(snapshot.key)
        if (known.alive() if known is not None else run_is_alive(snapshot.output_dir, snapshot.name)) is not None:
            raise LoratuiError(f"{snapshot.name} is still running")
        if snapshot.state is None and stopped_before_saving(snapshot):
            raise LoratuiError(f"{snapshot.name} was stopped before it saved anything (no LoRA, no state), so there "
                               f"is nothing to resume: {self.keys.does('train.start', 'starts a new run')}")
        if snapshot.state is None and getattr(snapshot, "status", None) == "crashed":
            raise LoratuiError(f"{snapshot.name} has no complete saved state ({snapshot.name}-state, or one "
                               f"saved with an epoch or step save) to continue from: it ended before saving one "
                               f"(a run saves its state when stopped, and with every save when saving.save_state "
                               f"= true): {self.keys.does('train.start', 'starts it again')}")
        if snapshot.state is None:
            raise LoratuiError(f"{snapshot.name} has no saved state ({snapshot.name}-state) to continue from: "
                               f"stopped runs save one; {FINISHED_RUN_STATE}")
        if snapshot.config is None:
            raise LoratuiError(f"{snapshot.name}: its events name no config to continue with (no run_started read): "
                               f"{self.keys.does('train.start', 'starts a new run from the config')}")
        if not snapshot.config.is_file():
            raise LoratuiError(f"{snapshot.name}: its config ({snapshot.config}) is not there any more")
        return True

    def extend(self, run: FollowedRun | RunSnapshot, epochs: int, *, processes: int | None = None) -> FollowedRun:
        """Train ``epochs`` more epochs from the run's state (a finished run continues)."""
        if epochs < 1:
            raise LoratuiError(f"extend by at least 1 epoch, not {epochs}")
        return self.resume(run, processes=processes, extend_epochs=epochs)

    # ---- controls ---------------------------------------------------------------------------------

    @staticmethod
    def processes_of(run: FollowedRun) -> int:
        """The processes ``run`` trains with (its launch's, or its run_started's)."""
        started = run.record.started or {}
        processes = run.command.processes if run.command else (started.get("schedule") or {}).get("processes", 1)
        return processes if isinstance(processes, int) and processes >= 1 else 1

    @classmethod
    def stop_when(cls, run: FollowedRun) -> str:
        """When a stop takes effect (engine/run_controls.py): one process stops after the step under way;
        several agree on the request at their next step and stop after that one."""
        processes = cls.processes_of(run)
        return "after the current step" if processes == 1 else \
            f"after the next step (all {processes} processes agree on it then)"

    def stop(self, run: FollowedRun) -> str:
        """Graceful stop: the run finishes its step (``stop_when``), saves the LoRA and NAME-state, and exits."""
        pid = run.alive()
        if pid is None:
            raise LoratuiError(f"{run.name} is not running")
        if self.processes_of(run) > 1:  # one request all processes read and agree on (a torchrun launch too)
            request_control(run.output_dir, run.name, "stop")
            return f"{run.name}: stop requested: the run stops {self.stop_when(run)} and saves"
        try:
            os.kill(pid, signal.SIGINT)  # the run leads its session (started here) or is the lock's owner
        except ProcessLookupError:
            raise LoratuiError(f"{run.name} is not running") from None
        return f"{run.name}: stopping {self.stop_when(run)} (the LoRA and the state will be saved)"

    def save_now(self, run: FollowedRun) -> str:
        return self._request(run, "save")

    def sample_now(self, run: FollowedRun) -> str:
        return self._request(run, "sample")

    def _request(self, run: FollowedRun, kind: str) -> str:
        if run.alive() is None:
            raise LoratuiError(f"{run.name} is not running")
        return request_control(run.output_dir, run.name, kind)

    def promote(self, run: FollowedRun, checkpoint: Checkpoint | str | os.PathLike) -> tuple[Path, str]:
        """Copy a checkpoint to OUTPUT_DIR/NAME.safetensors (or a free NAME-promoted name); returns
        (the file written, a line saying so). One promoted already (a copy with the same bytes) is not
        copied again: (that copy, a line saying so). Call it from a worker: a LoRA can be hundreds of MB."""
        source = Path(checkpoint.path if isinstance(checkpoint, Checkpoint) else checkpoint)
        try:
            target = promote_checkpoint(source, run.name, run.output_dir)
        except AlreadyPromoted as already:
            return already.target, f"{source.name} is already promoted as {already.target.name} (the same " \
                                   f"bytes): nothing copied"
        return target, f"copied {source.name} to {target} ({target.stat().st_size / 2**20:.1f} MiB); {source.name} is kept"
