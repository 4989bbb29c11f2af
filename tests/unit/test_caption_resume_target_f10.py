"""--resume after an undo and redo of the run's entry, and which run it continues: the last one started
here only (a run cancelled while its model loaded never hands --resume an older run), with one line
naming it (review r1 #1, #2)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.caption_resume import USER, caption_dataset, stop_after, tagger  # noqa: F401 (tagger: a fixture)
from loratui.captioners.resume import RunAttempt, find_interrupted_run, run_description, run_entry_since
from loratui.commands.caption_cmd import caption
from loratui.core.captions import ChangeWriter, journal_dir, read_header, redo_last, undo_last
from loratui.core.errors import LoratuiError


def dataset(tmp_path: Path, count: int = 6) -> Path:
    return caption_dataset(tmp_path / "train", count)


def test_an_undone_then_redone_run_still_lists_what_it_wrote(tmp_path, tagger):
    root = dataset(tmp_path)
    stop_after(tagger, root, "append", 3)
    undo_last(root)
    redo_last(root)  # the entry is now one JSON document with its files inside
    entry = journal_dir(root) / "000001.json"
    assert read_header(entry)[1] == 3 and "files" not in read_header(entry)[0]
    assert len(find_interrupted_run(root).written) == 3
    assert run_entry_since(root, "wd14", 0).written == 3  # the app's count for a killed run


def test_a_run_cancelled_while_loading_is_not_mistaken_for_the_older_one(tmp_path, tagger):
    root = dataset(tmp_path)
    stop_after(tagger, root, "overwrite", 2, RunAttempt(root, "wd14", "overwrite"))
    RunAttempt(root, "wd14", "append").begin()  # started, cancelled before its first caption
    with pytest.raises(LoratuiError, match=r"nothing to resume: the last caption run of .* \(wd14, append, "
                                           r"\d+ s ago\) wrote nothing; start it again"):
        find_interrupted_run(root)
    res = CliRunner().invoke(caption, ["wd14", str(root), "--model", str(tagger), "--resume"])
    assert "wrote nothing; start it again" in str(res.exception)
    assert (root / "5_a" / "i5.txt").read_text() == USER  # the overwrite run was not resumed over it


def test_a_resume_cancelled_while_loading_still_resumes_the_run(tmp_path, tagger):
    root = dataset(tmp_path)
    stop_after(tagger, root, "append", 2, RunAttempt(root, "wd14", "append"))
    RunAttempt(root, "wd14", "append", ["000001.json"]).begin()  # a resume that wrote nothing
    run = find_interrupted_run(root)
    assert run.mode == "append" and len(run.written) == 2 and run.recorded
    res = CliRunner().invoke(caption, ["wd14", str(root), "--model", str(tagger), "--resume"])
    assert res.exit_code == 0, res.output
    assert "resuming the wd14 run (append) of " in res.output and "it wrote 2 caption(s) (000001.json)" in res.output
    with pytest.raises(LoratuiError, match="finished with every image captioned: nothing to resume"):
        find_interrupted_run(root)


def test_a_run_of_an_older_loratui_is_resumed_with_a_line_that_says_so(tmp_path, tagger):
    root = dataset(tmp_path)
    stop_after(tagger, root, "append", 2)  # no record: as an older loratui left it
    assert not (root / ".loratui" / "caption-run.json").exists()
    res = CliRunner().invoke(caption, ["wd14", str(root), "--model", str(tagger), "--resume", "--json-events"])
    started = json.loads(res.output.splitlines()[0])
    assert started["resume_of"] == "000001.json" and "no record of later runs" in started["resumed_run"]
    last = json.loads((root / ".loratui" / "caption-run.json").read_text())["last"]
    assert last["finished"] and last["resumes"] == ["000001.json"] and last["entry"] == "000002.json"


def test_the_record_names_the_entry_of_a_killed_run(tmp_path):
    root = dataset(tmp_path)
    attempt = RunAttempt(root, "wd14", "overwrite", started=time.time() - 120)
    with ChangeWriter(root, run_description("wd14", "overwrite")) as writer:
        writer.write(root / "5_a" / "i1.txt", b"1girl\n")  # killed before it recorded its entry
    attempt.begin()
    run = find_interrupted_run(root)
    assert run.entry.path.name == "000001.json" and "of 2 min ago" in run.line()
