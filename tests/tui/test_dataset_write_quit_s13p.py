"""A long tag write in the app (s13 hunt h14: 15-25 s for 20,000 captions) says how far it is, and ctrl+q
during it asks, then waits for it with that count on screen (it gave a blank terminal for 6 s, then quit
with every caption written)."""

from __future__ import annotations

import threading

from test_dataset_screen import run, until

from loratui.core.captions import AddTags
from loratui.core.errors import LoratuiError
from loratui.tui.screens import dataset_write_progress
from loratui.tui.screens.config_dialogs import ChoiceDialog


def _slow_write(app, release: threading.Event, fail: bool = False):
    """apply_entry held until ``release``, having told 2 of its captions written."""
    original = app.store.apply_entry

    def slow(plan, description=""):
        app.store.write_progress(2, len(plan.edits))
        release.wait(10)
        if fail:
            raise LoratuiError("a01.txt: cannot write (No space left on device); nothing was written")
        return original(plan, description)

    app.store.apply_entry = slow


async def _start_bulk_add(app, pilot):
    screen = app.screen
    screen.run_bulk_op(AddTags(["zzz"]), "add a tag", (list(app.store.rows), "all"))
    await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen")
    await pilot.press("enter")
    return screen


def status(screen) -> str:
    return str(screen.query_one("#status").render())


def test_the_status_line_counts_the_captions_written(tmp_path, monkeypatch):
    monkeypatch.setattr(dataset_write_progress, "PROGRESS_EVERY_S", 0.05)

    async def scenario(app, pilot, img):
        release = threading.Event()
        _slow_write(app, release)
        screen = await _start_bulk_add(app, pilot)
        await until(pilot, lambda: status(screen).startswith("writing 2 of 6 caption(s)…"))
        release.set()
        await until(pilot, lambda: "writing" not in status(screen))
        assert screen.write_progress is None and screen._progress_timer is None

    run(tmp_path, scenario)


def test_ctrl_q_during_a_write_asks_then_quits_when_it_has_finished(tmp_path, monkeypatch):
    monkeypatch.setattr(dataset_write_progress, "PROGRESS_EVERY_S", 0.05)

    async def scenario(app, pilot, img):
        release = threading.Event()
        _slow_write(app, release)
        screen = await _start_bulk_add(app, pilot)
        await until(pilot, lambda: screen.write_progress is not None)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        dialog = app.screen
        assert "A tag write is at 2 of 6 caption(s): quitting waits for it to finish" in dialog.body
        assert dialog.choices == [("q", "quit when it has finished")]
        await pilot.press("q")
        await until(pilot, lambda: status(screen).startswith(
            "finishing the write of 6 caption(s) (2 done), then quitting…"))
        assert app.is_running  # never a blank screen: the app shows the write until it ends
        await pilot.press("ctrl+q")  # again: no second question, it says what it waits for
        await pilot.pause()
        assert not isinstance(app.screen, ChoiceDialog)
        release.set()
        await until(pilot, lambda: not app.is_running)
        assert (img / "10_alice" / "a01.txt").read_text().rstrip().endswith(", zzz")

    run(tmp_path, scenario)


def test_a_write_that_fails_while_quit_waits_keeps_the_app_open_with_its_error(tmp_path):
    async def scenario(app, pilot, img):
        release = threading.Event()
        _slow_write(app, release, fail=True)
        screen = await _start_bulk_add(app, pilot)
        await until(pilot, lambda: screen.write_progress is not None)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("q")
        release.set()
        await until(pilot, lambda: not screen.writing)
        await pilot.pause(0.3)
        assert app.is_running
        messages = [n.message for n in app._notifications]
        assert any("No space left on device" in m for m in messages)
        assert any(m.startswith("not quitting: the write did not finish") for m in messages)

    run(tmp_path, scenario)
