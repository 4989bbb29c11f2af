"""Two processes (torchrun, gloo on CPU): each trains its shard, gradients are averaged, only rank 0 writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from loratui.commands.steps_cmd import steps
from loratui.core.events import read_events
from test_train import make_project, of

pytestmark = pytest.mark.slow  # each test launches torchrun (two processes) once or three times


def _torchrun(config, cwd, *args):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "loratui", "train", str(config), *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_two_processes_train_in_step_and_only_rank_0_writes(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_epochs": 2,
                                                      "saving.save_every_n_epochs": 1})
    proc = _torchrun(config, tmp_path)
    events = read_events(tmp_path / "out" / "tiny.events.jsonl")
    expected = json.loads(CliRunner().invoke(steps, [str(config), "--json", "--num-processes", "2"]).output)
    assert of(events, "run_started")[0]["schedule"]["processes"] == 2
    assert len(of(events, "run_started")) == 1  # one writer
    assert [e["step"] for e in of(events, "step")] == list(range(1, expected["total_steps"] + 1))
    assert not of(events, "warning"), of(events, "warning")  # includes the end-of-run weight agreement check
    assert of(events, "finished")[0]["reason"] == "completed"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "tiny-000001.safetensors", "tiny.events.jsonl", "tiny.safetensors"]
    assert proc.stderr.count(f"training {expected['total_steps']} steps") == 1  # rank 0 talks, rank 1 does not


def test_two_process_resume_is_identical_to_an_uninterrupted_run(tiny_sd1_dir, tmp_path):
    """Every process's random streams (noise, dropout, caption shuffling) go into the state."""
    from safetensors.torch import load_file

    options = {"training.max_train_epochs": 2, "saving.save_every_n_epochs": 1, "saving.save_precision": "float",
               "network.network_dropout": 0.1, "dataset.shuffle_caption": True, "dataset.flip_aug": True,
               "training.noise_offset": 0.1}
    full = make_project(tmp_path / "full", tiny_sd1_dir, **options)
    _torchrun(full, tmp_path / "full")
    parted = make_project(tmp_path / "parted", tiny_sd1_dir, **options, **{"saving.save_state": True})
    _torchrun(parted, tmp_path / "parted")
    out = tmp_path / "parted" / "out"
    (out / "tiny.safetensors").unlink()
    _torchrun(parted, tmp_path / "parted", "--resume", str(out / "tiny-000001-state"))
    events = read_events(out / "tiny.events.jsonl")
    assert not [e for e in of(events, "warning") if "bit-identically" in e["message"]]
    a = load_file(str(tmp_path / "full" / "out" / "tiny.safetensors"))
    b = load_file(str(out / "tiny.safetensors"))
    assert a.keys() == b.keys() and all(a[k].equal(b[k]) for k in a)
