"""SIGTERM / SIGHUP while a tag write runs (s17): the app finishes the write, gives the terminal back at once
with one line on stderr saying what it waits for, then exits 128 + the signal; the exit watchdog never cuts
the write off while the app's loop answers; the change is whole and `loratui tags undo` takes it back.

Pilot tests of what services.drafts ``end_app`` schedules on the loop (``exit_for_signal``) and of its
watchdog; tests/tui/test_signal_during_write_pty_s17.py sends the real signal to the real app."""

from __future__ import annotations

import asyncio
import contextvars
import signal
import threading
import time
from types import SimpleNamespace

from fixtures.cli_run import run_main
from test_dataset_screen import run, until
from test_dataset_write_quit_s13p import _slow_write, _start_bulk_add

from loratui.core.termline import shell_path
from loratui.tui.services import drafts

TERM = 128 + signal.SIGTERM


def _signal(app, code: int = TERM) -> None:
    """What end_app does once the drafts are written: exit_for_signal on the loop, from a signal handler's
    callback (no Textual context: an empty one here)."""
    app.exit_signal = code - 128
    asyncio.get_running_loop().call_soon_threadsafe(app.exit_for_signal, code, context=contextvars.Context())


def _captions(img) -> dict[str, bytes]:
    return {p.relative_to(img).as_posix(): p.read_bytes() for p in sorted(img.rglob("*.txt"))}


def _leftovers(img) -> list[str]:
    """Temp files of the atomic writes and the journal's still-writing markers."""
    return sorted(p.name for p in img.rglob("*") if p.name.endswith(".tmp") or p.name.endswith(".writing"))


def test_a_signal_during_a_write_says_what_it_waits_for_then_exits_when_it_ends(tmp_path, capfd):
    seen = {}

    async def scenario(app, pilot, img):
        seen["before"] = _captions(img)
        release = threading.Event()
        _slow_write(app, release)
        screen = await _start_bulk_add(app, pilot)
        await until(pilot, lambda: screen.write_progress is not None)
        capfd.readouterr()
        _signal(app)
        await pilot.pause(0.5)
        line = (f"loratui: finishing the tag write (2 of 6 captions done) before exiting; "
                f"`loratui tags undo {shell_path(img.parent)}` takes it back\n")
        assert capfd.readouterr().err == line  # one plain line, said once
        assert app.is_running and screen.writing  # the write is never cut off part-way
        assert app.signal_exit_held()  # the exit watchdog waits for it
        release.set()
        await until(pilot, lambda: not app.is_running)

    app, img = run(tmp_path, scenario)
    assert app.return_code == TERM
    after = _captions(img)
    assert len(after) == 6 and all(text.rstrip().endswith(b"zzz") for text in after.values())  # all whole
    assert _leftovers(img) == []
    code, _, err = run_main(["tags", "undo", "--yes", img.parent], capfd)
    assert code == 0, err
    assert _captions(img) == {rel: text for rel, text in seen["before"].items()}  # the new a04.txt goes too


def test_the_exit_watchdog_waits_for_the_write_then_gives_the_exit_its_grace(tmp_path, monkeypatch):
    """The watchdog of end_app (run here with 0.3 s of grace and its os._exit recorded) does not fire while
    the write runs, however long, and fires one grace after it ended if the exit stalled."""
    monkeypatch.setattr(drafts, "EXIT_GRACE_S", 0.3)
    exits: list[tuple[int, float]] = []
    monkeypatch.setattr(drafts, "os", SimpleNamespace(_exit=lambda code: exits.append((code, time.monotonic()))))
    ended = {}

    async def scenario(app, pilot, img):
        release = threading.Event()
        _slow_write(app, release)
        screen = await _start_bulk_add(app, pilot)
        await until(pilot, lambda: screen.write_progress is not None)
        _signal(app)
        watchdog = threading.Thread(target=drafts._watchdog, args=(app, TERM), daemon=True)
        watchdog.start()
        await pilot.pause(1.5)  # five graces
        assert exits == [] and screen.writing
        release.set()
        await until(pilot, lambda: not screen.writing)
        ended["write"] = time.monotonic()
        await until(pilot, lambda: not app.is_running)
        ended["watchdog"] = watchdog

    app, _ = run(tmp_path, scenario)
    ended["watchdog"].join(5)
    assert [code for code, _ in exits] == [TERM]
    assert exits[0][1] - ended["write"] >= 0.3 - 0.15  # a grace after the write (polled every 0.1 s)


def test_a_write_that_fails_after_the_signal_is_said_on_stderr_and_the_app_still_exits(tmp_path, capfd):
    async def scenario(app, pilot, img):
        release = threading.Event()
        _slow_write(app, release, fail=True)
        screen = await _start_bulk_add(app, pilot)
        await until(pilot, lambda: screen.write_progress is not None)
        _signal(app, 128 + signal.SIGHUP)
        await pilot.pause(0.2)
        release.set()
        await until(pilot, lambda: not app.is_running)

    app, _ = run(tmp_path, scenario)
    assert app.return_code == 128 + signal.SIGHUP  # not kept open as after ctrl+q: nobody is there to see it
    err = capfd.readouterr().err
    assert err.startswith("loratui: finishing the tag write (2 of 6 captions done) before exiting;")
    failed = [line for line in err.splitlines()[1:] if "No space left on device" in line]
    assert len(failed) == 1 and failed[0].startswith("loratui: ")


def test_an_undo_running_at_the_signal_is_named_with_its_redo(tmp_path, capfd):
    async def scenario(app, pilot, img):
        screen = app.screen
        screen.writing, screen.progress_verb, screen.write_progress = "undoing…", "undoing", (3, 40)
        assert app.signal_wait_line(screen) == (
            "loratui: finishing the undo (3 of 40 captions done) before exiting; "
            f"`loratui tags redo {shell_path(img.parent)}` puts it back")
        screen.write_progress = None
        screen.progress_verb = "writing"
        assert "(no caption written yet)" in app.signal_wait_line(screen)
        screen.writing = None

    run(tmp_path, scenario)


def test_with_no_write_running_a_signal_exits_at_once_and_says_nothing(tmp_path, capfd):
    async def scenario(app, pilot, img):
        capfd.readouterr()
        _signal(app)
        await until(pilot, lambda: not app.is_running, timeout=2)
        assert not app.signal_exit_held()

    app, _ = run(tmp_path, scenario)
    assert app.return_code == TERM
    assert capfd.readouterr().err == ""
