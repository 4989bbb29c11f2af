"""core/captions/undo.py: redo after undo (byte-exact, on disk, cleared by a new change, conflict-checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures.cli_run import run_main

from loratui.cli import cli
from loratui.core.captions import (
    AddTags, RemoveTags, StripUnderscores, apply_plan, can_redo, can_undo, history, journal_dir, load_captions,
    plan_edits, plan_redo, redo_dir, redo_history, redo_last, remap_folders, undo_last,
)
from loratui.core.errors import ConflictError, LoratuiError


def make_dataset(root: Path, n: int = 5) -> Path:
    folder = root / "img" / "10_alice"
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"{i}.png").write_bytes(b"x")
        (folder / f"{i}.txt").write_text(f"alice, tag_{i}, white_background\n", encoding="utf-8")
    (folder / "1.txt").write_bytes(b"\xef\xbb\xbfalice, solo_x\r\nsecond line\r\n")
    # a readable image (8x8 PNG): `tags add` makes no caption for one sd-scripts cannot load (B34)
    from PIL import Image

    Image.new("RGB", (8, 8)).save(folder / "nocap.png")
    return root / "img"


def snapshot(root: Path) -> dict:
    return {p: p.read_bytes() for p in root.rglob("*.txt")}


def apply(root: Path, ops, **kw):
    return apply_plan(plan_edits(load_captions(root), ops), root, **kw)


def test_undo_then_redo_is_byte_exact_round_trip(tmp_path):
    root = make_dataset(tmp_path)
    before = snapshot(root)
    apply(root, [AddTags(["trig"], 0)])
    after = snapshot(root)
    assert (root / "10_alice" / "nocap.txt").exists() and not can_redo(root)
    undo_last(root)
    assert snapshot(root) == before and can_redo(root) and not can_undo(root)
    assert [row[1:] for row in redo_history(root)] == [("add trig at the front", 6)]
    result = redo_last(root)
    assert len(result.restored) == 6 and result.remaining == 0 and result.description == "add trig at the front"
    assert snapshot(root) == after and not can_redo(root)
    assert [row[1] for row in history(root)] == ["add trig at the front"]
    undo_last(root)  # the redone change is undoable again, and redoable again
    assert snapshot(root) == before
    redo_last(root)
    assert snapshot(root) == after
    with pytest.raises(LoratuiError, match="nothing to redo"):
        redo_last(root)


def test_several_undos_redo_in_order(tmp_path):
    root = make_dataset(tmp_path)
    states = [snapshot(root)]
    for ops in ([StripUnderscores()], [AddTags(["zz"], 0)], [RemoveTags(["alice"])]):
        apply(root, ops)
        states.append(snapshot(root))
    for expected in (states[2], states[1], states[0]):
        undo_last(root)
        assert snapshot(root) == expected
    assert [row[1] for row in redo_history(root)] == ["strip underscores", "add zz at the front", "remove alice"]
    for expected in (states[1], states[2]):
        redo_last(root)
        assert snapshot(root) == expected
    assert [row[1] for row in history(root)] == ["add zz at the front", "strip underscores"]
    assert [row[1] for row in redo_history(root)] == ["remove alice"]


def test_new_apply_clears_redo(tmp_path):
    root = make_dataset(tmp_path)
    apply(root, [StripUnderscores()])
    undo_last(root)
    assert can_redo(root)
    apply(root, [AddTags(["other"])])
    assert not can_redo(root) and redo_history(root) == []
    with pytest.raises(LoratuiError, match="nothing to redo"):
        redo_last(root)
    assert [row[1] for row in history(root)] == ["add other at the end"]


def test_refused_apply_keeps_redo(tmp_path):
    root = make_dataset(tmp_path)
    apply(root, [StripUnderscores()])
    undo_last(root)
    plan = plan_edits(load_captions(root), [AddTags(["x"])])
    (root / "10_alice" / "0.txt").write_text("changed meanwhile\n")
    with pytest.raises(ConflictError):
        apply_plan(plan, root)
    assert can_redo(root)  # nothing was written: no new change


def test_redo_survives_a_new_process(tmp_path):
    root = make_dataset(tmp_path)
    apply(root, [StripUnderscores()])
    after = snapshot(root)
    for code in (f"from loratui.core.captions import undo_last; undo_last({str(root)!r})",
                 f"from loratui.core.captions import redo_last; redo_last({str(root)!r})"):
        subprocess.run([sys.executable, "-c", code], check=True)
    assert snapshot(root) == after


def test_redo_refuses_to_clobber_edits_made_after_the_undo(tmp_path):
    root = make_dataset(tmp_path)
    apply(root, [AddTags(["trig"], 0)])
    after = snapshot(root)
    undo_last(root)
    target = root / "10_alice" / "0.txt"
    target.write_text("hand edited after the undo\n")
    preview = plan_redo(root)
    assert len(preview.conflicts) == 1 and "edited after the undo" in preview.conflicts[0]
    undone = snapshot(root)
    with pytest.raises(ConflictError, match="0.txt: edited after the undo.*nothing redone.*--skip-changed re-applies"):
        redo_last(root)
    assert snapshot(root) == undone and can_redo(root)
    result = redo_last(root, skip_changed=True)
    assert len(result.restored) == 5 and len(result.conflicts) == 1
    assert target.read_text() == "hand edited after the undo\n"
    assert {p: b for p, b in snapshot(root).items() if p != target} == {p: b for p, b in after.items() if p != target}


def test_redo_force_overwrites_later_edits(tmp_path):
    root = make_dataset(tmp_path)
    apply(root, [AddTags(["trig"], 0)])
    after = snapshot(root)
    undo_last(root)
    (root / "10_alice" / "0.txt").write_text("hand edited\n")
    (root / "10_alice" / "2.txt").unlink()
    redo_last(root, force=True)
    assert snapshot(root) == after


def test_forced_undo_is_redone_to_the_hand_edit(tmp_path):
    """Redo puts back what the undo replaced: after a forced undo over a hand edit, the hand edit."""
    root = make_dataset(tmp_path)
    apply(root, [StripUnderscores()])
    target = root / "10_alice" / "0.txt"
    target.write_text("hand edited\n")
    after_edit = snapshot(root)
    undo_last(root, force=True)
    assert target.read_text() == "alice, tag_0, white_background\n"
    redo_last(root)
    assert snapshot(root) == after_edit


def test_interrupted_undo_then_redo_restores_everything(tmp_path, monkeypatch):
    import loratui.core.captions.undo as undo_module

    root = make_dataset(tmp_path)
    apply(root, [AddTags(["trig"], 0)])
    after = snapshot(root)
    real = undo_module.atomic_write_bytes
    calls = []

    def failing(path, data, **kw):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(path, data, **kw)

    monkeypatch.setattr(undo_module, "atomic_write_bytes", failing)
    with pytest.raises(LoratuiError, match="cannot restore it"):
        undo_last(root)
    monkeypatch.setattr(undo_module, "atomic_write_bytes", real)
    undo_last(root)  # finishes: the redo entry keeps the records of the files the first try restored
    assert len(redo_history(root)) == 1 and redo_history(root)[0][2] == 6
    redo_last(root)
    assert snapshot(root) == after


def test_redo_entries_follow_renamed_folders(tmp_path):
    root = make_dataset(tmp_path)
    apply(root, [StripUnderscores()])
    after = snapshot(root)
    undo_last(root)
    (root / "10_alice").rename(root / "20_alice")
    assert remap_folders(root, {"10_alice": "20_alice"}) == 1
    redo_last(root)
    assert {p.name: b for p, b in snapshot(root).items()} == {p.name: b for p, b in after.items()}


def test_redo_files_live_in_the_journal_folder(tmp_path):
    root = make_dataset(tmp_path)
    result = apply(root, [StripUnderscores()])
    undo_last(root)
    moved = redo_dir(root) / result.journal.name
    assert moved.parent.parent == journal_dir(root) and not result.journal.exists()
    record = json.loads(moved.read_text())
    assert record["description"] == "strip underscores" and record["ops"] == [{"op": "strip_underscores"}]


# ---- CLI --------------------------------------------------------------------------------------

class Ran:
    def __init__(self, code, out, err):
        self.exit_code, self.stdout, self.output = code, out, out + err


def run(*args, capsys=None):
    """Through main(), as the shell runs it (one-line errors, exit codes)."""
    if capsys is None:
        result = CliRunner().invoke(cli, list(map(str, args)))
        return Ran(result.exit_code, result.stdout, result.stderr if result.stderr_bytes else "")
    return Ran(*run_main(args, capsys))


def test_cli_undo_redo(tmp_path, capsys):
    root = make_dataset(tmp_path)
    run("tags", "add", root, "trig", "--front", "--yes")
    after = snapshot(root)
    out = run("tags", "undo", root, "--yes")
    assert out.exit_code == 0 and "tags redo" in out.output
    out = run("tags", "redo", root, "--list")
    assert "1. add trig at the front (moving existing ones) (6 file(s))" in out.output
    out = run("tags", "redo", root, "--yes")
    assert out.exit_code == 0 and "Re-applied 6 caption file(s)" in out.output and snapshot(root) == after
    out = run("tags", "redo", root, "--yes", capsys=capsys)
    assert out.exit_code == 2 and "error:" in out.output and "nothing to redo" in out.output
    out = run("tags", "redo", root, "--list")
    assert "Nothing to redo." in out.output


def test_cli_redo_conflict_exit_codes(tmp_path, capsys):
    root = make_dataset(tmp_path)
    run("tags", "add", root, "trig", "--front", "--yes")
    run("tags", "undo", root, "--yes")
    (root / "10_alice" / "0.txt").write_text("hand edited\n")
    out = run("tags", "redo", root, "--yes", capsys=capsys)
    assert out.exit_code == 2 and "edited after the undo" in out.output and "Traceback" not in out.output
    out = run("tags", "redo", root, capsys=capsys)
    assert out.exit_code == 2 and "pass --yes" in out.output  # not a terminal
    out = run("tags", "redo", root, "--yes", "--skip-changed", "--json", capsys=capsys)
    data = json.loads(out.stdout)
    # --skip-changed did what it was asked (the edited caption left alone, listed): exit 0
    assert out.exit_code == 0 and len(data["redone"]) == 5 and data["conflicts"] and data["can_redo"] is False


def test_cli_help_documents_exit_codes():
    for verb in ("undo", "redo"):
        out = run("tags", verb, "--help").output
        assert "Exit codes:" in out and "--skip-changed" in out
