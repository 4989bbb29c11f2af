"""The caption watcher (tui/services/watcher.py) after a review of 97c34ef (r1 items 3-5).

- The "not valid UTF-8" line writes the name by core.termline's one rule: a name holding both an
  undecodable byte and a newline stays on one line.
- After the train folder comes back, the watch no longer wakes every 300 ms for the rest of its life
  (watchfiles' yield_on_timeout gave an empty batch at every rust_timeout, not once).
- The line is said again for a name made after the first one was renamed (``told`` was set once per app).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import watchfiles

from loratui.tui.services.watcher import _poll_line, _StopOrChange, watch_captions

BAD = os.fsdecode(b"bad\xff.txt")  # not UTF-8, as Python spells it
WORSE = os.fsdecode(b"worse\xfe.txt")
BAD_WITH_NEWLINE = os.fsdecode(b"odd\xff\nname.txt")


@contextmanager
def watching(root: Path):
    """Watch ``root`` in a thread; yields (every path delivered, every line told)."""
    stop, got, told = threading.Event(), [], []
    worker = threading.Thread(target=watch_captions, args=(root, ".txt", stop, got.extend),
                              kwargs={"tell": told.append}, daemon=True)
    worker.start()
    try:
        yield got, told
    finally:
        stop.set()
        worker.join(5)
    assert not worker.is_alive(), "the watcher did not stop with the app"


@contextmanager
def counted_watchfiles(monkeypatch):
    """watchfiles.watch, counted: [watches started, empty batches yielded]."""
    real, counts = watchfiles.watch, [0, 0]

    def watch(*paths, **options):
        counts[0] += 1
        for changes in real(*paths, **options):
            counts[1] += not changes
            yield changes

    monkeypatch.setattr(watchfiles, "watch", watch)  # the watcher imports it at each watch
    yield counts


def dataset(tmp_path: Path) -> Path:
    img = tmp_path / "img"
    (img / "4_dog").mkdir(parents=True)
    (img / "4_dog" / "d1.png").write_bytes(b"png")
    (img / "4_dog" / "d1.txt").write_text("dog\n")
    return img


def until(test, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if test():
            return True
        time.sleep(0.05)
    return False


def delivered_when_written(got: list, caption: Path, tries: int = 40) -> bool:
    """Rewrite ``caption`` in place until the watch delivers it (the watch starts in its thread)."""
    for i in range(tries):
        caption.write_text(f"dog, {i}\n")
        if until(lambda: caption in got, 0.25):
            return True
    return False


# ---- the line names the file by the one escape rule ------------------------------------------------

def test_the_poll_line_escapes_a_newline_beside_an_undecodable_byte(tmp_path):
    img = tmp_path / "img"
    line = _poll_line(img, str(img / "4_dog" / BAD_WITH_NEWLINE))
    assert line.startswith(f"{img}/4_dog/odd\\xff\\nname.txt: the name is not valid UTF-8")
    assert "\n" not in line


def test_the_told_line_stays_one_line_for_such_a_name(tmp_path):
    img = dataset(tmp_path)
    (img / "4_dog" / BAD_WITH_NEWLINE).write_text("odd\n")
    with watching(img) as (_got, told):
        assert until(lambda: told)
    assert "\n" not in told[0] and told[0].startswith(f"{img}/4_dog/odd\\xff\\nname.txt: ")


# ---- no wakeups every 300 ms after a comeback ------------------------------------------------------

def test_after_the_train_folder_comes_back_the_watch_yields_no_empty_batches(tmp_path, monkeypatch):
    img = dataset(tmp_path)
    caption = img / "4_dog" / "d1.txt"
    with counted_watchfiles(monkeypatch) as counts, watching(img) as (got, _told):
        assert delivered_when_written(got, caption)
        shutil.copytree(img, tmp_path / "bak")
        shutil.rmtree(img)
        assert until(lambda: img in got)  # gone
        got.clear()
        shutil.copytree(tmp_path / "bak", img)
        assert until(lambda: img in got)  # back: delivered once the new watch is looking
        started = counts[0]
        caption.write_text("dog, right after\n")  # made once it is looking: not lost
        assert until(lambda: caption in got)
        got.clear()
        time.sleep(1.5)  # idle: 5 empty batches with rust_timeout=300
        assert counts[1] == 0
        assert counts[0] == started  # and no restarts either
        assert got == []
        assert delivered_when_written(got, caption)  # still watching


def test_the_first_paths_wait_for_an_ask_that_does_not_stop_the_watch():
    stop, changed, calls = threading.Event(), [False], []
    event = _StopOrChange(stop, lambda: changed[0])
    event.when_looking(lambda: calls.append("first"))
    changed[0] = True
    assert event.is_set() and calls == []  # starting over: kept for the next watch
    changed[0] = False
    assert not event.is_set() and calls == ["first"]
    assert not event.is_set() and calls == ["first"]  # once
    stop.set()
    assert event.is_set()


# ---- told again once watched again -----------------------------------------------------------------

def test_a_second_undecodable_name_after_a_rename_is_told_again(tmp_path, monkeypatch):
    img = dataset(tmp_path)
    caption = img / "4_dog" / "d1.txt"
    (img / "4_dog" / BAD).write_text("odd\n")
    with counted_watchfiles(monkeypatch) as counts, watching(img) as (got, told):
        assert until(lambda: len(told) == 1)  # polled
        started = counts[0]
        os.rename(img / "4_dog" / BAD, img / "4_dog" / "fine.txt")
        assert until(lambda: counts[0] > started)  # watched by watchfiles again
        got.clear()
        assert delivered_when_written(got, caption)
        worse = img / "4_dog" / WORSE  # in a watched folder (a file made in a new one may be missed)
        worse.write_text("odd again\n")
        assert until(lambda: (worse.read_bytes(), len(told) == 2)[1])  # the user is told of this one too
        assert delivered_when_written(got, caption)  # and its folders are looked at
    assert told[1].startswith(f"{img}/4_dog/worse\\xfe.txt: the name is not valid UTF-8")
