"""After a caption or config write in the app: when a training run from the app's config is live, one note
that the run read them at start (once per live run, not at every edit). Which run is live, and what is said
of it, is core's (core/project/live.py, shared with the CLI's `dataset balance` and `tags`)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

if TYPE_CHECKING:
    from loratui.core.project import LiveRun

_told: WeakKeyDictionary = WeakKeyDictionary()  # app -> the keys of the live runs it told about


def first_time(app, run: LiveRun) -> bool:
    """Whether ``app`` has not yet told the edit note for ``run`` (and now counts it as told)."""
    told = _told.setdefault(app, set())
    if run.key in told:
        return False
    told.add(run.key)
    return True


def tell_once(node, folder: str | os.PathLike | None = None) -> None:
    """After a caption or config write in the app: when a run from the app's config is live (and trains
    from ``folder``, when given), a toast saying the run read them at start: once per live run, not at
    every edit. Looked up in a thread (the config is read); a failure stays silent (it is only a note)."""
    config = getattr(node.app, "config_path", None)
    if config is None:
        return
    from loratui.tui.services.work import run_in_thread

    def look() -> LiveRun | None:
        from loratui.core.project import live_run, live_run_on

        return live_run(config) if folder is None else live_run_on(config, folder)

    def found(run: LiveRun | None) -> None:
        if run is not None and first_time(node.app, run):
            node.app.notify(run.edit_note(), title="training goes on", timeout=10)

    run_in_thread(node, look, done=found, what="looking for a live run", failed=lambda exc: None)
