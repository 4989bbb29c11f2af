"""core/fsutil.atomic_create_bytes: publish a new file without ever replacing one that is there, even one
made after the caller checked (a check-then-rename replaces it). Where the file system has no hard links
(FAT, some network mounts) the name is reserved with O_EXCL and the temp file renamed over that placeholder."""

from __future__ import annotations

import errno
import os

import pytest

from loratui.core import fsutil
from loratui.core.fsutil import atomic_create_bytes


def _temps(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_writes_a_new_file_and_refuses_an_existing_one(tmp_path):
    target = tmp_path / "out.safetensors"
    assert atomic_create_bytes(target, b"new") == tmp_path
    assert target.read_bytes() == b"new" and target.stat().st_nlink == 1 and _temps(tmp_path) == []
    with pytest.raises(FileExistsError) as caught:
        atomic_create_bytes(target, b"other")
    assert caught.value.filename == str(target)
    assert target.read_bytes() == b"new" and _temps(tmp_path) == []


def test_a_dangling_symbolic_link_counts_as_taken(tmp_path):
    link = tmp_path / "link.safetensors"
    link.symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileExistsError):
        atomic_create_bytes(link, b"x")
    assert link.is_symlink() and not (tmp_path / "nowhere").exists() and _temps(tmp_path) == []


@pytest.mark.parametrize("code", [errno.EPERM, errno.EOPNOTSUPP])
def test_without_hard_links_the_name_is_reserved_first(tmp_path, monkeypatch, code):
    def no_links(src, dst):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(fsutil.os, "link", no_links)
    target = tmp_path / "out.bin"
    atomic_create_bytes(target, b"whole")
    assert target.read_bytes() == b"whole" and _temps(tmp_path) == []
    with pytest.raises(FileExistsError):
        atomic_create_bytes(target, b"again")
    assert target.read_bytes() == b"whole" and _temps(tmp_path) == []


def test_without_hard_links_a_file_written_over_the_placeholder_is_kept(tmp_path, monkeypatch):
    """Another program replaces the reserved (empty) name before the rename: its file stays."""
    target = tmp_path / "out.bin"
    real_replace = os.replace

    def no_links(src, dst):
        raise OSError(errno.EPERM, "no hard links here")

    def someone_else_first(src, dst):
        raise AssertionError("must not rename over another program's file")

    real_stat = os.stat

    def stat_after_their_write(path, *args, **kwargs):
        if str(path) == str(target) and target.read_bytes() == b"":
            target.write_bytes(b"theirs")
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(fsutil.os, "link", no_links)
    monkeypatch.setattr(fsutil.os, "stat", stat_after_their_write)
    monkeypatch.setattr(fsutil.os, "replace", someone_else_first)
    with pytest.raises(FileExistsError):
        atomic_create_bytes(target, b"mine")
    monkeypatch.setattr(fsutil.os, "replace", real_replace)
    assert target.read_bytes() == b"theirs" and _temps(tmp_path) == []


def test_another_link_error_is_raised_and_cleans_up(tmp_path, monkeypatch):
    def no_space(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fsutil.os, "link", no_space)
    with pytest.raises(OSError) as caught:
        atomic_create_bytes(tmp_path / "out.bin", b"x")
    assert caught.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        atomic_create_bytes(tmp_path / "missing" / "out.bin", b"x")
    assert caught.value.filename == str(tmp_path / "missing" / "out.bin")
