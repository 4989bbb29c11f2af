"""The caption watcher follows the reg folder too (its images are rows of the Dataset table since the
reg rows came): a reg caption changed outside the app is delivered spelled from the reg folder as the
store holds it, a reg image or class folder added as the train folder (list again), and the watch
moves to a reg folder named later (a rescan after Settings named another) or made after it started."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

from loratui.tui.services.watcher import watch_captions


@contextmanager
def watching(root: Path, reg_folder):
    """Watch ``root`` (and ``reg_folder()``) in a thread; yields (got, wait_for(path, poke))."""
    stop, got, arrived = threading.Event(), [], threading.Event()

    def deliver(paths):
        got.extend(paths)
        arrived.set()

    def wait_for(path: Path, poke) -> bool:
        for i in range(40):  # the watcher starts in its thread: poke until it reports
            poke(i)
            arrived.wait(0.25)
            arrived.clear()
            if path in got:
                return True
        return False

    worker = threading.Thread(target=watch_captions, args=(root, ".txt", stop, deliver),
                              kwargs={"reg_folder": reg_folder}, daemon=True)
    worker.start()
    try:
        yield got, wait_for
    finally:
        stop.set()
        worker.join(5)
    assert not worker.is_alive(), "the watcher did not stop with the app"


def project(tmp_path: Path) -> tuple[Path, Path]:
    img, reg = tmp_path / "img" / "10_a", tmp_path / "reg" / "1_person"
    img.mkdir(parents=True)
    reg.mkdir(parents=True)
    return tmp_path / "img", tmp_path / "reg"


def test_a_reg_caption_written_outside_is_delivered_as_the_store_spells_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project(tmp_path)
    caption = Path("reg/1_person/p1.txt")  # `loratui .`: the store holds the reg rows under "reg"
    with watching(Path("img"), lambda: Path("reg")) as (got, wait_for):
        assert wait_for(caption, lambda i: caption.write_text(f"person, {i}\n"))
    assert Path("img") not in got  # a caption alone: no listing again


def test_a_reg_image_added_outside_lists_the_images_again(tmp_path):
    img, reg = project(tmp_path)
    with watching(img, lambda: reg) as (got, wait_for):
        assert wait_for(img, lambda i: (reg / "1_person" / f"p{i}.png").write_bytes(b"png"))


def test_a_reg_folder_named_later_is_watched_from_then(tmp_path):
    img, reg = project(tmp_path)
    named: list[Path | None] = [None]  # the store's reg_root before the rows are listed
    caption = reg / "1_person" / "p1.txt"
    with watching(img, lambda: named[0]) as (got, wait_for):
        assert wait_for(img / "10_a" / "x.txt", lambda i: (img / "10_a" / "x.txt").write_text(f"{i}\n"))
        named[0] = reg
        assert wait_for(caption, lambda i: caption.write_text(f"person, {i}\n"))


def test_a_reg_folder_made_after_the_watch_began_is_watched(tmp_path):
    img = tmp_path / "img"
    (img / "10_a").mkdir(parents=True)
    reg = tmp_path / "reg"  # named by the config, not there yet
    caption = reg / "1_person" / "p1.txt"

    def poke(i):
        caption.parent.mkdir(parents=True, exist_ok=True)
        caption.write_text(f"person, {i}\n")

    with watching(img, lambda: reg) as (got, wait_for):
        train = img / "10_a" / "x.txt"  # the watch is running before the reg folder is made
        assert wait_for(train, lambda i: train.write_text(f"{i}\n"))
        assert img not in got
        assert wait_for(caption, poke)
    assert img in got  # its images come into the table (listed again)


def test_a_reg_folder_that_is_the_train_folder_is_watched_once(tmp_path):
    img, _ = project(tmp_path)
    caption = img / "10_a" / "x.txt"
    with watching(img, lambda: img) as (got, wait_for):
        assert wait_for(caption, lambda i: caption.write_text(f"{i}\n"))
    assert all(path == caption or path == img for path in got)
