"""Undo and redo judge "its image is gone" by the scan's caption <-> image pairing (a multi-dot caption
extension, face crops, any image extension in any case), and never drop the journal's text of a caption
they leave out: it rides along to the other list, so once the image is back a redo and an undo (or an
undo and a redo) write it (r1 review, items 2 and 3)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_undo_image_gone_x5 import png, run  # one 8x8 PNG and CLI runner for both undo test files

from loratui.core.captions import (
    AddTags, apply_plan, caption_bases, history, image_gone_line, load_captions, plan_edits, plan_undo,
    read_caption, redo_history, redo_last, remap_folders, undo_last,
)
from loratui.core.captions.image_gone import image_gone
from loratui.core.captions.journal import redo_dir
from loratui.core.dataset import caption_candidates


@pytest.mark.parametrize("name", ["a.png", "a.b.png", "c_1_2_3_4.png", "c_d_1_2_3_4.PNG", "c_1_2_3.png",
                                  "x_y_z_w_v_u.jpg", "_1_2_3_4.webp", "noext", ".hidden.png", "k_1_2_3_4.wd14.png"])
def test_caption_bases_are_the_scans_candidates(name):
    # the scan's rule with an empty extension is the bases: the two never drift apart
    assert caption_bases(name) == list(caption_candidates(Path(name), ""))


def test_an_image_is_there_by_the_scans_pairing(tmp_path):
    folder = tmp_path / "10_x"
    folder.mkdir()
    for name in ("a.PNG", "b.png", "c_1_2_3_4.png", "d.JPEG", "e.webp", "f.jxl", "h_1_2_3.png", "notes.md"):
        (folder / name).write_bytes(b"x")
    cache: dict = {}
    there = ["a.txt", "b.wd14.txt", "b.txt", "b.wd14", "c.txt", "c_1_2_3_4.txt", "d.caption", "e.txt", "f.txt",
             "h_1_2_3.txt", "A.TXT"]
    assert [name for name in there if image_gone(folder / name, cache)] == []
    gone = ["g.txt", "h.txt", "notes.txt", "bb.txt", "c_1.txt", "b", ".txt"]
    assert [name for name in gone if image_gone(folder / name, cache)] == gone
    assert image_gone(tmp_path / "gone_folder" / "a.txt", cache)


def captioned(root: Path, names: list[str], extension: str = ".txt") -> Path:
    folder = root / "10_x"
    folder.mkdir(parents=True)
    for name in names:
        (folder / name).write_bytes(png())
        (folder / name).with_suffix(extension).write_text(f"{name}, solo\n", encoding="utf-8")
    return folder


def test_the_review_repro_a_wd14_caption_deleted_beside_its_image_is_restored_by_force(tmp_path):
    root = tmp_path / "img"
    folder = captioned(root, ["a.png", "b.png"], ".wd14.txt")
    assert run("tags", "add", root, "--caption-extension", ".wd14.txt", "--yes", "x").exit_code == 0
    (folder / "b.wd14.txt").unlink()  # the caption alone: its image is there
    preview = plan_undo(root)
    assert not preview.image_gone and len(preview.conflicts) == 1
    out = run("tags", "undo", root, "--force", "--yes").output
    assert "Left out" not in out and "Restored 2 caption file(s)" in out and "re-applies this one" in out, out
    assert (folder / "b.wd14.txt").read_text(encoding="utf-8") == "b.png, solo\n"


def test_a_face_crop_caption_counts_its_crop_as_its_image(tmp_path):
    root = tmp_path / "img"
    folder = root / "10_x"
    folder.mkdir(parents=True)
    (folder / "c_1_2_3_4.png").write_bytes(png())
    (folder / "c.txt").write_text("face, solo\n", encoding="utf-8")  # the crop's caption, as the scan pairs it
    apply_plan(plan_edits([read_caption(folder / "c.txt")], [AddTags(["x"])]), root)
    (folder / "c.txt").unlink()
    assert plan_undo(root).image_gone == []
    assert undo_last(root, force=True).restored == [folder / "c.txt"]
    assert (folder / "c.txt").read_text(encoding="utf-8") == "face, solo\n"


def gone_pair(root: Path) -> tuple[Path, Path]:
    """One change over a.png and b.png, then b.png and its caption deleted: (b.png, b.txt)."""
    folder = captioned(root, ["a.png", "b.png"])
    apply_plan(plan_edits(load_captions(root), [AddTags(["x"])]), root)
    (folder / "b.png").unlink()
    (folder / "b.txt").unlink()
    return folder / "b.png", folder / "b.txt"


def test_the_text_left_out_by_an_undo_comes_back_with_its_image(tmp_path):
    root = tmp_path / "img"
    image, caption = gone_pair(root)
    result = undo_last(root)
    assert result.image_gone == [caption] and not caption.exists() and result.walk_back_files == 1
    (entry,) = redo_dir(root).iterdir()
    kept = [item for item in json.loads(entry.read_text())["files"] if item.get("left_out")]
    assert [item["path"] for item in kept] == ["10_x/b.txt"]  # in the redo entry, not walked by the redo
    assert redo_history(root)[0][2] == 1 and history(root) == []  # the history counts the files a walk writes
    image.write_bytes(png())  # put back, its caption not
    redo_last(root)
    assert not caption.exists() and history(root)[0][2] == 2  # the redo hands the record back to the undo
    result = undo_last(root)
    assert caption.read_text(encoding="utf-8") == "b.png, solo\n" and caption in result.restored
    assert (caption.parent / "a.txt").read_text(encoding="utf-8") == "a.png, solo\n"


def test_a_caption_left_out_again_and_again_is_still_kept(tmp_path):
    root = tmp_path / "img"
    image, caption = gone_pair(root)
    for _ in range(3):  # the image stays gone: the record goes back and forth, never dropped
        assert undo_last(root).image_gone == [caption]
        assert redo_last(root).image_gone == []  # a kept record is not the redo's to walk
    undo_last(root)
    image.write_bytes(png())
    redo_last(root)
    undo_last(root)
    assert caption.read_text(encoding="utf-8") == "b.png, solo\n"


def test_a_redo_keeps_what_it_left_out_for_the_next_undo_and_redo(tmp_path):
    root = tmp_path / "img"
    folder = captioned(root, ["a.png"])
    (folder / "new.png").write_bytes(png())  # no caption: the change makes one
    apply_plan(plan_edits(load_captions(root), [AddTags(["x"])]), root)
    undo_last(root)
    (folder / "new.png").unlink()
    assert redo_last(root).image_gone == [folder / "new.txt"]
    (folder / "new.png").write_bytes(png())
    assert plan_undo(root).image_gone == []
    undo_last(root)
    redo_last(root)
    assert (folder / "new.txt").read_text(encoding="utf-8") == "x\n"


def test_a_kept_record_follows_a_renamed_folder(tmp_path):
    root = tmp_path / "img"
    image, caption = gone_pair(root)
    undo_last(root)
    (root / "10_x").rename(root / "20_x")
    assert remap_folders(root, {"10_x": "20_x"}) == 1
    (root / "20_x" / "b.png").write_bytes(png())
    redo_last(root)
    undo_last(root)
    assert (root / "20_x" / "b.txt").read_text(encoding="utf-8") == "b.png, solo\n"


def test_the_cli_says_where_the_text_is_and_promises_no_empty_redo(tmp_path):
    root = tmp_path / "img"
    folder = captioned(root, ["b.png"])
    run("tags", "add", root, "--yes", "x")
    (folder / "b.png").unlink()
    (folder / "b.txt").unlink()
    out = run("tags", "undo", root, "--yes", "--force").output
    assert "Restored 0 caption file(s); 0 older change(s) can still be undone." in out, out
    assert "re-applies this one" not in out
    assert (f"Left out 1 caption(s) whose image is gone (deleted since), not undone: 10_x/b.txt; the journal keeps "
            f"their text until the next change: put the image back, then `loratui tags redo {root}` and "
            f"`loratui tags undo {root}` write it") in out, out
    (folder / "b.png").write_bytes(png())
    out = run("tags", "redo", root, "--yes").output
    assert "Re-applied 0 caption file(s)" in out and "takes this one back" in out, out
    run("tags", "undo", root, "--yes")
    assert (folder / "b.txt").read_text(encoding="utf-8") == "b.png, solo\n"


def test_a_reg_folder_pairs_its_captions_the_same_way(tmp_path):
    reg = tmp_path / "reg"
    folder = captioned(reg, ["r.png"], ".wd14.txt")
    (folder / "r.png").rename(folder / "r.PNG")
    run("tags", "add", reg, "--caption-extension", ".wd14.txt", "--yes", "x")
    (folder / "r.wd14.txt").unlink()
    assert plan_undo(reg).image_gone == []  # r.PNG pairs with r.wd14.txt
    shutil.rmtree(folder)
    assert undo_last(reg).image_gone == [folder / "r.wd14.txt"]


def test_one_sentence_for_the_cli_and_the_app(tmp_path):
    from loratui.tui.screens.dataset_undo import image_gone_note

    root = tmp_path / "img"
    paths = [root / "1_a" / "new\nline.txt", *(root / "1_a" / f"b{i}.txt" for i in range(6))]
    line = image_gone_line(paths, root, "redo", undo="U", redo="R")
    assert line.startswith("Left out 7 caption(s) whose image is gone (deleted since), not redone: 1_a/new\\nline.txt, "
                           "1_a/b0.txt, 1_a/b1.txt, 1_a/b2.txt, 1_a/b3.txt and 2 more; the journal keeps their text: "
                           "put the image back, then U and R write them")
    assert image_gone_note(paths, root, "redid", undo="U", redo="R") == line
    assert image_gone_note(paths[:1], root, "undid", reg=True).endswith("not undone: reg/1_a/new\\nline.txt")
    assert image_gone_line([], root, "undo") == ""
