"""Undo and redo never make a caption file again whose image is gone (h3 item 4: `tags undo --force`
brought back img0050-0054.txt after their images were deleted)."""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from pathlib import Path

from click.testing import CliRunner

from loratui.cli import cli
from loratui.core.captions import AddTags, apply_plan, history, load_captions, plan_edits, plan_undo, undo_last


def make_dataset(root: Path, n: int = 8) -> Path:
    for concept in ("5_cat", "3_dog"):
        folder = root / "img" / concept
        folder.mkdir(parents=True)
        for i in range(n):
            (folder / f"img{i:04d}.png").write_bytes(b"x")
            (folder / f"img{i:04d}.txt").write_text(f"{concept}, tag_{i}\n", encoding="utf-8")
    return root / "img"


def png() -> bytes:
    """A real 8x8 PNG: a caption is only made for an image sd-scripts can load."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 25 * 8))
            + chunk(b"IEND", b""))


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


def remove_pairs(folder: Path, numbers) -> list[Path]:
    captions = []
    for i in numbers:
        (folder / f"img{i:04d}.png").unlink()
        captions.append(folder / f"img{i:04d}.txt")
        captions[-1].unlink()
    return captions


def test_undo_leaves_out_captions_whose_image_was_deleted(tmp_path):
    root = make_dataset(tmp_path)
    apply_plan(plan_edits(load_captions(root), [AddTags(["undotest"])]), root)
    gone = remove_pairs(root / "5_cat", range(5))
    preview = plan_undo(root)
    assert sorted(preview.image_gone) == gone and not preview.conflicts  # nothing to protect: no refusal
    result = undo_last(root)
    assert sorted(result.image_gone) == gone and len(result.restored) == 11
    assert not any(path.exists() for path in gone)
    assert (root / "5_cat" / "img0007.txt").read_text() == "5_cat, tag_7\n" and history(root) == []


def test_force_still_restores_a_deleted_caption_whose_image_is_there(tmp_path):
    root = make_dataset(tmp_path)
    apply_plan(plan_edits(load_captions(root), [AddTags(["undotest"])]), root)
    (root / "5_cat" / "img0001.txt").unlink()  # the caption alone: a conflict, --force brings it back
    (root / "5_cat" / "img0002.png").rename(root / "5_cat" / "img0002.JPG")  # another image of that stem
    (root / "5_cat" / "img0002.txt").unlink()
    preview = plan_undo(root)
    assert len(preview.conflicts) == 2 and not preview.image_gone
    result = undo_last(root, force=True)
    assert not result.image_gone
    assert (root / "5_cat" / "img0001.txt").read_text() == "5_cat, tag_1\n"
    assert (root / "5_cat" / "img0002.txt").read_text() == "5_cat, tag_2\n"


def test_a_removed_concept_folder_is_left_out_not_an_error(tmp_path):
    root = make_dataset(tmp_path)
    apply_plan(plan_edits(load_captions(root), [AddTags(["undotest"])]), root)
    shutil.rmtree(root / "3_dog")
    result = undo_last(root)
    assert len(result.image_gone) == 8 and len(result.restored) == 8 and not (root / "3_dog").exists()


def test_redo_does_not_recreate_a_caption_whose_image_went_after_the_undo(tmp_path):
    root = make_dataset(tmp_path, n=3)
    (root / "5_cat" / "new.png").write_bytes(png())  # no caption: the add makes one, the undo deletes it
    run("tags", "add", root, "undotest", "--yes")
    run("tags", "undo", root, "--yes")
    assert not (root / "5_cat" / "new.txt").exists()
    (root / "5_cat" / "new.png").unlink()
    out = run("tags", "redo", root, "--yes").output
    assert not (root / "5_cat" / "new.txt").exists()
    assert "Left out 1 caption(s) whose image is gone (deleted since), not redone: 5_cat/new.txt" in out, out


def test_cli_names_what_it_left_out(tmp_path):
    root = make_dataset(tmp_path)
    run("tags", "add", root, "undotest", "--yes")
    remove_pairs(root / "5_cat", range(7))
    result = run("tags", "undo", root, "--yes")
    assert result.exit_code == 0, result.output
    assert "(9 file(s) to restore; 7 left out: image gone)" in result.output
    assert "Restored 9 caption file(s)" in result.output
    assert ("Left out 7 caption(s) whose image is gone (deleted since), not undone: 5_cat/img0000.txt, "
            "5_cat/img0001.txt, 5_cat/img0002.txt, 5_cat/img0003.txt, 5_cat/img0004.txt and 2 more") in result.output
    assert not (root / "5_cat" / "img0000.txt").exists()


def test_cli_json_lists_them(tmp_path):
    root = make_dataset(tmp_path)
    run("tags", "add", root, "undotest", "--yes")
    remove_pairs(root / "3_dog", [0])
    data = json.loads(run("tags", "undo", root, "--yes", "--force", "--json").output)
    assert data["image_gone"] == ["3_dog/img0000.txt"] and len(data["restored"]) == 15
