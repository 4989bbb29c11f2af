"""A caption run holds the undo journal for its whole run (hunt h1 F1).

It used to take the journal lock batch by batch: a `tags add` made between two batches became entry 2
while the run's entry 1 still grew, and the run then appended onto the captions the tags op had just
written. Undo walks entries by number, so it tried entry 2 first and refused ("edited after the
change"), and the suggested --force twice left 100 captions holding the tags op's text after "nothing
left to undo". Now the run holds the lock from before its model loads (or, in a folder with no
``.loratui`` yet, from its first caption written) to its end: a `tags` op, an undo or a second caption
run meanwhile is refused in one line naming the run (pid) and what to do, and everything undoes exactly.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PIL import Image

from loratui.cli import main
from loratui.core.captions import (
    CAPTION_RUN, AddTags, ChangeWriter, JournalBusyError, apply_plan, history, journal_dir, load_captions, plan_edits,
    undo_last,
)
from loratui.core.errors import ConflictError

# the CLI with a tagger that stops before its second batch until GATE exists (its first batch is written
# then: the run is in progress, as the hunt's 1,500-image run was 10 s in)
GATED_CLI = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from loratui.captioners.wd14 import WD14Captioner
    gate = Path(sys.argv.pop(1))
    real, calls = WD14Captioner.run, []
    def run(self, items):
        calls.append(len(items))
        if len(calls) == 2:
            (gate.parent / "running").write_text("")
            while not gate.exists():
                time.sleep(0.02)
        return real(self, items)
    WD14Captioner.run = run
    from loratui.cli import main
    sys.argv[0] = "loratui"
    main()
""")


def make_dataset(root: Path, n: int = 8) -> Path:
    sub = root / "3_shp"
    sub.mkdir(parents=True)
    for i in range(n):
        Image.new("RGB", (64, 48 + i), [(255, 0, 0), (0, 0, 255), (255, 255, 255)][i % 3]).save(sub / f"img{i}.png")
        (sub / f"img{i}.txt").write_bytes(f"shp, tag{i}, b\r\n".encode())
    return sub


def snapshot(root: Path) -> dict:
    return {p: p.read_bytes() for p in root.rglob("*.txt") if ".loratui" not in p.parts}


def cli(capsys, *args) -> tuple[int, str, str]:
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def wait_for(test, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, f"{what}: never happened"
        time.sleep(0.05)


def start_gated_run(tmp_path: Path, root: Path, model: Path, *args) -> tuple[subprocess.Popen, Path]:
    gate = tmp_path / "gate" / "go"
    gate.parent.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", GATED_CLI, str(gate), "caption", "wd14", str(root), "--model",
                             str(model), "--batch-size", "2", "--workers", "1", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (gate.parent / "running").exists() or proc.poll() is not None, "the run's first batch")
    except AssertionError:
        proc.kill()
        raise
    assert proc.poll() is None, proc.communicate()
    return proc, gate


@pytest.mark.parametrize("fresh", [False, True], ids=["project-with-journal", "folder-without-loratui"])
def test_the_hunts_sequence_undoes_byte_for_byte(tmp_path, wd14_v3, capsys, fresh):
    root = tmp_path / "proj"
    make_dataset(root)
    if not fresh:  # a project already edited: the run holds the journal before its model loads
        (root / ".loratui").mkdir()
    before = snapshot(root)
    proc, gate = start_gated_run(tmp_path, root, wd14_v3, "--mode", "append")
    try:
        during = snapshot(root)
        assert during != before  # the first batch is written
        # the hunt: a tags op on captions the run has not reached yet
        code, out, err = cli(capsys, "tags", "add", root, "MIDTAG", "--where", "file:img6*", "--yes")
        assert code == 2, out + err
        line = f"{root}: a caption run (pid {proc.pid}) is writing these captions; nothing was written: wait for " \
               f"it to finish, or cancel it (`kill -INT {proc.pid}`"
        assert line in err and len(err.strip().splitlines()) == 1, err
        code, out, err = cli(capsys, "tags", "undo", root, "--yes")
        assert code == 2 and f"a caption run (pid {proc.pid}) is writing these captions; nothing was undone" in err
        # a second caption run is refused in one line, before its model loads, and writes nothing
        second = subprocess.run([sys.executable, "-m", "loratui", "caption", "wd14", str(root), "--model",
                                 str(wd14_v3), "--mode", "append", "--always-first-tags", "YB", "--workers", "1"],
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stdout + second.stderr
        assert f"a caption run (pid {proc.pid}) is writing these captions; nothing was written" in second.stderr
        assert snapshot(root) == during
    finally:
        gate.write_text("")
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    after_run = snapshot(root)
    assert all(b"MIDTAG" not in data and b"YB" not in data for data in after_run.values())
    assert [row[1:] for row in history(root)] == [("caption run: wd14 (append)", 8)]
    # the way the refusal said: once the run has finished, the tags op goes through
    code, out, err = cli(capsys, "tags", "add", root, "MIDTAG", "--where", "file:img6*", "--yes")
    assert code == 0, out + err
    code, out, err = cli(capsys, "tags", "undo", root, "--yes")
    assert code == 0 and "Restored 1 caption file(s)" in out, out + err
    assert snapshot(root) == after_run
    code, out, err = cli(capsys, "tags", "undo", root, "--yes")
    assert code == 0 and "Restored 8 caption file(s)" in out, out + err
    assert snapshot(root) == before  # byte for byte, CRLF and all
    code, out, err = cli(capsys, "tags", "undo", root, "--yes")
    assert code == 2 and "nothing left to undo" in err


def _add(root: Path, tag: str, name: str = "img6") -> None:
    captions = [c for c in load_captions(root) if c.path.stem.startswith(name)]
    apply_plan(plan_edits(captions, [AddTags([tag])], description=f"add {tag}"), root)


def test_a_writer_holds_the_journal_from_its_first_write_to_close(tmp_path):
    """Without the CLI (run_captioning, the UTF-8 re-saves): the lock is taken at the first caption
    written, so a change between two batches is refused, and the entries undo in the order they landed."""
    root = tmp_path / "img"
    sub = make_dataset(root)
    before = snapshot(root)
    writer = ChangeWriter(root, "caption run: test", note=CAPTION_RUN)
    assert writer.write(sub / "img0.txt", b"run, 0\n", b"shp, tag0, b\r\n")
    with pytest.raises(JournalBusyError, match=rf"a caption run \(pid {os.getpid()}\) is writing these captions; "
                                               "nothing was written: wait for it to finish, or cancel it"):
        _add(root, "MIDTAG")
    with pytest.raises(JournalBusyError, match="a caption run"):
        undo_last(root)
    # a second run's first write is refused at once (it does not wait BATCH_WAIT for a run of hours)
    started = time.monotonic()
    second = ChangeWriter(root, "caption run: second", note=CAPTION_RUN)
    with pytest.raises(JournalBusyError, match=r"a caption run \(pid \d+\) is writing these captions; stopped "
                                               r"before writing more captions \(0 written\)"):
        second.write(sub / "img1.txt", b"YB\n", b"shp, tag1, b\r\n")
    assert time.monotonic() - started < 30 and second.close() is None
    assert writer.write(sub / "img6.txt", b"run, 6\n", b"shp, tag6, b\r\n")  # the run's next batch
    assert writer.close() is not None
    _add(root, "MIDTAG")  # free again
    assert [row[1] for row in history(root)] == ["add MIDTAG", "caption run: test"]
    undo_last(root)
    undo_last(root)
    assert snapshot(root) == before


def test_a_plain_write_holding_the_journal_is_named_as_before(tmp_path):
    from loratui.core.captions import journal_lock

    root = tmp_path / "img"
    make_dataset(root)
    journal_dir(root).mkdir(parents=True)
    with journal_lock(root):  # a `tags` edit in another shell
        with pytest.raises(JournalBusyError, match=r"another loratui write to these captions is running \(pid \d+\); "
                                                   "nothing was written: try again when it has finished"):
            _add(root, "x")


def test_undo_offers_no_skip_changed_when_no_other_file_is_left(tmp_path):
    """The hunt's advice "--skip-changed restores the other 0 files" could do nothing: not offered then."""
    root = tmp_path / "img"
    sub = make_dataset(root)
    _add(root, "x")
    (sub / "img6.txt").write_text("edited by hand\n")
    with pytest.raises(ConflictError) as info:
        undo_last(root)
    message = str(info.value)
    assert "edited after the change" in message and "--skip-changed" not in message
    assert message.endswith("nothing undone; --force overwrites the edited ones")
