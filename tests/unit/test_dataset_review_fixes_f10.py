"""Review r1 fixes in core.dataset and the journal: init names a .caption beside a .txt apart (copying it
in would overwrite the .txt), a folder of concept folders is named as the train or reg folder it is (one
or two levels down, never a rename that nests them), a self-link named like an image is skipped everywhere
and named once as a broken image link, and a caption run's prune drops the .writing markers too."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli
from loratui.core.captions import ChangeWriter, find_caption_images, journal_dir
from loratui.core.captions.journal import writing_marker
from loratui.core.dataset import iter_images, scan_dataset


def png(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), "red").save(path)


def test_init_names_a_caption_beside_the_chosen_one_apart(tmp_path):
    src = tmp_path / "src"
    png(src / "b.png")
    png(src / "c.png")
    (src / "b.txt").write_text("mine")
    (src / "b.caption").write_text("other")
    (src / "c.caption").write_text("only one")
    result = CliRunner().invoke(cli, ["dataset", "init", str(tmp_path / "p1"), "--concept", "x", "--repeats", "5",
                                      "--images", str(src)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    beside = next(line for line in lines if "b.caption" in line)
    assert "beside a '.txt' caption of the same image" in beside and "the '.txt' one came in" in beside
    assert "rename" not in beside and "copy them into" not in beside
    other = next(line for line in lines if "c.caption" in line)
    assert "b.caption" not in other and "rename them to '.txt' and copy them into" in other
    assert (tmp_path / "p1" / "img" / "5_x" / "b.txt").read_text() == "mine"


def test_a_reg_folder_one_level_too_high_is_named_as_reg_data_dir(tmp_path):
    png(tmp_path / "L4" / "train" / "10_a" / "x.png")
    png(tmp_path / "L4" / "reg" / "1_person" / "y.png")
    l4 = tmp_path / "L4"
    messages = [p.message for p in scan_dataset(l4).problems if p.kind == "no_repeat_prefix"]
    assert f"use {l4}/reg as reg_data_dir)" in messages[0] and f"use {l4}/train as train_data_dir)" in messages[1]
    assert any(p.message.endswith(f"(did you mean {l4}/train?)") for p in scan_dataset(l4).problems)


def test_concept_folders_two_levels_down_are_named_never_a_nesting_rename(tmp_path):
    png(tmp_path / "L5" / "data" / "img" / "10_a" / "x.png")
    png(tmp_path / "L5" / "data" / "reg" / "1_person" / "y.png")
    data = tmp_path / "L5" / "data"
    message = next(p.message for p in scan_dataset(tmp_path / "L5").problems if p.kind == "no_repeat_prefix")
    assert message.endswith(f"(it holds concept folders further down: use {data}/img as train_data_dir and "
                            f"{data}/reg as reg_data_dir)")
    assert "rename" not in message


def test_a_self_link_named_like_an_image_is_skipped_and_named_once(tmp_path):
    img = tmp_path / "lp" / "img"
    png(img / "3_a" / "a.png")
    (img / "3_a" / "a.txt").write_text("red")
    os.symlink("x.png", img / "x.png")
    os.symlink("y.png", img / "3_a" / "y.png")
    assert [p.name for p in iter_images(img)] == ["a.png"]
    assert [p.name for p in find_caption_images(img)] == ["a.png"]  # tags freq and check read these
    named = [p.message for p in scan_dataset(img).problems if "x.png" in p.message]
    assert named == ["train folder: 'x.png' is a broken image link (to 'x.png', a loop of links): it is left out "
                     "(sd-scripts cannot open it); remove it or point it at the real image"]
    assert sum("y.png" in p.message for p in scan_dataset(img).problems) == 1


def test_a_caption_run_prunes_the_writing_markers_with_their_entries(tmp_path, monkeypatch):
    import loratui.core.captions.journal as journal

    monkeypatch.setattr(journal, "KEEP_ENTRIES", 2)
    root = tmp_path / "img"
    (root / "5_a").mkdir(parents=True)
    for i in range(3):
        with ChangeWriter(root, "caption run: wd14 (overwrite)") as writer:
            writer.write(root / "5_a" / "a.txt", f"tag{i}\n".encode())
        if i == 0:
            writing_marker(writer.entry).touch()  # as a killed apply leaves it
    names = sorted(p.name for p in journal_dir(root).iterdir() if p.is_file() and p.name != "write.lock")
    assert names == ["000002.json", "000003.json"]
