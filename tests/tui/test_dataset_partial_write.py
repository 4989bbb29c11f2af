"""A bulk write that stops part-way (a full disk after some captions were written): the captions that
did change on disk are read back, so the table and the editor show them, and the message says how many
were written and that ctrl+z takes them back (the app went on showing the old text for all of them)."""

from __future__ import annotations

import errno

import loratui.core.captions.journal as journal
from tests.tui.test_dataset_screen import caption, run, until


def full_disk_after(monkeypatch, good: int) -> None:
    real = journal.atomic_write_bytes
    calls = []

    def write(path, data, **kw):
        calls.append(path)
        if len(calls) > good:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data, **kw)

    monkeypatch.setattr(journal, "atomic_write_bytes", write)


def notes(app) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


def test_captions_written_before_a_full_disk_show_their_new_text(tmp_path, monkeypatch):
    async def scenario(app, pilot, img):
        scr = app.screen
        rows = {f"{r.folder}/{r.name}": r for r in app.store.rows}
        full_disk_after(monkeypatch, good=2)
        await pilot.press("plus", *"newtag", "enter")
        await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen")
        await pilot.press("enter")
        await until(pilot, lambda: "stopped part-way" in notes(app))
        written = [rel for rel in rows if (img / rel).with_suffix(".txt").exists() and "newtag" in caption(img, rel)]
        assert written == ["10_alice/a01.png", "10_alice/a02.png"]
        for rel, row in rows.items():  # the table holds what is on disk, written or not
            on_disk = (img / rel).with_suffix(".txt")
            shown = row.caption.tags if row.caption is not None else None
            assert ("newtag" in shown) == (rel in written), rel
            if rel in written:
                assert row.state == "saved" and on_disk.read_text(encoding="utf-8").startswith(row.caption.first_line)
        assert "newtag" in scr.current.caption.tags  # the editor's image (the first row) too
        message = notes(app)
        assert "No space left on device" in message and "2 of 6 file(s) were written" in message
        assert "ctrl+z undoes the 2 written" in message
        # one way back, the app's: not the CLI's `loratui tags undo DIR` as well
        assert "tags undo" not in message and "puts them back" not in message and message.count("undoes") == 1
        monkeypatch.undo()
        await pilot.press("ctrl+z")
        await until(pilot, lambda: "newtag" not in caption(img, "10_alice/a01.png"))
        await until(pilot, lambda: "newtag" not in rows["10_alice/a01.png"].caption.tags)

    run(tmp_path, scenario)
