"""core/captions/journal.py: applying plans (journal first, atomic, conflict-checked) and undoing them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loratui.core.captions import journal as edit_journal  # patched below
from loratui.core.captions import load_captions, read_caption
from loratui.core.captions import apply_plan, history, journal_dir, plan_undo, undo_last
from loratui.core.captions import AddTags, Dedupe, RemoveTags, SortTags, StripUnderscores, plan_edits, plan_set_tags
from loratui.core.errors import ConflictError, LoratuiError


def make_dataset(root: Path, n: int = 6) -> Path:
    folder = root / "img" / "10_alice"
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"{i}.png").write_bytes(b"x")
        (folder / f"{i}.txt").write_text(f"alice, tag_{i}, white_background\n", encoding="utf-8")
    (folder / "nocap.png").write_bytes(b"x")
    return root / "img"


def snapshot(root: Path) -> dict:
    return {p: p.read_bytes() for p in root.rglob("*.txt")}


def test_apply_undo_restores_bytes_and_new_files(tmp_path):
    root = make_dataset(tmp_path)
    (root / "10_alice" / "1.txt").write_bytes(b"\xef\xbb\xbfalice, solo\r\nmore\r\n")
    before = snapshot(root)
    plan = plan_edits(load_captions(root), [AddTags(["trig"], 0)])
    result = apply_plan(plan, root)
    assert len(result.written) == 7 and not result.conflicts and result.journal.parent == journal_dir(root)
    assert (root / "10_alice" / "nocap.txt").read_bytes() == b"trig\n"
    assert (root / "10_alice" / "1.txt").read_bytes() == b"\xef\xbb\xbftrig, alice, solo\r\nmore\r\n"
    assert history(root)[0][1:] == ("add trig at the front", 7)
    undo = undo_last(root)
    assert len(undo.restored) == 7 and undo.remaining == 0 and undo.description == "add trig at the front"
    assert snapshot(root) == before
    assert not (root / "10_alice" / "nocap.txt").exists()
    with pytest.raises(LoratuiError, match="nothing left to undo: every recorded change has been undone"):
        undo_last(root)


def test_journal_records_old_bytes_and_ops(tmp_path):
    root = make_dataset(tmp_path)
    result = apply_plan(plan_edits(load_captions(root), [StripUnderscores()]), root)
    record = json.loads(result.journal.read_text())
    assert record["version"] == 2 and record["ops"] == [{"op": "strip_underscores"}]
    assert record["files"][0]["path"] == "10_alice/0.txt" and record["files"][0]["old"]


def test_several_undos_walk_back(tmp_path):
    root = make_dataset(tmp_path)
    before = snapshot(root)
    apply_plan(plan_edits(load_captions(root), [StripUnderscores()]), root)
    middle = snapshot(root)
    apply_plan(plan_edits(load_captions(root), [AddTags(["zz"], 0)]), root, description="trigger word")
    assert [row[1] for row in history(root)] == ["trigger word", "strip underscores"]
    assert undo_last(root).remaining == 1 and snapshot(root) == middle
    assert undo_last(root).remaining == 0 and snapshot(root) == before


def test_apply_refuses_when_a_file_changed_since_it_was_read(tmp_path):
    root = make_dataset(tmp_path)
    plan = plan_edits(load_captions(root), [AddTags(["x"])])
    before = snapshot(root)
    (root / "10_alice" / "2.txt").write_text("changed meanwhile\n")
    with pytest.raises(ConflictError, match="2.txt.*changed on disk.*nothing was written"):
        apply_plan(plan, root)
    assert snapshot(root) == {**before, root / "10_alice" / "2.txt": b"changed meanwhile\n"}
    assert history(root) == []


def test_apply_can_skip_conflicts_and_journals_only_written(tmp_path):
    root = make_dataset(tmp_path)
    plan = plan_edits(load_captions(root), [AddTags(["x"])])
    (root / "10_alice" / "2.txt").write_text("changed meanwhile\n")
    result = apply_plan(plan, root, skip_conflicts=True)
    assert len(result.conflicts) == 1 and len(result.written) == 6
    assert (root / "10_alice" / "2.txt").read_text() == "changed meanwhile\n"
    assert history(root)[0][2] == 6
    undo_last(root)
    assert (root / "10_alice" / "2.txt").read_text() == "changed meanwhile\n"


def test_undo_refuses_to_clobber_later_edits(tmp_path):
    root = make_dataset(tmp_path)
    before = snapshot(root)
    apply_plan(plan_edits(load_captions(root), [StripUnderscores()]), root)
    target = root / "10_alice" / "0.txt"
    target.write_text("hand edited\n")
    preview = plan_undo(root)
    assert len(preview.restore) == 5 and len(preview.conflicts) == 1 and "edited after" in preview.conflicts[0]
    after_apply = snapshot(root)
    with pytest.raises(ConflictError, match="0.txt: edited after the change.*nothing undone.*--skip-changed"):
        undo_last(root)
    assert snapshot(root) == after_apply and len(history(root)) == 1  # nothing touched, entry kept
    result = undo_last(root, skip_changed=True)
    assert len(result.restored) == 5 and result.conflicts and target.read_text() == "hand edited\n"
    assert history(root) == []
    assert {p: b for p, b in snapshot(root).items() if p != target} == {p: b for p, b in before.items() if p != target}


def test_undo_force_and_deleted_files(tmp_path):
    root = make_dataset(tmp_path)
    before = snapshot(root)
    apply_plan(plan_edits(load_captions(root), [RemoveTags(["alice"])]), root)
    (root / "10_alice" / "0.txt").write_text("hand edited\n")
    (root / "10_alice" / "1.txt").unlink()
    assert "deleted after" in " ".join(plan_undo(root).conflicts)
    result = undo_last(root, force=True)
    assert len(result.restored) == 6 and not result.conflicts and snapshot(root) == before


@pytest.mark.parametrize("death, already", [(SystemExit, 4), (KeyboardInterrupt, 0)], ids=["killed", "ctrl-c"])
def test_undo_of_an_apply_killed_half_way(tmp_path, monkeypatch, death, already):
    """Files the apply never reached are already as they were: undo restores the rest, no conflict. A
    process killed outright keeps every record (the unreached ones are "already"); after Ctrl-C the
    apply keeps the records of the files that landed only."""
    root = make_dataset(tmp_path)
    before = snapshot(root)
    plan = plan_edits(load_captions(root), [AddTags(["trig"], 0)])
    real_write = edit_journal.atomic_write_bytes
    calls = []

    def dying_write(path, data, **kw):
        if len(calls) == 3:
            raise death  # the process dies here
        calls.append(path)
        return real_write(path, data, **kw)

    monkeypatch.setattr(edit_journal, "atomic_write_bytes", dying_write)
    with pytest.raises(death):
        apply_plan(plan, root)
    monkeypatch.setattr(edit_journal, "atomic_write_bytes", real_write)
    preview = plan_undo(root)
    assert len(preview.restore) == 3 and len(preview.already) == already and not preview.conflicts
    undo_last(root)
    assert snapshot(root) == before


def test_write_error_is_one_line_and_undoable(tmp_path, monkeypatch):
    root = make_dataset(tmp_path)
    before = snapshot(root)
    plan = plan_edits(load_captions(root), [Dedupe(), AddTags(["z"])])
    real_write = edit_journal.atomic_write_bytes
    calls = []

    def full_disk(path, data, **kw):
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        calls.append(path)
        return real_write(path, data, **kw)

    monkeypatch.setattr(edit_journal, "atomic_write_bytes", full_disk)
    with pytest.raises(LoratuiError, match="cannot write \\(No space left on device\\); 2 of 7 file\\(s\\) were written"):
        apply_plan(plan, root)
    monkeypatch.setattr(edit_journal, "atomic_write_bytes", real_write)
    assert history(root)[0][2] == 2
    undo_last(root)
    assert snapshot(root) == before


def test_empty_or_broken_journal_entries(tmp_path):
    root = make_dataset(tmp_path)
    apply_plan(plan_edits(load_captions(root), [StripUnderscores()]), root)
    (journal_dir(root) / "000002.json").write_bytes(b"")  # reserved by an apply killed before its journal
    assert len(history(root)) == 1
    result = apply_plan(plan_edits(load_captions(root), [AddTags(["q"])]), root)
    assert result.journal.name == "000003.json"
    (journal_dir(root) / "000004.json").write_text("{not json")
    with pytest.raises(LoratuiError, match="000004.json: unreadable undo journal.*delete it"):
        undo_last(root)


def test_old_entries_are_pruned(tmp_path, monkeypatch):
    monkeypatch.setattr(edit_journal, "KEEP_ENTRIES", 3)
    root = make_dataset(tmp_path, n=1)
    for i in range(5):
        caps = load_captions(root)
        apply_plan(plan_set_tags([(caps[0], [f"v{i}"])]), root)
    assert [p.name for p, _, _ in history(root)] == ["000005.json", "000004.json", "000003.json"]


def test_undo_survives_a_new_process(tmp_path):
    root = make_dataset(tmp_path)
    before = (root / "10_alice" / "0.txt").read_bytes()
    apply_plan(plan_edits(load_captions(root), [StripUnderscores()]), root)
    code = f"from loratui.core.captions import undo_last; undo_last({str(root)!r})"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (root / "10_alice" / "0.txt").read_bytes() == before


def test_kill_during_apply_leaves_each_file_old_or_new(tmp_path):
    """SIGKILL a process applying a plan over many files: no caption is ever empty or truncated."""
    folder = tmp_path / "img" / "1_x"
    folder.mkdir(parents=True)
    old = "a, b, c, " + ", ".join(f"tag{i}" for i in range(200)) + "\n"
    for i in range(400):
        (folder / f"{i}.png").write_bytes(b"x")
        (folder / f"{i}.txt").write_text(old)
    code = textwrap.dedent(f"""
        from loratui.core.captions import load_captions
        from loratui.core.captions import AddTags, plan_edits
        from loratui.core.captions import apply_plan
        plan = plan_edits(load_captions({str(tmp_path / 'img')!r}), [AddTags(["trigger"], 0)])
        print("go", flush=True)
        apply_plan(plan, {str(tmp_path / 'img')!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "go"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    new = "trigger, " + old
    texts = [p.read_text() for p in folder.glob("*.txt")]
    assert len(texts) == 400 and all(t in (old, new) for t in texts)
    if any(t == new for t in texts):  # something was written: the journal came first and undoes it
        undo_last(tmp_path / "img")
        assert all(p.read_text() == old for p in folder.glob("*.txt"))


tags_strategy = st.lists(st.sampled_from(["a", "ab", "b", "c", "d_e", "general", "trig", "x"]), max_size=8)
ops_strategy = st.lists(st.sampled_from([
    AddTags(["trig"], 0), AddTags(["x", "y"]), RemoveTags(["a*"]), Dedupe(), SortTags("alpha"), StripUnderscores(),
]), max_size=3)


@settings(max_examples=40, deadline=None)
@given(captions=st.lists(tags_strategy, min_size=1, max_size=5), ops=ops_strategy,
       style=st.sampled_from(["\n", "\r\n", "", "\ufeff"]))
def test_property_apply_then_undo_restores_every_byte(tmp_path_factory, captions, ops, style):
    root = tmp_path_factory.mktemp("ds")
    for i, tags in enumerate(captions):
        (root / f"{i}.png").write_bytes(b"x")
        if i % 3 != 2:
            text = ("\ufeff" + ",".join(tags) + "\n") if style == "\ufeff" else " , ".join(tags) + style
            (root / f"{i}.txt").write_bytes(text.encode())
    before = snapshot(root)
    plan = plan_edits(load_captions(root), ops)
    apply_plan(plan, root)
    for edit in plan.edits:
        assert read_caption(edit.path).tags == edit.new
    assert plan_edits(load_captions(root), ops).changed <= plan.changed
    if plan.edits:
        undo_last(root)
    assert snapshot(root) == before


def test_a_big_plan_is_written_in_parallel_and_undone_whole(tmp_path):
    from loratui.core.fsutil import PARALLEL_FROM

    root = tmp_path / "img" / "1_x"
    root.mkdir(parents=True)
    count = PARALLEL_FROM * 3
    for i in range(count):
        (root / f"{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        (root / f"{i}.txt").write_text(f"solo, n{i}\n")
    before = {p.name: p.read_bytes() for p in root.glob("*.txt")}
    result = apply_plan(plan_edits(load_captions(root.parent), [AddTags(["trig"], 0)]), root.parent)
    assert len(result.written) == count and not result.conflicts
    assert all(p.read_text().startswith("trig, solo") for p in root.glob("*.txt"))
    assert not list(root.glob(".*.tmp"))
    assert len(undo_last(root.parent).restored) == count
    assert {p.name: p.read_bytes() for p in root.glob("*.txt")} == before


def test_a_failure_in_a_big_parallel_plan_keeps_what_was_written_undoable(tmp_path, monkeypatch):
    from loratui.core.fsutil import PARALLEL_FROM

    root = tmp_path / "img" / "1_x"
    root.mkdir(parents=True)
    count = PARALLEL_FROM * 2
    for i in range(count):
        (root / f"{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        (root / f"{i}.txt").write_text(f"solo, n{i}\n")
    before = {p.name: p.read_bytes() for p in root.glob("*.txt")}
    real = edit_journal.atomic_write_bytes

    def full_disk(path, data, **kw):
        if path.name == "7.txt":
            raise OSError(28, "No space left on device")
        return real(path, data, **kw)

    monkeypatch.setattr(edit_journal, "atomic_write_bytes", full_disk)
    with pytest.raises(LoratuiError, match="7.txt: cannot write \\(No space left on device\\)"):
        apply_plan(plan_edits(load_captions(root.parent), [AddTags(["trig"], 0)]), root.parent)
    monkeypatch.setattr(edit_journal, "atomic_write_bytes", real)
    assert (root / "7.txt").read_bytes() == before["7.txt"]
    undo_last(root.parent)
    assert {p.name: p.read_bytes() for p in root.glob("*.txt")} == before
