"""The caption watcher (tui/services/watcher.py) lasts as long as the app.

h3: `cp -a img bak; rm -rf img; sleep 2; cp -a bak img` left watchfiles on the removed folder: no
change was delivered again until a restart. h2: one file name that is not UTF-8 stopped watchfiles
("Unable to decode path") for the whole dataset, at every start (reading the captions is an event).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from loratui.core.termline import escape_controls
from loratui.tui.services.watch_poll import (
    ADDED,
    DELETED,
    MODIFIED,
    differences,
    first_undecodable,
    snapshot,
)
from loratui.tui.services.watcher import watch_captions

BAD = os.fsdecode(b"bad\xff.txt")  # a name that is not UTF-8, as Python spells it


@contextmanager
def watching(root: Path):
    """Watch ``root`` in a thread; yields (got, told, wait_for(path, poke))."""
    stop, got, told, arrived = threading.Event(), [], [], threading.Event()

    def deliver(paths):
        got.extend(paths)
        arrived.set()

    def wait_for(path: Path, poke, tries: int = 40) -> bool:
        for i in range(tries):  # the watcher starts in its thread: poke until it reports
            poke(i)
            arrived.wait(0.25)
            arrived.clear()
            if path in got:
                return True
        return False

    worker = threading.Thread(target=watch_captions, args=(root, ".txt", stop, deliver),
                              kwargs={"tell": told.append}, daemon=True)
    worker.start()
    try:
        yield got, told, wait_for
    finally:
        stop.set()
        worker.join(5)
    assert not worker.is_alive(), "the watcher did not stop with the app"


def dataset(tmp_path: Path) -> Path:
    img = tmp_path / "img"
    (img / "4_dog").mkdir(parents=True)
    (img / "4_dog" / "d1.png").write_bytes(b"png")
    (img / "4_dog" / "d1.txt").write_text("dog\n")
    return img


def written(caption: Path):
    return lambda i: caption.write_text(f"dog, {i}\n")  # in place, as `echo > x.txt` does


def until(test, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if test():
            return True
        time.sleep(0.05)
    return False


def test_a_train_folder_removed_and_made_again_is_watched_again(tmp_path):
    img = dataset(tmp_path)
    caption = img / "4_dog" / "d1.txt"
    with watching(img) as (got, _told, wait_for):
        assert wait_for(caption, written(caption))
        shutil.copytree(img, tmp_path / "bak")
        shutil.rmtree(img)
        assert until(lambda: img in got)  # gone: listed again (the listing names the missing folder)
        got.clear()
        time.sleep(0.7)  # the hunt's `sleep 2`, shorter
        shutil.copytree(tmp_path / "bak", img)
        assert until(lambda: img in got)  # back: listed again
        assert wait_for(caption, written(caption))  # and watched: a later change is delivered


def test_a_train_folder_made_again_at_once_is_watched_again(tmp_path):
    """`rm -rf img; cp -a bak img` in one go: the new folder may even get the old inode number."""
    img = dataset(tmp_path)
    caption = img / "4_dog" / "d1.txt"
    with watching(img) as (got, _told, wait_for):
        assert wait_for(caption, written(caption))
        shutil.copytree(img, tmp_path / "bak")
        shutil.rmtree(img)
        shutil.copytree(tmp_path / "bak", img)
        assert until(lambda: img in got)
        time.sleep(0.5)
        got.clear()
        assert wait_for(caption, written(caption))


def test_a_name_that_is_not_utf8_keeps_the_watch(tmp_path):
    img = dataset(tmp_path)
    bad = img / "4_dog" / BAD
    bad.write_text("odd\n")
    caption = img / "4_dog" / "d1.txt"
    with watching(img) as (got, told, wait_for):
        assert until(lambda: told)
        bad.read_bytes()  # reading it was an event watchfiles could not decode
        assert wait_for(caption, written(caption))
        bad.write_text("odd, changed\n")
        assert until(lambda: bad in got)  # its own changes too
        (img / "4_dog" / "d2.png").write_bytes(b"png")
        assert until(lambda: img in got)  # an image added: listed again
    assert told[0] == (f"{img}/4_dog/bad\\xff.txt: the name is not valid UTF-8, so changes on disk are looked "
                       "for every few seconds instead of seen at once; rename it to a UTF-8 name")
    assert len(told) == 1


def test_a_name_made_later_that_is_not_utf8_keeps_the_watch_and_lists_again(tmp_path):
    img = dataset(tmp_path)
    caption = img / "4_dog" / "d1.txt"
    with watching(img) as (got, told, wait_for):
        assert wait_for(caption, written(caption))
        got.clear()
        (img / "4_dog" / BAD).write_text("odd\n")
        (img / "4_dog" / BAD).read_bytes()
        assert until(lambda: told and img in got)  # the batch watchfiles dropped: listed again
        got.clear()
        assert wait_for(caption, written(caption))
        os.rename(img / "4_dog" / BAD, img / "4_dog" / "fine.txt")  # renamed: watched at once again
        assert until(lambda: img / "4_dog" / "fine.txt" in got)
        got.clear()
        assert wait_for(caption, written(caption))
    assert len(told) == 1


def test_the_look_finds_a_caption_rewritten_in_place(tmp_path):
    """A folder's mtime stays when a caption is rewritten in place: each file is looked at."""
    img = dataset(tmp_path)
    caption = img / "4_dog" / "d1.txt"
    before, odd = snapshot([img])
    assert not odd
    os.utime(caption, ns=(1, 1))  # another mtime, as a write in the same folder makes
    (img / "4_dog" / ".d1.txt.tmp").write_text("ours, hidden\n")
    (img / "5_cat").mkdir()
    now, _ = snapshot([img])
    assert differences(before, now) == {(MODIFIED, str(caption)), (ADDED, str(img / "5_cat"))}
    shutil.rmtree(img / "5_cat")
    assert differences(now, snapshot([img])[0]) == {(DELETED, str(img / "5_cat"))}


def test_undecodable_names_are_found_and_shown_as_ls_does(tmp_path):
    img = dataset(tmp_path)
    assert first_undecodable([img]) is None
    (img / "4_dog" / BAD).write_text("odd\n")
    found = first_undecodable([img])
    assert found == str(img / "4_dog" / BAD)
    assert escape_controls(found).endswith("4_dog/bad\\xff.txt")  # core.termline's one rule, as `ls -b`
    assert snapshot([img])[1]
