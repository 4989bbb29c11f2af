"""init_project lays out img/N_name, reg, model and brings images + captions in without overwriting."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from loratui.core.dataset import concept_folder_name, init_project, scan_dataset
from loratui.core.errors import LoratuiError


@pytest.fixture
def src(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    Image.new("RGB", (20, 10)).save(folder / "a.png")
    Image.new("RGB", (10, 20)).save(folder / "b.JPG", "JPEG")
    (folder / "a.txt").write_text("sks, smiling")
    (folder / "notes.md").write_text("not copied")
    (folder / "sub").mkdir()
    Image.new("RGB", (5, 5)).save(folder / "sub" / "c.png")
    return folder


def test_layout_only(tmp_path):
    result = init_project(tmp_path / "proj", "sks", 10)
    for name in ("img", "reg", "model", "img/10_sks"):
        assert (tmp_path / "proj" / name).is_dir()
    assert result.concept_dir == tmp_path / "proj" / "img" / "10_sks"
    assert len(result.created_dirs) == 5 and result.images == [] and not (tmp_path / "proj" / "log").exists()


def test_copy_images_and_captions(tmp_path, src):
    result = init_project(tmp_path / "proj", "sks", 5, src, class_tokens="woman")
    concept_dir = tmp_path / "proj" / "img" / "5_sks woman"
    assert sorted(p.name for p in concept_dir.iterdir()) == ["a.png", "a.txt", "b.JPG"]
    assert [p.name for p in result.images] == ["a.png", "b.JPG"]
    assert [p.name for p in result.captions] == ["a.txt"]
    assert not (concept_dir / "a.png").is_symlink()
    scan = scan_dataset(tmp_path / "proj" / "img")
    assert scan.subsets[0].class_tokens == "sks woman" and scan.subsets[0].num_images == 2


def test_symlink_and_hardlink(tmp_path, src):
    init_project(tmp_path / "p1", "x", 1, src, mode="symlink")
    link = tmp_path / "p1" / "img" / "1_x" / "a.png"
    assert link.is_symlink() and link.resolve() == (src / "a.png").resolve()
    init_project(tmp_path / "p2", "x", 1, src, mode="hardlink")
    assert os.stat(tmp_path / "p2" / "img" / "1_x" / "a.png").st_ino == os.stat(src / "a.png").st_ino


def test_rerun_into_existing_project_keeps_folders(tmp_path, src):
    init_project(tmp_path / "proj", "sks", 10)
    result = init_project(tmp_path / "proj", "other", 3)
    assert (tmp_path / "proj" / "img" / "3_other").is_dir()
    assert result.created_dirs == [tmp_path / "proj" / "img" / "3_other"]


def test_never_overwrites(tmp_path, src):
    dest = tmp_path / "proj" / "img" / "1_x"
    dest.mkdir(parents=True)
    (dest / "a.txt").write_text("mine")
    with pytest.raises(LoratuiError, match="already exists"):
        init_project(tmp_path / "proj", "x", 1, src)
    assert (dest / "a.txt").read_text() == "mine"
    assert sorted(p.name for p in dest.iterdir()) == ["a.txt"]  # nothing copied at all


@pytest.mark.parametrize(
    "concept, repeats, tokens, match",
    [("", 1, None, "empty"), ("a/b", 1, None, "plain name"), (".x", 1, None, "plain name"),
     ("x", 0, None, "at least 1"), ("x", 1, "a/b", "plain name")],
)
def test_bad_names(concept, repeats, tokens, match):
    with pytest.raises(LoratuiError, match=match):
        concept_folder_name(repeats, concept, tokens)


def test_bad_sources(tmp_path):
    with pytest.raises(LoratuiError, match="not a folder"):
        init_project(tmp_path / "p", "x", 1, tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LoratuiError, match="no images"):
        init_project(tmp_path / "p", "x", 1, tmp_path / "empty")
    assert not (tmp_path / "p").exists()  # checked before creating anything
    (tmp_path / "file").write_text("x")
    with pytest.raises(LoratuiError, match="not a folder"):
        init_project(tmp_path / "file", "x", 1)


def test_same_concept_with_other_repeats_is_refused(tmp_path):
    init_project(tmp_path / "proj", "sks", 10)
    with pytest.raises(LoratuiError, match="already holds concept 'sks'"):
        init_project(tmp_path / "proj", "sks", 5)
    assert not (tmp_path / "proj" / "img" / "5_sks").exists()


# ---- whole or nothing (issue 11) ----------------------------------------------------------------

def _full_disk_after(monkeypatch, n: int) -> list:
    """shutil.copyfile raises ENOSPC on the (n+1)-th call, as on a disk that just filled up."""
    import errno
    import shutil

    real = shutil.copyfile
    calls = []

    def copyfile(src, dst, *, follow_symlinks=True):
        calls.append(dst)
        if len(calls) > n:
            Path(dst).write_bytes(b"")  # the 0-byte file a real full disk leaves
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return real(src, dst, follow_symlinks=follow_symlinks)

    monkeypatch.setattr(shutil, "copyfile", copyfile)
    return calls


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def test_full_disk_during_init_leaves_nothing_and_a_rerun_works(tmp_path, src, monkeypatch):
    calls = _full_disk_after(monkeypatch, 2)
    with pytest.raises(LoratuiError) as info:
        init_project(tmp_path / "proj", "sks", 5, src)
    message = str(info.value)
    assert "no space left on the device" in message and "nothing was added" in message and "\n" not in message
    assert len(calls) == 3
    assert not (tmp_path / "proj").exists()  # every folder this call made is gone, no temp file left
    monkeypatch.undo()
    result = init_project(tmp_path / "proj", "sks", 5, src)
    assert len(result.images) == 2 and _tree(tmp_path / "proj" / "img") == [
        "5_sks", "5_sks/a.png", "5_sks/a.txt", "5_sks/b.JPG"]


def test_full_disk_adding_to_an_existing_concept_folder(tmp_path, src, monkeypatch):
    init_project(tmp_path / "proj", "sks", 5)
    concept = tmp_path / "proj" / "img" / "5_sks"
    (concept / "mine.png").write_bytes(b"kept")
    before = _tree(tmp_path / "proj")
    _full_disk_after(monkeypatch, 1)
    with pytest.raises(LoratuiError, match="no space left"):
        init_project(tmp_path / "proj", "sks", 5, src)
    assert _tree(tmp_path / "proj") == before and (concept / "mine.png").read_bytes() == b"kept"
    monkeypatch.undo()
    init_project(tmp_path / "proj", "sks", 5, src)
    assert sorted(p.name for p in concept.iterdir()) == ["a.png", "a.txt", "b.JPG", "mine.png"]


def test_stale_staging_folder_of_a_killed_init_is_removed(tmp_path, src):
    img = tmp_path / "proj" / "img"
    img.mkdir(parents=True)
    stale = img / ".5_sks.abc123.loratui-tmp"
    stale.mkdir()
    (stale / "a.png").write_bytes(b"half")
    init_project(tmp_path / "proj", "sks", 5, src)
    assert not stale.exists() and (img / "5_sks" / "a.png").stat().st_size > 4


def test_concept_folder_gets_normal_permissions(tmp_path, src):
    init_project(tmp_path / "proj", "sks", 5, src)
    mode = (tmp_path / "proj" / "img" / "5_sks").stat().st_mode & 0o777
    assert mode == (tmp_path / "proj" / "img").stat().st_mode & 0o777


def test_full_disk_cli_is_one_line(tmp_path, src, monkeypatch, capsys):
    from loratui.cli import main

    _full_disk_after(monkeypatch, 1)
    with pytest.raises(SystemExit) as info:
        main(["dataset", "init", str(tmp_path / "proj"), "--concept", "sks", "--repeats", "5", "--images", str(src)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith(f"error: {src}") and "no space left" in err
