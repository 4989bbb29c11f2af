"""Review r1 of the s14 commits: one tag comparison in TagVocab (2); `dataset balance` reads no journal
entry (3); a write that drops old undo entries says so (4, CLI); `balance --undo` survives a journal that
cannot follow and undoes only while no caption change came after it (5); a config's relative folder is
resolved as training resolves it (7b); the store adopts a listing's unreadable folders with its rows (8);
AddTags(move_existing) notes only the tags it did not move (10); the resume hint keeps the bracket (11)."""

from __future__ import annotations

import errno
import json
import os
from collections import Counter
from pathlib import Path

from fixtures.cli_run import run_main
from fixtures.tui_dataset import make_dataset
from PIL import Image

from loratui.core import captions as captions_face
from loratui.core.captions import AddTags, TagInfo, TagVocab, load_captions, plan_edits
from loratui.core.captions import journal as edit_journal  # its caps and reader, patched below
from loratui.core.captions import undo as edit_undo
from loratui.core.config import load_config, resolve_path
from loratui.core.dataset import locate_config
from loratui.core.errors import LoratuiError
from loratui.core.fsutil import config_relative_path

ESCAPED, PLAIN = "miku \\(x\\)", "miku (x)"


# ---- 2. TagVocab compares tags one way -------------------------------------------------------------

def test_vocab_membership_lookup_and_exclude_use_the_checks_key():
    vocab = TagVocab(Counter({ESCAPED: 3, "long_hair": 5, "^_^": 2, "solo": 1}))
    assert PLAIN in vocab and ESCAPED in vocab and "long hair" in vocab and "LONG_HAIR" in vocab
    assert vocab.lookup(PLAIN).tag == ESCAPED and vocab.lookup("long hair").tag == "long_hair"
    # the caption has the tag in the other spelling: no completion offers it again
    assert [c.tag for c in vocab.complete("miku", exclude=[PLAIN])] == []
    assert [c.tag for c in vocab.complete("long", exclude=["long hair"])] == []
    assert [c.tag for c in vocab.complete("long")] == ["long_hair"]
    # as the check: ^_^ and ^ ^ are two tags (3 characters: the "_" is no space)
    assert "^ ^" not in vocab and vocab.lookup("^ ^") is None and "^_^" in vocab
    assert TagVocab.key("^_^") != TagVocab.key("^ ^")
    assert [c.tag for c in vocab.complete("^_")] == ["^_^"]  # a short text with "_" still finds it


def test_tagger_tags_fold_by_the_same_key():
    vocab = TagVocab(Counter({PLAIN: 1}), [TagInfo(ESCAPED, 4, 100), TagInfo("long_hair", 0, 900)])
    assert len(vocab) == 2 and vocab.lookup(ESCAPED).category == 4  # one entry: the dataset's spelling
    assert [c.tag for c in vocab.complete("g_h")] == ["long hair"]  # "_" inside a typed text is a space


# ---- 3-5. dataset balance and the undo journal ------------------------------------------------------

def concept(root: Path, name: str, count: int) -> None:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.new("RGB", (16, 16), (i * 30, 60, 90)).save(folder / f"i{i}.png")
        (folder / f"i{i}.txt").write_text(f"tag{i}\n")


def folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def test_balance_reads_no_journal_entry_to_record_the_newest(tmp_path, capsys, monkeypatch):
    concept(tmp_path, "10_a", 2)
    concept(tmp_path, "1_b", 5)
    for i in range(3):  # three changes in the journal
        assert run_main(["tags", "add", tmp_path, f"t{i}", "--yes"], capsys)[0] == 0
    read = []

    def counting(entry):
        read.append(entry)
        return real(entry)

    real = edit_journal.load_entry
    monkeypatch.setattr(edit_journal, "load_entry", counting)
    monkeypatch.setattr(edit_undo, "load_entry", counting)
    code, out, err = run_main(["dataset", "balance", tmp_path, "--yes"], capsys)
    assert code == 0, err
    assert read == []  # the newest entry's name comes from the folder listing
    record = json.loads((tmp_path / ".loratui" / "balance.json").read_text())
    newest = sorted(p.name for p in (tmp_path / ".loratui" / "undo").glob("*.json"))[-1]
    assert record["after_entry"] == newest  # what the app's ctrl+z compares


def test_a_write_that_drops_old_undo_entries_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(edit_journal, "KEEP_ENTRIES", 1)
    root = make_dataset(tmp_path / "p", {"1_a/i1.png": "solo"}) / "img"
    code, out, _ = run_main(["tags", "add", root, "x", "--yes"], capsys)
    assert code == 0 and "dropped" not in out
    code, out, _ = run_main(["tags", "add", root, "y", "--yes"], capsys)
    assert code == 0
    assert "Note: 1 older change(s) were dropped from the undo history (it keeps the last 1 changes" in out
    code, out, _ = run_main(["tags", "add", root, "z", "--yes", "--json"], capsys)
    assert code == 0 and json.loads(out)["undo_dropped"] == 1


def test_balance_undo_waits_for_the_caption_changes_made_after_it(tmp_path, capsys):
    concept(tmp_path, "10_a", 2)
    concept(tmp_path, "1_b", 5)
    assert run_main(["dataset", "balance", tmp_path, "--yes"], capsys)[0] == 0
    assert folders(tmp_path) == ["10_a", "4_b"]
    assert run_main(["tags", "add", tmp_path, "later", "--yes"], capsys)[0] == 0
    code, out, err = run_main(["dataset", "balance", tmp_path, "--undo", "--yes"], capsys)
    assert code == 2 and folders(tmp_path) == ["10_a", "4_b"]
    assert "captions were changed after the last balance" in err and "nothing was renamed" in err
    assert "loratui tags undo" in err and len(err.strip().splitlines()) == 1
    assert run_main(["tags", "undo", tmp_path, "--yes"], capsys)[0] == 0  # as ctrl+z would, first
    code, out, err = run_main(["dataset", "balance", tmp_path, "--undo", "--yes"], capsys)
    assert code == 0, err
    assert folders(tmp_path) == ["10_a", "1_b"] and "renamed 1 folder(s) back" in out


def test_balance_undo_says_the_folders_went_back_when_the_journal_cannot_follow(tmp_path, capsys, monkeypatch):
    concept(tmp_path, "10_a", 2)
    concept(tmp_path, "1_b", 5)
    assert run_main(["dataset", "balance", tmp_path, "--yes"], capsys)[0] == 0

    def cannot(renames):
        list(renames)
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(captions_face, "follow_folder_renames", cannot)
    code, out, err = run_main(["dataset", "balance", tmp_path, "--undo", "--yes"], capsys)
    assert code == 0, err
    assert folders(tmp_path) == ["10_a", "1_b"] and "renamed 1 folder(s) back" in out
    assert "renamed back, but the undo journal could not follow" in err and "Permission denied" in err
    # the record went with the undo: nothing left to undo
    assert "no balance to undo" in run_main(["dataset", "balance", tmp_path, "--undo", "-y"], capsys)[2]


# ---- 7b. a config's relative folders: one rule ---------------------------------------------------------

def test_a_config_folder_is_the_one_training_reads(tmp_path):
    # ../x/../img through a symlinked x walks to other/img; the folded name would be proj/../img
    (tmp_path / "other" / "deep").mkdir(parents=True)
    os.symlink(tmp_path / "other" / "deep", tmp_path / "x")
    concept(tmp_path / "other" / "img", "3_walked", 1)
    concept(tmp_path / "img", "3_folded", 1)
    project = tmp_path / "proj"
    project.mkdir()
    config = project / "c.toml"
    for value in ("../x/../img", "../img", "../../" + tmp_path.name + "/img"):
        config.write_text(f'[dataset]\ntrain_data_dir = "{value}"\n')
        where, _ = locate_config(config)
        trained = resolve_path(load_config(config), value)
        assert os.path.realpath(where.train_dir) == os.path.realpath(trained), value
    config.write_text('[dataset]\ntrain_data_dir = "../x/../img"\n')
    assert [p.name for p in locate_config(config)[0].train_dir.iterdir()] == ["3_walked"]
    # the rule itself
    base = Path("/cfg/dir")
    assert config_relative_path(base, "../../a") == Path("/a")
    assert config_relative_path(base, "../a/../b") == Path("/cfg/dir/../a/../b")
    assert config_relative_path(base, "a/../b") == Path("/cfg/dir/a/../b")
    assert config_relative_path(base, "/abs/../x") == Path("/abs/../x")
    assert config_relative_path(base, "~/d") == Path(os.path.expanduser("~/d"))


# ---- 8. the listing's unreadable folders travel with its rows -------------------------------------------

def test_the_store_adopts_unreadable_folders_with_the_rows(tmp_path, monkeypatch):
    from loratui.core.dataset import locate_dataset
    from loratui.tui.services.dataset_store import DatasetStore

    concept(tmp_path, "2_a", 2)
    concept(tmp_path, "1_b", 1)
    store = DatasetStore(locate_dataset(tmp_path))
    real, bad = os.scandir, os.path.abspath(tmp_path / "1_b")

    def scandir(path="."):
        if os.path.abspath(os.fspath(path)) == bad:
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    listing = store.list_rows()  # a worker's call: sets nothing on the store
    assert store.unreadable_folders == [] and store.rows == []
    assert len(listing) == 2 and len(listing.unreadable_folders) == 1 and "1_b" in listing.unreadable_folders[0]
    store.adopt_rows(listing)  # the UI thread's
    assert store.unreadable_folders == listing.unreadable_folders
    monkeypatch.setattr(os, "scandir", real)
    later = store.list_rows()  # a rescan's listing, not adopted yet: the captions read pair with the adopted rows
    assert later.unreadable_folders == [] and store.unreadable_folders == listing.unreadable_folders
    load = store.read_captions()
    assert load.error and "1_b" in load.error.split(";")[0]
    store.adopt_rows(later)
    assert store.unreadable_folders == [] and store.read_captions().error is None


# ---- 10. AddTags(move_existing): the note counts only the tags left in place -----------------------------

def test_add_moving_existing_notes_only_what_it_did_not_move(tmp_path):
    root = make_dataset(tmp_path / "p", {
        "1_a/i1.png": "solo, Trig",        # behind the kept tag: moved, in its own spelling
        "1_a/i2.png": "TRIG, solo",        # among the kept tags: left there, not added
        "1_a/i3.png": "solo, blue",
    }) / "img"
    plan = plan_edits(load_captions(root), [AddTags(["trig"], 0, move_existing=True, keep=1)])
    assert plan.notes == ["'trig': not added to 1 caption(s) that have it already as 'TRIG' (the same tag)"]
    plan = plan_edits(load_captions(root), [AddTags(["trig"], 0, move_existing=True)])
    assert plan.notes == []  # every copy was moved to the front, none "not added"
    assert {e.path.name: e.new for e in plan.edits}["i1.txt"] == ["Trig", "solo"]


# ---- 11. the resume hint: the bracket is the sentence's --------------------------------------------------

def test_the_resume_hint_holds_no_bracket(tmp_path):
    from loratui.captioners.resume import find_interrupted_run
    from loratui.core.captions import apply_plan, plan_set_tags
    from loratui.core.errors import Hint

    root = make_dataset(tmp_path / "p", {"1_a/i1.png": "solo"}) / "img"
    caption = load_captions(root)[0]
    result = apply_plan(plan_set_tags([(caption, ["x"])]), root, description="caption run: wd14 (overwrite)")
    (root / ".loratui" / "caption-run.json").write_text(json.dumps({"finished": result.journal.name}))
    try:
        find_interrupted_run(root, "p/img")
    except LoratuiError as exc:
        error = exc
    assert not any(isinstance(part, Hint) and ")" in part.shell + part.app for part in error.parts)
    assert str(error).endswith("(a run stopped before it wrote anything: start it again without --resume)")
    assert error.worded(start="ctrl+r").endswith("(a run stopped before it wrote anything: ctrl+r starts it again)")
