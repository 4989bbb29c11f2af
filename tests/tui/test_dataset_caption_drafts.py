"""Caption drafts on the Dataset screen (Pilot, 80x24, a real dataset on disk): text typed in the tag
editor and not entered is kept in TRAIN_DIR/.loratui/caption-draft.json within the debounce (with the
caption file's SHA-256), and goes once entered; a reopened dataset offers it back naming the image and
the text, restores it into the editor for that image (add box, rename box, free text) or deletes it;
a caption changed on disk since is said and needs its own key; esc keeps it for later."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

import pytest
from fixtures.tui_dataset import make_dataset

from loratui.core.dataset import locate_dataset
from loratui.core.drafts import file_sha256, write_draft
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.config_dialogs import ChoiceDialog
from loratui.tui.screens.dataset_drafts import TypedCaption, caption_draft_path, drafts_to_text
from loratui.tui.services import drafts as drafts_service
from loratui.tui.widgets.tag_editor import TagEditor


@pytest.fixture(autouse=True)
def quick_drafts(monkeypatch):
    monkeypatch.setattr(drafts_service, "DEBOUNCE_S", 0.05)


async def until(pilot, test, what: str = "condition", timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, f"{what}: never true"
        await pilot.pause(0.05)


def session(tmp_path: Path, scenario, *, hang_up: bool = False, target: Path | None = None) -> Path:
    """An app on tmp_path/proj/img (made once): ``scenario(app, pilot, img)`` once captions are read.
    ``hang_up``: the session ends as SIGHUP ends it (drafts written now, the app left by a signal)."""
    root = tmp_path / "proj"
    if not root.exists():
        make_dataset(root)
    app = LoratuiApp(locate_dataset(target or root), settings_file=tmp_path / "cfg" / "tui.toml",
                     keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.store.captions_loaded and app.store.scan is not None, "loaded")
            await pilot.pause()
            await scenario(app, pilot, root / "img")
            if hang_up:
                assert app.drafts.write_now() == []
                app.exit_signal = signal.SIGHUP
                app.exit(return_code=128 + signal.SIGHUP)

    asyncio.run(main())
    return root / "img"


def entries(img: Path) -> list[dict]:
    return json.loads(caption_draft_path(img).read_text(encoding="utf-8"))["entries"]


def editor(app) -> TagEditor:
    return app.screen.query_one(TagEditor)


def left_draft(img: Path, *typed: TypedCaption) -> None:
    caption_draft_path(img).parent.mkdir(exist_ok=True)
    write_draft(caption_draft_path(img), drafts_to_text(list(typed)))


def typed_for(img: Path, rel: str, what: str, text: str, tag: str | None = None) -> TypedCaption:
    caption = (img / rel).with_suffix(".txt")
    return TypedCaption(str(caption), str(img / rel), what, text, tag, file_sha256(caption), time.time())


async def dialog(pilot, title: str = "unsaved caption draft") -> str:
    await until(pilot, lambda: isinstance(pilot.app.screen, ChoiceDialog) and pilot.app.screen.dialog_title == title,
                f"the {title!r} dialog")
    return pilot.app.screen.body


def test_typing_in_the_add_box_is_kept_and_entering_it_deletes_the_draft(tmp_path):
    async def scenario(app, pilot, img):
        await pilot.press("e", "a", *"blue eyes")
        await until(pilot, lambda: caption_draft_path(img).exists() and entries(img)[0]["typed"] == "blue eyes",
                    "the draft file")
        [entry] = entries(img)
        assert entry["what"] == "add" and entry["typed"] == "blue eyes"
        assert entry["caption"] == "10_alice/a01.txt" and entry["image"] == "10_alice/a01.png"  # train-folder relative
        assert entry["sha256"] == file_sha256(img / "10_alice" / "a01.txt")
        await pilot.press("enter")
        await until(pilot, lambda: not caption_draft_path(img).exists(), "the draft deleted once entered")
        assert "blue eyes" in (img / "10_alice" / "a01.txt").read_text()

    session(tmp_path, scenario)


def test_a_rename_under_way_is_kept_and_esc_cancelling_it_deletes_the_draft(tmp_path):
    async def scenario(app, pilot, img):
        await pilot.press("e", "down", "r", *"duo")
        await until(pilot, lambda: caption_draft_path(img).exists() and entries(img)[0]["typed"] == "duo",
                    "the draft file")
        [entry] = entries(img)
        assert (entry["what"], entry["typed"], entry["tag"]) == ("rename", "duo", "1girl")
        await pilot.press("escape")
        await until(pilot, lambda: not caption_draft_path(img).exists(), "the draft deleted on cancel")

    session(tmp_path, scenario)


def test_a_hung_up_session_is_offered_back_and_restored_into_the_editor(tmp_path):
    async def typed(app, pilot, img):
        await pilot.press("e", "a", *"blue eyes")

    img = session(tmp_path, typed, hang_up=True)
    assert [e["typed"] for e in entries(img)] == ["blue eyes"]
    before = (img / "10_alice" / "a01.txt").read_text()

    async def reopened(app, pilot, img):
        body = await dialog(pilot)
        assert "10_alice/a01.png" in body and "'blue eyes' (typed in the add box)" in body
        assert "changed on disk" not in body
        await pilot.press("r")
        await until(pilot, lambda: editor(app)._add_input.value == "blue eyes", "the add box restored")
        assert editor(app).title == "10_alice/a01.png" and editor(app)._add_input.has_focus
        assert (img / "10_alice" / "a01.txt").read_text() == before  # restoring writes nothing
        await until(pilot, lambda: [e["typed"] for e in entries(img)] == ["blue eyes"], "still kept, as typing")
        await pilot.press("enter")
        await until(pilot, lambda: not caption_draft_path(img).exists(), "the draft deleted once entered")
        assert "blue eyes" in (img / "10_alice" / "a01.txt").read_text()

    session(tmp_path, reopened)


def test_a_clean_quit_drops_the_typing(tmp_path):
    async def typed(app, pilot, img):
        await pilot.press("e", "a", *"blue eyes")
        await until(pilot, lambda: caption_draft_path(img).exists(), "the draft file")

    img = session(tmp_path, typed)  # run_test ends as a clean exit: the quit question was answered
    assert not caption_draft_path(img).exists()


def test_delete_and_a_rename_and_free_text_restored_for_other_images(tmp_path):
    img = make_dataset(tmp_path / "proj") / "img"
    left_draft(img, typed_for(img, "10_alice/a02.png", "rename", "duo", tag="solo"),
               typed_for(img, "5_bob/b02.png", "text", "a photo of a man in a park, smiling"),
               typed_for(img, "10_alice/a03.png", "add", "red eyes"))

    async def scenario(app, pilot, img):
        body = await dialog(pilot)
        assert "10_alice/a02.png" in body and "rename of 'solo' to 'duo'" in body and "2 more typed" in body
        await pilot.press("r")
        await until(pilot, lambda: editor(app).renaming, "the rename box")
        assert editor(app).title == "10_alice/a02.png" and editor(app)._rename_input.value == "duo"
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ChoiceDialog)  # the others wait: moving away would drop the rename
        assert [e["what"] for e in entries(img)] == ["text", "add", "rename"]  # put off, then what is typed
        await pilot.press("enter")
        await until(pilot, lambda: "duo" in (img / "10_alice" / "a02.txt").read_text(), "the rename entered")
        app.screen.offer_caption_draft(force=True)
        body = await dialog(pilot)
        assert "5_bob/b02.png" in body and "a photo of a man in a park" in body
        await pilot.press("r")
        await until(pilot, lambda: editor(app).title == "5_bob/b02.png" and editor(app).free_text, "b02's text")
        assert editor(app)._text.text == "a photo of a man in a park, smiling"
        app.screen.offer_caption_draft(force=True)
        body = await dialog(pilot)
        assert "10_alice/a03.png" in body and "red eyes" in body
        await pilot.press("d", "y")
        await pilot.pause()
        assert not isinstance(app.screen, ChoiceDialog)
        kept = entries(img)  # what is in the editor now is the draft; the deleted one is gone
        assert [e["what"] for e in kept] == ["text"] and "red eyes" not in json.dumps(kept)

    session(tmp_path, scenario)
    assert "red eyes" not in (img / "10_alice" / "a03.txt").read_text()


def test_a_caption_changed_since_is_said_and_restore_needs_its_own_key(tmp_path):
    img = make_dataset(tmp_path / "proj") / "img"
    left_draft(img, typed_for(img, "10_alice/a02.png", "add", "blue eyes"))
    (img / "10_alice" / "a02.txt").write_text("alice, changed elsewhere\n", encoding="utf-8")

    async def scenario(app, pilot, img):
        body = await dialog(pilot)
        assert "a02.txt changed on disk after this was typed" in body
        assert [key for key, _ in app.screen.choices] == ["a", "d"]
        await pilot.press("r")  # not a choice here: nothing happens
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("a")
        await until(pilot, lambda: editor(app)._add_input.value == "blue eyes", "restored anyway")
        assert editor(app).tags == ["alice", "changed elsewhere"]  # the file as it is now

    session(tmp_path, scenario)
    assert (img / "10_alice" / "a02.txt").read_text() == "alice, changed elsewhere\n"


def test_esc_keeps_the_draft_through_later_typing_and_the_palette_asks_again(tmp_path):
    img = make_dataset(tmp_path / "proj") / "img"
    left_draft(img, typed_for(img, "10_alice/a02.png", "add", "blue eyes"))

    async def scenario(app, pilot, img):
        await dialog(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert caption_draft_path(img).exists()
        await pilot.press("e", "a", *"green", "enter")  # typing entered on a01: the put-off draft stays
        await until(pilot, lambda: "green" in (img / "10_alice" / "a01.txt").read_text(), "green written")
        await pilot.pause(0.2)
        assert [e["typed"] for e in entries(img)] == ["blue eyes"]
        app.screen.offer_caption_draft(force=True)
        assert "blue eyes" in await dialog(pilot)
        await pilot.press("d", "y")
        await until(pilot, lambda: not caption_draft_path(img).exists(), "deleted")

    session(tmp_path, scenario)


def test_a_damaged_draft_is_named_and_left_alone(tmp_path):
    img = make_dataset(tmp_path / "proj") / "img"
    caption_draft_path(img).parent.mkdir()
    write_draft(caption_draft_path(img), "{not json")

    async def scenario(app, pilot, img):
        await until(pilot, lambda: any("not a loratui caption draft" in n.message for n in app._notifications),
                    "the damaged draft named")
        assert not isinstance(app.screen, ChoiceDialog)

    session(tmp_path, scenario, hang_up=True)
    assert caption_draft_path(img).read_text() == "{not json"


def test_a_draft_is_offered_when_the_app_is_opened_from_another_folder(tmp_path, monkeypatch):
    """`loratui proj` in one shell, `loratui .` inside proj after reconnecting: the draft's paths are
    the train folder's, not the first shell's."""
    async def typed(app, pilot, img):
        await pilot.press("e", "a", *"blue eyes")

    monkeypatch.chdir(tmp_path)
    img = session(tmp_path, typed, hang_up=True, target=Path("proj"))
    assert [e["caption"] for e in entries(img)] == ["10_alice/a01.txt"]

    async def reopened(app, pilot, img):
        body = await dialog(pilot)
        assert "no longer in the dataset" not in body and "'blue eyes'" in body
        await pilot.press("r")
        await until(pilot, lambda: editor(app)._add_input.value == "blue eyes", "the add box restored")

    monkeypatch.chdir(tmp_path / "proj")
    session(tmp_path, reopened, target=Path("."))
