"""Thread workers for slow file work, and the one place a failure becomes a notification.

Every worker the app starts for file I/O goes through ``run_in_thread``: the function runs in a
thread, its result is handed to ``done`` on the UI thread, and any exception ends up in
``report_failure`` (a LoratuiError is the user's problem, shown as its one line; anything else is a
bug, shown as one line with the traceback written to a log file). No widget is touched from a
thread and no worker can take the app down.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.dom import DOMNode
from textual.worker import Worker

from loratui.core.crashlog import write_crash_log
from loratui.core.errors import LoratuiError


def failure_line(what: str, exc: BaseException) -> tuple[str, bool]:
    """(one line for the user, whether it is an internal error)."""
    prefix = f"{what}: " if what else ""
    if isinstance(exc, LoratuiError):
        return prefix + str(exc), False
    if isinstance(exc, OSError):
        name = f"{exc.filename}: " if exc.filename else ""
        return f"{prefix}{name}{exc.strerror or exc}", False
    log = write_crash_log(exc, kind="tui-crash")
    where = f" (details in {log})" if log else ""
    return f"{prefix}internal error: {type(exc).__name__}: {exc}{where}", True


def report_failure(app: App, what: str, exc: BaseException) -> None:
    line, internal = failure_line(what, exc)
    app.notify(line, severity="error", timeout=10 if internal else 6)


def run_in_thread(node: DOMNode, fn: Callable[..., Any], *args: Any, done: Callable[[Any], None] | None = None,
                  what: str = "", group: str = "default", exclusive: bool = False,
                  failed: Callable[[BaseException], None] | None = None) -> Worker:
    """Run ``fn(*args)`` in a thread worker owned by ``node``; ``done(result)`` runs on the UI thread.

    ``failed(exc)`` (UI thread) replaces the default notification when given. Long-lived work must
    be started from the App (a screen's workers end with the screen).
    """
    app = node.app

    def deliver(callback: Callable[..., None], value: Any) -> None:
        try:
            app.call_from_thread(callback, value)
        except RuntimeError:
            pass  # the app is shutting down: nobody to tell

    def job() -> None:
        try:
            result = fn(*args)
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none escapes
            deliver(failed or (lambda e: report_failure(app, what, e)), exc)
            return
        if done is not None and not worker.is_cancelled:
            deliver(done, result)

    worker = node.run_worker(job, name=what or getattr(fn, "__name__", "work"), group=group,
                             exclusive=exclusive, thread=True, exit_on_error=False)
    return worker
