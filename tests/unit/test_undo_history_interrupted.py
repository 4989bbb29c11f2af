"""`tags undo --list` after an apply killed while writing: the history counts the files written, and
says the apply was interrupted; the undo restores exactly those."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from loratui.core.captions import history, undo_last

KILL_AFTER = 4

KILLED_APPLY = textwrap.dedent(f"""
    import os, sys
    from loratui.core.captions import AddTags, apply_plan, journal, load_captions, plan_edits
    real = journal.atomic_write_bytes
    calls = []
    def write_then_die(*args, **kwargs):  # kill -9 after {KILL_AFTER} captions: no cleanup runs
        if len(calls) == {KILL_AFTER}:
            os._exit(9)
        calls.append(1)
        return real(*args, **kwargs)
    journal.atomic_write_bytes = write_then_die
    root = sys.argv[1]
    apply_plan(plan_edits(load_captions(root), [AddTags(["killme"])]), root)
""")


def make_dataset(root, n=20):
    folder = root / "1_a"
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"{i:02d}.png").write_bytes(b"x")
        (folder / f"{i:02d}.txt").write_bytes(b"a, b\r\n")
    return root


def test_a_killed_apply_lists_what_it_wrote(tmp_path):
    root = make_dataset(tmp_path / "k")
    before = {p: p.read_bytes() for p in root.rglob("*.txt")}
    done = subprocess.run([sys.executable, "-c", KILLED_APPLY, str(root)], capture_output=True, text=True)
    assert done.returncode == 9, done.stderr
    written = sum(1 for p in root.rglob("*.txt") if b"killme" in p.read_bytes())
    assert 0 < written < 20  # a few (the writer threads were mid-way)
    [(_, description, files)] = history(root)
    assert files == written
    assert description == f"add killme at the end (interrupted: {written} of 20 written)"
    result = undo_last(root)
    assert len(result.restored) == written
    assert {p: p.read_bytes() for p in root.rglob("*.txt")} == before
    assert not list((root / ".loratui" / "undo").glob("*.writing"))  # walked: the marker went with the entry


def test_a_finished_apply_lists_its_files_and_leaves_no_marker(tmp_path):
    from loratui.core.captions import AddTags, apply_plan, load_captions, plan_edits

    root = make_dataset(tmp_path / "d", 5)
    apply_plan(plan_edits(load_captions(root), [AddTags(["x"])]), root)
    assert [row[1:] for row in history(root)] == [("add x at the end", 5)]
    assert not list((root / ".loratui" / "undo").glob("*.writing"))
