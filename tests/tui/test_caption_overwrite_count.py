"""The Caption screen's overwrite question counts from the app's rows when the run reads what the Dataset
screen shows (at once: 20,001 images took 0.9 s on disk, on every ctrl+r); otherwise on disk, with the
run panel's status line saying so, and a second ctrl+r waits for that count instead of restarting it
(Pilot, the tiny WD14 tagger)."""

from __future__ import annotations

import threading

from fixtures.tui_dataset import make_dataset
from PIL import Image

import loratui.captioners.existing_captions as existing_captions
from loratui.captioners.existing_captions import count_existing_captions
from loratui.core.dataset import locate_dataset
from loratui.tui.screens.caption_overwrite import COUNTING, count_in_store
from loratui.tui.screens.config_dialogs import ChoiceDialog
from loratui.tui.services.dataset_store import DatasetStore
from tests.tui.test_caption_hunt_s10 import notes, run_app, set_field, store  # noqa: F401 (fixture)
from fixtures.pilot_wait import until


def _project(root):
    """make_dataset's 6 images (5 with a .txt), plus a twin (a01.jpg beside a01.png), an empty caption,
    an image in the train folder itself and one in a folder that is not a concept folder."""
    project = make_dataset(root)
    img = project / "img"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(img / "10_alice" / "a01.jpg")
    Image.new("RGB", (64, 64), (1, 2, 3)).save(img / "top.png")
    (img / "top.txt").write_text("", encoding="utf-8")  # empty: "no caption yet", as the run counts it
    (img / "extra").mkdir()
    Image.new("RGB", (64, 64), (9, 9, 9)).save(img / "extra" / "e1.png")
    (img / "extra" / "e1.txt").write_text("e\n", encoding="utf-8")
    return project


def _loaded_store(project) -> DatasetStore:
    store_ = DatasetStore(locate_dataset(project))
    store_.adopt_rows(store_.list_rows())
    store_.adopt_captions(store_.read_captions().captions)
    return store_


def test_the_rows_count_as_the_disk_does(tmp_path):
    project = _project(tmp_path / "p")
    loaded = _loaded_store(project)
    assert count_in_store(loaded, False, ".txt") == count_existing_captions(loaded.root, False, ".txt")
    assert count_in_store(loaded, False, ".txt").images == 8  # twin, train folder, not extra/
    # what the rows cannot answer: counted on disk
    assert count_in_store(loaded, True, ".txt") is None  # All subfolders reaches extra/
    assert count_in_store(loaded, False, ".caption") is None
    assert count_in_store(loaded, False, "txt") is None  # the disk count names the problem
    loaded.rows[0].caption = None  # a rescan reading the captions again
    assert count_in_store(loaded, False, ".txt") is None
    assert count_in_store(DatasetStore(locate_dataset(project)), False, ".txt") is None  # not loaded yet


def test_the_app_rows_answer_at_once_without_the_disk(tmp_path, store, monkeypatch):  # noqa: F811
    project = make_dataset(tmp_path / "proj")
    calls = []
    monkeypatch.setattr(existing_captions, "count_existing_captions", lambda *a: calls.append(a))

    async def scenario(app, pilot, screen):
        await until(pilot, lambda: app.store.captions_loaded, "the captions")
        await pilot.press("ctrl+r")
        assert isinstance(app.screen, ChoiceDialog)  # no worker, no wait
        assert "5 of 6 images have a caption already (.txt files)" in app.screen.body
        await pilot.press("escape")

    run_app(tmp_path, project, scenario)
    assert calls == []


def test_a_count_on_disk_shows_and_a_second_press_waits_for_it(tmp_path, store, monkeypatch):  # noqa: F811
    project = make_dataset(tmp_path / "proj")
    release, calls = threading.Event(), []

    def slow_count(*args):
        calls.append(args)
        release.wait(10)
        return count_existing_captions(*args)

    monkeypatch.setattr(existing_captions, "count_existing_captions", slow_count)

    async def scenario(app, pilot, screen):
        status = screen.query_one("#run-status")
        screen.query_one("#opt-recursive").value = True  # All subfolders: the rows do not answer
        await pilot.press("ctrl+r")
        await until(pilot, lambda: str(status.render()) == COUNTING, "the busy status")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: f"still {COUNTING}" in notes(app), "the second press answered")
        release.set()
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the overwrite question")
        assert "5 of 6 images have a caption already (.txt files, all subfolders)" in app.screen.body
        assert str(status.render()) == "no caption run yet"
        assert len(calls) == 1
        await pilot.press("escape")

    run_app(tmp_path, project, scenario)
