"""The caption watcher reports paths spelled from the root the store was opened with: `loratui .`
holds "img/x.txt" under ".", and the absolute paths watchfiles reports never matched it (outside
changes were never reloaded and every bulk op on them failed as "changed on disk")."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from loratui.tui.services.watcher import as_under, watch_captions


def test_paths_are_spelled_from_a_relative_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert as_under(Path("."), str(tmp_path / "img" / "a.txt")) == Path("img/a.txt")
    assert as_under(Path("img"), str(tmp_path / "img" / "a.txt")) == Path("img/a.txt")
    assert as_under(tmp_path, str(tmp_path / "img" / "a.txt")) == tmp_path / "img" / "a.txt"
    assert as_under(Path("."), "/elsewhere/b.txt") == Path("/elsewhere/b.txt")


def test_a_symlinked_root_is_spelled_as_opened(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    assert as_under(tmp_path / "link", str(tmp_path / "real" / "a.txt")) == tmp_path / "link" / "a.txt"


def test_an_outside_write_is_delivered_under_a_relative_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "img").mkdir()
    stop, got, seen = threading.Event(), [], threading.Event()

    def deliver(paths):
        got.extend(paths)
        seen.set()

    worker = threading.Thread(target=watch_captions, args=(Path("."), ".txt", stop, deliver), daemon=True)
    worker.start()
    try:
        for _ in range(40):  # the watcher starts in its thread: write until it reports
            (tmp_path / "img" / "a.txt").write_text("probe\n")
            if seen.wait(0.25):
                break
    finally:
        stop.set()
        worker.join(5)
    assert Path("img/a.txt") in got


def test_a_concept_folder_renamed_outside_is_delivered_as_the_root(tmp_path):
    """hunt9: `mv 3_a 5_a` while the app was open left the table on the old names for minutes."""
    from fixtures.watch_run import watching

    (tmp_path / "3_a").mkdir()
    (tmp_path / "3_a" / "x.txt").write_text("a\n")
    with watching(tmp_path) as (seen, got):
        names = ["3_a", "5_a"]
        for i in range(40):  # the watcher starts in its thread: rename until it reports
            (tmp_path / names[i % 2]).rename(tmp_path / names[(i + 1) % 2])
            if seen.wait(0.25):
                break
    assert tmp_path in got


def test_what_lists_images_and_what_does_not(tmp_path):
    from loratui.tui.services.watcher import _lists_images

    assert _lists_images(tmp_path, str(tmp_path / "10_a"))               # a concept folder
    assert _lists_images(tmp_path, str(tmp_path / "10_a" / "new.png"))   # an image
    assert not _lists_images(tmp_path, str(tmp_path / "10_a" / "x.txt"))  # a caption: delivered itself
    assert not _lists_images(tmp_path, str(tmp_path / "10_a" / ".x.txt.abc.tmp"))  # our atomic write
    assert not _lists_images(tmp_path, str(tmp_path / ".loratui" / "undo"))
