"""A caption run journals what it replaces in the tags undo journal: one `loratui tags undo DIR` away.

Also: a blank --separator is refused before anything runs, and a read-only caption is a failed image.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.captioners.output import find_images, plan
from loratui.captioners.runner import run_captioning
from loratui.captioners.wd14 import WD14Captioner
from loratui.cli import main
from loratui.core.captions import ChangeWriter, history, journal_dir, plan_undo, redo_last, undo_last
from loratui.core.captions.journal import load_entry  # the entry's on-disk format
from loratui.core.captions import AddTags, apply_plan, can_redo, load_captions, plan_edits
from loratui.core.errors import ConflictError, LoratuiError


def make_dataset(root: Path, n: int = 5) -> Path:
    sub = root / "3_cat"
    sub.mkdir(parents=True)
    for i in range(n):
        colour = [(255, 0, 0), (0, 0, 255), (255, 255, 255)][i % 3]
        Image.new("RGB", (64 + i, 48), colour).save(sub / f"img{i}.png")
    (sub / "img0.txt").write_bytes(b"\xef\xbb\xbfmy trigger, red_theme\r\nsecond line kept\r\n")
    (sub / "img1.txt").write_text("hand written caption\n")
    return sub


def snapshot(root: Path) -> dict:
    return {p: p.read_bytes() for p in root.rglob("*.txt") if ".loratui" not in p.parts}


def caption(root: Path, model: Path, *args, capsys=None):
    try:
        main(["caption", "wd14", str(root), "--model", str(model), "--workers", "1", *map(str, args)])
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr() if capsys else None
    return code, (out.out + out.err) if out else ""


@pytest.mark.parametrize("mode", ["overwrite", "append"])
def test_a_caption_run_is_one_undo_away_and_redoable(tmp_path, wd14_v3, capsys, mode):
    sub = make_dataset(tmp_path)
    before = snapshot(tmp_path)
    code, out = caption(tmp_path, wd14_v3, "--mode", mode, capsys=capsys)
    assert code == 0 and f"Undo with: loratui tags undo {tmp_path}" in out, out
    after = snapshot(tmp_path)
    assert after != before and len(after) == 5
    assert [row[1:] for row in history(tmp_path)] == [(f"caption run: wd14 ({mode})", 5)]
    undo_last(tmp_path)
    assert snapshot(tmp_path) == before and not (sub / "img2.txt").exists()  # created captions are removed
    redo_last(tmp_path)
    assert snapshot(tmp_path) == after


def test_tags_undo_cli_after_a_caption_run(tmp_path, wd14_v3, capsys):
    make_dataset(tmp_path)
    before = snapshot(tmp_path)
    caption(tmp_path, wd14_v3, capsys=capsys)
    main(["tags", "undo", str(tmp_path), "--yes"])
    assert "Restored 5" in capsys.readouterr().out
    assert snapshot(tmp_path) == before


def test_a_run_after_an_edit_is_undone_alone(tmp_path, wd14_v3):
    make_dataset(tmp_path)
    apply_plan(plan_edits(load_captions(tmp_path), [AddTags(["trig"], 0)]), tmp_path)
    tagged = snapshot(tmp_path)
    undo_last(tmp_path)
    assert can_redo(tmp_path)
    jobs, _ = plan(find_images(tmp_path), ".txt", "overwrite")
    result = run_captioning(WD14Captioner(wd14_v3), jobs, workers=1, journal_root=tmp_path)
    assert result.journal is not None and not can_redo(tmp_path)  # a caption run is a new change
    assert len(history(tmp_path)) == 1
    undo_last(tmp_path)
    assert snapshot(tmp_path) != tagged  # the tags edit was undone before the run


def test_unchanged_captions_are_not_journalled_and_an_idle_run_leaves_no_entry(tmp_path, wd14_v3):
    make_dataset(tmp_path)
    jobs, _ = plan(find_images(tmp_path), ".txt", "overwrite")
    cap = WD14Captioner(wd14_v3)
    run_captioning(cap, jobs, workers=1, journal_root=tmp_path)
    result = run_captioning(cap, jobs, workers=1, journal_root=tmp_path)
    assert result.captioned == 5 and result.journal is None and len(history(tmp_path)) == 1


def test_a_dry_run_journals_nothing(tmp_path, wd14_v3):
    make_dataset(tmp_path)
    jobs, _ = plan(find_images(tmp_path), ".txt", "overwrite")
    result = run_captioning(WD14Captioner(wd14_v3), jobs, dry_run=True, journal_root=tmp_path)
    assert result.journal is None and not journal_dir(tmp_path).exists()


def test_killed_caption_run_is_undoable(tmp_path, wd14_v3):
    """SIGKILL in the middle of a run: whatever was written is in the journal (records come first)."""
    sub = tmp_path / "1_x"
    sub.mkdir()
    for i in range(300):
        Image.new("RGB", (16, 16), (0, 0, 255)).save(sub / f"{i:03d}.png")
        (sub / f"{i:03d}.txt").write_text(f"old caption {i}\n")
    before = snapshot(tmp_path)
    code = textwrap.dedent(f"""
        from pathlib import Path
        from loratui.captioners.output import find_images, plan
        from loratui.captioners.runner import run_captioning
        from loratui.captioners.wd14 import WD14Captioner
        jobs, _ = plan(find_images({str(tmp_path)!r}), ".txt", "overwrite")
        def emit(event):
            if event["event"] == "captioned" and event["image"].endswith("020.png"):
                print("go", flush=True)
        run_captioning(WD14Captioner({str(wd14_v3)!r}, batch_size=2), jobs, workers=1, emit=emit,
                       journal_root={str(tmp_path)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "go"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert snapshot(tmp_path) != before
    undo_last(tmp_path)
    assert snapshot(tmp_path) == before


def test_journal_entry_grows_by_appended_lines(tmp_path):
    (tmp_path / "a.txt").write_text("old a\n")
    with ChangeWriter(tmp_path, "caption run: test") as writer:
        assert writer.write_many([(tmp_path / "a.txt", b"new a\n", b"old a\n"), (tmp_path / "b.txt", b"b\n", None)]) \
            == [True, True]
        outcome = writer.write_many([(tmp_path / "a.txt", b"again\n", b"stale\n")])
        assert isinstance(outcome[0], ConflictError) and (tmp_path / "a.txt").read_text() == "new a\n"
        entry = writer.entry
    assert len(entry.read_text().splitlines()) == 3  # header + one line per written file
    assert len(load_entry(entry)["files"]) == 2
    entry.write_text(entry.read_text() + '{"path": "torn')  # a kill while appending the next record
    assert len(plan_undo(tmp_path).restore) == 2
    undo_last(tmp_path)
    assert (tmp_path / "a.txt").read_text() == "old a\n" and not (tmp_path / "b.txt").exists()


# ---- separator and read-only ------------------------------------------------------------------

@pytest.mark.parametrize("separator", ["", " ", "\t"])
@pytest.mark.parametrize("captioner", ["wd14", "blip"])
def test_blank_separator_refused_before_anything_runs(tmp_path, capsys, separator, captioner):
    make_dataset(tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["caption", captioner, str(tmp_path), "--model", str(tmp_path / "no-model"), "--separator", separator])
    out = capsys.readouterr()
    assert info.value.code == 2 and "Traceback" not in out.err
    assert out.err.splitlines()[0].startswith("error: separator ") and "needs a visible character" in out.err
    assert snapshot(tmp_path) == before


def test_blank_separator_json_events_error(tmp_path, wd14_v3):
    make_dataset(tmp_path)
    from loratui.commands.caption_cmd import caption as caption_group

    res = CliRunner().invoke(caption_group, ["wd14", str(tmp_path), "--model", str(wd14_v3), "--separator", "",
                                             "--json-events"])
    events = [json.loads(line) for line in res.stdout.splitlines()]
    assert events[-1]["event"] == "error" and "needs a visible character" in events[-1]["message"]


def test_run_captioning_refuses_a_blank_separator(tmp_path, wd14_v3):
    make_dataset(tmp_path)
    jobs, _ = plan(find_images(tmp_path), ".txt", "overwrite")
    with pytest.raises(LoratuiError, match="needs a visible character"):
        run_captioning(WD14Captioner(wd14_v3), jobs, separator=" ")


def test_read_only_caption_is_a_failed_image_unless_forced(tmp_path, wd14_v3, capsys):
    sub = make_dataset(tmp_path)
    locked = sub / "img1.txt"
    locked.chmod(0o444)
    code, out = caption(tmp_path, wd14_v3, capsys=capsys)
    assert locked.read_text() == "hand written caption\n"
    assert f"{locked}: read-only caption file" in out and "chmod u+w" in out and "--force" in out
    code, out = caption(tmp_path, wd14_v3, "--force", capsys=capsys)
    assert locked.read_text() != "hand written caption\n" and locked.stat().st_mode & 0o777 == 0o444
