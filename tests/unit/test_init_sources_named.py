"""`dataset init` from a user test: a linked source image is linked or copied as the file it leads to;
JPEGs under other names (.jfif, .jpe), captions with the other usual extension and the project's own
new folders are told apart; a clash, a folder it cannot write and a glob as caption extension each
get one line saying what to do."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

import loratui.core.dataset.project as project
from loratui.cli import cli
from loratui.core.dataset import caption_extension_option, caption_extension_problem, init_project, scan_dataset
from loratui.core.errors import LoratuiError


def run(*args: str):
    return CliRunner().invoke(cli, ["dataset", *args], catch_exceptions=False)


def png(path: Path, color: str = "red") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 8), color).save(path)


def linked_source(tmp_path: Path) -> Path:
    """s/pic.png -> real/pic.png: a relative symlink, which dangles once linked elsewhere as itself."""
    src = tmp_path / "s"
    png(src / "real" / "pic.png")
    os.symlink("real/pic.png", src / "pic.png")
    return src


@pytest.mark.parametrize("mode", ["hardlink", "copy", "symlink"])
def test_a_relative_symlink_source_comes_in_as_the_file_it_leads_to(tmp_path, mode):
    src = linked_source(tmp_path)
    result = init_project(tmp_path / "rp1", "q", 5, src, mode=mode)
    [image] = result.images
    assert os.path.exists(image), "a dangling link in the concept folder"
    assert image.read_bytes() == (src / "real" / "pic.png").read_bytes()
    if mode == "hardlink":
        assert not image.is_symlink()
        assert os.path.samefile(image, src / "real" / "pic.png")
    if mode == "copy":
        assert not image.is_symlink()  # the target's bytes, not a copy of the link


def jfif_source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    png(src / "a.png")
    Image.new("RGB", (8, 8)).save(src / "web.jfif", "JPEG")
    (src / "web.txt").write_text("web")
    Image.new("RGB", (8, 8)).save(src / "b.jpe", "JPEG")
    return src


def test_init_names_jpegs_under_other_extensions_it_leaves_behind(tmp_path):
    src = jfif_source(tmp_path)
    result = run("init", str(tmp_path / "P"), "--concept", "c", "--repeats", "2", "--images", str(src))
    assert result.exit_code == 0, result.output
    assert "skipped 2 image(s) sd-scripts does not train (JPE, JFIF) and their 1 caption(s)" in result.output
    assert "(a .jpe or .jfif file is a JPEG: renaming it to .jpg is enough)" in result.output
    assert sorted(p.name for p in (tmp_path / "P" / "img" / "2_c").iterdir()) == ["a.png"]


def test_scan_says_a_jfif_is_not_read_and_its_caption_is_no_orphan(tmp_path):
    folder = tmp_path / "10_a"
    png(folder / "a.png")
    Image.new("RGB", (8, 8)).save(folder / "web.jfif", "JPEG")
    (folder / "web.txt").write_text("web")
    problems = {p.kind: p.message for p in scan_dataset(tmp_path).problems}
    assert problems["unsupported_image"] == ("10_a/web.jfif: JFIF images are not trained (sd-scripts reads .bmp, "
                                             ".jpeg, .jpg, .png, .webp): it is left out; rename it to .jpg: it is "
                                             "a JPEG")
    assert problems["orphan_caption"] == ("10_a/web.txt is not used: its image web.jfif is in a format sd-scripts "
                                          "does not train (rename the image to .jpg: it is a JPEG)")


@pytest.mark.parametrize(("ext", "left"), [(".txt", "h.caption"), (".caption", "a.txt")])
def test_init_names_captions_with_the_other_extension_and_renames_nothing(tmp_path, ext, left):
    src = tmp_path / "SRC"
    png(src / "h.png")
    (src / "h.caption").write_text("h")
    png(src / "a.png")
    (src / "a.txt").write_text("a")
    result = run("init", str(tmp_path / "P"), "--concept", "c", "--repeats", "3", "--images", str(src),
                 "--caption-extension", ext)
    assert result.exit_code == 0, result.output
    other = ".caption" if ext == ".txt" else ".txt"
    assert (f"skipped 1 caption(s) of {src}/ with another extension: {left} (init brings only '{ext}' captions: "
            f"rename them to '{ext}' and copy them into {tmp_path}/P/img/3_c/, or init a new project with "
            f"--caption-extension {other})") in result.output
    assert (src / left).exists()
    assert not (tmp_path / "P" / "img" / "3_c" / left).exists()


def test_init_of_a_folder_into_itself_does_not_name_its_own_new_folders(tmp_path):
    same = tmp_path / "same"
    for i in range(3):
        png(same / f"{i}.png")
    result = run("init", str(same), "--concept", "s", "--repeats", "3", "--images", str(same))
    assert result.exit_code == 0, result.output
    assert "subfolder" not in result.output
    (same / "sub").mkdir()
    png(same / "sub" / "x.png")
    again = run("init", str(same), "--concept", "t", "--repeats", "3", "--images", str(same / "sub"))
    assert again.exit_code == 0, again.output
    project_inside = run("init", str(same / "sub" / "P"), "--concept", "u", "--repeats", "2",
                         "--images", str(same / "sub"))
    assert "subfolder" not in project_inside.output  # the new project P/ is not SRC's subfolder


def test_init_clash_says_what_to_do(tmp_path):
    src = linked_source(tmp_path)
    init_project(tmp_path / "rp1", "q", 5, src)
    with pytest.raises(LoratuiError) as err:
        init_project(tmp_path / "rp1", "q", 5, src)
    assert str(err.value) == (f"{tmp_path}/rp1/img/5_q/pic.png already exists; nothing was copied or overwritten: to "
                              "add only new images, pass --images a folder holding just those; to replace it, delete "
                              "it first")


def test_init_into_a_folder_it_cannot_write_names_that_folder_not_its_staging_folder(tmp_path, monkeypatch):
    src = linked_source(tmp_path)
    init_project(tmp_path / "P", "a", 2)

    def refused(target: Path) -> Path:  # what mkdtemp raises in a read-only img/ (root ignores chmod)
        raise PermissionError(errno.EACCES, "Permission denied", str(target.parent / f".{target.name}.x.loratui-tmp"))

    monkeypatch.setattr(project, "staging_folder", refused)
    with pytest.raises(LoratuiError) as err:
        init_project(tmp_path / "P", "newc", 2, src)
    img = tmp_path / "P" / "img"
    assert str(err.value) == (f"{img}/2_newc: cannot create it (Permission denied): make {img} writable "
                              f"(chmod u+w {img}) or pick another project folder; nothing was added")
    assert not (img / "2_newc").exists()


def test_a_glob_as_caption_extension_is_read_as_its_extension_or_refused():
    assert caption_extension_option("*.caption") == ".caption"
    with pytest.raises(LoratuiError) as err:
        caption_extension_option(".c*")
    assert str(err.value) == ("--caption-extension '.c*': is a pattern, not an extension: give the extension "
                              "alone, such as .caption (not *.caption)")
    assert caption_extension_problem(".*.caption") is not None  # a config's value: refused too
