"""Caption runs resumed from their undo journal (--resume), append keeping first tags first, and the
failure hint that names what to do (s12 user-test of captioning)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.caption_resume import USER, caption_dataset, stop_after, tagger  # noqa: F401 (tagger: a fixture)
from loratui.captioners.output import Job, Leading, LeadingText, find_images, merge, plan, render_result
from loratui.captioners.resume import find_interrupted_run, run_description, run_entry_since
from loratui.captioners.runner import run_captioning
from loratui.captioners.wd14 import WD14Captioner
from loratui.commands.caption_cmd import EXIT_SOME_FAILED, caption, failure_hint
from loratui.core.errors import LoratuiError


def dataset(tmp_path: Path, count: int = 8) -> Path:
    """A train folder of blue images; every other one has the user's own caption."""
    return caption_dataset(tmp_path / "train", count)


def interrupt_after(tagger: Path, root: Path, mode: str, n: int) -> None:
    """A real run of the tiny tagger that is stopped (as Ctrl-C does) after ``n`` captions."""
    result = stop_after(tagger, root, mode, n)
    assert result.interrupted and result.journal is not None and result.captioned == n


@pytest.mark.parametrize("mode", ["append", "overwrite"])
def test_resume_continues_the_interrupted_run_and_captions_the_user_captions_too(tmp_path, tagger, mode):
    root = dataset(tmp_path)
    interrupt_after(tagger, root, mode, 3)
    before = {p.name: p.read_bytes() for p in root.glob("5_a/*.txt")}
    res = CliRunner().invoke(caption, ["wd14", str(root), "--model", str(tagger), "--resume", "--json-events"])
    assert res.exit_code == 0, res.output
    events = [json.loads(line) for line in res.output.splitlines()]
    started = events[0]
    assert started["mode"] == mode and started["resume_of"] == "000001.json"  # the mode of the run resumed
    assert started["skipped"] == started["resumed_skips"] == 3 and started["to_caption"] == 5
    for i in range(8):  # every user caption got the tags (a 'skip existing' resume left them as they were)
        text = (root / "5_a" / f"i{i}.txt").read_text()
        assert "1girl" in text
        assert text.startswith("my words, Solo, 1girl") == (mode == "append" and i % 2 == 1)
    written_first = [name for name, data in before.items() if data.startswith(b"1girl") or b"1girl" in data]
    assert all((root / "5_a" / name).read_bytes() == before[name] for name in written_first)  # not redone
    from loratui.core.captions import history

    assert [row[1] for row in history(root)] == [run_description("wd14", mode, True), run_description("wd14", mode)]


def test_resume_refuses_another_mode_a_finished_run_and_an_empty_journal(tmp_path, tagger):
    root = dataset(tmp_path)
    with pytest.raises(LoratuiError, match="no caption run in its undo journal"):
        find_interrupted_run(root)
    interrupt_after(tagger, root, "append", 2)
    res = CliRunner().invoke(caption, ["wd14", str(root), "--model", str(tagger), "--resume", "--mode", "overwrite"])
    assert "wrote in mode append; drop --mode" in str(res.exception)
    res = CliRunner().invoke(caption, ["blip", str(root), "--model", str(tagger), "--resume"])
    assert "ran wd14: resume it with `loratui caption wd14" in str(res.exception)
    res = CliRunner().invoke(caption, ["wd14", str(root), "--model", str(tagger), "--resume", "--mode", "append"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(caption, ["wd14", str(root), "--model", str(tagger), "--resume"])
    assert "finished with every image captioned: nothing to resume" in str(res.exception)


def test_a_resumed_run_that_is_interrupted_again_skips_what_both_runs_wrote(tmp_path, tagger):
    root = dataset(tmp_path, 10)
    interrupt_after(tagger, root, "append", 2)
    first = find_interrupted_run(root)
    jobs, skipped = plan(find_images(root), ".txt", "append", resume=first)
    stop, seen = threading.Event(), []

    def emit(event):
        if event["event"] == "captioned" and len(seen) < 3:
            seen.append(event)
            stop.set() if len(seen) == 3 else None

    run_captioning(WD14Captioner(tagger, batch_size=1), jobs, mode="append", workers=1, emit=emit, stop=stop,
                   journal_root=root, resumed=True)
    again = find_interrupted_run(root)
    assert len(again.entries) == 2 and len(again.written) == 5 and again.mode == "append"
    todo, skipped = plan(find_images(root), ".txt", "append", resume=again)
    assert len(todo) == 5 and all(job.resumed for job in skipped)
    assert run_entry_since(root, "wd14", 0).written == 3 and run_entry_since(root, "blip", 0) is None


def test_the_interrupted_cli_run_says_how_to_resume(tmp_path, tagger, monkeypatch):
    root = dataset(tmp_path)
    import loratui.captioners.runner as runner

    real = runner.run_captioning

    def stopped_after_one(*args, stop=None, emit=None, **kwargs):
        def stop_at_first(event):  # as Ctrl-C after the first caption
            emit(event)
            if event["event"] == "captioned":
                stop.set()
        return real(*args, stop=stop, emit=stop_at_first, **kwargs)

    monkeypatch.setattr(runner, "run_captioning", stopped_after_one)
    res = CliRunner().invoke(caption, ["wd14", str(root), "--model", str(tagger), "--mode", "append",
                                       "--batch-size", "1", "--workers", "1"])
    assert res.exit_code == 130
    assert "Resume with the same command plus --resume" in res.output
    assert "; append: 8 image(s) to caption" in res.output


def test_append_puts_always_first_tags_and_the_rating_first():
    assert merge(["White Background", "1GIRL", "Solo", "OHWX"], ["ohwx", "general", "1girl", "blue_theme"], 2) == \
        ["ohwx", "general", "White Background", "1GIRL", "Solo", "blue_theme"]
    assert merge(["a", "b"], ["c", "a"]) == ["a", "b", "c"]  # no lead: as before


def test_render_append_keeps_the_promised_order_for_tags_and_a_blip_prefix(tmp_path):
    job = Job(tmp_path / "a.png", tmp_path / "a.txt")
    job.caption.write_text("White Background, 1GIRL, Solo\n")
    line, data, _ = render_result(job, Leading(["ohwx", "1girl", "blue_theme"], lead=1), "append")
    assert line == "ohwx, White Background, 1GIRL, Solo, blue_theme"
    job.caption.write_text("a dog on grass, ohwx\n")
    line, _, _ = render_result(job, LeadingText("ohwx, a cat", "ohwx, "), "append")
    assert line == "ohwx, a dog on grass, a cat"
    line, _, _ = render_result(job, LeadingText("ohwx, a cat", "ohwx, "), "overwrite")
    assert line == "ohwx, a cat"


def test_append_cli_with_always_first_tags_and_rating_first(tmp_path, tagger):
    root = dataset(tmp_path, 2)
    (root / "5_a" / "i1.txt").write_text("White Background, 1GIRL, Solo\n")
    res = CliRunner().invoke(caption, ["wd14", str(root), "--model", str(tagger), "--mode", "append",
                                       "--always-first-tags", "ohwx", "--rating", "first"])
    assert res.exit_code == 0, res.output
    assert (root / "5_a" / "i1.txt").read_text().startswith("ohwx, general, White Background, 1GIRL, Solo, ")


def test_failure_hint_names_what_to_do():
    read_only = [("a.png", "a.txt: cannot be rewritten ...")]  # told by the runner's flag, not by these words
    assert "chmod u+w) or add --force" in failure_hint(read_only, True, {"a.png"})
    assert "chmod" not in failure_hint(read_only, True)
    hint = failure_hint([("x/bad.png", "truncated image"), ("y/zero.png", "zero-byte file")], True)
    assert hint.startswith("fix or remove bad.png, zero.png;") and "--resume" in hint
    assert "mode skip" not in hint and "run the same command again" in failure_hint([("b.png", "x")], False)


def test_read_only_caption_failure_says_chmod_or_force(tmp_path, tagger):
    root = dataset(tmp_path, 2)
    (root / "5_a" / "i1.txt").chmod(0o444)
    res = CliRunner().invoke(caption, ["wd14", str(root), "--model", str(tagger)])
    (root / "5_a" / "i1.txt").chmod(0o644)
    assert res.exit_code == EXIT_SOME_FAILED
    last = res.output.strip().splitlines()[-1]
    assert "read-only: make them writable (chmod u+w) or add --force" in last and "mode skip" not in last


def test_a_journalled_caption_that_was_never_written_is_captioned_by_the_resume(tmp_path):
    """kill -9 between journalling a batch and writing it: the record is there, the caption is not."""
    from loratui.core.captions import ChangeWriter

    root = dataset(tmp_path, 4)
    with ChangeWriter(root, run_description("wd14", "append")) as writer:
        writer.write(root / "5_a" / "i0.txt", b"1girl\n")  # written (no file before)
        writer.write(root / "5_a" / "i1.txt", b"my words, Solo, 1girl\n")  # written over the user's
        writer.write(root / "5_a" / "i2.txt", b"1girl\n")
    (root / "5_a" / "i0.txt").unlink()  # as if never written
    (root / "5_a" / "i1.txt").write_text(USER)  # the old bytes again: never written
    (root / "5_a" / "i2.txt").write_text("edited since\n")  # the run wrote it; the user edited it later
    run = find_interrupted_run(root)
    assert [run.wrote(root / "5_a" / f"i{i}.txt") for i in range(3)] == [False, False, True]
