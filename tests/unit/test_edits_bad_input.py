"""Edge cases and bad input of the bulk tag edits (found in review): right results, one-line errors."""

from __future__ import annotations

import json
import stat

import pytest

from loratui.core.captions import apply_plan, journal_dir, undo_last
from loratui.core.captions import AddTags, RemoveTags, ReplaceTag, check_ops, op_from_dict, plan_edits, tag_matcher
from loratui.core.errors import LoratuiError
from loratui.core.captions import load_captions
from tests.unit.test_tags_cmd import dataset, run, run_main, text


@pytest.fixture(autouse=True)
def _own_model_store(tmp_path, monkeypatch):
    """The category lookups search the model store for a tagger's selected_tags.csv: a developer's own store
    (with a downloaded tagger) must not change what these tests see."""
    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "model-store"))


# ---- matching and renaming --------------------------------------------------------------------

def test_each_regex_keeps_its_own_flags_groups_and_backreferences():
    assert tag_matcher(["/(?i)SOLO/"])("solo")
    match = tag_matcher(["/(?P<x>a)b/", "/(?P<x>c)d/"])
    assert match("ab") and match("cd") and not match("ad")
    assert RemoveTags(["/(x)y/", r"/(a)\1/"]).run(["aa", "xy", "ab"]) == ["ab"]
    assert tag_matcher(["*hair", "/(?i)EYES/", "solo"])("long hair") and tag_matcher(["/(?i)EYES/"])("eyes")


def test_regex_replace_rewrites_the_whole_tag_once():
    assert ReplaceTag("(.*)", r"p_\1", "regex").run(["solo"]) == ["p_solo"]
    assert ReplaceTag("solo|", "alone", "regex").run(["solo", "x"]) == ["alone", "x"]
    assert ReplaceTag("a*", "X", "regex").run(["aaa", "b"]) == ["X", "b"]
    assert ReplaceTag(r"(\w+)_hair", r"\1 hair", "regex").run(["long_hair", "red_hair"]) == ["long hair", "red hair"]


def test_written_tags_may_not_hold_line_breaks_or_the_separator():
    with pytest.raises(LoratuiError, match="line break"):
        check_ops([AddTags(["x\ny"])])
    with pytest.raises(LoratuiError, match="contains the separator"):
        check_ops([AddTags(["p, q"])], ", ")
    with pytest.raises(LoratuiError, match="contains the separator"):
        check_ops([ReplaceTag("a", "b|c")], "|")
    check_ops([AddTags(["(a, b:1.2)", "p, q"])], "|")  # a bracket group, and another separator: fine
    check_ops([AddTags(["(a, b:1.2)"])], ", ")


# ---- recipes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("data, message", [
    ({"op": ["add"]}, "unknown op"),
    ({"op": {"a": 1}}, "unknown op"),
    ({"op": "add", "tags": []}, "tags is empty"),
    ({"op": "remove", "patterns": [" "]}, "patterns is empty"),
    ({"op": "remove", "patterns": ["/((/"]}, "bad regular expression"),
    ({"op": "replace", "old": "(a)", "new": r"\2", "mode": "regex"}, "bad replacement"),
    ({"op": "add", "tags": ["x\ny"]}, "line break"),
])
def test_bad_recipe_ops_name_the_recipe_and_op(data, message):
    with pytest.raises(LoratuiError, match=message) as info:
        op_from_dict(data, "r.toml: op 2")
    assert str(info.value).startswith("r.toml: op 2") and "\n" not in str(info.value)


def test_apply_recipe_needing_categories_without_csv(tmp_path, capsys):
    root = dataset(tmp_path)
    recipe = tmp_path / "r.toml"
    recipe.write_text('[[op]]\nop = "remove_category"\ncategories = ["character"]\n')
    code, out = run_main(["tags", "apply", root, recipe, "--yes"], capsys)
    assert code == 2 and "need --tags-csv" in out
    recipe.write_text('[[op]]\nop = "sort"\nby = "category"\n')  # rating tags are known without it (a note)
    result = run("tags", "apply", root, recipe, "--yes")
    assert result.exit_code == 0 and "only the rating tags have a known category" in result.output


def test_recipe_is_saved_only_when_the_user_goes_ahead(tmp_path, monkeypatch):
    root = dataset(tmp_path)
    recipe = tmp_path / "r.toml"
    monkeypatch.setattr("loratui.commands.tags_cmd._interactive", lambda: True)
    result = run("tags", "add", root, "trig", "--front", "--save-recipe", recipe, input="n\n")
    assert "Nothing written" in result.output and not recipe.exists()
    run("tags", "add", root, "trig", "--front", "--save-recipe", recipe, "--dry-run")
    assert recipe.exists()


# ---- CLI input --------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["tags", "add", "{root}", "x\ny", "--yes"], "line break"),
    (["tags", "add", "{root}", "p, q", "--yes"], "contains the separator"),
    (["tags", "replace", "{root}", "solo", "a, b", "--yes"], "contains the separator"),
    (["tags", "freq", "{root}", "--caption-extension", ""], "--caption-extension"),
    (["tags", "freq", "{root}", "--caption-extension", "a/b"], "--caption-extension"),
    (["tags", "add", "{root}", "x", "--yes", "--caption-extension", ".png"], "is an image extension"),
    (["tags", "add", "{root}", "x", "--yes", "--caption-extension", "JPG"], "is an image extension"),
    (["tags", "freq", "{root}", "--top", "-1"], "--top"),
])
def test_cli_inputs(tmp_path, capsys, args, message):
    root = dataset(tmp_path)
    code, out = run_main([a.format(root=root) for a in args], capsys)
    assert code == 2 and message in out and "Traceback" not in out, out


def test_cli_regexes_with_flags_and_same_group_names(tmp_path):
    root = dataset(tmp_path)
    result = run("tags", "remove", root, "/(?i)SOLO/", "/(?P<x>a)/", "/(?P<x>b)/", "--dry-run")
    assert result.exit_code == 0 and "10_alice/1.txt: -solo  -solo" in result.output


@pytest.mark.parametrize("command", [["add", "c"], ["replace", "solo", "duo"], ["remove", "solo"], ["dedupe"],
                                     ["sort"], ["freq"], ["move-front", "solo"], ["strip-underscores"]])
@pytest.mark.parametrize("separator", ["", " ", "\\t", "\t", "   "])
def test_blank_separators_are_refused_by_every_tags_command(tmp_path, capsys, command, separator):
    """A separator with no visible part glued a new tag onto the last one (`add --separator ' '`)."""
    root = dataset(tmp_path)
    before = [text(root, i) for i in range(3)]
    args = ["tags", command[0], root, *command[1:], "--separator", separator]
    code, out = run_main(args + (["--yes"] if command[0] != "freq" else []), capsys)
    assert code == 2 and "Traceback" not in out, out
    errors = [line for line in out.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "a tag separator needs a visible character" in errors[0]
    assert [text(root, i) for i in range(3)] == before


# ---- journal ----------------------------------------------------------------------------------

def _apply_one(root):
    plan = plan_edits(load_captions(root), [AddTags(["trig"], 0)])
    return apply_plan(plan, root)


def test_journal_folder_that_cannot_be_made_is_one_line_and_writes_nothing(tmp_path):
    root = dataset(tmp_path)
    (root / ".loratui").write_text("not a folder")
    before = text(root, 0)
    with pytest.raises(LoratuiError, match="cannot create the undo journal"):
        _apply_one(root)
    assert text(root, 0) == before


def test_journal_entries_are_not_executable(tmp_path):
    root = dataset(tmp_path)
    result = _apply_one(root)
    assert not result.journal.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.mark.parametrize("files", [[{}], [{"path": "10_alice/0.txt"}], ["x"],
                                   [{"path": "10_alice/0.txt", "new_sha1": "0", "old": "***"}],
                                   [{"path": "../outside.txt", "new_sha1": "0", "old": None}]])
def test_damaged_journal_entry_is_one_line(tmp_path, files):
    root = dataset(tmp_path)
    folder = journal_dir(root)
    folder.mkdir(parents=True)
    (folder / "000001.json").write_text(json.dumps({"files": files}))
    with pytest.raises(LoratuiError, match="000001.json") as info:
        undo_last(root, force=True)
    assert "\n" not in str(info.value)


def test_restore_error_keeps_the_entry_so_undo_can_be_retried(tmp_path, monkeypatch):
    root = dataset(tmp_path)
    before = [text(root, i) for i in range(3)]
    _apply_one(root)
    import loratui.core.captions.undo as undo  # undo writes captions through its own name

    real = undo.atomic_write_bytes
    calls = []

    def flaky(path, data, **kw):
        calls.append(path)
        if len(calls) == 2:
            raise PermissionError(13, "Permission denied")
        return real(path, data, **kw)

    monkeypatch.setattr(undo, "atomic_write_bytes", flaky)
    with pytest.raises(LoratuiError, match="cannot restore it .*1 file"):
        undo_last(root)
    monkeypatch.setattr(undo, "atomic_write_bytes", real)
    undo_last(root)
    assert [text(root, i) for i in range(3)] == before


def test_regex_replacement_results_are_checked_before_writing(tmp_path, capsys):
    root = dataset(tmp_path)
    before = text(root, 0)
    code, out = run_main(["tags", "replace", root, "(white)_(background)", "\\1\\n\\2", "--regex", "--yes"], capsys)
    assert code == 2 and "line break" in out and text(root, 0) == before


def test_a_regex_result_holding_the_separator_is_several_tags(tmp_path, capsys):
    """As sd-scripts splits the caption: `white, background` is two tags (test_replace_regex_split.py)."""
    root = dataset(tmp_path)
    result = run("tags", "replace", root, "(white)_(background)", "\\1, \\2", "--regex", "--yes")
    assert result.exit_code == 0, result.output
    tags = [t.strip() for t in text(root, 0).split(",")]
    assert "white" in tags and "background" in tags and "white_background" not in tags


def test_click_usage_errors_are_json_events_too(capsys):
    from loratui.cli import main

    with pytest.raises(SystemExit) as info:
        main(["caption", "wd14", ".", "--json-events", "--batch-size", "0"])
    out = capsys.readouterr().out
    assert info.value.code == 2 and json.loads(out)["event"] == "error" and "--batch-size" in out


# ---- read-only caption files ------------------------------------------------------------------

def test_read_only_caption_stops_apply_and_undo_unless_forced(tmp_path, capsys):
    root = dataset(tmp_path)
    locked = root / "10_alice" / "1.txt"
    before = [text(root, i) for i in range(3)]
    locked.chmod(0o444)
    code, out = run_main(["tags", "add", root, "trig", "--front", "--yes"], capsys)
    assert code == 2 and "Traceback" not in out
    error = [line for line in out.splitlines() if line.startswith("error: ")]
    assert len(error) == 1 and f"{locked}: read-only caption file" in error[0]
    assert "chmod u+w" in error[0] and "--force" in error[0]
    assert [text(root, i) for i in range(3)] == before and not journal_dir(root).exists()  # nothing written
    run("tags", "add", root, "trig", "--front", "--yes", "--force")
    assert text(root, 1).startswith("trig, ") and locked.stat().st_mode & 0o777 == 0o444  # stays read-only
    with pytest.raises(LoratuiError, match="1.txt: read-only caption file"):
        undo_last(root)
    assert text(root, 1).startswith("trig, ")
    undo_last(root, force=True)
    assert [text(root, i) for i in range(3)] == before


def test_write_caption_respects_read_only(tmp_path):
    from loratui.core.captions import read_caption, write_caption

    path = tmp_path / "a.txt"
    path.write_text("a, b\n")
    path.chmod(0o444)
    caption = read_caption(path)
    with pytest.raises(LoratuiError, match="read-only caption file"):
        write_caption(caption, ["c"])
    assert write_caption(caption, ["c"], force=True) and path.read_text() == "c\n"


def test_ctrl_c_during_a_bulk_write_says_how_many_landed_and_undo_puts_them_back(tmp_path, monkeypatch, capsys):
    """Ctrl-C 0.6 s into `tags add` on 6,000 captions printed only "aborted" after thousands were written."""
    import loratui.core.captions.journal as journal
    from tests.unit.test_tags_cmd import run_main

    root = dataset(tmp_path)
    before = {i: text(root, i) for i in range(3)}
    real = journal.atomic_write_bytes
    calls = []

    def write_then_stop(path, data, **kw):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(path, data, **kw)

    monkeypatch.setattr(journal, "atomic_write_bytes", write_then_stop)
    code, out = run_main(["tags", "add", root, "NEW", "--front", "--yes"], capsys)
    assert code == 130
    assert "interrupted: 1 of 3 caption(s) were written before it stopped; `loratui tags undo" in out
    monkeypatch.undo()
    assert sum(text(root, i).startswith("NEW, ") for i in range(3)) == 1
    undo_last(root)
    assert {i: text(root, i) for i in range(3)} == before


def test_a_symlinked_caption_is_written_through_and_stays_a_link(tmp_path):
    """`tags add` replaced a caption link with a plain copy and left the shared target as it was."""
    root = dataset(tmp_path)
    shared = tmp_path / "shared.txt"
    shared.write_text("alice, shared\n")
    link = root / "10_alice" / "0.txt"
    link.unlink()
    link.symlink_to(shared)
    assert run("tags", "add", root, "NEW", "--front", "--yes").exit_code == 0
    assert link.is_symlink() and shared.read_text() == "NEW, alice, shared\n"
    undo_last(root)
    assert link.is_symlink() and shared.read_text() == "alice, shared\n"


def test_a_caption_link_loop_is_named_with_what_to_do(tmp_path):
    root = dataset(tmp_path)
    loop = root / "10_alice" / "1.txt"
    loop.unlink()
    loop.symlink_to("1.txt")
    # a write refuses, naming it (a read-only command lists it as left out and reads the rest)
    with pytest.raises(LoratuiError, match=r"1\.txt: cannot read caption \(a symbolic link that leads back to itself"
                                           r".*point it at a real file\)$"):
        run("tags", "add", root, "x", "--yes")


def test_a_recipe_keep_below_zero_is_refused_as_the_cli_option_is():
    with pytest.raises(LoratuiError, match="op 'sort': keep must be 0 or more"):
        op_from_dict({"op": "sort", "by": "alpha", "keep": -3}, "r.toml")


def test_ctrl_c_in_a_parallel_write_stops_the_queued_ones():
    """The pool's exit waited for every queued write: Ctrl-C on 6,000 captions wrote all 6,000."""
    import threading
    import time

    from loratui.core.fsutil import write_many

    started = []
    lock = threading.Lock()

    def write(item):
        with lock:
            started.append(item)
        if item == 5:
            raise KeyboardInterrupt
        time.sleep(0.01)
        return None

    with pytest.raises(KeyboardInterrupt):
        write_many(list(range(200)), write, workers=2)
    assert len(started) < 50, len(started)


def test_tags_check_names_a_caption_folder_and_a_link_loop_instead_of_no_caption(tmp_path):
    root = dataset(tmp_path)
    (root / "10_alice" / "0.txt").unlink()
    (root / "10_alice" / "0.txt").mkdir()
    (root / "10_alice" / "1.txt").unlink()
    (root / "10_alice" / "1.txt").symlink_to("1.txt")
    from click.testing import CliRunner

    from loratui.cli import cli

    out = CliRunner().invoke(cli, ["tags", "check", str(root)]).output
    assert "0.txt is a folder, not a caption file" in out
    assert "1.txt: cannot read (a symbolic link that leads back to itself" in out
    assert "has no caption" not in out


def test_an_image_extension_as_caption_extension_is_refused_before_anything_is_written(tmp_path, capsys):
    """--caption-extension .png wrote caption text over the images (caption and tags alike)."""
    from PIL import Image

    folder = tmp_path / "img" / "2_x"
    folder.mkdir(parents=True)
    Image.new("RGB", (8, 8), "red").save(folder / "a.png")
    before = (folder / "a.png").read_bytes()
    for args in (["caption", "wd14", str(tmp_path / "img"), "--model", str(tmp_path), "--caption-extension", ".png"],
                 ["caption", "blip", str(tmp_path / "img"), "--model", str(tmp_path), "--caption-extension", ".PNG"],
                 ["caption", "wd14", str(tmp_path / "img"), "--model", str(tmp_path), "--caption-extension", ""],
                 ["tags", "add", str(tmp_path / "img"), "t", "--yes", "--caption-extension", ".png"]):
        code, out = run_main(args, capsys)
        assert code == 2 and "--caption-extension" in out and "Traceback" not in out, (args, out)
    assert (folder / "a.png").read_bytes() == before


def test_config_validate_refuses_an_image_caption_extension():
    from loratui.core.config import TrainingConfig, validate

    cfg = TrainingConfig()
    cfg.dataset.caption_extension = ".webp"
    assert any("caption_extension '.webp': is an image extension" in p for p in validate(cfg))


def test_a_bad_save_recipe_file_is_refused_before_any_caption_is_written(tmp_path, capsys):
    """It wrote every caption, then exited 2 (documented as "nothing written")."""
    root = dataset(tmp_path)
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    before = {p: p.read_bytes() for p in root.rglob("*.txt")}
    for target, message in ((notes, "not valid TOML"), (tmp_path / "nodir" / "r.toml", "does not exist")):
        code, out = run_main(["tags", "add", str(root), "zz", "--yes", "--save-recipe", str(target)], capsys)
        assert code == 2 and message in out, out
    assert {p: p.read_bytes() for p in root.rglob("*.txt")} == before
    assert notes.read_text() == "my notes\n"


def test_a_write_that_fails_on_the_first_file_says_nothing_was_written(tmp_path, monkeypatch, capsys):
    """It said "0 file(s) were written (`loratui tags undo` puts them back)", and undo had nothing."""
    import errno

    import loratui.core.captions.journal as journal

    root = dataset(tmp_path)

    def refuse(path, data, **kw):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(journal, "atomic_write_bytes", refuse)
    code, out = run_main(["tags", "add", root, "trig", "--yes"], capsys)
    assert code == 2 and "cannot write (Permission denied); nothing was written" in out and "undo" not in out, out


def test_a_file_name_with_a_newline_stays_on_its_plan_line(tmp_path, capsys):
    root = dataset(tmp_path)
    odd = root / "10_alice" / "r\nnewline.png"
    (root / "10_alice" / "0.png").rename(odd)
    (root / "10_alice" / "0.txt").rename(odd.with_suffix(".txt"))
    out = run("tags", "add", root, "trig", "--dry-run").output
    assert "r\\nnewline.txt" in out and "\nnewline.txt" not in out, out


def test_a_recipe_op_with_the_separator_in_a_tag_names_the_recipe_and_op(tmp_path, capsys):
    root = dataset(tmp_path)
    recipe = tmp_path / "r10.toml"
    recipe.write_text('[[op]]\nop = "dedupe"\n[[op]]\nop = "add"\ntags = ["a, b"]\n')
    code, out = run_main(["tags", "apply", root, recipe, "--yes"], capsys)
    assert code == 2 and f"{recipe}: op 2: " in out and "contains the separator" in out, out


def test_a_folder_without_the_repeats_prefix_is_named_when_left_out(tmp_path):
    root = dataset(tmp_path)
    (root / "abc_x").mkdir()
    (root / "abc_x" / "z.png").write_bytes((root / "10_alice" / "0.png").read_bytes())
    out = run("tags", "add", root, "trig", "--dry-run").output
    assert "abc_x: not concept folders (no N_ repeats prefix)" in out and "--recursive" in out, out


def test_a_full_disk_part_way_names_the_file_and_the_count_exits_1_and_undo_puts_them_back(
        tmp_path, monkeypatch, capsys):
    """hunt9: a full tmpfs half-applied a bulk add, exit 2 ("nothing changed"); and when trimming the
    journal hit the same full disk, that second error (no file name) was reported about the root disk."""
    import errno
    import threading

    import loratui.core.captions.journal as journal

    root = dataset(tmp_path)
    before = {p: p.read_bytes() for p in root.rglob("*.txt")}
    real_write, real_text = journal.atomic_write_bytes, journal.atomic_write_text
    lock, count = threading.Lock(), [0]

    def fill_up(path, data, **kw):
        with lock:
            count[0] += 1
            full = count[0] > 1
        if full:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_write(path, data, **kw)

    def journal_full_too(path, text, *args, **kw):
        if count[0] > 1:  # the trim of the journal, after the first failure
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_text(path, text, *args, **kw)

    monkeypatch.setattr(journal, "atomic_write_bytes", fill_up)
    monkeypatch.setattr(journal, "atomic_write_text", journal_full_too)
    code, out = run_main(["tags", "add", root, "trig", "--yes"], capsys)
    assert code == 1, out
    assert "cannot write (No space left on device); 1 of " in out and "file(s) were written before it" in out
    assert "/dev/" not in out and "tags undo" in out
    monkeypatch.setattr(journal, "atomic_write_bytes", real_write)
    monkeypatch.setattr(journal, "atomic_write_text", real_text)
    assert run("tags", "undo", root, "--yes").exit_code == 0
    assert {p: p.read_bytes() for p in root.rglob("*.txt")} == before


def test_an_entry_walked_by_another_instance_a_moment_ago_is_named_not_an_os_error(tmp_path):
    from pathlib import Path

    from loratui.core.captions.journal import load_entry

    with pytest.raises(LoratuiError, match="just undone or redone by another loratui"):
        load_entry(Path(tmp_path) / "000008.json")
