"""An edit in the tag editor while its image's concept folder is renamed under the app (hunt h1 F2: a
balance in a shell, `mv img/10_alice img/11_alice`), or its image deleted (Pilot, 80x24, a real dataset):
Enter saves where the folder went and says so in one line, never "its caption changed on disk"; k on a
conflict follows it too; F5 never drops typing not entered (put back into the editor, kept in the draft
meanwhile); an image gone for good keeps the edit in the caption draft and says how to get it back.
A caption run holding the journal makes an inline save wait (kept in the draft) and land when it ends."""

from __future__ import annotations

import json
import os
import shutil
from contextlib import ExitStack

from tests.tui.test_dataset_caption_drafts import caption_draft_path, dialog, editor, entries, session, until

from loratui.core.captions import hold_for_run, journal
from loratui.tui.screens import dataset_write_gate

A01 = "alice, 1girl, solo, long hair, smile, outdoors"


def notes(app) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


async def rename_typed(pilot, app, new: str = "edited") -> None:
    """e, End, r and a new name for the last tag (outdoors), not entered."""
    await pilot.press("e", "end", "r", *new)
    await until(pilot, lambda: editor(app).renaming, "the rename box")


def rename_folder(app, img, old: str = "10_alice", new: str = "11_alice") -> None:
    os.rename(img / old, img / new)
    app._captions_changed([img, img / old / "a01.txt"])  # what the watcher delivers for a folder rename


def test_enter_after_the_folder_was_renamed_saves_there_and_says_so(tmp_path):
    async def scenario(app, pilot, img):
        await rename_typed(pilot, app)
        rename_folder(app, img)
        await pilot.pause(0.3)
        assert "changed on disk" not in editor(app).state and app.screen.current.state != "conflict"
        await pilot.press("enter")
        await until(pilot, lambda: "10_alice was renamed 11_alice: saved there" in notes(app), "the one line")
        assert (img / "11_alice" / "a01.txt").read_text() == A01.replace("outdoors", "edited") + "\n"
        assert "its caption changed on disk" not in notes(app) and "not saved" not in notes(app)
        await until(pilot, lambda: editor(app).title == "11_alice/a01.png", "the cursor followed it")
        assert editor(app).tags[-1] == "edited"
        await pilot.press("ctrl+z")  # one undoable change, in the train folder's journal
        await until(pilot, lambda: (img / "11_alice" / "a01.txt").read_text() == A01 + "\n", "undone")

    session(tmp_path, scenario)


def test_k_on_a_conflict_whose_folder_was_renamed_keeps_the_edit_onto_the_file_there(tmp_path):
    async def scenario(app, pilot, img):
        await pilot.press("e", "end", "r", *"edited", "enter")  # saved: the edit's basis is this version
        await until(pilot, lambda: "edited" in (img / "10_alice" / "a01.txt").read_text(), "saved")
        theirs = A01.replace("outdoors", "edited") + ", theirs"
        (img / "10_alice" / "a01.txt").write_text(theirs + "\n", encoding="utf-8")  # another app's change
        await pilot.press("home", "r", *"alicia", "enter")  # not read yet: a conflict
        await until(pilot, lambda: app.screen.current.state == "conflict", "the conflict")
        rename_folder(app, img)
        await pilot.pause(0.3)
        await pilot.press("escape", "k")
        await until(pilot, lambda: "10_alice was renamed 11_alice: saved there" in notes(app), "followed")
        assert (img / "11_alice" / "a01.txt").read_text() == theirs.replace("alice,", "alicia,", 1) + "\n"
        assert "No such file or directory" not in notes(app)

    session(tmp_path, scenario)


def test_f5_puts_typing_back_for_the_same_image_and_where_its_folder_went(tmp_path, monkeypatch):
    async def scenario(app, pilot, img):
        await rename_typed(pilot, app, "kept")
        await pilot.press("f5")
        await until(pilot, lambda: editor(app).renaming and editor(app)._rename_input.value == "kept",
                    "the rename put back after F5")
        assert editor(app).title == "10_alice/a01.png"
        assert "restored what was typed for 10_alice/a01.png" in notes(app)
        rename_folder(app, img)  # the watcher's toast: "F5 lists them again (after your edit)"
        await pilot.press("f5")
        await until(pilot, lambda: editor(app).title == "11_alice/a01.png" and editor(app).renaming
                    and editor(app)._rename_input.value == "kept", "put back where the folder went")
        await until(pilot, lambda: [e["typed"] for e in entries(img)] == ["kept"], "in the draft as typing")
        assert entries(img)[0]["caption"] == "11_alice/a01.txt"
        await pilot.press("enter")
        await until(pilot, lambda: "kept" in (img / "11_alice" / "a01.txt").read_text(), "entered there")
        await until(pilot, lambda: not caption_draft_path(img).exists(), "the draft gone once entered")

    session(tmp_path, scenario)


def test_an_image_deleted_while_an_edit_is_typed_keeps_the_edit_in_the_draft(tmp_path):
    async def scenario(app, pilot, img):
        await rename_typed(pilot, app, "lost")
        (img / "10_alice" / "a01.png").unlink()
        (img / "10_alice" / "a01.txt").unlink()
        app._captions_changed([img, img / "10_alice" / "a01.txt"])
        await until(pilot, lambda: "image moved or deleted" in editor(app).state, "the editor says it")
        await pilot.press("enter")
        await until(pilot, lambda: "10_alice/a01.png is gone from 10_alice/" in notes(app), "the one line")
        assert "kept in the caption draft" in notes(app) and "its caption changed on disk" not in notes(app)
        assert editor(app).tags[-1] == "lost"  # still shown
        [entry] = entries(img)
        assert entry["what"] == "save" and "lost" in json.loads(entry["typed"])
        assert not (img / "10_alice" / "a01.txt").exists()  # no caption made for a deleted image
        await pilot.press("f5")
        await until(pilot, lambda: "your edit of a01.png (image gone) stays in the caption draft" in notes(app),
                    "F5 names it")
        assert "lost" in json.loads(entries(img)[0]["typed"])
        await pilot.press("ctrl+p")
        await pilot.press(*"unsaved caption draft", "enter")
        body = await dialog(pilot)
        assert "no longer in the dataset" in body and "lost" in body
        await pilot.press("c")
        await until(pilot, lambda: "lost" in (app.screen.clipboard or []), "copied to paste")
        assert [json.loads(e["typed"])[-1] for e in entries(img)] == ["lost"]  # the draft stays

    session(tmp_path, scenario)


def test_a_draft_of_a_renamed_folder_is_offered_for_the_image_there(tmp_path):
    async def typed(app, pilot, img):
        await rename_typed(pilot, app, "later")

    img = session(tmp_path, typed, hang_up=True)
    shutil.move(img / "10_alice", img / "12_alice")

    async def reopened(app, pilot, img):
        body = await dialog(pilot)
        assert "10_alice/a01.png is no longer there: 12_alice/a01.png is" in body
        await pilot.press("r")
        await until(pilot, lambda: editor(app).renaming and editor(app)._rename_input.value == "later", "restored")
        assert editor(app).title == "12_alice/a01.png"

    session(tmp_path, reopened)


def test_an_inline_save_during_a_caption_run_waits_in_the_draft_and_lands_after(tmp_path, monkeypatch):
    monkeypatch.setattr(journal, "LOCK_WAIT", 0.2)
    monkeypatch.setattr(dataset_write_gate, "RETRY_WAITING_S", 0.3)

    async def scenario(app, pilot, img):
        run = ExitStack()
        hold_for_run(run, img)  # as `loratui caption` holds it for its whole run
        try:
            await pilot.press("e", "end", "r", *"during", "enter")
            await until(pilot, lambda: "not saved yet" in notes(app) and "tried again every" in notes(app),
                        "kept, to be tried again")
            assert "not saved:" not in notes(app)
            [entry] = entries(img)
            assert entry["what"] == "save" and "during" in json.loads(entry["typed"])
            await pilot.press("escape", "down", "up")  # the cursor moves: still kept
            assert "during" not in (img / "10_alice" / "a01.txt").read_text()
        finally:
            run.close()
        await until(pilot, lambda: "during" in (img / "10_alice" / "a01.txt").read_text(), "landed after the run")
        await until(pilot, lambda: not caption_draft_path(img).exists(), "out of the draft once saved")

    session(tmp_path, scenario)
