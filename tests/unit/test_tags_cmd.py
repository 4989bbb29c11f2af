"""`loratui tags ...` end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from loratui.cli import cli, main


@pytest.fixture(autouse=True)
def _own_model_store(tmp_path, monkeypatch):
    """The category lookups search the model store for a tagger's selected_tags.csv: a developer's own store
    (with a downloaded tagger) must not change what these tests see."""
    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "model-store"))


def dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "img" / "10_alice"
    folder.mkdir(parents=True)
    rows = ["alice, solo, general, white_background", "alice, 2girls, solo, solo, sensitive",
            "simple_background, alice, general"]
    for i, row in enumerate(rows):
        (folder / f"{i}.png").write_bytes(b"x")
        (folder / f"{i}.txt").write_text(row + "\n")
    return tmp_path / "img"


def run(*args, input=None):
    return CliRunner().invoke(cli, list(map(str, args)), input=input, catch_exceptions=False)


def text(root, i):
    return (root / "10_alice" / f"{i}.txt").read_text()


def test_freq(tmp_path):
    root = dataset(tmp_path)
    out = run("tags", "freq", root).output
    assert "3 caption(s)" in out and "alice" in out
    data = json.loads(run("tags", "freq", root, "--json", "--where", "tag:solo").output)
    assert data == {"captions": 2, "distinct": 6, "truncated": False,
                    "tags": {"alice": 2, "solo": 2, "general": 1, "white_background": 1, "2girls": 1, "sensitive": 1}}


def test_add_front_dry_run_then_yes_then_undo(tmp_path):
    root = dataset(tmp_path)
    out = run("tags", "add", root, "trig", "--front", "--dry-run").output
    assert "3 of 3 caption(s) change" in out and "Dry run" in out and text(root, 0).startswith("alice")
    out = run("tags", "add", root, "trig", "--front", "--yes").output
    assert "Wrote 3" in out and text(root, 0) == "trig, alice, solo, general, white_background\n"
    out = run("tags", "undo", root, "--yes").output
    assert "Restored 3" in out and text(root, 0) == "alice, solo, general, white_background\n"


def run_main(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out + captured.err


def test_confirmation_prompt(tmp_path, monkeypatch):
    root = dataset(tmp_path)
    import loratui.commands.tags_cmd as cmd
    monkeypatch.setattr(cmd, "_interactive", lambda: True)
    result = CliRunner().invoke(cli, ["tags", "dedupe", str(root)], input="n\n")
    assert "Write 1 caption file(s)? [y/N]" in result.output and "Nothing written" in result.output
    assert text(root, 1).count("solo") == 2
    result = CliRunner().invoke(cli, ["tags", "dedupe", str(root)], input="y\n")
    assert "Wrote 1" in result.output and text(root, 1).count("solo") == 1


def test_remove_replace_dedupe_sort_where(tmp_path):
    root = dataset(tmp_path)
    run("tags", "remove", root, "*background", "--yes")
    assert "background" not in text(root, 0) + text(root, 2)
    out = run("tags", "replace", root, "*girls", "duo", "--yes").output  # OLD is exact by default: said so
    assert "Nothing to change. replace matches OLD exactly by default: --mode auto" in out
    run("tags", "replace", root, "2girls", "duo", "--yes")
    run("tags", "dedupe", root, "--yes")
    assert text(root, 1) == "alice, duo, solo, sensitive\n"
    run("tags", "sort", root, "--keep", "1", "--yes", "--where", "tag:duo")
    assert text(root, 1) == "alice, duo, sensitive, solo\n" and text(root, 0) == "alice, solo, general\n"
    run("tags", "remove-category", root, "rating", "--yes")
    assert "general" not in text(root, 0) and "sensitive" not in text(root, 1)
    out = run("tags", "undo", root, "--list").output
    assert out.count("\n") == 5 and "remove rating tags" in out.splitlines()[0]


def test_json_plan(tmp_path):
    root = dataset(tmp_path)
    data = json.loads(run("tags", "strip-underscores", root, "--dry-run", "--json").output)
    assert data["changed"] == 2 and data["written"] == 0
    assert {"added": ["white background"], "removed": ["white_background"]}.items() <= data["files"][0].items()


def test_recipe_save_and_apply(tmp_path):
    root = dataset(tmp_path)
    recipe = tmp_path / "cleanup.toml"
    run("tags", "remove-category", root, "rating", "--dry-run", "--save-recipe", recipe)
    recipe.write_text(recipe.read_text() + '\n[[op]]\nop = "add"\ntags = ["trig"]\nposition = 0\n')
    out = run("tags", "apply", root, recipe, "--yes").output
    assert "Wrote 3" in out
    assert text(root, 0) == "trig, alice, solo, white_background\n"


@pytest.mark.parametrize("args, message", [
    (["tags", "remove", "{root}", "/((/", "--yes"], "bad regular expression"),
    (["tags", "freq", "{root}", "--where", "colour:red"], "--where"),
    (["tags", "apply", "{root}", "{tmp}/missing.toml"], "recipe not found"),
    (["tags", "undo", "{root}", "--yes"], "nothing to undo"),
    (["tags", "freq", "{tmp}/empty"], "no images found"),
    (["tags", "remove-category", "{root}", "character", "--yes"], "need --tags-csv"),
])
def test_errors_are_one_line(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "no-store"))  # a tagger csv found there would be used
    root = dataset(tmp_path)
    (tmp_path / "empty").mkdir()
    code, out = run_main([a.format(root=root, tmp=tmp_path) for a in args], capsys)
    assert code == 2, out
    error_lines = [line for line in out.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 1 and message in error_lines[0] and "Traceback" not in out


def test_real_process(tmp_path):
    root = dataset(tmp_path)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, "-m", "loratui", "tags", "add", str(root), "trig", "--front"],
                          capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and "pass --yes" in proc.stderr and text(root, 0).startswith("alice")
    proc = subprocess.run([sys.executable, "-m", "loratui", "tags", "add", str(root), "trig", "--front", "-y"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and text(root, 0).startswith("trig, ")


def keep_dataset(tmp_path):
    folder = tmp_path / "10_a"
    folder.mkdir()
    (folder / "0.png").write_bytes(b"x")
    (folder / "0.txt").write_text("trig, red, solo, smile\n")
    (folder / "1.png").write_bytes(b"x")
    (folder / "1.txt").write_text("trig, solo\n")
    return tmp_path


def test_move_front_and_add_keep_the_trigger_first(tmp_path):
    root = keep_dataset(tmp_path)
    run("tags", "move-front", root, "smile", "--keep", "1", "--yes")
    assert (root / "10_a" / "0.txt").read_text() == "trig, smile, red, solo\n"
    run("tags", "add", root, "new", "--front", "--keep", "1", "--yes")
    assert (root / "10_a" / "0.txt").read_text() == "trig, new, smile, red, solo\n"
    assert (root / "10_a" / "1.txt").read_text() == "trig, new, solo\n"
    run("tags", "add", root, "mid", "--position", "0", "--keep", "2", "--yes")
    assert (root / "10_a" / "1.txt").read_text() == "trig, new, mid, solo\n"
    # a tag inside the kept ones stays where it is; --front moves it no further forward
    out = run("tags", "add", root, "trig", "--front", "--keep", "1", "--dry-run").output
    assert "0 of 2 caption(s) change" in out


def test_keep_in_recipes(tmp_path):
    root = keep_dataset(tmp_path)
    recipe = tmp_path / "r.toml"
    recipe.write_text('[[op]]\nop = "move_front"\npatterns = ["solo"]\nkeep = 1\n'
                      '[[op]]\nop = "add"\ntags = ["x"]\nposition = 0\nkeep = 1\n')
    run("tags", "apply", root, recipe, "--yes")
    assert (root / "10_a" / "0.txt").read_text() == "trig, x, solo, red, smile\n"
    saved = tmp_path / "saved.toml"
    run("tags", "move-front", root, "red", "--keep", "1", "--dry-run", "--save-recipe", saved)
    assert "keep = 1" in saved.read_text()


@pytest.mark.parametrize("args", [("add", ""), ("add", " ", ""), ("remove", ""), ("move-front", " "),
                                  ("replace", "", "x")])
def test_blank_tags_are_refused_not_an_empty_plan(tmp_path, capsys, args):
    root = keep_dataset(tmp_path)
    code, out = run_main(["tags", args[0], root, *args[1:], "--yes"], capsys)
    assert code == 2 and "blank" in out and out.count("\n") == 1


def test_json_without_yes_off_a_terminal_still_prints_the_plan(tmp_path, capsys):
    root = dataset(tmp_path)
    code, _ = run_main(["tags", "add", root, "trig", "--front", "--json"], capsys)
    assert code == 2
    with pytest.raises(SystemExit):
        main(["tags", "add", str(root), "trig", "--front", "--json"])
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["written"] == 0 and len(data["files"]) == 3 and "pass --yes" in captured.err
    assert text(root, 0).startswith("alice")


def test_undo_json_without_yes_off_a_terminal(tmp_path, capsys):
    root = dataset(tmp_path)
    run("tags", "add", root, "trig", "--front", "--yes")
    with pytest.raises(SystemExit) as exc:
        main(["tags", "undo", str(root), "--json"])
    captured = capsys.readouterr()
    assert exc.value.code == 2 and json.loads(captured.out)["done"] is False
    assert len(json.loads(captured.out)["would_restore"]) == 3


def test_undo_skip_changed_exits_0(tmp_path):
    root = dataset(tmp_path)
    run("tags", "add", root, "trig", "--front", "--yes")
    (root / "10_alice" / "0.txt").write_text("hand edited\n")
    result = CliRunner().invoke(cli, ["tags", "undo", str(root), "--yes", "--skip-changed"])
    assert result.exit_code == 0 and "Restored 2" in result.output and "skipped:" in result.output
    assert text(root, 0) == "hand edited\n"


def test_sort_by_category_without_csv_sorts_the_rating_tags(tmp_path):
    root = dataset(tmp_path)
    result = CliRunner().invoke(cli, ["tags", "sort", str(root), "--by", "category", "--yes"])
    assert result.exit_code == 0 and "only the rating tags" in result.output
    assert text(root, 0) == "general, alice, solo, white_background\n"


def test_separator_default_is_the_same_in_tags_and_caption():
    tags_help = run("tags", "add", "--help").output
    caption_help = run("caption", "wd14", "--help").output
    assert "[default: , ]" in " ".join(tags_help.split()) and "[default: , ]" in " ".join(caption_help.split())
    assert "--general-threshold" in caption_help and "confidence" in caption_help.split("--general-threshold")[1][:200]


def test_dedupe_case_variants_unless_case_sensitive_and_remove_ignore_case(tmp_path):
    concept = tmp_path / "img" / "10_a"
    concept.mkdir(parents=True)
    from PIL import Image
    Image.new("RGB", (8, 8)).save(concept / "a.png")
    (concept / "a.txt").write_text("long hair, LONG HAIR, White Background", encoding="utf-8")
    img = tmp_path / "img"
    assert run("tags", "dedupe", img, "--case-sensitive", "--yes").exit_code == 0
    assert (concept / "a.txt").read_text() == "long hair, LONG HAIR, White Background"
    assert run("tags", "remove", img, "*background", "--yes").exit_code == 0
    assert (concept / "a.txt").read_text() == "long hair, LONG HAIR, White Background"
    assert run("tags", "remove", img, "*background", "--ignore-case", "--yes").exit_code == 0
    assert run("tags", "dedupe", img, "--yes").exit_code == 0
    assert (concept / "a.txt").read_text() == "long hair"


def test_replace_and_move_front_can_ignore_case(tmp_path):
    concept = tmp_path / "img" / "10_a"
    concept.mkdir(parents=True)
    (concept / "a.png").write_bytes(b"")
    (concept / "a.txt").write_text("alice, smile, Long Hair, SOLO")
    img = tmp_path / "img"
    assert run("tags", "replace", img, "long hair", "long_hair", "--yes").exit_code == 0
    assert (concept / "a.txt").read_text() == "alice, smile, Long Hair, SOLO"  # case as written by default
    assert run("tags", "replace", img, "long hair", "long_hair", "--ignore-case", "--yes").exit_code == 0
    assert (concept / "a.txt").read_text() == "alice, smile, long_hair, SOLO"
    assert run("tags", "move-front", img, "solo", "--keep", "1", "--yes").exit_code == 0
    assert (concept / "a.txt").read_text() == "alice, smile, long_hair, SOLO"
    assert run("tags", "move-front", img, "solo", "--keep", "1", "--ignore-case", "--yes").exit_code == 0
    assert (concept / "a.txt").read_text() == "alice, SOLO, smile, long_hair"


def test_a_projects_reg_folder_is_named_as_not_included(tmp_path):
    """hunt9: `tags check PROJECT` counted fewer errors than `dataset scan PROJECT` without a word."""
    from PIL import Image

    for sub in ("img/10_a", "reg/1_a"):
        (tmp_path / sub).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(tmp_path / sub / "x.png")
        (tmp_path / sub / "x.txt").write_text("a, b")
    result = run("tags", "add", tmp_path, "c", "--dry-run")
    assert "reg (regularisation images) is not included" in result.output
    assert "not included" in run("tags", "to-utf8", tmp_path, "--dry-run").output
    result = CliRunner().invoke(cli, ["tags", "check", str(tmp_path)])
    assert "not included" in result.output  # stderr is mixed in by CliRunner
    assert "not included" not in run("tags", "add", tmp_path / "img", "c", "--dry-run").output
