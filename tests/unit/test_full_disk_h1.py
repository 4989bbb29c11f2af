"""A disk that really fills up (h1 hunt): each write that stops says so in one line naming the file and
what to do (free space, or raise the file-size limit), leaves nothing half-done behind, and offers no
undo that would undo something else. The disk is made full by patching the write, and, where a tmpfs
can be mounted (root), for real."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections import namedtuple
from pathlib import Path

import pytest
from PIL import Image

import loratui.core.fsutil as fsutil
from fixtures.caption_resume import caption_dataset, tagger  # noqa: F401 (tagger: a fixture)
from fixtures.cli_run import run_main
from fixtures.small_disk import fill, small_disk
from loratui.core.captions import ChangeWriter, history, journal_dir
from loratui.core.diskspace import disk_full_message, is_disk_full, is_file_too_large
from loratui.core.errors import LoratuiError, PartialWriteError

FULL = OSError(errno.ENOSPC, "No space left on device")


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def concepts(root: Path) -> Path:
    for name, count in (("10_a", 1), ("1_b", 4)):
        (root / name).mkdir(parents=True)
        for i in range(count):
            Image.new("RGB", (8, 8)).save(root / name / f"{i}.png")
    return root


def folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if not p.name.startswith("."))


# ---- 1. dataset balance: no rename stays that its --undo could not rename back ----------------------

def test_a_balance_whose_record_cannot_be_written_renames_nothing(tmp_path, monkeypatch, capsys):
    root = concepts(tmp_path / "img")
    before = folders(root)
    real_text = fsutil.atomic_write_text

    def record_full(path, text, *args, **kwargs):
        if Path(path).name == "balance.json":
            no_space()
        return real_text(path, text, *args, **kwargs)

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(fsutil, "atomic_write_text", record_full)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(1 << 20, 1 << 20, 0))
    code, out, err = run_main(["dataset", "balance", root, "--yes"], capsys)
    assert code == 2, err
    line, record = err.strip(), root / ".loratui" / "balance.json"
    assert "\n" not in line and line.startswith(f"error: {record}: cannot record the balance (the disk is full)")
    assert "so nothing was renamed (its undo could not be kept): free some space on the disk mounted at" in line
    assert "(0 bytes free)" in line
    assert "renamed 1 folder(s):" not in out  # no promise of an --undo that would refuse
    assert folders(root) == before and not (root / ".loratui" / "balance.json").exists()
    monkeypatch.undo()
    assert run_main(["dataset", "balance", root, "--yes"], capsys)[0] == 0  # space freed: it works, and undoes
    assert folders(root) != before
    assert run_main(["dataset", "balance", root, "--undo", "--yes"], capsys)[0] == 0
    assert folders(root) == before


def test_a_balance_on_a_real_full_disk_renames_nothing_and_works_once_space_is_freed(tmp_path, capsys):
    with small_disk(tmp_path / "disk", "1m") as disk:
        root = concepts(disk / "img")
        before = folders(root)
        filler = fill(disk)
        code, _out, err = run_main(["dataset", "balance", root, "--yes"], capsys)
        assert code == 2 and "cannot record the balance (the disk is full)" in err and "free some space" in err
        assert folders(root) == before
        filler.unlink()
        assert run_main(["dataset", "balance", root, "--yes"], capsys)[0] == 0
        code, _out, err = run_main(["dataset", "balance", root, "--undo", "--yes"], capsys)
        assert code == 0, err
        assert folders(root) == before


# ---- 3. the file-size limit (ulimit -f, EFBIG) is the user's to raise, not a bug --------------------

def test_efbig_counts_as_out_of_room_and_names_the_file_and_the_limit(tmp_path):
    script = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        from loratui.core.diskspace import disk_full_message
        from loratui.core.fsutil import atomic_write_bytes, describe_os_error
        try:
            atomic_write_bytes({str(tmp_path / 'big.bin')!r}, bytes(200 * 1024))
        except OSError as exc:
            print(exc.errno, exc.filename)
            print(disk_full_message(exc, None))
            print(describe_os_error(exc))
        from loratui.cli import main
        main(["config", "import-kohya", {str(tmp_path / 'gui.json')!r}, "-o", {str(tmp_path / 'gui.toml')!r}])
    """)
    (tmp_path / "gui.json").write_text(json.dumps({"network_dim": 8, "sample_prompts": "a red circle\n" * 8000}))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    lines = done.stdout.splitlines()
    assert lines[0] == f"{errno.EFBIG} {tmp_path / 'big.bin'}"  # the file asked for, not the temp one
    assert lines[1] == (f"the file size limit (ulimit -f 64: 66 KB) stops writing {tmp_path / 'big.bin'}: raise it "
                        "(`ulimit -f unlimited` in the shell that starts loratui) and run it again")
    assert lines[2].startswith("the file size limit (ulimit -f 64) stops writing it")
    assert done.returncode == 2, done.stderr
    assert "internal error" not in done.stderr and "ulimit -f 64" in done.stderr
    assert not (tmp_path / "gui.prompts.txt").exists() and not (tmp_path / "gui.toml").exists()
    assert not list(tmp_path.glob(".big.bin.*"))  # no temp file left


def test_efbig_and_its_text_forms_are_recognised():
    assert is_disk_full(OSError(errno.EFBIG, "File too large")) and is_file_too_large(OSError(errno.EFBIG, "x"))
    assert is_file_too_large(RuntimeError("safetensors: File too large (os error 27)"))
    assert not is_file_too_large(FULL) and is_disk_full(FULL)
    assert disk_full_message(ValueError("x"), None) is None


# ---- 4 and 5. a caption run's journal that cannot be written -----------------------------------------

def journal_fills_after(monkeypatch, appends: int) -> None:
    """The undo journal's entry takes ``appends`` writes (one a batch), then the disk is full."""
    real_open, real_write, entries, count = os.open, os.write, set(), [0]

    def opening(path, flags, *args, **kwargs):
        fd = real_open(path, flags, *args, **kwargs)
        if flags & os.O_APPEND and Path(path).parent.name == "undo":
            entries.add(fd)
        return fd

    def writing(fd, data):
        if fd in entries:
            count[0] += 1
            if count[0] > appends:
                no_space()
        return real_write(fd, data)

    monkeypatch.setattr(os, "open", opening)
    monkeypatch.setattr(os, "write", writing)


def test_a_caption_run_stopped_before_its_first_caption_says_nothing_was_written(
        tmp_path, tagger, monkeypatch, capsys):  # noqa: F811
    root = caption_dataset(tmp_path / "train", 4)
    assert run_main(["tags", "add", root, "earlier", "--yes"], capsys)[0] == 0  # the change `tags undo` would undo
    before = {p.name: p.read_bytes() for p in root.rglob("*.txt")}
    journal_fills_after(monkeypatch, 0)
    code, out, err = run_main(["caption", "wd14", root, "--model", tagger, "--batch-size", "1", "--workers", "1"],
                              capsys)
    monkeypatch.undo()
    assert code == 2, err  # nothing changed
    line = err.strip().splitlines()[-1]
    assert ": cannot write the undo journal (No space left on device); nothing was written: free some space on " \
           "the disk mounted at" in line
    assert "tags undo" not in line and "written," not in line
    assert {p.name: p.read_bytes() for p in root.rglob("*.txt")} == before
    assert [row[1] for row in history(root)] == ["add earlier at the end"]  # the run left no entry


def test_a_caption_run_stopped_part_way_exits_1_naming_how_many_and_the_resume(
        tmp_path, tagger, monkeypatch, capsys):  # noqa: F811
    root = caption_dataset(tmp_path / "train", 6)
    journal_fills_after(monkeypatch, 2)
    code, out, err = run_main(["caption", "wd14", root, "--model", tagger, "--batch-size", "1", "--workers", "1"],
                              capsys)
    monkeypatch.undo()
    assert code == 1, err  # written, except...: as `tags` operations stopped part-way (README, --help)
    line = err.strip().splitlines()[-1]
    assert "stopped before writing more captions (2 written, `loratui tags undo` puts them back): free some space" \
           in line and line.endswith("(with --resume, to caption only the rest)")
    code, out, err = run_main(["caption", "wd14", root, "--model", tagger, "--resume"], capsys)
    assert code == 0, err


def test_the_json_error_event_carries_the_exit_code(tmp_path, tagger, monkeypatch, capsys):  # noqa: F811
    root = caption_dataset(tmp_path / "train", 4)
    journal_fills_after(monkeypatch, 1)
    code, out, _err = run_main(["caption", "wd14", root, "--model", tagger, "--batch-size", "1", "--workers", "1",
                                "--json-events"], capsys)
    monkeypatch.undo()
    errors = [json.loads(line) for line in out.splitlines() if '"event": "error"' in line]
    assert code == 1 and errors[-1]["exit_code"] == 1


def test_the_writer_offers_tags_undo_only_for_captions_it_wrote(tmp_path, monkeypatch):
    root = caption_dataset(tmp_path / "train", 2, captioned=set())
    writer = ChangeWriter(root, "caption run")
    journal_fills_after(monkeypatch, 0)
    with pytest.raises(LoratuiError) as caught:
        writer.write(root / "5_a" / "i0.txt", b"one\n")
    monkeypatch.undo()
    writer.close()
    assert not isinstance(caught.value, PartialWriteError) and "tags undo" not in str(caught.value)
    assert "nothing was written: free some space" in str(caught.value)
    assert not list(journal_dir(root).glob("0*.json"))  # the failed entry is gone
    assert not (root / "5_a" / "i0.txt").exists()


# ---- 7. tags undo on a full disk: free space, not "make the folder writable" -------------------------

def test_an_undo_whose_redo_copy_cannot_be_written_says_to_free_space(tmp_path, monkeypatch, capsys):
    import loratui.core.captions.undo as undo

    root = caption_dataset(tmp_path / "train", 4, captioned={0, 1, 2, 3})
    assert run_main(["tags", "add", root, "x" * 2000, "--yes"], capsys)[0] == 0
    before = {p.name: p.read_bytes() for p in root.rglob("*.txt")}
    monkeypatch.setattr(undo, "atomic_write_text", no_space)
    code, _out, err = run_main(["tags", "undo", root, "--yes"], capsys)
    assert code == 2, err
    line = err.strip().splitlines()[-1]
    assert "/redo/" in line and "cannot write the journal (No space left on device); nothing changed: free some " \
           "space on the disk mounted at" in line
    assert "the undo needs about 1" in line and line.endswith("and undo again") and "writable" not in line
    assert {p.name: p.read_bytes() for p in root.rglob("*.txt")} == before
    monkeypatch.setattr(undo, "atomic_write_text", lambda *a, **k: (_ for _ in ()).throw(
        PermissionError(errno.EACCES, "Permission denied")))
    assert "make the folder writable" in run_main(["tags", "undo", root, "--yes"], capsys)[2]
    monkeypatch.undo()
    assert run_main(["tags", "undo", root, "--yes"], capsys)[0] == 0


# ---- 8. a new file that cannot be written is not left behind empty ------------------------------------

def test_write_new_file_removes_what_it_created_when_the_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "new.txt"
    monkeypatch.setattr(os, "write", no_space)
    with pytest.raises(OSError) as caught:
        fsutil.write_new_file(target, b"data")
    monkeypatch.undo()
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
    assert not target.exists()
    target.write_text("theirs")
    with pytest.raises(FileExistsError):  # a file there already is never touched, let alone removed
        fsutil.write_new_file(target, b"data")
    assert target.read_text() == "theirs"


def test_import_kohya_on_a_full_disk_leaves_no_empty_prompts_file(tmp_path, monkeypatch, capsys):
    gui = tmp_path / "gui.json"
    gui.write_text(json.dumps({"network_dim": 8, "sample_prompts": "a red circle\nblue square"}))
    monkeypatch.setattr(os, "write", no_space)
    code, _out, err = run_main(["config", "import-kohya", gui, "-o", tmp_path / "gui.toml"], capsys)
    monkeypatch.undo()
    assert code == 2
    assert f"{tmp_path / 'gui.prompts.txt'}: cannot write the imported sample prompts (No space left on device); " \
           "nothing was written: free some space on the disk mounted at" in err
    assert not (tmp_path / "gui.prompts.txt").exists() and not (tmp_path / "gui.toml").exists()
    code, out, err = run_main(["config", "import-kohya", gui, "-o", tmp_path / "gui.toml"], capsys)
    assert code == 0, err
    assert (tmp_path / "gui.prompts.txt").read_text() == "a red circle\nblue square\n"
    assert not (tmp_path / "gui.prompts-1.txt").exists()
    assert 'sample_prompts = "gui.prompts.txt"' in (tmp_path / "gui.toml").read_text()
