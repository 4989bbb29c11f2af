"""A balance's renames and the undo journals that follow them (hunt h2 F1): the follow is a dict lookup
per path, and a Ctrl-C, a SIGTERM or a kill -9 at any moment of rename + follow leaves the journal able
to follow the folders: the next use of the journal finishes it, and `tags undo` then puts every caption
back byte for byte (it said "image gone (deleted since)" for the folders not yet followed)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from fixtures.cli_run import run_main
from PIL import Image

import loratui
from loratui.core.captions import (
    AddTags, apply_plan, follow_folder_renames, load_captions, newest_entry_name, plan_edits, remap_folders,
)
from loratui.core.captions import journal_renames  # its writes are patched to stop part-way
from loratui.core.dataset import apply_renames, balance_plan, record_and_rename, scan_dataset
from loratui.core.dataset import balance as balance_mod

SRC = str(Path(loratui.__file__).resolve().parents[1])
PENDING = Path(".loratui") / "undo-renames"
TARGET = 16  # every folder below changes: 1_cN -> 16/8/5_cN, and the chain 2_a -> 4_a -> 8_a


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(out, format="PNG")
    return out.getvalue()


def make(root: Path, concepts: int) -> dict[Path, bytes]:
    """``concepts`` folders 1_cN of 1-3 captioned images, and a chain pair (2_a of 4, 4_a of 2); returns each
    caption's bytes (odd ones: no final newline, CRLF, UTF-8)."""
    png = _png()
    shapes = [(f"1_c{i}", i % 3 + 1) for i in range(concepts)] + [("2_a", 4), ("4_a", 2)]
    captions = {}
    for name, count in shapes:
        folder = root / name
        folder.mkdir(parents=True)
        for k in range(count):
            (folder / f"{name}-{k}.png").write_bytes(png)
            data = [f"{name}, solo\n", f"{name}, ß\u00e9, x", f"{name}, a\r\n"][k % 3].encode("utf-8")
            (folder / f"{name}-{k}.txt").write_bytes(data)
            captions[Path(f"{name}-{k}.txt")] = data
    return captions


def captions_now(root: Path) -> dict[Path, bytes]:
    return {Path(p.name): p.read_bytes() for p in root.glob("*/*.txt")}


def edit(root: Path, times: int = 3) -> None:
    for k in range(times):
        apply_plan(plan_edits(load_captions(root), [AddTags([f"t{k}"], 0)]), root)


def journal_paths(root: Path) -> list[list[str]]:
    return [[item["path"] for item in json.loads(p.read_text())["files"]]
            for p in sorted((root / ".loratui" / "undo").glob("*.json"))]


def undo_all(root: Path, capsys, times: int = 3) -> str:
    said = ""
    for _ in range(times):
        code, out, err = run_main(["tags", "undo", root, "--yes"], capsys)
        assert code == 0, err
        said += out + err
    return said


def balance(root: Path):
    plan = balance_plan(scan_dataset(root), TARGET)
    record_and_rename(root, plan, newest_entry_name(root))
    return plan


def test_a_balance_of_hundreds_of_folders_is_followed_and_undone_byte_for_byte(tmp_path, capsys):
    before = make(tmp_path, 400)
    for k in range(3):
        assert run_main(["tags", "add", tmp_path, f"t{k}", "--yes"], capsys)[0] == 0
    code, out, err = run_main(["dataset", "balance", tmp_path, "--target", TARGET, "--yes"], capsys)
    assert code == 0, err
    assert not (tmp_path / "1_c0").exists() and (tmp_path / "16_c0").is_dir() and (tmp_path / "8_a").is_dir()
    assert not (tmp_path / PENDING).exists()
    names = {p.parent.name for p in tmp_path.glob("*/*.txt")}
    assert all(path.split("/")[0] in names for paths in journal_paths(tmp_path) for path in paths)
    said = undo_all(tmp_path, capsys)
    assert "gone" not in said
    assert captions_now(tmp_path) == before


def test_remap_folders_moves_each_path_once_on_a_chain(tmp_path):
    make(tmp_path, 30)
    edit(tmp_path, 1)
    plan = balance_plan(scan_dataset(tmp_path), TARGET)
    apply_renames(plan, journal_follows=False)  # renamed with no record: remap_folders alone follows them
    mapping = {r.source.name: r.dest.name for r in plan}
    assert mapping["2_a"] == "4_a" and mapping["4_a"] == "8_a"
    assert remap_folders(tmp_path, mapping) == 1
    assert set(journal_paths(tmp_path)[0]) == {f"{p.parent.name}/{p.name}" for p in tmp_path.glob("*/*.txt")}
    assert not (tmp_path / PENDING).exists()
    assert remap_folders(tmp_path / "nowhere", {"a": "b"}) == 0 and not (tmp_path / "nowhere").exists()


def test_a_follow_stopped_part_way_is_finished_by_the_next_undo(tmp_path, capsys, monkeypatch):
    before = make(tmp_path, 60)
    edit(tmp_path)
    real, calls = journal_renames.atomic_write_text, []

    def stop_at_second(path, text):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(path, text)

    monkeypatch.setattr(journal_renames, "atomic_write_text", stop_at_second)
    plan = balance(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        follow_folder_renames((r.source, r.dest) for r in plan)
    monkeypatch.setattr(journal_renames, "atomic_write_text", real)
    assert len(list((tmp_path / PENDING).iterdir())) == 1  # still written down
    new = {p.parent.name for p in tmp_path.glob("*/*.txt")}
    followed = [all(path.split("/")[0] in new for path in paths) for paths in journal_paths(tmp_path)]
    assert followed == [True, False, False]  # one entry of three followed
    said = undo_all(tmp_path, capsys)  # the first undo finishes it; the chain's paths move once
    assert "gone" not in said and not (tmp_path / PENDING).exists()
    assert captions_now(tmp_path) == before


def _run_killed(code: str, root: Path) -> subprocess.CompletedProcess:
    script = textwrap.dedent("""
        import os, signal, sys
        from pathlib import Path
        from loratui.core.captions import follow_folder_renames, journal_renames, newest_entry_name
        from loratui.core.dataset import balance as balance_mod, balance_plan, record_and_rename, scan_dataset
        root = Path(sys.argv[1])
        plan = balance_plan(scan_dataset(root), int(sys.argv[2]))
    """) + textwrap.dedent(code)
    env = {**os.environ, "PYTHONPATH": SRC, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", script, str(root), str(TARGET)], env=env, capture_output=True,
                          text=True, timeout=120)


def test_a_kill_9_mid_follow_is_finished_by_the_next_undo(tmp_path, capsys):
    before = make(tmp_path, 60)
    edit(tmp_path)
    done = _run_killed("""
        real, calls = journal_renames.atomic_write_text, []
        def kill_at_second(path, text):
            calls.append(path)
            if len(calls) == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            real(path, text)
        journal_renames.atomic_write_text = kill_at_second
        record_and_rename(root, plan, newest_entry_name(root))
        follow_folder_renames((r.source, r.dest) for r in plan)
    """, tmp_path)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert (tmp_path / "8_a").is_dir() and (tmp_path / PENDING).is_dir()
    said = undo_all(tmp_path, capsys)
    assert "gone" not in said and not (tmp_path / PENDING).exists()
    assert captions_now(tmp_path) == before


def test_a_kill_9_mid_renames_follows_the_folders_that_moved(tmp_path, capsys):
    before = make(tmp_path, 60)
    edit(tmp_path)
    done = _run_killed("""
        real, count = balance_mod._move, []
        def kill_after_half(*args):
            real(*args)
            count.append(1)
            if len(count) == len(plan) // 2:
                os.kill(os.getpid(), signal.SIGKILL)
        balance_mod._move = kill_after_half
        record_and_rename(root, plan, newest_entry_name(root))
    """, tmp_path)
    assert done.returncode == -signal.SIGKILL, done.stderr
    moved = [p.name for p in tmp_path.iterdir() if p.name.startswith(("16_", "8_", "5_"))]
    assert 0 < len(moved) < 62  # stopped half-way: some folders have their new names, some not
    said = undo_all(tmp_path, capsys)
    assert "gone" not in said and not (tmp_path / PENDING).exists()
    assert captions_now(tmp_path) == before


def test_a_balance_after_a_killed_one_follows_both_in_order(tmp_path, capsys):
    before = make(tmp_path, 30)
    edit(tmp_path)
    done = _run_killed("""
        record_and_rename(root, plan, newest_entry_name(root))
        os.kill(os.getpid(), signal.SIGKILL)  # renamed; the journal not followed yet
    """, tmp_path)
    assert done.returncode == -signal.SIGKILL, done.stderr
    code, out, err = run_main(["dataset", "balance", tmp_path, "--undo", "--yes"], capsys)  # the chain back
    assert code == 0, err
    assert (tmp_path / "2_a").is_dir() and (tmp_path / "4_a").is_dir() and (tmp_path / "1_c0").is_dir()
    assert not (tmp_path / PENDING).exists()
    said = undo_all(tmp_path, capsys)
    assert "gone" not in said
    assert captions_now(tmp_path) == before


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals: main thread only")
def test_ctrl_c_during_the_follow_waits_for_it_and_says_so(tmp_path, capsys, monkeypatch):
    before = make(tmp_path, 60)
    edit(tmp_path)
    real, calls = journal_renames.atomic_write_text, []

    def interrupt_at_first(path, text):
        calls.append(path)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)
        real(path, text)

    monkeypatch.setattr(journal_renames, "atomic_write_text", interrupt_at_first)
    plan = balance(tmp_path)
    capsys.readouterr()
    with pytest.raises(KeyboardInterrupt) as stopped:
        follow_folder_renames((r.source, r.dest) for r in plan)
    assert "interrupted once the undo journal followed the 62 renamed folder(s)" in str(stopped.value)
    assert capsys.readouterr().err.count("finishing the rename (62 folder(s)) in the undo journal") == 1
    assert len(calls) == 3 and not (tmp_path / PENDING).exists()  # every entry followed before it stopped
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    monkeypatch.setattr(journal_renames, "atomic_write_text", real)
    assert "gone" not in undo_all(tmp_path, capsys)
    assert captions_now(tmp_path) == before


def test_sigterm_during_the_follow_ends_the_process_once_it_is_done(tmp_path, capsys):
    before = make(tmp_path, 30)
    edit(tmp_path)
    done = _run_killed("""
        real, calls = journal_renames.atomic_write_text, []
        def term_at_first(path, text):
            calls.append(path)
            if len(calls) == 1:
                os.kill(os.getpid(), signal.SIGTERM)
            real(path, text)
        journal_renames.atomic_write_text = term_at_first
        record_and_rename(root, plan, newest_entry_name(root))
        follow_folder_renames((r.source, r.dest) for r in plan)
        print("not reached")
    """, tmp_path)
    assert done.returncode == -signal.SIGTERM and "not reached" not in done.stdout
    assert "finishing the rename (32 folder(s))" in done.stderr
    assert not (tmp_path / PENDING).exists()  # followed in full before the signal acted
    assert "gone" not in undo_all(tmp_path, capsys)
    assert captions_now(tmp_path) == before


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals: main thread only")
def test_ctrl_c_during_the_renames_puts_every_folder_back(tmp_path, monkeypatch):
    before = make(tmp_path, 40)
    edit(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    entries = {p.name: p.read_bytes() for p in (tmp_path / ".loratui" / "undo").glob("*.json")}
    real, count = balance_mod._move, []

    def interrupt_in_the_fifth(source, current, dest, *rest):
        os.rename(current, dest)  # the signal lands between the rename and its note, where it left one renamed
        count.append(1)
        if len(count) == 5:
            os.kill(os.getpid(), signal.SIGINT)
        os.rename(dest, current)
        real(source, current, dest, *rest)

    monkeypatch.setattr(balance_mod, "_move", interrupt_in_the_fifth)
    with pytest.raises(KeyboardInterrupt):
        balance(tmp_path)
    assert len(count) == 5  # stopped before the sixth rename
    assert sorted(p.name for p in tmp_path.iterdir()) == names  # .loratui/balance.json gone: nothing to undo
    assert not (tmp_path / ".loratui" / "balance.json").exists() and not (tmp_path / PENDING).exists()
    assert {p.name: p.read_bytes() for p in (tmp_path / ".loratui" / "undo").glob("*.json")} == entries
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert captions_now(tmp_path) != before  # the three edits are still there, undoable as they were
