"""One caption write at a time on the Dataset screen (screens/dataset_write_gate.py).

Scale hunt: ctrl+z pressed a second into a bulk add of 5,000 captions "undid" the 1,584 written so
far, then the write went on: 3,416 captions kept the tag and the undo history was gone. And the
write's own files, echoed by the watcher, were re-read and re-checked on the UI thread (16 s of 20).
"""

from __future__ import annotations

import threading

import loratui.core.captions.journal as journal
from loratui.core.captions import AddTags, history
from tests.tui.test_dataset_screen import caption, run, until


def notes(app) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


def slow_writes(monkeypatch):
    """Core's caption writes wait for ``release`` (the first one says it started): a write in progress."""
    real = journal.atomic_write_bytes
    started, release = threading.Event(), threading.Event()

    def write(path, data, **kw):
        started.set()
        release.wait(10)
        return real(path, data, **kw)

    monkeypatch.setattr(journal, "atomic_write_bytes", write)
    return started, release


async def start_bulk_add(app, pilot, tag: str, rows=None) -> None:
    rows = list(app.store.rows) if rows is None else rows
    app.screen.run_bulk_op(AddTags([tag]), "add a tag", (rows, f"{len(rows)} images"))
    await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen")
    await pilot.press("enter")


def test_ctrl_z_and_other_writes_during_a_bulk_write_are_refused_and_the_history_kept(tmp_path, monkeypatch):
    async def scenario(app, pilot, img):
        screen = app.screen
        started, release = slow_writes(monkeypatch)
        await start_bulk_add(app, pilot, "bulktag")
        await until(pilot, started.is_set)
        await pilot.press("ctrl+z")
        await until(pilot, lambda: "still writing 6 caption(s): try again when it has finished" in notes(app))
        await pilot.press("plus")  # a second bulk operation: refused before its form opens
        await pilot.pause()
        assert app.screen is screen and notes(app).count("still writing") == 2
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert notes(app).count("still writing") == 3
        release.set()
        await until(pilot, lambda: "wrote 6 caption(s)" in notes(app))
        assert "undid" not in notes(app)
        assert all("bulktag" in caption(img, rel) for rel in ("10_alice/a01.png", "10_alice/a04.png", "5_bob/b02.png"))
        assert [row[1] for row in history(img)] == ["add a tag (6 images)"]  # the history is whole
        monkeypatch.undo()
        await pilot.press("ctrl+z")  # now it undoes the whole write
        await until(pilot, lambda: "undid 'add a tag (6 images)': 6 caption(s)" in notes(app))
        assert "bulktag" not in caption(img, "10_alice/a01.png")
        assert not (img / "10_alice" / "a04.txt").exists()

    run(tmp_path, scenario)


def test_a_caption_saved_during_a_write_is_written_when_it_ends(tmp_path, monkeypatch):
    async def scenario(app, pilot, img):
        screen = app.screen
        started, release = slow_writes(monkeypatch)
        a01 = screen.current
        others = [row for row in app.store.rows if row is not a01]
        await start_bulk_add(app, pilot, "bulktag", others)  # the image being edited is not in the write
        await until(pilot, started.is_set)
        await pilot.press("e", "a", *"typed", "enter")
        await pilot.pause()
        assert "typed" not in caption(img, "10_alice/a01.png")  # waits: one write at a time
        assert "typed" in screen.waiting_tags(a01)
        release.set()
        await until(pilot, lambda: "typed" in caption(img, "10_alice/a01.png"))
        await until(pilot, lambda: a01.state == "saved" and "typed" in a01.caption.tags)
        assert "bulktag" not in caption(img, "10_alice/a01.png") and "bulktag" in caption(img, "5_bob/b01.png")

    run(tmp_path, scenario)


def test_a_save_waiting_on_a_file_the_write_changed_is_a_conflict_not_an_overwrite(tmp_path, monkeypatch):
    async def scenario(app, pilot, img):
        screen = app.screen
        started, release = slow_writes(monkeypatch)
        a01 = screen.current
        await start_bulk_add(app, pilot, "bulktag")
        await until(pilot, started.is_set)
        await pilot.press("e", "a", *"typed", "enter")
        release.set()
        await until(pilot, lambda: a01.state == "conflict")
        assert "bulktag" in caption(img, "10_alice/a01.png") and "typed" not in caption(img, "10_alice/a01.png")
        await pilot.press("escape", "escape", "k")  # keep mine: the user's tags, written over the bulk add
        await until(pilot, lambda: "typed" in caption(img, "10_alice/a01.png"))

    run(tmp_path, scenario)


def test_the_writes_own_files_coming_back_are_not_read_on_the_ui_thread(tmp_path, monkeypatch):
    async def scenario(app, pilot, img):
        started, release = slow_writes(monkeypatch)
        ui = threading.current_thread()
        reads_on_ui = []
        real_reread = app.store.reread

        def reread(paths):
            if threading.current_thread() is ui:
                reads_on_ui.extend(paths)
            return real_reread(paths)

        monkeypatch.setattr(app.store, "reread", reread)
        await start_bulk_add(app, pilot, "bulktag")
        await until(pilot, started.is_set)
        # changed outside meanwhile: its write will be left out (a conflict), the change must still show
        (img / "5_bob" / "b02.txt").write_text("edited outside\n", encoding="utf-8")
        app._captions_changed([row.caption_file for row in app.store.rows])  # what the watcher delivers
        await pilot.pause()
        release.set()
        b02 = next(row for row in app.store.rows if row.name == "b02.png")
        await until(pilot, lambda: b02.caption.first_line == "edited outside")
        await until(pilot, lambda: "bulktag" in next(r for r in app.store.rows if r.name == "a01.png").caption.tags)
        # the echoes once more, after the write: the same bytes as the table holds, nothing to adopt
        app._captions_changed([row.caption_file for row in app.store.rows])
        await pilot.pause(0.3)
        assert reads_on_ui == []
        assert caption(img, "5_bob/b02.png") == "edited outside\n"

    run(tmp_path, scenario)
