"""The Dataset screen with the watcher on (Pilot): h3's train folder removed and made again, a watch
that ended started again by F5, and a caption file replaced by a folder while its row shows.
pytest-asyncio is not installed: the session runs in asyncio.run."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset

from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp


def app_on(tmp_path: Path) -> tuple[LoratuiApp, Path]:
    project = make_dataset(tmp_path / "proj")
    app = LoratuiApp(locate_dataset(project), settings_file=tmp_path / "cfg" / "tui.toml",
                     keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=True)
    return app, project / "img"


def screen_of(app):
    from loratui.tui.screens.dataset import DatasetScreen

    return next(s for s in app.screen_stack if isinstance(s, DatasetScreen))


def status(app) -> str:
    return str(screen_of(app).query_one("#status").render())


def toasts(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def row_of(app, name: str):
    return next(row for row in app.store.all_rows if row.name == name)


def tags_of(app, name: str) -> list[str]:
    caption = row_of(app, name).caption
    return list(caption.tags) if caption is not None else []


async def loaded(pilot, app) -> None:
    await until(pilot, lambda: app.store.captions_loaded and app.store.scan is not None, "captions and scan",
                timeout=15, poll=0.05)


async def write_until_shown(pilot, app, path: Path, name: str, tag: str) -> None:
    """Write ``path`` from outside until its row holds ``tag`` (the watcher starts in its thread)."""
    for i in range(40):
        path.write_text(f"alice, {tag}{i}\n", encoding="utf-8")
        for _ in range(6):
            await pilot.pause(0.1)
            if any(t.startswith(tag) for t in tags_of(app, name)):
                return
    raise AssertionError(f"{path}: the outside change never reached the table")


def test_the_train_folder_removed_and_made_again_is_listed_and_watched_again(tmp_path):
    app, img = app_on(tmp_path)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot, app)
            await write_until_shown(pilot, app, img / "10_alice" / "a01.txt", "a01.png", "before")
            shutil.copytree(img, tmp_path / "bak")
            shutil.rmtree(img)
            # the listing fails: its reason replaces "rescanning…", which stayed for good (h3)
            await until(pilot, lambda: "no such folder" in status(app), "the failed listing in the status line",
                        timeout=10)
            assert "rescanning" not in status(app)
            await pilot.pause(0.6)
            shutil.copytree(tmp_path / "bak", img)
            await until(pilot, lambda: len(app.store.all_rows) == 6 and "no such folder" not in status(app),
                        "listed again once back", timeout=10)
            await write_until_shown(pilot, app, img / "10_alice" / "a01.txt", "a01.png", "after")
            assert sum("no such folder" in t for t in toasts(app)) <= 1  # said once, however often it is asked

    asyncio.run(main())


def test_a_watch_that_ended_starts_again_with_f5(tmp_path):
    app, img = app_on(tmp_path)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot, app)
            await until(pilot, lambda: getattr(app, "_watch_worker", None) is not None, "the watch", timeout=10)
            app._watch_stop.set()  # as a watch that ended with an error (its toast said why)
            await until(pilot, lambda: app._watch_worker.is_finished, "the watch ended", timeout=10)
            await pilot.press("f5")
            await until(pilot, lambda: not app._watch_worker.is_finished, "the watch again", timeout=10)
            await write_until_shown(pilot, app, img / "10_alice" / "a02.txt", "a02.png", "revived")

    asyncio.run(main())


def test_a_caption_replaced_by_a_folder_marks_its_row_and_a_save_says_what_to_do(tmp_path):
    app, img = app_on(tmp_path)
    caption = img / "10_alice" / "a01.txt"

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot, app)
            screen = screen_of(app)
            await write_until_shown(pilot, app, caption, "a01.png", "watched")  # the watch is running
            row = row_of(app, "a01.png")
            screen.table.move_cursor_to_key(id(row))
            await pilot.pause()
            caption.unlink()
            caption.mkdir()
            await until(pilot, lambda: row.caption is None and row.severity == "error", "the row marked", timeout=10)
            assert "is a folder" in (row.problem or "")
            assert app.store.unreadable_reason(row).endswith("is a folder, not a caption file: rename or move it "
                                                             "(its image then gets a caption file of its own)")
            assert not screen.write_tags(row, ["alice", "x1"], "add a tag")
            await pilot.pause()
            said = [t for t in toasts(app) if t.startswith("not saved")][-1]
            assert "\n" not in said and "a01.txt" in said and "is a folder" in said and "Errno" not in said
            assert caption.is_dir()  # nothing written over it
            caption.rmdir()  # removed: the row is a caption-less image again, and saves work
            await until(pilot, lambda: row.caption is not None, "read again", timeout=10)
            assert screen.write_tags(row, ["alice", "x1"], "add a tag")
            assert caption.read_text(encoding="utf-8").strip() == "alice, x1"

    asyncio.run(main())


def test_a_save_onto_a_folder_not_seen_yet_names_it_and_what_to_do(tmp_path):
    """The watch had not told yet (or is off): core's raw IsADirectoryError in one line with the fix."""
    app, img = app_on(tmp_path)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot, app)
            said = screen_of(app).in_app(IsADirectoryError(21, "Is a directory", "img/10_alice/a01.txt"))
            assert said == ("img/10_alice/a01.txt: is a folder, not a caption file: remove or rename the folder, "
                            "then save again")

    asyncio.run(main())
