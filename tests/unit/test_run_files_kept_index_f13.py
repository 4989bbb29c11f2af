"""An earlier run with 400 saves took 0.2-1 s a snapshot (user test s12/h10): each of its files was
looked for with a glob over NAME-kept-*/, which listed the whole output folder once per file. Now
each folder is listed once per call (core/run_files.py KeptCopies): the same answers as the glob gave
(kept here as the reference), and a listing count that does not grow with the saves."""

from __future__ import annotations

import os
import re
from pathlib import Path

from loratui.core import run_files
from loratui.core.run_record import Checkpoint


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _newest_kept_by_glob(output_dir: Path, name: str, path: Path, began, limit, coarse_only=False):
    """The function before the change, as it was (the reference)."""
    try:
        inside = path.relative_to(output_dir).as_posix()
    except ValueError:
        inside = path.name
    try:
        kept = sorted(output_dir.glob(f"{_glob_escape(name)}-kept-*/{_glob_escape(inside)}"))
    except (OSError, ValueError):
        return None
    found = [(when, candidate) for candidate in kept
             if (when := run_files._mtime(candidate, coarse_only)) is not None
             and run_files._within(when, began, limit)]
    return max(found)[1] if found else None


def _write(path: Path, when: float, coarse: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(b"x")
    ns = int(when * 1e9)
    if coarse:
        ns -= ns % run_files.COARSE_NS
    else:
        ns = ns - ns % run_files.COARSE_NS + 1234  # a fine time (not whole 10 ms)
    os.utime(path, ns=(ns, ns))


def _fixture(out: Path, name: str, ended: float) -> list[Checkpoint]:
    """Saves of every kind of fate: in place, moved into one or two kept folders, written over by a later
    run (too new), older than the run, a coarse time just past the end, gone; plus look-alikes that are
    not NAME's kept folders."""
    began = ended - 3600
    checkpoints = []
    for index in range(1, 25):
        lora = out / f"{name}-{index:06d}.safetensors"
        state = out / f"{name}-{index:06d}-state"
        samples = [out / "sample" / f"{name}_{index * 10:06d}_00_{seed}.png" for seed in (1, 2)]
        fate = index % 8
        kept_a, kept_b = out / f"{name}-kept-20250101-000000", out / f"{name}-kept-20250102-000000"
        if fate == 0:  # in place
            for p in (lora, *samples):
                _write(p, began + index)
            (state / "x").parent.mkdir(parents=True, exist_ok=True)
        elif fate == 1:  # moved aside once
            for p in (lora, *samples):
                _write(kept_a / p.relative_to(out), began + index)
            (kept_a / state.name).mkdir(parents=True, exist_ok=True)
        elif fate == 2:  # in both kept folders: the newer within the run's time wins
            for p in (lora, *samples):
                _write(kept_a / p.relative_to(out), began + index)
                _write(kept_b / p.relative_to(out), began + index + 5)
        elif fate == 3:  # written over in place by a later run, the run's own kept aside
            for p in (lora, *samples):
                _write(p, ended + 600)
                _write(kept_b / p.relative_to(out), began + index)
        elif fate == 4:  # an older run's copy only (before the run began)
            for p in (lora, *samples):
                _write(kept_a / p.relative_to(out), began - 600)
        elif fate == 5:  # a coarse time just past the last event (kept as the run's) and a fine one
            _write(lora, ended + 1, coarse=True)
            _write(kept_a / samples[0].relative_to(out), ended + 1, coarse=True)
            _write(kept_b / samples[1].relative_to(out), ended + 1)
        elif fate == 6:  # only the first sample kept; the rest gone
            _write(kept_b / samples[0].relative_to(out), began + index)
        # fate 7: gone everywhere
        kind = "final" if index == 24 else "epoch"
        checkpoints.append(Checkpoint(lora, kind, index * 10, index, 0.1, samples, state, run_began=began))
        if index % 5 == 0:  # a sample-only entry
            checkpoints.append(Checkpoint(samples[0], "sample", index * 10 + 1, index, None, [samples[1]],
                                          run_began=began))
    # look-alikes: another name's kept folder, a file named like a kept folder
    _write(out / f"{name}x-kept-20250101-000000" / f"{name}-000007.safetensors", began + 7)
    _write(out / f"{name}-kept-file", began)
    return checkpoints


def _both(tmp_path, monkeypatch, name: str):
    out = tmp_path / "out"
    out.mkdir()
    ended = 1_800_000_000.0
    checkpoints = _fixture(out, name, ended)
    results = {}
    for began in (None, ended - 7200):
        new = run_files.earlier_checkpoints(checkpoints, out, name, ended, began)
        with monkeypatch.context() as patched:
            patched.setattr(run_files.KeptCopies, "newest",
                            lambda self, path, b, limit, coarse_only=False:
                            _newest_kept_by_glob(self.output_dir, self.name, path, b, limit, coarse_only))
            old = run_files.earlier_checkpoints(checkpoints, out, name, ended, began)
        results[began] = (new, old)
    return out, results


def test_the_kept_index_finds_what_the_glob_found(tmp_path, monkeypatch):
    out, results = _both(tmp_path, monkeypatch, "week")
    for new, old in results.values():
        assert new == old
    new = results[None][0]
    # the fixture covers each answer: in place, kept (newest wins), gone
    assert any(c.path.parent == out for c in new if not c.gone)
    assert any("week-kept-20250102" in str(c.path) for c in new)
    assert any(c.gone for c in new)
    assert any(any("-kept-" in str(s) for s in c.samples) for c in new)


def test_a_name_with_glob_characters_finds_the_same(tmp_path, monkeypatch):
    for new, old in _both(tmp_path, monkeypatch, "my[lora]*v2?")[1].values():
        assert new == old
        assert any("-kept-" in str(c.path) for c in new)


def test_each_folder_is_listed_once_per_call(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    checkpoints = _fixture(out, "week", 1_800_000_000.0)
    listed = []
    real = os.listdir
    monkeypatch.setattr(run_files.os, "listdir", lambda folder: listed.append(Path(folder)) or real(folder))
    run_files.earlier_checkpoints(checkpoints, out, "week", 1_800_000_000.0)
    assert listed.count(out) == 1
    assert len(listed) == len(set(listed)) <= 5  # out, two kept folders and their sample/ folders
