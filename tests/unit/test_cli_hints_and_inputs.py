"""What the commands print, read by a user: hints that name a command quote paths with spaces (so a
copy-paste runs), bad paths are one line saying what to do, and nothing is done silently (dataset init's
non-images and subfolders, the note of `tags sort --by category` after the plan it explains)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest
from PIL import Image

from test_cli_errors import run_main


def run(args, capsys, monkeypatch=None, cwd: Path | None = None):
    if cwd is not None:
        monkeypatch.chdir(cwd)
    return run_main(args, capsys)


def project(root: Path, caption: str = "general, 1girl, solo") -> Path:
    concept = root / "img" / "10_a"
    concept.mkdir(parents=True)
    Image.new("RGB", (64, 64)).save(concept / "a.png")
    (concept / "a.txt").write_text(caption + "\n")
    return root


def copied_command(line: str, after: str) -> list[str]:
    """The words of the command printed after ``after`` on ``line``, as a shell reads them."""
    text = line.split(after, 1)[1].split("`", 1)[0]
    return shlex.split(text)


# ---- hints quote paths (issue 6) ----------------------------------------------------------------


def test_tags_undo_and_redo_hints_quote_a_path_with_spaces(tmp_path, capsys, monkeypatch):
    project(tmp_path / "proj ü")
    code, out, _ = run(["tags", "add", "proj ü", "x", "--yes"], capsys, monkeypatch, tmp_path)
    assert code == 0 and "Undo with: loratui tags undo 'proj ü'" in out
    assert copied_command(out, "Undo with: ") == ["loratui", "tags", "undo", "proj ü"]
    code, out, _ = run(["tags", "undo", "proj ü", "--yes"], capsys)
    assert code == 0 and "`loratui tags redo 'proj ü'` re-applies this one" in out
    code, out, _ = run(["tags", "redo", "proj ü", "--yes"], capsys)
    assert code == 0 and "`loratui tags undo 'proj ü'` takes this one back" in out


def test_a_plain_path_is_printed_as_it_is(tmp_path, capsys, monkeypatch):
    project(tmp_path / "proj")
    code, out, _ = run(["tags", "add", "proj", "x", "--yes"], capsys, monkeypatch, tmp_path)
    assert code == 0 and "Undo with: loratui tags undo proj\n" in out


def test_save_recipe_hint_quotes_the_recipe(tmp_path, capsys, monkeypatch):
    project(tmp_path / "proj")
    code, out, _ = run(["tags", "dedupe", "proj", "--dry-run", "--save-recipe", "my recipe.toml"], capsys,
                       monkeypatch, tmp_path)
    assert code == 0 and "`loratui tags apply DIR 'my recipe.toml'`" in out


def test_dataset_init_next_hint_quotes_the_project(tmp_path, capsys, monkeypatch):
    code, out, _ = run(["dataset", "init", "proj ü", "--concept", "x", "--repeats", "2"], capsys, monkeypatch,
                       tmp_path)
    assert code == 0 and out.strip().splitlines()[-1] == "next: loratui dataset scan 'proj ü'"


def test_config_new_hint_quotes_the_config(tmp_path, capsys, monkeypatch):
    (tmp_path / "proj ü").mkdir()
    code, out, _ = run(["config", "new", "proj ü/my cfg.toml"], capsys, monkeypatch, tmp_path)
    assert code == 0 and "then `loratui config check 'proj ü/my cfg.toml'`" in out
    assert copied_command(out, "then `") == ["loratui", "config", "check", "proj ü/my cfg.toml"]


def test_train_preflight_hint_quotes_the_config(tmp_path, capsys, monkeypatch):
    (tmp_path / "my cfg.toml").write_text('[model]\npretrained_model_name_or_path = "nope.safetensors"\n'
                                          '[dataset]\ntrain_data_dir = "noimg"\n[saving]\noutput_dir = "out"\n')
    code, _, err = run(["train", "my cfg.toml"], capsys, monkeypatch, tmp_path)
    assert code == 2 and "more: `loratui config check 'my cfg.toml'`)" in err


def test_caption_undo_hint_quotes_the_dataset(tmp_path, capsys, monkeypatch):
    from fixtures.wd14_tiny import make_wd14_model

    model = make_wd14_model(tmp_path / "wd-tiny", dynamic_batch=True)
    project(tmp_path / "data ü")
    code, out, _ = run(["caption", "wd14", "data ü", "--model", model], capsys, monkeypatch, tmp_path)
    assert code == 0 and "Undo with: loratui tags undo 'data ü'" in out


# ---- demo --dir a file (issue 7) ------------------------------------------------------------------


@pytest.mark.parametrize("headless", [True, False])
@pytest.mark.parametrize("below", ["", "demo"])
def test_demo_dir_a_file_is_one_line_naming_it(tmp_path, capsys, headless, below):
    (tmp_path / "alice.toml").write_text("x = 1\n")
    folder = tmp_path / "alice.toml" / below if below else tmp_path / "alice.toml"
    code, out, err = run(["demo", "--dir", folder, *(["--headless", "--no-train"] if headless else [])], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"error: --dir {folder}:") and f"{tmp_path / 'alice.toml'}" in err
    assert "is a file, not a folder: give --dir a folder" in err and "Not a directory" not in err
    assert sorted(os.listdir(tmp_path)) == ["alice.toml"]


# ---- config new: a TOML name (issue 8) ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["x.json", "x", "x.toml.bak"])
def test_config_new_refuses_a_name_that_is_not_toml(tmp_path, capsys, name):
    code, out, err = run(["config", "new", tmp_path / name], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith(f"error: {tmp_path / name}: a config is a TOML file: give a name ending in .toml")
    assert not (tmp_path / name).exists() and not out


def test_config_new_takes_any_case_of_toml(tmp_path, capsys):
    code, _, _ = run(["config", "new", tmp_path / "X.TOML"], capsys)
    assert code == 0 and (tmp_path / "X.TOML").is_file()


def test_import_kohya_refuses_an_output_that_is_not_toml(tmp_path, capsys):
    (tmp_path / "k.json").write_text('{"output_dir": "out"}')
    code, _, err = run(["config", "import-kohya", tmp_path / "k.json", "-o", tmp_path / "n.json"], capsys)
    assert code == 2 and "-o " in err and "give a name ending in .toml" in err
    assert not (tmp_path / "n.json").exists()


# ---- tags sort --by category: the note after the plan (issue 9) --------------------------------------


def test_sort_by_category_note_comes_after_the_plan_header(tmp_path, capsys):
    project(tmp_path, caption="solo, general, 1girl")
    code, out, _ = run(["tags", "sort", tmp_path, "--by", "category", "--dry-run"], capsys)
    lines = out.splitlines()
    assert code == 0 and lines[0] == "Plan: sort by category", out
    note = next(i for i, line in enumerate(lines) if line.startswith("Note: without --tags-csv"))
    assert note > 1 and lines[-1] == "Dry run: nothing written."


# ---- dataset init names what it did not bring in as an image (issue 10) ------------------------------


def test_init_names_a_non_image_and_a_subfolder(tmp_path, capsys):
    src = tmp_path / "src"
    (src / "more").mkdir(parents=True)
    Image.new("RGB", (32, 32)).save(src / "a.png")
    Image.new("RGB", (32, 32)).save(src / "more" / "b.png")
    (src / "junk.png").write_text("not an image at all\n")
    code, out, err = run(["dataset", "init", tmp_path / "p", "--concept", "x", "--repeats", "2", "--images", src],
                         capsys)
    concept = tmp_path / "p" / "img" / "2_x"
    assert code == 0, err
    assert sorted(os.listdir(concept)) == ["a.png", "junk.png"]  # copied as before
    assert f"warning: {concept / 'junk.png'}: not a readable image (not a recognised image format)" in err
    assert "replace or delete it before training" in err
    skipped = next(line for line in out.splitlines() if "subfolder" in line)
    assert skipped.startswith(f"skipped 1 subfolder(s) of {src}/: more/")
    assert f"--images {src / 'more'}" in skipped


def test_init_lists_a_few_non_images_then_a_count(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    Image.new("RGB", (32, 32)).save(src / "a.png")
    for i in range(8):
        (src / f"junk{i}.jpg").write_bytes(b"")
    code, _, err = run(["dataset", "init", tmp_path / "p", "--concept", "x", "--repeats", "2", "--images", src],
                       capsys)
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert code == 0 and len(warnings) == 6 and "and 3 more" in warnings[-1]


def test_init_of_clean_images_says_nothing_more(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    Image.new("RGB", (32, 32)).save(src / "a.png")
    (src / ".hidden").mkdir()
    code, out, err = run(["dataset", "init", tmp_path / "p", "--concept", "x", "--repeats", "2", "--images", src],
                         capsys)
    assert code == 0 and not err and "subfolder" not in out and "warning" not in out



def test_config_new_notes_a_train_folder_or_model_that_does_not_exist(tmp_path, monkeypatch, capsys):
    code, out, err = run(["config", "new", "c.toml", "--train-data-dir", "imgs", "--model", "m.safetensors"],
                         capsys, monkeypatch, tmp_path)
    assert code == 0
    assert f"note: --train-data-dir imgs does not exist here ({tmp_path / 'imgs'})" in err
    assert f"note: --model m.safetensors does not exist here ({tmp_path / 'm.safetensors'})" in err
    (tmp_path / "img").mkdir()
    code, out, err = run(["config", "new", "d.toml", "--train-data-dir", "img"], capsys, monkeypatch, tmp_path)
    assert code == 0 and "does not exist" not in err
