"""Multi-process LyCORIS training (issue 13): two processes (torchrun, gloo on CPU) train LoHa and DoRA
networks as test_ddp.py proves for plain LoRA: one writer, the planned step count, both processes end
with the same weights (the engine warns otherwise), LyCORIS files, and a resume from a saved state that
is bit-identical to the run that saved it, with LyCORIS's dropouts (rank_dropout, module_dropout).

Three torchrun launches in all (~10 s each on a 2-core box): LoHa; DoRA with dropouts and states; the
resume from that run's epoch-1 state. And the gradient averaging itself (train._sync_processes) in two
spawned processes: a module module_dropout skipped in every process keeps no gradient."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch
from click.testing import CliRunner
from safetensors import safe_open

from loratui.commands.steps_cmd import steps
from loratui.core.events import read_events
from test_ddp import _torchrun
from test_train import make_project, of

LOHA = ["algo=loha", "preset=full"]
# no "dropout": lycoris-lora 4.1 applies it in bypass mode only, which DoRA cannot use (config check refuses it)
DORA = ["algo=locon", "dora_wd=true", "rank_dropout=0.2", "module_dropout=0.2"]


def _options(args, **extra):
    return {"network.network_module": "lycoris.kohya", "network.network_args": args,
            "training.max_train_epochs": 2, "saving.save_every_n_epochs": 1, "saving.save_precision": "float",
            **extra}


def _initial_weights(config):
    """The network every process starts from: run.py seeds torch with training.seed, then builds it."""
    from loratui.core.config import load_config
    from loratui.engine.models import load_base_model
    from loratui.engine.network import inject_lora

    cfg = load_config(config)
    base = load_base_model(cfg.model)
    torch.manual_seed(cfg.training.seed)
    network = inject_lora(base, cfg.network)
    return network.kohya_state_dict(torch.float32)


def _read(path):
    with safe_open(str(path), "pt") as fh:
        return fh.metadata(), {k: fh.get_tensor(k) for k in fh.keys()}


def _check_two_process_run(config, root, args, expected_suffixes, zero_initialised):
    out = root / "out"
    events = read_events(out / "tiny.events.jsonl")
    expected = json.loads(CliRunner().invoke(steps, [str(config), "--json", "--num-processes", "2"]).output)
    assert len(of(events, "run_started")) == 1  # one writer
    assert of(events, "run_started")[0]["schedule"]["processes"] == 2
    assert [e["step"] for e in of(events, "step")] == list(range(1, expected["total_steps"] + 1))
    assert not of(events, "warning"), of(events, "warning")  # includes the end-of-run weight agreement check
    assert of(events, "finished")[0]["reason"] == "completed"
    meta, weights = _read(out / "tiny.safetensors")
    assert meta["ss_network_module"] == "lycoris.kohya"
    assert json.loads(meta["ss_network_args"]) == {"dropout": None, **dict(a.split("=", 1) for a in args)}
    assert {k.split(".", 1)[1] for k in weights} == expected_suffixes
    initial = _initial_weights(config)
    assert weights.keys() == initial.keys()
    for suffix in expected_suffixes - {"alpha"}:  # every trained kind of tensor moved (alpha is a constant)
        keys = [k for k in weights if k.endswith("." + suffix)]
        assert any(not weights[k].equal(initial[k]) for k in keys), suffix
    for suffix in zero_initialised:  # the update starts at zero; trained, it is not
        assert all(initial[k].abs().sum() == 0 for k in weights if k.endswith("." + suffix))
        assert any(weights[k].abs().sum() > 0 for k in weights if k.endswith("." + suffix)), suffix
    assert all(weights[k].equal(initial[k]) for k in weights if k.endswith(".alpha"))
    return expected["total_steps"]


@pytest.mark.slow
def test_two_processes_train_loha(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir, **_options(LOHA))
    proc = _torchrun(config, tmp_path)
    total = _check_two_process_run(config, tmp_path, LOHA, {"alpha", "hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"},
                           zero_initialised={"hada_w2_a"})
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "tiny-000001.safetensors", "tiny.events.jsonl", "tiny.safetensors"]
    assert proc.stderr.count(f"training {total} steps") == 1  # rank 0 talks, rank 1 does not


@pytest.mark.slow
def test_two_process_dora_with_dropouts_resumes_bit_identically(tiny_sd1_dir, tmp_path):
    """DoRA (LoCon + dora_wd: the magnitudes dora_scale are trained parameters too) with LyCORIS's three
    dropouts, which draw from torch's global generator in every process: the state keeps each process's
    streams, so resuming at epoch 2 from the epoch-1 state ends with exactly the file of the straight run.
    (The straight run saves states too; test_ddp.py shows that saving one does not change a run.)"""
    from safetensors.torch import load_file

    config = make_project(tmp_path, tiny_sd1_dir, **_options(
        DORA, **{"saving.save_state": True, "dataset.shuffle_caption": True, "dataset.flip_aug": True,
                 "training.noise_offset": 0.1}))
    _torchrun(config, tmp_path)
    _check_two_process_run(config, tmp_path, DORA, {"alpha", "lora_down.weight", "lora_up.weight", "dora_scale"},
                           zero_initialised={"lora_up.weight"})
    out = tmp_path / "out"
    state = out / "tiny-000001-state"
    assert (state / "state.json").is_file()
    (out / "tiny.safetensors").rename(out / "straight.safetensors")
    _torchrun(config, tmp_path, "--resume", str(state))
    events = read_events(out / "tiny.events.jsonl")
    resumed = [e for e in of(events, "run_started") if e.get("resumed_from")]
    assert len(resumed) == 1  # one writer on resume too
    warnings = [e["message"] for e in events[events.index(resumed[0]):] if e["event"] == "warning"]
    # the straight run's final state is kept aside (an older state is resumed): the only word said
    assert [w for w in warnings if "before this run writes it anew" not in w] == []
    assert of(events, "finished")[-1]["reason"] == "completed"
    a, b = load_file(str(out / "straight.safetensors")), load_file(str(out / "tiny.safetensors"))
    assert a.keys() == b.keys()
    assert [k for k in a if not a[k].equal(b[k])] == []


def _sync_in_process(rank, init_file, results):
    import torch.distributed as dist

    from loratui.engine.train import _sync_processes

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    try:
        both, one, none = (torch.nn.Parameter(torch.ones(3)) for _ in range(3))
        both.grad = torch.full((3,), float(rank + 1))  # used by both processes: 1 and 2
        one.grad = torch.full((3,), 4.0) if rank == 0 else None  # used by the first only
        tr = SimpleNamespace(world_size=2, params=[both, one, none], stop_requested=False, requests=set())
        loss, stop = _sync_processes(tr, torch.tensor(float(rank)))
        optimizer = torch.optim.AdamW([both, one, none], lr=0.1, weight_decay=0.5)
        optimizer.step()
        results[rank] = (loss, stop, both.grad.tolist(), one.grad.tolist(), none.grad, none.data.tolist(),
                         none in optimizer.state)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_a_parameter_no_process_used_keeps_no_gradient(tmp_path):
    """LyCORIS module_dropout skips whole modules: one skipped in every process has no gradient there and
    must not get a zero one (AdamW would then move it by momentum and weight decay, which neither one
    process nor DDP does); one skipped in some processes gets the average with zeros, as in DDP."""
    import torch.multiprocessing as mp

    results = mp.Manager().dict()
    mp.spawn(_sync_in_process, args=(str(tmp_path / "init"), results), nprocs=2)
    for rank in (0, 1):
        loss, stop, both, one, none_grad, none_data, none_stepped = results[rank]
        assert (loss, stop) == (0.5, False)
        assert both == [1.5] * 3 and one == [2.0] * 3
        assert none_grad is None and none_data == [1.0] * 3 and not none_stepped
