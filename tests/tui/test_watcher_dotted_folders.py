"""The watcher told folders from files by `not path.suffix`, so a concept folder with a dot in its name
(`10_my.style`) renamed, added or removed outside never made the app list the images again. A folder
is now told by the disk when it is there, and by the folder names seen before when it is gone."""

from __future__ import annotations

import shutil

from fixtures.watch_run import watching

from loratui.tui.services.watcher import _lists_images, folders_in


def test_a_dotted_concept_folder_added_renamed_and_removed_lists_the_images_again(tmp_path):
    (tmp_path / "10_my.style").mkdir()
    folders = folders_in(tmp_path)
    assert folders == {"10_my.style"}
    # renamed: the old name is gone (cannot be stat-ed), the new one is a folder
    (tmp_path / "10_my.style").rename(tmp_path / "5_my.style")
    assert _lists_images(tmp_path, str(tmp_path / "10_my.style"), folders)
    assert _lists_images(tmp_path, str(tmp_path / "5_my.style"), folders)
    assert folders == {"5_my.style"}
    # added
    (tmp_path / "3_v1.5").mkdir()
    assert _lists_images(tmp_path, str(tmp_path / "3_v1.5"), folders)
    # removed
    shutil.rmtree(tmp_path / "3_v1.5")
    assert _lists_images(tmp_path, str(tmp_path / "3_v1.5"), folders)
    assert folders == {"5_my.style"}


def test_files_right_in_the_train_folder_are_not_folders(tmp_path):
    folders = folders_in(tmp_path)
    (tmp_path / "notes.md").write_text("x")
    assert not _lists_images(tmp_path, str(tmp_path / "notes.md"), folders)
    (tmp_path / "notes.md").unlink()
    assert not _lists_images(tmp_path, str(tmp_path / "notes.md"), folders)  # never a folder here
    assert not _lists_images(tmp_path, str(tmp_path / "10_a.txt"), folders)  # a gone caption: delivered itself
    assert not _lists_images(tmp_path, str(tmp_path / ".loratui-balance-1-0-4_a.b"), folders)  # hidden


def test_a_folder_replaced_by_a_file_of_its_name_is_a_change(tmp_path):
    (tmp_path / "10_x.y").mkdir()
    folders = folders_in(tmp_path)
    (tmp_path / "10_x.y").rmdir()
    (tmp_path / "10_x.y").write_text("")
    assert _lists_images(tmp_path, str(tmp_path / "10_x.y"), folders) and not folders


def test_a_dotted_folder_renamed_outside_is_delivered_as_the_root(tmp_path):
    (tmp_path / "10_my.style").mkdir()
    with watching(tmp_path) as (seen, got):
        names = ["10_my.style", "5_my.style"]
        for i in range(40):  # the watcher starts in its thread: rename until it reports
            (tmp_path / names[i % 2]).rename(tmp_path / names[(i + 1) % 2])
            if seen.wait(0.25):
                break
    assert tmp_path in got


def test_a_dotted_folder_removed_outside_is_delivered_as_the_root(tmp_path):
    """Removed: only the name that was seen says it was a folder."""
    with watching(tmp_path) as (seen, _):
        for _ in range(40):
            folder = tmp_path / "10_my.style"
            folder.mkdir()
            if seen.wait(0.25):  # the watcher runs: it saw the folder made
                break
            folder.rmdir()
        assert seen.is_set()
        seen.clear()
        shutil.rmtree(tmp_path / "10_my.style")
        assert seen.wait(5)


def test_a_train_folder_that_cannot_be_read_knows_no_folders(tmp_path):
    assert folders_in(tmp_path / "missing") == set()
