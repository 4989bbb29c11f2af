"""The watcher's folder-comeback race (services.watcher): the watched folders are looked at every
CHANGE_LOOK_S (0.5 s), and a train folder removed and made again inside that wait was missed.

ext4 gives a folder made again at once the inode number of the one just removed (188 of 200 tries
here), so the (device, inode) compared at the next look was the same: only a look that fell inside
the gap, or watchfiles reporting the folder itself (dropped when the watch stops first), told. The
watched folders are now held open, so a new folder can never get their number, and the held one's link
count says it was removed. These tests drive the looks with a fake clock and a watchfiles that reports
nothing (the lost report), so only the look can tell."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from loratui.tui.services import watcher
from loratui.tui.services.watcher import CHANGE_LOOK_S, _identity, _Pinned, _StopOrChange, watch_captions


def until(test, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if test():
            return True
        time.sleep(0.01)
    return False


def train_folder(tmp_path: Path) -> Path:
    img = tmp_path / "img"
    (img / "4_dog").mkdir(parents=True)
    (img / "4_dog" / "d1.png").write_bytes(b"png")
    (img / "4_dog" / "d1.txt").write_text("dog\n")
    return img


def made_again(img: Path) -> None:
    """``rm -rf img; cp -a bak img`` with no gap: the new folder gets the old inode when it can."""
    shutil.copytree(img, img.with_name("bak"))
    shutil.rmtree(img)
    shutil.copytree(img.with_name("bak"), img)
    shutil.rmtree(img.with_name("bak"))


def test_the_look_period_is_half_a_second():
    assert CHANGE_LOOK_S == 0.5  # h9's idle cost; the race below no longer needs every step


def test_a_folder_made_again_inside_the_quiet_wait_is_seen_at_the_next_look(tmp_path):
    img = train_folder(tmp_path)
    pins = _Pinned()
    held = pins.take([img])
    now = [0.0]
    check = _StopOrChange(threading.Event(), lambda: [_identity(img)] != held or pins.removed(), every=0.5,
                          clock=lambda: now[0])
    try:
        assert not check.is_set()  # looked at t=0: quiet until 0.5
        made_again(img)  # at t=0.1, inside the wait
        assert _identity(img) != held[0]  # never the held folder's number
        for now[0] in (0.1, 0.2, 0.45):
            assert not check.is_set()  # not looked at yet
        now[0] = 0.5
        assert check.is_set()  # the next look sees it
    finally:
        pins.close()


def test_a_removed_folder_is_told_by_its_link_count_where_numbers_are_made_up(tmp_path, monkeypatch):
    """Where inode numbers say nothing (some FUSE file systems): the held folder's link count does."""
    img = train_folder(tmp_path)
    pins = _Pinned()
    monkeypatch.setattr(watcher, "_fd_identity", lambda fd: (1, 1))
    try:
        pins.take([img])
        assert not pins.removed()
        made_again(img)
        assert pins.removed()
        pins.take([img])  # the new one held instead
        assert not pins.removed()
    finally:
        pins.close()


@pytest.fixture
def quiet_watchfiles(monkeypatch):
    """watchfiles' watch reporting nothing (as when the report of the folder itself is lost), asking the
    stop event every 5 ms; the looks at the folders on a clock the test moves. Yields (watches, now)."""
    import watchfiles

    watches, now = [], [0.0]

    def watch(*paths, stop_event, **_):
        watches.append(paths)
        while not stop_event.is_set():
            time.sleep(0.005)
        yield from ()

    class Clocked(_StopOrChange):
        def __init__(self, stop, changed, every=None, clock=None):
            super().__init__(stop, changed, every, clock=lambda: now[0])

    monkeypatch.setattr(watchfiles, "watch", watch)
    monkeypatch.setattr(watcher, "_StopOrChange", Clocked)
    return watches, now


def watching(img: Path):
    stop, got = threading.Event(), []
    worker = threading.Thread(target=watch_captions, args=(img, ".txt", stop, got.extend), daemon=True)
    worker.start()
    return stop, got, worker


@pytest.mark.parametrize("numbers_made_up", [False, True])
def test_the_watch_starts_over_on_a_folder_made_again_inside_the_quiet_wait(tmp_path, quiet_watchfiles,
                                                                            monkeypatch, numbers_made_up):
    watches, now = quiet_watchfiles
    img = train_folder(tmp_path)
    if numbers_made_up:  # every folder the same number: the link count alone tells
        monkeypatch.setattr(watcher, "_identity", lambda folder: (1, 1) if os.path.isdir(folder) else None)
        monkeypatch.setattr(watcher, "_fd_identity", lambda fd: (1, 1))
    stop, got, worker = watching(img)
    try:
        assert until(lambda: len(watches) == 1)
        time.sleep(0.05)  # asked: looked at t=0, quiet until 0.5
        made_again(img)
        time.sleep(0.2)
        assert len(watches) == 1 and got == []  # inside the wait: not looked at
        now[0] = 0.5
        assert until(lambda: img in got)  # the next look: listed again
        assert len(watches) == 2  # and watched again: the new folder
        time.sleep(0.2)
        assert len(watches) == 2  # once
    finally:
        stop.set()
        worker.join(5)
    assert not worker.is_alive()


def test_a_folder_removed_inside_the_quiet_wait_is_said_gone_then_listed_when_back(tmp_path, quiet_watchfiles):
    watches, now = quiet_watchfiles
    img = train_folder(tmp_path)
    stop, got, worker = watching(img)
    try:
        assert until(lambda: len(watches) == 1)
        time.sleep(0.05)
        shutil.copytree(img, tmp_path / "bak")
        shutil.rmtree(img)
        now[0] = 0.5
        assert until(lambda: img in got)  # gone: its listing fails, named
        got.clear()
        shutil.copytree(tmp_path / "bak", img)
        assert until(lambda: img in got)  # back within GONE_POLL_S: listed again
        assert until(lambda: len(watches) == 2)
    finally:
        stop.set()
        worker.join(5)
    assert not worker.is_alive()


def test_the_real_watch_follows_a_folder_made_again_at_once_every_time(tmp_path):
    """watchfiles itself, at CHANGE_LOOK_S: removed and made again with no gap, five times; each time
    listed again and a caption written in the new folder is delivered."""
    img = train_folder(tmp_path)
    caption = img / "4_dog" / "d1.txt"
    stop, got, worker = watching(img)

    def written_and_seen(tag: str) -> bool:
        for i in range(20):  # the watch starts in its thread: write until it reports
            caption.write_text(f"dog, {tag}{i}\n")
            if until(lambda: caption in got, 0.3):
                return True
        return False

    try:
        assert written_and_seen("start")
        for n in range(5):
            got.clear()
            made_again(img)
            assert until(lambda: img in got, 3.0), f"made again ({n}): not listed again"
            got.clear()
            assert written_and_seen(f"again{n}-"), f"made again ({n}): the new folder is not watched"
    finally:
        stop.set()
        worker.join(5)
    assert not worker.is_alive()
