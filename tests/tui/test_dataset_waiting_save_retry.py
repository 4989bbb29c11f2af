"""A caption saved while a bulk write ran is written when the write ends. If another process holds the
journal lock then (a caption run's batch, `loratui tags` in a shell), the save used to be dropped from
memory and from the draft: the tags were nowhere. Now it waits on (editor and draft say so) and is tried
again until it lands. And 's' on a draft's waiting save that cannot be written keeps the draft entry."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time

from tests.tui.test_dataset_caption_drafts import (
    caption_draft_path, dialog, editor, entries, left_draft, quick_drafts, session, until,
)
from tests.tui.test_dataset_write_gate import notes, slow_writes, start_bulk_add

from loratui.core.captions import journal, journal_dir
from loratui.tui.screens import dataset_write_gate
from loratui.tui.screens.dataset_drafts import TypedCaption

__all__ = ["quick_drafts"]  # the autouse fixture, used here too


class LockHolder:
    """Another process's hold on the journal lock (flock excludes per open file, so one process will do)."""

    def __init__(self, img):
        journal_dir(img).mkdir(parents=True, exist_ok=True)
        self.fd = os.open(journal_dir(img) / "write.lock", os.O_RDWR | os.O_CREAT)
        fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def release(self) -> None:
        os.close(self.fd)


def test_a_waiting_save_that_meets_the_lock_waits_on_and_lands_once_it_is_free(tmp_path, monkeypatch):
    monkeypatch.setattr(journal, "LOCK_WAIT", 0.1)
    monkeypatch.setattr(dataset_write_gate, "RETRY_WAITING_S", 0.3)

    async def scenario(app, pilot, img):
        screen = app.screen
        started, release = slow_writes(monkeypatch)
        a01 = screen.current
        others = [row for row in app.store.rows if row is not a01]
        holder = None
        real_end = screen.end_write

        def end_write():  # the bulk write has released the lock: another process takes it at once
            nonlocal holder
            holder = holder or LockHolder(img)
            real_end()

        monkeypatch.setattr(screen, "end_write", end_write)
        await start_bulk_add(app, pilot, "bulktag", others)
        await until(pilot, started.is_set, "the write started")
        await pilot.press("e", "a", *"typed", "enter")
        await until(pilot, lambda: caption_draft_path(img).exists(), "the draft written")
        release.set()
        await until(pilot, lambda: holder is not None and not screen.writing, "the write ended")
        await pilot.pause(0.8)  # a few tries, all refused
        assert screen.waiting_tags(a01) is not None and "typed" in screen.waiting_tags(a01)
        assert [e["what"] for e in entries(img)] == ["save"]
        assert "typed" not in (img / "10_alice" / "a01.txt").read_text()
        assert "still waiting" in editor(app)._state
        assert notes(app).count("not saved yet") == 1  # told once, not at every try
        holder.release()
        await until(pilot, lambda: "typed" in (img / "10_alice" / "a01.txt").read_text(), "saved at a retry")
        await until(pilot, lambda: not caption_draft_path(img).exists(), "the draft deleted once saved")
        assert screen.waiting_tags(a01) is None and a01.state == "saved"

    session(tmp_path, scenario)


def test_s_on_a_waiting_save_that_cannot_be_written_keeps_the_draft(tmp_path, monkeypatch):
    monkeypatch.setattr(journal, "LOCK_WAIT", 0.1)
    session(tmp_path, lambda app, pilot, img: pilot.pause())
    img = tmp_path / "proj" / "img"
    caption = img / "10_alice" / "a01.txt"
    sha = hashlib.sha256(caption.read_bytes()).hexdigest()
    left_draft(img, TypedCaption(str(caption), str(img / "10_alice" / "a01.png"), "save",
                                 json.dumps(["mine", "typed"]), None, sha, time.time()))
    holder = LockHolder(img)

    async def busy(app, pilot, img):
        await dialog(pilot)
        await pilot.press("s")
        # a busy journal (JournalBusyError) now takes the wait path: kept in the draft, tried again every 5 s
        await until(pilot, lambda: "could not be written" in notes(app) or "not saved yet" in notes(app),
                    "the failure said")
        await pilot.pause(0.2)

    try:
        session(tmp_path, busy)
    finally:
        holder.release()
    assert [e["what"] for e in entries(img)] == ["save"]  # still there for the next app
    assert "typed" not in caption.read_text()

    async def free(app, pilot, img):
        await dialog(pilot)
        await pilot.press("s")
        await until(pilot, lambda: caption.read_text().strip() == "mine, typed", "saved")
        await until(pilot, lambda: not caption_draft_path(img).exists(), "the draft deleted once saved")

    session(tmp_path, free)
