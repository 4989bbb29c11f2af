"""How the App's run service follows one run, in its thread worker: read the events file 4 MiB at a time,
tell the run's status (starting, live, ending, finished, stopped, refused, crashed), notice an output folder
deleted under a live run and the file made again, a start lost to another process's lock, and post
``RunUpdated`` snapshots and ``RunNotice`` lines. ``RunFollowing`` is mixed into ``RunService``
(services/runs.py), which owns the followed runs, the timings (POST_INTERVAL, POLL_INTERVAL, LIVE_REFRESH,
EARLIER_REFRESH, MISSING_FOR) and ``_post``. Nothing here imports torch.
"""

from __future__ import annotations

import time

from loratui.core.events import EventFollower, pid_alive
from loratui.core.run_states import newest_state
from loratui.core.runs import describe_event, log_pointer
from loratui.tui.services.followed_run import FollowedRun, RunNotice, RunUpdated, refusal_line
from loratui.tui.services.run_endings import ended_words, resume_words

CHUNK_BYTES = 4 * 1024 * 1024
NOTABLE = {"error": "error", "warning": "warning", "finished": "information", "control": "information",
           "checkpoint_saved": "information", "sample_saved": "information"}


def session_stepped(record, pid: int | None) -> bool:
    """The process ``pid`` wrote the latest run_started and a step since: its numbers are on show. Before
    that (a resume loading) the record's step, loss and ETA are the session before it."""
    started = record.started or {}
    if isinstance(started.get("pid"), int) and pid is not None and started["pid"] != pid:
        return False  # a resume launched after a crash: its run_started is not written yet
    step_time, began = (record.last_step or {}).get("time"), started.get("time")
    if not isinstance(step_time, (int, float)) or not isinstance(began, (int, float)):
        return record.last_step is not None and not isinstance(began, (int, float))  # an events file without times
    return step_time >= began


def launch_rank0(run, pid: int | None) -> int | None:
    """Rank 0's pid when ``pid`` is the launcher of this app's `train --processes N` (torchrun's agent, which
    outlives its ranks by seconds while it ends the others) and that rank 0 wrote the record's run_started:
    the process the record tells of is rank 0 (it holds the lock and writes the events), not ``pid``. None
    otherwise: one process, a run launched elsewhere (the lock's owner is rank 0 already), or a launch
    whose rank 0 has not written its run_started yet (the record is the session before it)."""
    process = run.process
    if pid is None or process is None or pid != process.pid or run.launched_at is None:
        return None
    started = run.record.started or {}
    rank0, launched = started.get("pid"), started.get("launched_at")
    if not isinstance(rank0, int) or rank0 == pid or not isinstance(launched, (int, float)):
        return None
    # rank 0 says the app's launch time (LORATUI_LAUNCHED_AT, to the ms); an older session's is earlier
    return rank0 if abs(launched - run.launched_at) < 0.5 else None


def process_running(pid: int) -> bool:
    """``pid`` runs and is not a zombie (an ended rank stays one until torchrun's agent reaps it)."""
    if not pid_alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True  # no /proc to tell: pid_alive's answer


def session_pid(run, pid: int | None) -> int | None:
    """The pid whose session the record shows: rank 0 of this app's `--processes N` launch while it runs
    (its lock gone with a deleted folder leaves ``alive()`` the launcher's pid), else ``pid``. Once rank 0
    wrote `finished` or ended, the launcher's: ``_status`` tells it "ending"."""
    rank0 = launch_rank0(run, pid)
    if rank0 is not None and run.record.finished is None and process_running(rank0):
        return rank0
    return pid


class RunFollowing:
    """The follow loop of RunService (see the module docstring)."""

    POST_INTERVAL: float
    POLL_INTERVAL: float
    LIVE_REFRESH: float
    EARLIER_REFRESH: float
    MISSING_FOR: float

    def _post(self, message_factory) -> None:  # RunService's
        raise NotImplementedError

    def _follow_safely(self, run: FollowedRun) -> None:
        try:
            self._follow(run)
        except Exception as exc:  # noqa: BLE001 - told as one line (a bug: with a crash log); the run goes on
            from loratui.tui.services.work import failure_line

            line, _ = failure_line(f"following {run.name}", exc)
            self._post(lambda: RunNotice(run.key, line, "error", None))

    def _watch_earlier(self, run: FollowedRun, worker) -> None:
        """While an earlier run is followed, look every few seconds for its saves again: a later run of
        the name moves them into NAME-kept-<time>/ or writes over its final (then shown "gone")."""
        shown = run.snapshot(None).checkpoints
        while not run.stopping.wait(self.EARLIER_REFRESH) and not worker.is_cancelled:
            snapshot = run.snapshot(None)
            if snapshot.checkpoints != shown:
                shown = snapshot.checkpoints
                self._post(lambda snapshot=snapshot: RunUpdated(snapshot))

    def _follow(self, run: FollowedRun) -> None:
        from textual.worker import get_current_worker

        worker = get_current_worker()  # cancelled when the app closes: the thread must end then
        follower = EventFollower(run.key)
        last_post = last_check = last_disk = 0.0
        pid, dirty, restarts, posted_pid, shown_gone = None, True, 0, None, frozenset()
        while not run.stopping.is_set() and not worker.is_cancelled:
            now = time.monotonic()
            skip, generation = run.take_skip()  # a reset after this drops the lines read now
            if skip is not None:  # a new run was started on this file (follow(fresh=...) reset the run)
                follower.skip_past(skip)
                restarts, dirty = follower.restarts, True
            if now - last_check >= 1.0 or run.status in ("starting", "live") and now - last_check >= 0.5:
                pid, last_check = run.alive(), now  # before reading: a run that ends has written `finished`
                if (run.process is not None and run.exit_code == 2 and pid not in (None, run.process.pid)
                        and self._refused_by_the_lock(run)):
                    self._lost_the_start(run, pid)
                    dirty = True
            if (run.gone is not None or run.status in ("starting", "live")) and self._files_gone_or_back(run, follower):
                pid, dirty, generation = run.alive(), True, run.generation
            lines = follower.poll_lines(CHUNK_BYTES)
            if follower.restarts != restarts:  # the file was replaced: the run shown so far is the last one
                restarts = follower.restarts
                run.reset()
                generation = run.generation
            if lines:
                events = run.feed(lines, generation)
                dirty = True
                if run.caught_up and events:
                    self._notices(run, events)
            if follower.at_end and not run.caught_up:
                run.caught_up, dirty = True, True
            # the record's own process: rank 0 of a `--processes N` launch, not its launcher (session_pid)
            shown_pid = session_pid(run, pid)
            # a dead run's status waits for the whole file (its `finished` may be further on)
            status = self._status(run, shown_pid) if run.caught_up or pid is not None else run.status
            changed = status != run.status
            if changed:
                run.status, dirty = status, True
                if status == "crashed" and run.caught_up:
                    self._post(lambda: RunNotice(run.key, self._crash_line(run), "error", None))
                elif status == "stopped":
                    self._post(lambda: RunNotice(run.key, f"{run.name}: stopped before anything was saved",
                                                 "information", None))
                elif status == "refused":
                    why = refusal_line(run.log_file) or "see its log"
                    self._post(lambda: RunNotice(run.key, f"{run.name}: loratui train refused to start: {why}",
                                                 "error", None))
            # a live run is shown once a second even with no new event: its elapsed time and log go on
            stale = status in ("starting", "live") and now - last_post >= self.LIVE_REFRESH
            if shown_pid != posted_pid:  # a process that ended (or began) is shown so, even with no new event
                dirty, changed = True, True
            if (not run.earlier and run.caught_up and status not in ("starting", "live")
                    and now - last_disk >= self.EARLIER_REFRESH):  # a live run's snapshots stat them each second
                last_disk, gone = now, run.gone_checkpoints()
                if gone != shown_gone:  # a save deleted by hand: shown "gone" (posted once per change)
                    shown_gone, dirty = gone, True
            if dirty and (changed or now - last_post >= self.POST_INTERVAL) or stale:
                snapshot = run.snapshot(shown_pid)
                self._post(lambda: RunUpdated(snapshot))
                dirty, last_post, posted_pid = False, now, shown_pid
            if run.earlier and run.caught_up and not dirty:
                # an earlier run's file does not grow (read on, it would become the next one rotated in);
                # only where its saves are now can change
                self._watch_earlier(run, worker)
                return
            if follower.at_end:
                run.stopping.wait(self.POLL_INTERVAL if status in ("starting", "live") else 1.0)

    @staticmethod
    def _crash_line(run: FollowedRun) -> str:
        """The run ended without `finished`: how (a signal named, an exit code, or for a run launched
        elsewhere what its pid tells), where to read more when its log can say, and what resumes it."""
        started = run.record.started or {}
        pid = started.get("pid") if isinstance(started.get("pid"), int) else None
        how = ended_words(run.exit_code, pid)
        began = started.get("time")  # a run started in a shell has no NAME.log
        began = began if isinstance(began, (int, float)) else None
        if run.gone:
            more = f", after {run.gone[0].lower()}{run.gone[1:]}"
        elif run.exit_code is None or run.exit_code > 0:  # a signal leaves no line in the log
            more = f"; {log_pointer(run.output_dir, run.name, began)}"
        else:
            more = ""
        state = newest_state(run.output_dir, run.name) if not run.earlier else None
        return f"{run.name}: gone without finishing: {how}; {resume_words(state[2] if state else None, run.keys)}{more}"

    @staticmethod
    def _refused_by_the_lock(run: FollowedRun) -> bool:
        """This launch's own log section says another run held the lock (`train` exits 2 for any bad
        input: a refused resume must stay shown as refused, whatever starts later under the name)."""
        launched = run.launched_at
        lines = run.launch_log.section_of(launched, 200) if launched is not None else None
        return any(line.startswith("error: another run (pid") for line in lines or ())

    def _lost_the_start(self, run: FollowedRun, pid: int) -> None:
        """This app's launch was refused (exit 2) while another process holds the run's lock: two starts
        at once (another app, a shell) and the other won. Said once, as the user's start did not happen;
        from here the run followed is that one, launched elsewhere, read from its events file's start
        (the file this launch passed over may already have been the winner's)."""
        line = (f"your start was refused: another run (pid {pid}, started elsewhere) is writing {run.name}; "
                "following it")
        run.process = run.command = run.launched_at = run.exit_code = None
        run.reset(skip=(None, 0))
        run.caught_up = False  # its events are read again: no notices for those
        self._post(lambda: RunNotice(run.key, line, "warning", None))

    def _files_gone_or_back(self, run: FollowedRun, follower: EventFollower) -> bool:
        """The events file vanished under a live run (its output folder deleted): say why nothing more
        comes, and follow the process while its lock is gone too. The file back (the run made the
        folder again): read it from its start. True when either happened."""
        if run.gone is None:
            if run.key.exists():
                run.missing_since = None
                return False
            now = time.monotonic()
            run.missing_since = run.missing_since or now
            # the folder gone says it at once; the file alone, once missing a while (a new run rotating
            # it leaves no file for an instant)
            if run.output_dir.is_dir() and (not follower.offset or now - run.missing_since < self.MISSING_FOR):
                return False
            run.gone = run.gone_line()
            follower.skip_past((None, 0))  # a file made again is read from its start (its inode may be the old one's)
            line = f"{run.name}: {run.gone}; a live run makes it again at its next step or save"
            self._post(lambda: RunNotice(run.key, line, "error", None))
            return True
        if run.key.exists():
            run.files_back()  # a new record (a new generation): the file is read again from its start
            follower.skip_past((None, 0))
            return True
        return False

    @staticmethod
    def _status(run: FollowedRun, pid: int | None) -> str:
        record = run.record
        if pid is not None:
            if launch_rank0(run, pid) is not None:
                # this app's `--processes N` launcher outlives its rank 0, which wrote the record and let go of
                # the lock (it wrote `finished`, or died): the launch ends its other ranks, then exits
                return "ending"
            if record.finished is not None and pid == (record.started or {}).get("pid"):
                return "ending"  # it wrote `finished` and exits (not a resume that has not started yet)
            if record.started is None or record.finished is not None or not session_stepped(record, pid):
                return "starting"  # loading: what the record holds is the session before it (a resume)
            return "live"
        if run.ended_silent():  # this app's launch (a resume too) ended having written nothing
            if run.stopped_unsaved():  # stopped within its first seconds (exit 130 "aborted"): not a crash
                return "stopped"
            refused = run.exit_code == 2 or refusal_line(run.log_file) is not None
            return "refused" if refused else "crashed"
        if record.finished is not None:
            return "finished"
        # exit code 2 before any event: `loratui train` refused the config (its preflight), nothing ran
        return "refused" if record.started is None and run.exit_code == 2 else "crashed"

    def _notices(self, run: FollowedRun, events: list[dict]) -> None:
        for event in events:
            severity = NOTABLE.get(event["event"])
            if severity is None or (event["event"] == "checkpoint_saved" and event.get("kind") == "state"):
                continue
            if event["event"] == "finished" and event.get("reason") == "error" or \
                    event["event"] == "control" and event.get("status") == "refused":
                severity = "warning" if event["event"] == "control" else "error"
            line = f"{run.name}: {describe_event(event)}"
            self._post(lambda line=line, event=event, severity=severity: RunNotice(run.key, line, severity, event))
