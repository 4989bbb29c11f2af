"""What a hard death leaves (the h4 hunt): a sample image is written atomically, so a kill -9 mid-write
leaves a hidden temp file that the next start removes, never a 0-byte PNG under a sample's name; an older
version's damaged PNG is told apart from a sample; a full disk at a state save ends with the command that
resumes the newest complete state; `attach --list` tells an error's end as it tells a crash; `--resume` of
a folder of which only a half-written save is left says so, and names the state to resume instead."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PIL import Image

from loratui.core.fsutil import temp_prefix
from loratui.core.run_states import resume_command, resume_hint
from loratui.engine.run_saves import with_resume_hint
from loratui.engine.sampling import damaged_png, moved_samples_words, write_png
from loratui.engine.state import SHARED_HEAD_AGE_S, leftovers, remove_leftovers, removed_leftovers_line

SRC = Path(__file__).resolve().parents[2] / "src"


def _png_bytes(size=(8, 8)) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def _fake_state(folder: Path, step: int, name: str = "tiny") -> Path:
    """A state folder complete_state accepts (its files' contents are not read here)."""
    folder.mkdir(parents=True)
    for file_name in ("lora.safetensors", "optimizer.pt", "rng.pt"):
        (folder / file_name).write_bytes(b"x")
    (folder / "state.json").write_text(json.dumps({"format": 1, "step": step, "epoch": 1, "batches_done": step,
                                                   "config": {"saving": {"output_name": name}}}), encoding="utf-8")
    return folder


# ---- 1. samples: atomic, the temp a kill leaves removed at the next start, damaged ones told apart ----

def test_a_kill_mid_sample_write_leaves_no_png_and_the_next_start_removes_its_temp(tmp_path):
    sample = tmp_path / "out" / "sample"
    sample.mkdir(parents=True)
    target = sample / "tiny_000005_00_20261202064450_1.png"
    # the process dies (SIGKILL: no cleanup runs) while the image's bytes are being synced, as inokill.py did
    script = textwrap.dedent(f"""
        import os, signal
        from PIL import Image
        from loratui.engine.sampling import write_png
        os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
        write_png({str(target)!r}, Image.new("RGB", (16, 16)))
    """)
    env = {**os.environ, "PYTHONPATH": str(SRC), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()
    left = sorted(p.name for p in sample.iterdir())
    assert len(left) == 1 and left[0].startswith(f".{target.name}.") and left[0].endswith(".tmp"), left
    assert not target.exists()  # no 0-byte image under the sample's name
    found = leftovers(tmp_path / "out", "tiny")
    assert [p.name for p in found] == left
    count, size = remove_leftovers(found)
    assert count == 1 and list(sample.iterdir()) == []
    # the line the start says (engine/run_folder.py, with the patch named in the z1 report) names it
    assert removed_leftovers_line(found, tmp_path / "out", count, size) == (
        f"removed 1 leftover temp file(s) of interrupted saves (sample/{left[0]}; 0.0 MiB)")


def test_write_png_renames_a_whole_png_into_place(tmp_path, monkeypatch):
    from loratui.core import fsutil

    target = tmp_path / "tiny_000001_00_20261202064450.png"
    seen = []
    real = os.replace

    def replace(src, dst):  # at the rename: the final name is not there yet, the temp holds the whole PNG
        seen.append((os.path.exists(dst), damaged_png(src), Path(src).name))
        return real(src, dst)

    monkeypatch.setattr(fsutil.os, "replace", replace)
    write_png(target, Image.new("RGB", (16, 8), (1, 2, 3)))
    assert seen == [(False, None, seen[0][2])] and seen[0][2].startswith(f".{target.name}.")
    assert Image.open(target).size == (16, 8) and damaged_png(target) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_generate_samples_writes_through_write_png(tmp_path, tiny_sd1_dir, monkeypatch):
    import torch

    import loratui.engine.sampling as sampling
    from test_sampling import _base

    written = []
    real = sampling.atomic_write_bytes
    monkeypatch.setattr(sampling, "atomic_write_bytes", lambda path, data: written.append(path) or real(path, data))
    paths = sampling.generate_samples(_base(tiny_sd1_dir), [sampling.SamplePrompt("x", width=64, height=64, steps=1,
                                                                                    seed=1)],
                                      tmp_path / "sample", output_name="t", step=5, epoch=1, device="cpu",
                                      dtype=torch.float32, seed=1)
    assert written == paths and damaged_png(paths[0]) is None


def test_leftovers_find_this_runs_sample_temps_only(tmp_path):
    out = tmp_path / "out"
    sample = out / "sample"
    sample.mkdir(parents=True)

    def temp_of(file_name: str) -> Path:  # the name core.fsutil gives a temp file beside it
        path = sample / (temp_prefix(sample / file_name, ".tmp") + "ab12cd34.tmp")
        path.write_bytes(b"\x89PNG")
        return path

    ours = [temp_of("tiny_000005_00_20261202064450_1.png"), temp_of("tiny_e000002_01_20261202064450.png")]
    temp_of("other_000005_00_20261202064450.png")  # another run's: it may be sampling right now
    (sample / "tiny_000005_00_20261202064450_1.png").write_bytes(_png_bytes())  # a sample: never a leftover
    (sample / ".tiny_notes.txt.ab12cd34.tmp").write_bytes(b"")  # not a sample's temp
    assert sorted(leftovers(out, "tiny")) == sorted(ours)
    # a name too long for the whole temp name: core.fsutil's stand-in (head~hash.png), still found as this run's.
    # Its head alone ties it to the run (another run whose name starts with the same ~220 bytes writes alike), so
    # it waits as a LoRA's stand-in does: a young one may be that run's sample being written now
    long_name = "n" * 220
    long_temp = temp_of(f"{long_name}_000005_00_20261202064450.png")
    assert "~" in long_temp.name
    assert leftovers(out, long_name) == []
    past = time.time() - SHARED_HEAD_AGE_S - 1
    os.utime(long_temp, (past, past))
    assert leftovers(out, long_name) == [long_temp]
    assert long_temp not in leftovers(out, "n" * 219)


def test_damaged_pngs_are_told_apart_in_the_moved_aside_words(tmp_path):
    kept = tmp_path / "tiny-kept-20261202-064450"
    (kept / "sample").mkdir(parents=True)
    whole = _png_bytes()
    files = {"tiny_000005_00_20261202064450_1.png": b"", "tiny_000006_00_20261202064451.png": whole[:40],
             "tiny_000007_00_20261202064452.png": whole}
    for file_name, data in files.items():
        (kept / "sample" / file_name).write_bytes(data)  # moved already, as move_samples_aside leaves them
    assert [damaged_png(kept / "sample" / n) for n in files] == ["0 bytes", "cut short", None]
    marked = tmp_path / "marked.png"
    marked.write_bytes(whole + b"bytes a tool appended")  # after IEND: still whole (PIL reads it)
    assert damaged_png(marked) is None and damaged_png(tmp_path / "missing.png") is None
    words = moved_samples_words([tmp_path / "sample" / n for n in files], kept)
    assert words.startswith("1 sample image(s) (sample/tiny_000007_00_20261202064452.png) -> "
                            "tiny-kept-20261202-064450/sample/, 2 damaged image(s), not samples")
    assert "sample/tiny_000005_00_20261202064450_1.png: 0 bytes" in words
    assert "sample/tiny_000006_00_20261202064451.png: cut short" in words
    assert all((kept / "sample" / n).exists() for n in files)  # said, never deleted
    only_whole = moved_samples_words([tmp_path / "sample" / "tiny_000007_00_20261202064452.png"], kept)
    assert only_whole == ("1 sample image(s) (sample/tiny_000007_00_20261202064452.png) -> "
                          "tiny-kept-20261202-064450/sample/")


# ---- 2. a full disk at a state save: the command that resumes the newest complete state -----------

FULL = ("no space left on tmpfs (mounted at /m) writing /m/tiny-step00000012-state: 106 KB free, the training state "
        "needs about 646 KB; free some space (or choose a folder on another disk) and run it again")


def test_the_full_disk_line_ends_with_the_resume_command_of_the_newest_complete_state(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "model"
    assert with_resume_hint(FULL, out, "tiny", "config.toml") == FULL  # no state: as it was
    _fake_state(out / "tiny-step00000003-state", 3)
    _fake_state(out / "tiny step-step00000009-state", 9, name="tiny step")  # another run's
    _fake_state(out / "tiny-step00000009-state", 9)
    (out / "tiny-step00000012-state.tmp").mkdir()  # the save that failed: half-written
    line = with_resume_hint(FULL, out, "tiny", "my config.toml")
    assert line.endswith("free some space (or choose a folder on another disk), then resume from the newest "
                         "complete state (step 9): `loratui train 'my config.toml' --resume "
                         "model/tiny-step00000009-state`"), line
    assert resume_command(out / "a b-state") == "loratui train CONFIG --resume 'model/a b-state'"
    assert resume_hint(tmp_path / "nowhere", "tiny") is None


@pytest.mark.slow
def test_a_full_disk_during_a_state_save_names_the_state_to_resume(tiny_sd1_dir, tmp_path, monkeypatch):
    from loratui.engine import state
    from test_train import make_project, of, run

    config = make_project(tmp_path, tiny_sd1_dir)
    assert run(config, max_steps=2)[0] == 0
    monkeypatch.chdir(tmp_path)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(state, "save_state", full)
    code, events = run(config, resume=str(tmp_path / "out" / "tiny-state"), max_steps=3)
    assert code == 1
    message = of(events, "error")[-1]["message"]
    assert message.endswith(", then resume from the newest complete state (step 2): "
                            "`loratui train config.toml --resume out/tiny-state`"), message


def test_attach_list_tells_an_errors_end_as_it_tells_a_crash(tmp_path):
    from click.testing import CliRunner

    from loratui.commands.attach_cmd import attach
    from loratui.core.events import events_path, make_event

    out = tmp_path / "out"
    out.mkdir()
    error = FULL.replace("and run it again", "then resume from the newest complete state (step 9): `loratui train "
                                             "config.toml --resume model/tiny-step00000009-state`")
    events = [("run_started", dict(config="/p/config.toml", output_dir=str(out), output_name="tiny", model={},
                                   dataset={}, schedule={"total_steps": 15, "epochs": 2}, resumed_from=None, pid=1)),
              ("checkpoint_saved", dict(path=str(out / "tiny-step00000009-state"), kind="state", step=9, epoch=1)),
              ("error", dict(message=error, hint="free some space or use another output_dir", kind="disk_full")),
              ("finished", dict(reason="error", step=12, epoch=1, output=None))]
    with open(events_path(out, "tiny"), "w", encoding="utf-8") as handle:
        for kind, fields in events:
            handle.write(json.dumps(make_event(kind, **fields)) + "\n")
    result = CliRunner().invoke(attach, [str(out), "--list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("  1  tiny: error, step 12/15")
    assert lines[1:] == ["       | step 9: state tiny-step00000009-state",
                         f"       | error: {error} (free some space or use another output_dir)",
                         "       | error at step 12"]


# ---- 3. --resume of a folder of which only a half-written save is left --------------------------------

def test_resume_of_a_half_written_state_says_so_and_names_the_newest_complete_one(tmp_path, tiny_sd1_dir, monkeypatch):
    from loratui.core.config import load_config
    from loratui.engine.resume_check import resume_path_problem
    from test_train import make_project

    cfg = load_config(make_project(tmp_path, tiny_sd1_dir))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    half = out / "tiny-step00000003-state.tmp"
    half.mkdir(parents=True)
    (half / ".tmpFSZks6").write_bytes(b"")
    line = resume_path_problem("out/tiny-step00000003-state", cfg)
    assert line.startswith("--resume: out/tiny-step00000003-state does not exist; out/tiny-step00000003-state.tmp "
                           "is a half-written save (a kill or a full disk while the state was being written) that "
                           "cannot be used"), line
    assert "no state.json" not in line and "holds no state folder" in line  # no state at all: said so
    _fake_state(out / "tiny-state", 2)
    line = resume_path_problem("out/tiny-step00000003-state", cfg, "config.toml")
    assert line.endswith(": resume from the newest complete state (step 2): "
                         "`loratui train config.toml --resume out/tiny-state` instead"), line
    assert len(line.splitlines()) == 1
    (out / "tiny-step00000003-state.old").mkdir()  # both halves of a killed overwrite, neither complete
    assert "out/tiny-step00000003-state.tmp and out/tiny-step00000003-state.old are half-written saves" in \
        resume_path_problem("out/tiny-step00000003-state", cfg)
