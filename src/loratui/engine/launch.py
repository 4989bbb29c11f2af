"""`loratui train CONFIG --processes N`: N ranks on this machine, started through torch.distributed.run.

The launcher is torchrun's own elastic agent run in this process (``torch.distributed.run``'s
``config_from_args`` + ``elastic_launch``: standalone rendezvous on a free port, no accelerate
launch needed), each rank being ``python -m loratui train CONFIG ...`` with the other options as
given. The ranks do what they do under torchrun (engine/run.py): each trains its share, rank 0
writes the events, the log lines and the LoRA. What the launcher adds over a bare torchrun:

* Ctrl-C / SIGTERM / SIGHUP (the terminal closed) reach every rank once (torchrun starts each in a session of its own, and its
  agent answers a signal by killing them, unsaved): the ranks agree on a stop after their next
  step and save the LoRA and the state (engine/run_controls.py); again: they stop at once, without
  saving (a save under way ends first); a third time: they are killed (a SIGHUP never counts again: the
  kernel and the shell may each send one; nor does a SIGTERM after a SIGHUP: logout sends both). The launcher then says one line and exits as one process would (README's exit codes): 0
  when rank 0 saved the LoRA (its finished event names it), 130 / 143 / 129 when nothing was saved.
* Ranks other than 0 write their output to a log file of the launch (``CRASH_DIR/train-launch-*/``,
  CRASH_DIR: core/crashlog.py; a folder of the temp dir when that cannot be written: launch_log_dir),
  kept only when the launch fails; a rank that fails ends the launch with one line naming the rank, why
  (its exit code or signal, or rank 0's error event) and that log, instead of torchrun's traceback and
  summary.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import uuid
from pathlib import Path

from loratui.engine.run_peers import LAUNCHED_RANKS_ENV, signal_name

# the agent's own SIGINT/SIGTERM/SIGHUP handling (kill the ranks unsaved) is replaced by the launcher's
AGENT_SIGNALS = "SIGQUIT"
RELAYED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
FORWARD_EVERY_S = 0.1  # how often the relay carries the signals received to the ranks (those started since too)


def processes_problem(processes: int, *, cuda_gpus: int | None) -> str | None:
    """Why ``--processes N`` cannot run here, or None. ``cuda_gpus``: the GPUs torch sees, None without
    CUDA (the ranks then train on the CPU over gloo, any number of them)."""
    if processes < 1:
        return f"--processes must be at least 1, not {processes}"
    if cuda_gpus is not None and processes > cuda_gpus:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        where = f" (CUDA_VISIBLE_DEVICES={visible})" if visible is not None else ""
        return (f"--processes {processes}: this machine has {cuda_gpus} CUDA GPU(s){where}, and each process "
                f"trains on a GPU of its own: give at most --processes {cuda_gpus}")
    return None


def processes_line(schedule) -> str:
    """The per-process arithmetic under the run's schedule line, in `loratui steps --num-processes N`'s words
    (sd-scripts' train_network.py: steps an epoch = ceil(len(dataloader) / num_processes / accumulation))."""
    s = schedule
    return (f"{s.num_processes} processes: steps per epoch = ceil({s.batches_per_epoch} batches / {s.num_processes} "
            f"process(es) / {s.gradient_accumulation_steps} accumulation) = {s.steps_per_epoch}; each process sees "
            f"ceil({s.batches_per_epoch} / {s.num_processes}) = {s.batches_per_process} batches per epoch")


def cuda_gpu_count() -> int | None:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else None


def torchrun_args(processes: int, log_dir: Path, train_args: list[str]) -> list[str]:
    """torchrun's command line for the launch: standalone (one machine, a free port), each rank's logs under
    ``log_dir``. Which ranks log there is set in launch_config, not by ``--redirects``: torch's parser of
    that option takes one-digit ranks only (``1:3,...,10:3`` is refused)."""
    return ["--standalone", "--nproc_per_node", str(processes), "--log-dir", str(log_dir),
            "--signals-to-handle", AGENT_SIGNALS, "-m", "loratui", "train", *train_args]


def launch_config(processes: int, log_dir: Path, train_args: list[str]):
    """torchrun's (LaunchConfig, entrypoint, args) for the launch: what torchrun's run() does for
    --standalone (a rendezvous on this machine, on a port the OS picks), and ranks 1.. with their stdout
    and stderr in ``log_dir`` (rank 0 keeps the terminal: its progress bar, its lines), for any N."""
    from torch.distributed.elastic.multiprocessing import DefaultLogsSpecs, Std
    from torch.distributed.run import config_from_args, parse_args

    options = parse_args(torchrun_args(processes, log_dir, train_args))
    options.rdzv_backend, options.rdzv_endpoint, options.rdzv_id = "c10d", "localhost:0", str(uuid.uuid4())
    config, entrypoint, args = config_from_args(options)
    quiet = {rank: Std.ALL for rank in range(1, processes)}
    config.logs_specs = DefaultLogsSpecs(log_dir=str(log_dir), redirects=quiet)
    return config, entrypoint, args


def cpu_processes_warning(processes: int, *, cuda_gpus: int | None, cpus: int | None) -> str | None:
    """A CPU launch of more processes than the machine has cores runs (gloo takes any number), slowly: said
    once, not refused."""
    if cuda_gpus is not None or not cpus or processes <= cpus:
        return None
    return (f"warning: --processes {processes} on a CPU with {cpus} core(s): each process trains slower than "
            f"one would alone; give at most --processes {cpus}")


def rank_log(log_dir: Path, rank: int) -> Path | None:
    """Where torchrun put rank ``rank``'s stderr (LOG_DIR/<run id>_<random>/attempt_0/RANK/stderr.log)."""
    found = sorted(log_dir.glob(f"*/attempt_*/{rank}/stderr.log"))
    return found[-1] if found else None


class SignalRelay:
    """SIGINT / SIGTERM / SIGHUP to the launcher, carried to every rank by a thread that looks every FORWARD_EVERY_S
    (see the module docstring); a rank that starts after the signal gets it too."""

    def __init__(self):
        self.received: list[int] = []
        self.sent: dict[int, int] = {}  # pid -> signals sent to it
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._previous: dict[int, object] = {}

    def __enter__(self) -> SignalRelay:
        for sig in RELAYED_SIGNALS:
            self._previous[sig] = signal.getsignal(sig)
            signal.signal(sig, self._on_signal)
        threading.Thread(target=self._keep_forwarding, name="loratui-signal-relay", daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _on_signal(self, signum, frame) -> None:
        if signum == signal.SIGHUP and self.received:
            return  # the hangup's second copy (kernel and shell), or one after a stop: no stop without saving
        if signum == signal.SIGTERM and self.received[:1] == [signal.SIGHUP]:
            return  # logout's SIGTERM after the hangup (logind, a supervisor): the same stop, not a second one
        self.received.append(signum)  # the thread carries it (a handler taking the lock could meet itself)

    def forward(self) -> None:
        if not self.received:
            return
        with self._lock:
            for pid in _children():
                want = min(len(self.received), 3)  # the third on: SIGKILL
                while self.sent.get(pid, 0) < want:
                    count = self.sent.get(pid, 0) + 1
                    # a stop goes on as SIGINT: a SIGTERM a rank gets is the agent's (run_peers.on_launcher_close)
                    sig = signal.SIGKILL if count >= 3 else signal.SIGINT
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, sig)
                    self.sent[pid] = count

    def _keep_forwarding(self) -> None:
        while not self._done.wait(FORWARD_EVERY_S):
            self.forward()


def _children() -> list[int]:
    """The launcher's child processes: the ranks (the agent runs in this process, the store in a thread)."""
    import psutil  # accelerate's dependency

    try:
        return [child.pid for child in psutil.Process().children()]
    except psutil.Error:
        return []


@contextlib.contextmanager
def _agent_quiet():
    """torchrun's agent logs its configuration, its workers' exit codes and a traceback-like summary:
    the launcher says the outcome in one line instead."""
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
               if name.startswith("torch.distributed")]
    levels = [(log, log.level) for log in loggers]
    for log in loggers:
        log.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for log, level in levels:
            log.setLevel(level)


# exit codes of a rank that was stopped (by the agent closing the launch, or a relayed stop), not failing itself
STOPPED_CODES = (130, 143, -signal.SIGINT, -signal.SIGTERM)


def failure_line(failures: dict, processes: int, log_dir: Path, last_error: dict | None) -> str:
    """The one line a launch with failed ranks ends with: the rank that failed first, as far as can be told
    (the one rank 0's error event names; else a rank that failed itself, by its exit code, before one
    killed (SIGKILL also ends a rank the agent found slow to stop), before one stopped; the lowest rank
    of those), why, and its log."""
    codes = {rank: getattr(f, "exitcode", 1) for rank, f in failures.items()}
    named = _rank_named(last_error, processes)
    own = [r for r, c in sorted(codes.items()) if c > 0 and c not in STOPPED_CODES]
    killed = [r for r, c in sorted(codes.items()) if c < 0 and c not in STOPPED_CODES]
    rank = named if named is not None else (own + killed + sorted(codes) + [0])[0]
    code = codes.get(rank)
    what = ("failed" if code is None else f"exited with code {code}" if code >= 0 else
            f"was killed by {signal_name(-code)}" + (" (the OOM killer, or `kill -9`)" if -code == signal.SIGKILL else ""))
    if last_error and (named == rank or (rank == 0 and named is None)):
        what += ": " + re.sub(rf"^process {rank} ", "", _first_line(last_error.get("message", "")))
    log = rank_log(log_dir, rank) if rank else None
    where = f"its log: {log}" if log else "its lines above, and the run's events file"
    return f"process {rank} of {processes} {what}; the launch stopped ({where})"


def _rank_named(error: dict | None, processes: int) -> int | None:
    """The process rank 0's ``error`` event (kind "process", engine/run_peers.py) says failed."""
    if not error or error.get("kind") != "process":
        return None
    found = re.match(r"process (\d+) ", str(error.get("message", "")))
    rank = int(found.group(1)) if found else None
    return rank if rank is not None and 0 <= rank < processes else None


def _first_line(text: str) -> str:
    from loratui.core.crashlog import one_line

    return one_line(text)


def last_event(events_file: Path, kind: str, since: float) -> dict | None:
    """The last ``kind`` event rank 0 wrote to ``events_file`` since ``since`` (its word on how the run ended)."""
    from loratui.core.events import read_events

    try:
        if events_file.stat().st_mtime < since - 1:
            return None
        found = [e for e in read_events(events_file) if e.get("event") == kind]
    except (OSError, ValueError):
        return None
    return found[-1] if found else None


def stopped_line(received: list[int], processes: int, finished: dict | None) -> str:
    """The one line a launch stopped by SIGINT / SIGTERM / SIGHUP ends with (what rank 0 saved, from its finished event)."""
    output = (finished or {}).get("output")
    saved = f"the LoRA saved at step {finished.get('step')}: {output}" if output else "nothing saved"
    how = "at once" if len(received) > 1 else "after their step"
    return f"interrupted ({signal_name(received[0])}): all {processes} processes stopped {how}; {saved}"


def stopped_code(received: list[int], finished: dict | None) -> int:
    """The exit code of a launch stopped by ``received`` signals: 0 when rank 0's ``finished`` event names
    the LoRA the stop saved (as `loratui train` alone exits: `train && upload` goes on with it), else
    128 + the first signal (130 SIGINT, 143 SIGTERM, 129 SIGHUP: nothing saved)."""
    finished = finished or {}
    saved = finished.get("output") and finished.get("reason") in ("stopped", "completed")
    return 0 if saved else 128 + received[0]


def launch(processes: int, train_args: list[str], *, events_file: Path) -> int:
    """Run ``loratui train TRAIN_ARGS`` as ``processes`` ranks; returns the exit code (0: every rank ended
    well, or a stop saved the LoRA; 1: a rank failed, said in one line on stderr; 130 / 143 / 129: stopped
    by SIGINT / SIGTERM / SIGHUP before anything was saved)."""
    from torch.distributed.elastic.multiprocessing.api import SignalException

    from loratui.engine.run_events import tell

    started = time.time()
    log_dir = launch_log_dir(f"train-launch-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    try:
        received, failures = _run_agent(processes, train_args, log_dir)
    except SignalException as exc:  # SIGQUIT: the agent stopped the ranks itself, unsaved
        signum = int(exc.sigval)
        tell(f"stopped by {signal_name(signum)}: all {processes} processes were stopped, without saving")
        return 128 + signum
    except BaseException:
        shutil.rmtree(log_dir, ignore_errors=True)  # the agent itself failed (said by the CLI): no rank logged
        raise
    finished = last_event(events_file, "finished", started) if received else None
    # a stop whose save failed (a full disk) ends as that failure does, exit 1, as one process's does
    if received and not (failures and (finished or {}).get("reason") == "error"):
        tell(stopped_line(received, processes, finished))  # the terminal may be gone (SIGHUP): tell never raises
        _remove_logs(log_dir, failures)
        return stopped_code(received, finished)
    if failures:
        line = failure_line(failures, processes, log_dir, last_event(events_file, "error", started))
        tell(f"error: {line}")
        return 1
    _remove_logs(log_dir, failures)
    return 0


def launch_log_dir(name: str) -> Path:
    """A new folder for the ranks' logs of this launch: CRASH_DIR/NAME, else (a cache folder that cannot be
    written: a read-only home) a new folder of the temp dir; the logs are kept only when the launch fails
    (its line names them), so any writable place does. Neither: a LoratuiError naming the folder."""
    from loratui.core.crashlog import crash_log_dir
    from loratui.core.errors import LoratuiError

    wanted = crash_log_dir() / name
    try:
        wanted.mkdir(parents=True)
        return wanted
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
    try:
        return Path(tempfile.mkdtemp(prefix=f"loratui-{name}-"))
    except OSError:
        raise LoratuiError(f"cannot make the processes' log folder {wanted} ({why}), nor one in "
                           f"{tempfile.gettempdir()}: set XDG_CACHE_HOME to a writable folder") from None


def _run_agent(processes: int, train_args: list[str], log_dir: Path) -> tuple[list[int], dict]:
    """torchrun's agent in this process until every rank has ended: (the signals relayed, the failed
    ranks' ProcessFailure by rank)."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import elastic_launch

    env = {"TORCHELASTIC_SIGNALS_TO_HANDLE": AGENT_SIGNALS, LAUNCHED_RANKS_ENV: "1"}
    if "OMP_NUM_THREADS" not in os.environ:  # torchrun would set 1 (and say so); a CPU run wants its share
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // processes))
    with _environ(env), _agent_quiet():
        config, entrypoint, args = launch_config(processes, log_dir, train_args)
        with SignalRelay() as relay:
            try:
                elastic_launch(config, entrypoint)(*args)
            except ChildFailedError as exc:
                return relay.received, dict(exc.failures)
        return relay.received, {}


def _remove_logs(log_dir: Path, failures: dict) -> None:
    """The ranks' logs of a launch that ended well (or was stopped) say nothing worth keeping."""
    if all(getattr(f, "exitcode", 1) in (0, *STOPPED_CODES) for f in failures.values()):
        shutil.rmtree(log_dir, ignore_errors=True)


@contextlib.contextmanager
def _environ(values: dict[str, str]):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
