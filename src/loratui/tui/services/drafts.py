"""Drafts of unsaved typing, and what the app does on SIGHUP / SIGTERM (a dropped SSH link, a kill).

A screen that holds text the user typed and did not save registers a *draft source* with the
app's ``DraftKeeper`` (``app.drafts``)::

    app.drafts.register("settings", path=lambda: draft_path(config), snapshot=form_draft_text)
    app.drafts.changed("settings")   # after each edit: written at most every DEBOUNCE_S
    app.drafts.discard("settings")   # saved, or the user threw it away: the draft file goes

``snapshot()`` returns the text to keep (the source chooses the format) or None when nothing is
unsaved; ``path()`` says where the draft goes now (None: nowhere). Writes are atomic (core.drafts)
and run in a thread; a generation number per source keeps a slow older write from landing after a
newer one or after a discard. The keeper only ever deletes a draft file it wrote itself, or on
``discard``: a draft left by an earlier session stays until its screen offers it back. ``path()``
names this app's own file (core.drafts ``draft_path``: tagged with the pid), so two apps on one
project never write or delete each other's drafts.

``install_signal_handlers`` (called by the app when it runs for real, not under tests) makes SIGHUP
and SIGTERM write every source's draft at once, synchronously, then leave the app cleanly; after
SIGHUP the terminal is gone, so its file descriptors are pointed at /dev/null first (nothing is
drawn on it, and a write to the hung-up terminal cannot fail or block). A tag write running in the
Dataset screen is finished first, the terminal given back meanwhile (tui.app_quit ``exit_for_signal``).
A watchdog ends the process if the clean exit stalls: EXIT_GRACE_S after the signal, or after that
write has ended (never part-way through it while the app's loop answers). Training runs are their own
sessions (services.runs): they never get these signals from here and go on.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEBOUNCE_S = 2.0     # a draft is written at most this often while the user types
EXIT_GRACE_S = 5.0   # after SIGHUP/SIGTERM and the drafts (or a tag write), the clean exit gets this long


@dataclass
class DraftSource:
    name: str
    path: Callable[[], Path | None]
    snapshot: Callable[[], str | None]
    generation: int = 0          # of the latest snapshot taken
    landed: int = 0              # of the latest write or discard done on disk
    written: Path | None = None  # the draft file this source last wrote (this session)
    timer: Any = None
    failed: bool = False         # the last write failed (said once, not every 2 s)
    safe: str = ""               # how the user keeps the text another way, said when a draft cannot be kept


class DraftKeeper:
    """The app's draft sources (see the module doc)."""

    def __init__(self, app) -> None:
        self.app = app
        self.sources: dict[str, DraftSource] = {}
        # one write at a time: a signal's write waits for a thread's; reentrant, as a signal can land on
        # the main thread while it holds the lock (a discard), and must not wait for itself
        self._lock = threading.RLock()

    def register(self, name: str, *, path: Callable[[], Path | None], snapshot: Callable[[], str | None],
                 safe: str = "") -> None:
        """``safe``: how to keep the text another way ("ctrl+s saves it"), said if no draft can be kept."""
        self.unregister(name)
        self.sources[name] = DraftSource(name, path, snapshot, safe=safe)

    def unregister(self, name: str) -> None:
        """Stop keeping ``name``'s drafts (its file stays: an unsaved edit is still unsaved)."""
        source = self.sources.pop(name, None)
        if source is not None:
            self._stop_timer(source)

    def changed(self, name: str) -> None:
        """``name`` holds new unsaved text: its draft is written within DEBOUNCE_S (once per period)."""
        source = self.sources.get(name)
        if source is None or source.timer is not None:
            return
        source.timer = self.app.set_timer(DEBOUNCE_S, lambda: self._due(source), name=f"draft {name}")

    def _due(self, source: DraftSource) -> None:
        source.timer = None
        if self.sources.get(source.name) is not source:
            return
        try:
            job = self._take(source)
        except Exception as exc:  # noqa: BLE001 - a draft must never take the app down
            self._landed(source, exc)
            return
        if job is None:
            return
        if job[3] is None:
            with self._lock:  # nothing unsaved and nothing of ours on disk: no thread needed
                if source.written is None:
                    source.landed = max(source.landed, job[1])  # a slower older write now skips
                    return
        from loratui.tui.services.work import run_in_thread

        run_in_thread(self.app, self._land, *job, done=lambda _: self._landed(source, None),
                      failed=lambda exc: self._landed(source, exc), what=f"keeping a draft of {source.name}",
                      group="drafts")

    def _landed(self, source: DraftSource, exc: BaseException | None) -> None:
        if exc is None:
            source.failed = False
            return
        if not source.failed:
            from loratui.tui.services.work import failure_line

            line, _ = failure_line(f"could not keep a draft of the unsaved {source.name} changes", exc)
            keep = f"; {source.safe}" if source.safe else ""
            self.app.notify(f"{line}: if the link drops now, what you typed is lost{keep}", severity="warning",
                            timeout=15)
        source.failed = True

    def _take(self, source: DraftSource) -> tuple | None:
        """(source, generation, path, text) from the UI thread: the source's state now."""
        source.generation += 1
        try:
            path = source.path()
        except Exception:  # noqa: BLE001 - a source that cannot say where keeps no draft this time
            return None
        text = source.snapshot()
        return source, source.generation, path, text

    def _land(self, source: DraftSource, generation: int, path: Path | None, text: str | None) -> None:
        """Write (or remove) the draft on disk, unless something newer landed meanwhile."""
        from loratui.core.drafts import remove_draft, write_draft

        with self._lock:
            if generation < source.landed:
                return
            old = source.written
            if text is not None and path is not None:
                write_draft(path, text)
                source.written = path
            else:
                source.written = None
            if old is not None and old != source.written:
                remove_draft(old)  # nothing unsaved now, or the draft moved (saved under a new name)
            source.landed = generation

    def write_now(self, name: str | None = None) -> list[str]:
        """Write the drafts of ``name`` (or of every source) now, on this thread; the problems, as lines.
        What a signal does: nothing may wait for a timer or a worker then."""
        from loratui.tui.services.work import failure_line

        problems = []
        sources = list(self.sources.values()) if name is None else [self.sources[name]] if name in self.sources else []
        for source in sources:
            self._stop_timer(source)
            try:
                job = self._take(source)
                if job is not None:
                    self._land(*job)
            except Exception as exc:  # noqa: BLE001 - every source gets its turn
                problems.append(failure_line(f"draft of {source.name}", exc)[0])
        return problems

    def discard(self, name: str) -> None:
        """The unsaved text of ``name`` was saved or thrown away: its draft file goes now."""
        from loratui.core.drafts import remove_draft

        source = self.sources.get(name)
        if source is None:
            return
        self._stop_timer(source)
        source.generation += 1
        try:
            path = source.path()
        except Exception:  # noqa: BLE001
            path = None
        with self._lock:
            for old in {source.written, path} - {None}:
                try:
                    remove_draft(old)
                except OSError as exc:
                    self.app.notify(f"{old}: could not delete this draft ({exc.strerror or exc})", severity="warning")
            source.written = None
            source.landed = source.generation

    def written_path(self, name: str) -> Path | None:
        """The draft file ``name`` holds on disk now (None: none), e.g. to tell it from files gathered
        from ended sessions that are to go once it holds their content."""
        source = self.sources.get(name)
        with self._lock:
            return source.written if source is not None else None

    def forget_written(self, name: str) -> None:
        """The draft file ``name`` last wrote now belongs to someone else (a draft the user put off
        deciding about): it is never deleted for going out of date."""
        source = self.sources.get(name)
        if source is not None:
            self._stop_timer(source)
            source.generation += 1
            with self._lock:
                source.written = None
                source.landed = source.generation

    def _stop_timer(self, source: DraftSource) -> None:
        if source.timer is not None:
            source.timer.stop()
            source.timer = None


def install_signal_handlers(app) -> Callable[[], None]:
    """SIGHUP and SIGTERM write every draft, then end the app cleanly (see the module doc). A signal
    the process was started to ignore (nohup) stays ignored. Returns a function that puts the
    previous handlers back. Must run on the main thread while the app's loop runs."""
    import asyncio

    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {}
    state = {"signal": None}

    def on_signal(signum: int, _frame) -> None:
        if state["signal"] is not None:  # a second one: the clean exit is stuck, go now
            os._exit(128 + signum)
        state["signal"] = signum
        end_app(app, signum, loop)

    for signum in (getattr(signal, "SIGHUP", None), signal.SIGTERM):  # no SIGHUP on Windows
        if signum is None:
            continue
        old = signal.getsignal(signum)
        if old == signal.SIG_IGN:
            continue
        previous[signum] = old
        signal.signal(signum, on_signal)

    def restore() -> None:
        for signum, old in previous.items():
            signal.signal(signum, old if old is not None else signal.SIG_DFL)

    return restore


def end_app(app, signum: int, loop=None) -> None:
    """End the app as ``signum`` asks: every draft written first, the terminal let go after a hang-up
    (SIGHUP: nothing may be drawn on it), then a clean exit with 128 + signum (once a tag write running
    has ended: the app's ``exit_for_signal``), or os._exit after EXIT_GRACE_S if that stalls. From a
    signal handler, or from the loop (``loop`` None) when the terminal is found gone without a SIGHUP
    (services.terminal_watch)."""
    import asyncio

    loop = loop or asyncio.get_running_loop()
    app.exit_signal = signum
    watchdog = threading.Thread(target=_watchdog, args=(app, 128 + signum), daemon=True,
                                name="loratui exit watchdog")
    watchdog.start()  # first: nothing below may hang it
    problems = app.drafts.write_now()
    if problems:
        _log_problems(problems)
    if signum == getattr(signal, "SIGHUP", None):
        _detach_terminal()
    exit_for_signal = getattr(app, "exit_for_signal", None)
    if exit_for_signal is not None:
        loop.call_soon_threadsafe(exit_for_signal, 128 + signum)
    else:
        loop.call_soon_threadsafe(app.exit, None, 128 + signum)


def _watchdog(app, code: int) -> None:
    """os._exit(code) once the clean exit has had EXIT_GRACE_S: from the signal, or from the end of the tag
    write the app finishes first (``signal_exit_held``: never while it runs and the app's loop answers)."""
    import time

    time.sleep(EXIT_GRACE_S)
    held = getattr(app, "signal_exit_held", None)
    if held is not None and held():
        while held():
            time.sleep(0.1)
        time.sleep(EXIT_GRACE_S)
    os._exit(code)


def _detach_terminal() -> None:
    """Point stdin, stdout and stderr at /dev/null: the hung-up terminal fails every write (EIO),
    and Textual's writer thread would die on the first one and leave the app blocked."""
    try:
        null = os.open(os.devnull, os.O_RDWR)
    except OSError:
        return
    for fd in (0, 1, 2):
        try:
            os.dup2(null, fd)
        except OSError:
            pass
    os.close(null)


def _log_problems(problems: list[str]) -> None:
    """Drafts that could not be written as the app was ended: the terminal may be gone, so a log."""
    from loratui.core.crashlog import write_crash_log

    try:
        write_crash_log(RuntimeError("; ".join(problems)), kind="tui-drafts")
    except Exception:  # noqa: BLE001 - nothing more can be done on the way out
        pass
