"""A caption saved while a bulk write runs waits for it (screens.dataset_write_gate), and was held in
memory only: quitting (q, ctrl+c, SIGHUP) before the write ended lost the tags. Now the waiting save
is in the caption draft at once (screens.dataset_drafts), kept by a clean quit too, offered by the
next app ('s' saves it), and out of the draft once saved."""

from __future__ import annotations

import json

from tests.tui.test_dataset_caption_drafts import caption_draft_path, dialog, entries, quick_drafts, session, until
from tests.tui.test_dataset_write_gate import slow_writes, start_bulk_add

__all__ = ["quick_drafts"]  # the autouse fixture, used here too


def test_a_waiting_save_survives_a_quit_and_the_next_app_saves_it(tmp_path, monkeypatch):
    release = None

    async def quit_while_writing(app, pilot, img):
        nonlocal release
        screen = app.screen
        started, release = slow_writes(monkeypatch)
        a01 = screen.current
        others = [row for row in app.store.rows if row is not a01]
        await start_bulk_add(app, pilot, "bulktag", others)  # the image edited is not in the write
        await until(pilot, started.is_set, "the write started")
        await pilot.press("e", "a", *"typed", "enter")
        await until(pilot, lambda: screen.waiting_tags(a01) is not None, "the save waiting")
        # in the draft at once, not after the debounce: the app may end now
        saves = [e for e in entries(img) if e["what"] == "save"]
        assert len(saves) == 1 and "typed" in json.loads(saves[0]["typed"])
        assert saves[0]["caption"] == "10_alice/a01.txt"

    try:
        img = session(tmp_path, quit_while_writing)  # ends as a clean quit, the write still running
        [save] = [e for e in entries(img) if e["what"] == "save"]
        tags = json.loads(save["typed"])
        assert "typed" in tags and "typed" not in (img / "10_alice" / "a01.txt").read_text()
    finally:
        release.set()  # the old write's thread may go on now
    monkeypatch.undo()

    async def reopened(app, pilot, img):
        body = await dialog(pilot)
        assert "10_alice/a01.png" in body and "entered while a bulk write ran" in body and "typed" in body
        await pilot.press("s")
        await until(pilot, lambda: "typed" in (img / "10_alice" / "a01.txt").read_text(), "saved")
        await until(pilot, lambda: not caption_draft_path(img).exists(), "the draft deleted once saved")
        assert (img / "10_alice" / "a01.txt").read_text().strip().split(", ") == tags

    session(tmp_path, reopened)


def test_a_save_written_when_the_write_ends_leaves_the_draft(tmp_path, monkeypatch):
    async def scenario(app, pilot, img):
        screen = app.screen
        started, release = slow_writes(monkeypatch)
        a01 = screen.current
        others = [row for row in app.store.rows if row is not a01]
        await start_bulk_add(app, pilot, "bulktag", others)
        await until(pilot, started.is_set, "the write started")
        await pilot.press("e", "a", *"typed", "enter")
        await until(pilot, lambda: caption_draft_path(img).exists(), "the draft written")
        release.set()
        await until(pilot, lambda: a01.state == "saved" and "typed" in a01.caption.tags, "saved")
        await until(pilot, lambda: not caption_draft_path(img).exists(), "the draft deleted once saved")

    session(tmp_path, scenario)
