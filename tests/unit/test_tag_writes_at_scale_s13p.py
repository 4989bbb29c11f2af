"""Tag writes at 20,000 images (s13 hunt h14): the undo journal is capped by size as well as count, writes
and undo report progress, and Ctrl-C before or during them says what was (not) written."""

from __future__ import annotations

import io
import threading

import pytest
from fixtures.cli_run import run_main

from loratui.commands import tags_run
from loratui.core.captions import AddTags, apply_plan, journal_dir, load_captions, plan_edits, undo_last
from loratui.core.captions import journal as edit_journal
from loratui.core.captions import undo as edit_undo


def dataset(tmp_path, n: int = 6):
    folder = tmp_path / "img" / "10_alice"
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"{i}.png").write_bytes(b"x")
        (folder / f"{i}.txt").write_text("alice, solo\n")
    return tmp_path / "img"


def add(root, tag: str, progress=None):
    plan = plan_edits(load_captions(root), [AddTags([tag])], description=f"add {tag}")
    return apply_plan(plan, root, progress=progress)


def test_the_journal_keeps_at_most_keep_bytes_and_always_the_newest_entry(tmp_path, monkeypatch):
    root = dataset(tmp_path)
    add(root, "one")
    entry_size = next(journal_dir(root).glob("*.json")).stat().st_size
    monkeypatch.setattr(edit_journal, "KEEP_BYTES", entry_size * 2 + entry_size // 2)  # room for two
    for tag in ("two", "three", "four"):
        add(root, tag)
    kept = sorted(p.name for p in journal_dir(root).glob("*.json"))
    assert kept == ["000003.json", "000004.json"]  # the oldest went first; the count cap (50) never bit
    monkeypatch.setattr(edit_journal, "KEEP_BYTES", 1)  # smaller than any entry: the newest still stays
    add(root, "five")
    assert sorted(p.name for p in journal_dir(root).glob("*.json")) == ["000005.json"]
    assert "five" in undo_last(root).description


def test_apply_and_undo_report_each_caption_written(tmp_path, monkeypatch):
    monkeypatch.setattr("loratui.core.fsutil.PARALLEL_FROM", 2)  # the writer threads call it, as at 20,000
    root = dataset(tmp_path)
    seen, lock = [], threading.Lock()

    def progress(done, total):
        with lock:
            seen.append((done, total))

    add(root, "x", progress)
    assert sorted(seen) == [(n, 6) for n in range(1, 7)]
    seen.clear()
    undo_last(root, progress=progress)
    assert sorted(seen) == [(n, 6) for n in range(1, 7)]


def test_ctrl_c_before_the_first_caption_is_written_says_nothing_was(tmp_path, monkeypatch):
    root = dataset(tmp_path)
    plan = plan_edits(load_captions(root), [AddTags(["x"])])

    def interrupted(plan):
        raise KeyboardInterrupt

    monkeypatch.setattr(edit_journal, "find_conflicts", interrupted)
    with pytest.raises(KeyboardInterrupt, match="interrupted before any caption was written: nothing was written"):
        apply_plan(plan, root)
    assert not list(journal_dir(root).glob("*.json")) and (root / "10_alice" / "0.txt").read_text() == "alice, solo\n"


def test_ctrl_c_during_an_undo_says_how_many_were_undone_and_the_undo_finishes_later(tmp_path, monkeypatch):
    root = dataset(tmp_path)
    add(root, "x")
    real = edit_undo.write_many

    def stopped_after_two(items, write):
        for item in items[:2]:
            write(item)
        raise KeyboardInterrupt

    monkeypatch.setattr(edit_undo, "write_many", stopped_after_two)
    with pytest.raises(KeyboardInterrupt, match="interrupted: 2 of 6 caption.s. were undone before it stopped; "
                                                "run the undo again to finish it"):
        undo_last(root)
    monkeypatch.setattr(edit_undo, "write_many", real)
    assert len(undo_last(root).restored) == 4
    assert all(p.read_text() == "alice, solo\n" for p in (root / "10_alice").glob("*.txt"))


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_line_is_drawn_in_place_on_a_terminal_only(monkeypatch):
    monkeypatch.setattr(tags_run, "PROGRESS_EVERY_S", 0.0)
    terminal = FakeTerminal()
    with tags_run.progress_line("writing", False, terminal) as line:
        line(3, 20000)
    assert terminal.getvalue() == "\r\x1b[Kwriting…\r\x1b[Kwriting 3 of 20,000 caption(s)…\r\x1b[K"
    for stream, as_json in ((io.StringIO(), False), (FakeTerminal(), True)):  # a log or a pipe; --json
        with tags_run.progress_line("writing", as_json, stream) as line:
            assert line is None
        assert stream.getvalue() == ""


def test_the_progress_line_is_throttled(monkeypatch):
    terminal = FakeTerminal()
    line = tags_run.ProgressLine("undoing", terminal)
    for done in range(1, 1000):
        line(done, 1000)  # within half a second of the first line: not drawn again
    assert terminal.getvalue() == "\r\x1b[Kundoing…"


@pytest.mark.parametrize("args", [["tags", "add", "{root}", "x", "--front", "--yes"],
                                  ["tags", "to-utf8", "{root}", "--yes"]])
def test_ctrl_c_while_a_tags_command_reads_says_nothing_was_written(tmp_path, monkeypatch, capsys, args):
    root = dataset(tmp_path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("loratui.core.captions.load_captions", interrupted)
    code, _, err = run_main([a.format(root=root) for a in args], capsys)
    assert code == 130
    assert err.strip().splitlines()[-1] == "interrupted while reading captions: nothing was written"


def test_ctrl_c_while_undo_reads_says_nothing_was_undone(tmp_path, monkeypatch, capsys):
    root = dataset(tmp_path)
    add(root, "x")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("loratui.core.captions.plan_undo", interrupted)
    code, _, err = run_main(["tags", "undo", root, "--yes"], capsys)
    assert code == 130 and err.strip().splitlines()[-1] == "interrupted while reading captions: nothing was undone"
    monkeypatch.undo()
    monkeypatch.setattr(edit_undo, "_plan_undo", interrupted)  # the undo reads them again under its lock
    with pytest.raises(KeyboardInterrupt, match="interrupted while reading captions: nothing was undone"):
        undo_last(root)
