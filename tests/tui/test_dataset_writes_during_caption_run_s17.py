"""The app's Dataset screen while a caption run (the Caption screen's, or a shell's: both are the CLI in
its own process) holds the undo journal for its whole run (hunt h1 F1): a bulk operation and ctrl+z
are refused with one toast naming the run (pid) and what to do, nothing is written, and once the run
has ended the same bulk operation goes through."""

from __future__ import annotations

import os
from contextlib import ExitStack

from tests.tui.test_dataset_caption_drafts import session, until
from tests.tui.test_dataset_write_gate import notes, start_bulk_add

from loratui.core.captions import history, hold_for_run, journal


def _captions(img):
    return {p: p.read_bytes() for p in img.rglob("*.txt") if ".loratui" not in p.parts}


def test_a_bulk_add_and_ctrl_z_during_a_caption_run_are_refused_naming_it(tmp_path, monkeypatch):
    monkeypatch.setattr(journal, "LOCK_WAIT", 0.2)

    async def scenario(app, pilot, img):
        before = _captions(img)
        run = ExitStack()
        hold_for_run(run, img)  # as `loratui caption` holds it (flock: another open in this process will do)
        try:
            await start_bulk_add(app, pilot, "midtag")
            said = f"a caption run (pid {os.getpid()}) is writing these captions; nothing was written: wait for it"
            await until(pilot, lambda: said in notes(app), "the refusal")
            await until(pilot, lambda: not app.screen.writing, "the write gate free again")
            assert _captions(img) == before and history(img) == []
            await pilot.press("ctrl+z")
            await until(pilot, lambda: "is writing these captions; nothing was undone: wait for it" in notes(app),
                        "ctrl+z refused")
        finally:
            run.close()
        await start_bulk_add(app, pilot, "midtag")  # the run has ended: the same operation goes through
        await until(pilot, lambda: [row[1] for row in history(img)] == ["add a tag (6 images)"], "written")
        assert all(b"midtag" in data for data in _captions(img).values())

    session(tmp_path, scenario)
