"""core/captions/files.py on disk: reading, atomic writes that keep the file's style, conflicts, finding captions."""

from __future__ import annotations

import os

import pytest

from loratui.core.captions import (
    find_caption_images, load_captions, multiline_captions, read_caption, write_caption,
)
from loratui.core.errors import ConflictError, LoratuiError


@pytest.mark.parametrize("data", [
    b"a, b\n", b"a,b", b"a, b\r\n", b"\xef\xbb\xbfa, b\n", b"x\nsecond line\n", b"", b"caf\xe9, x\n",
])
def test_unchanged_caption_is_not_rewritten(tmp_path, data):
    path = tmp_path / "a.txt"
    path.write_bytes(data)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    cap = read_caption(path)
    assert write_caption(cap, list(cap.tags)) is False
    assert path.read_bytes() == data and path.stat().st_mtime_ns == 1_000_000_000


def test_write_keeps_bom_newline_and_later_lines(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xef\xbb\xbfa, b\r\nsecond\r\n")
    cap = read_caption(path)
    assert write_caption(cap, ["z"] + cap.tags)
    assert path.read_bytes() == b"\xef\xbb\xbfz, a, b\r\nsecond\r\n"


def test_write_is_atomic_and_keeps_permissions(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("a\n")
    path.chmod(0o640)
    cap = read_caption(path)
    write_caption(cap, ["b"])
    assert path.read_text() == "b\n" and (path.stat().st_mode & 0o777) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temp file left behind


def test_new_caption_file(tmp_path):
    cap = read_caption(tmp_path / "new.txt")
    assert not cap.exists and cap.tags == []
    assert write_caption(cap, []) is False and not cap.path.exists()
    assert write_caption(cap, ["trigger"])
    assert cap.path.read_bytes() == b"trigger\n"


def test_conflict_when_changed_on_disk(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("a, b\n")
    cap = read_caption(path)
    path.write_text("edited elsewhere\n")
    with pytest.raises(ConflictError, match="changed on disk"):
        write_caption(cap, ["c"])
    assert path.read_text() == "edited elsewhere\n"


def test_conflict_when_created_or_deleted_meanwhile(tmp_path):
    cap = read_caption(tmp_path / "a.txt")
    (tmp_path / "a.txt").write_text("someone else\n")
    with pytest.raises(ConflictError):
        write_caption(cap, ["c"])
    cap = read_caption(tmp_path / "a.txt")
    (tmp_path / "a.txt").unlink()
    with pytest.raises(ConflictError):
        write_caption(cap, ["c"])
    assert not (tmp_path / "a.txt").exists()


def test_same_bytes_rewritten_meanwhile_is_no_conflict(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("a, b\n")
    cap = read_caption(path)
    path.write_text("a, b\n")  # touched (e.g. a sync tool) but unchanged: the content decides
    assert write_caption(cap, ["a"])


def test_read_errors_are_one_line(tmp_path):
    (tmp_path / "dir.txt").mkdir()
    with pytest.raises(LoratuiError, match="is a folder"):
        read_caption(tmp_path / "dir.txt")


def make_kohya(tmp_path):
    root = tmp_path / "img"
    folder = root / "10_cat"
    folder.mkdir(parents=True)
    for name in ("a.png", "b.JPG", "c.webp", "a.jpg"):  # a.png + a.jpg share a.txt
        (folder / name).write_bytes(b"x")
    (folder / "a.txt").write_text("cat, solo\n")
    (folder / "b.txt").write_text("cat\nextra line\n")
    (root / "flat.png").write_bytes(b"x")
    (root / "notes").mkdir()  # not N_concept: sd-scripts skips it, so do we (unless --recursive)
    (root / "notes" / "n.png").write_bytes(b"x")
    (root / ".loratui").mkdir()
    (root / ".loratui" / "hidden.png").write_bytes(b"x")
    return root, folder


def test_load_captions_kohya_folder(tmp_path):
    root, folder = make_kohya(tmp_path)
    caps = load_captions(root)
    assert [c.path.relative_to(root).as_posix() for c in caps] == [
        "flat.txt", "10_cat/a.txt", "10_cat/b.txt", "10_cat/c.txt"]
    assert [c.exists for c in caps] == [False, True, True, False]
    assert multiline_captions(caps) == [folder / "b.txt"]
    everything = load_captions(root, recursive=True)
    assert "notes/n.txt" in [c.path.relative_to(root).as_posix() for c in everything]
    assert not any(".loratui" in str(c.path) for c in everything)


def test_load_captions_options_and_errors(tmp_path):
    root, folder = make_kohya(tmp_path)
    (folder / "a.caption").write_text("x|y\n")
    caps = load_captions(root, extension="caption", separator="|")
    assert [c.tags for c in caps if c.exists] == [["x", "y"]]
    assert len(find_caption_images(root)) == 5
    with pytest.raises(LoratuiError, match="not a folder"):
        load_captions(tmp_path / "nope")
