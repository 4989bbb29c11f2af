"""A fresh run that fails before training starts (the network cannot be built, as lycoris-lora's
"bypass mode is not supported in Full algo" did after the model loaded) leaves the last run's saves,
states and samples where they were, so the --resume path that run printed still works (user test s12/h6).
Tiny SD1 model on the CPU: 4 images x 2 repeats, batch 2: 4 steps an epoch."""

from __future__ import annotations

import pytest

from loratui.core.errors import LoratuiError
from test_train import make_project, of, run


def _files(out) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and ".events" not in p.name and not p.name.endswith(".lock")}


@pytest.mark.parametrize("failure", ["network", "data"])
def test_a_run_failing_before_training_leaves_the_last_runs_files_in_place(tiny_sd1_dir, tmp_path, monkeypatch,
                                                                           failure):
    from loratui.engine import data as data_module
    from loratui.engine import network as network_module

    config = make_project(tmp_path, tiny_sd1_dir, **{"saving.save_every_n_epochs": 1,
                                                      "training.max_train_epochs": 2})
    out = tmp_path / "out"
    assert run(config, save_state=True)[0] == 0  # tiny-000001 (+ -state), tiny.safetensors, tiny-state
    before = _files(out)
    assert "tiny-state/state.json" in before and "tiny-000001.safetensors" in before

    def broken(*args, **kwargs):
        raise LoratuiError("network.network_args: lycoris-lora cannot build a network (forced by the test)")

    if failure == "network":
        monkeypatch.setattr(network_module, "inject_lora", broken)
    else:
        monkeypatch.setattr(data_module, "TrainingData", broken)
    with pytest.raises(LoratuiError, match="forced by the test"):
        run(config, save_state=True)
    assert not [p for p in out.iterdir() if "-kept-" in p.name]  # nothing moved aside
    assert _files(out) == before  # every save and state where it was, unchanged
    monkeypatch.undo()

    # the state the first run left still resumes
    code, events = run(config, resume=str(out / "tiny-state"), extend_epochs=1)
    assert code == 0
    assert of(events, "run_started")[-1]["resumed_from"] == str(out / "tiny-state")


def test_a_run_that_builds_its_network_moves_the_last_runs_files_aside_before_writing(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir, **{"saving.save_every_n_epochs": 1,
                                                      "training.max_train_epochs": 2})
    out = tmp_path / "out"
    assert run(config, save_state=True)[0] == 0
    first = (out / "tiny-000001.safetensors").read_bytes()
    code, events = run(config)
    assert code == 0
    kept = [p for p in out.iterdir() if p.name.startswith("tiny-kept-")]
    assert len(kept) == 1 and (kept[0] / "tiny-000001.safetensors").read_bytes() == first
    said = [e for e in events if e["event"] == "warning" and "a new run named tiny" in e["message"]]
    started = of(events, "run_started")[0]
    assert len(said) == 1 and events.index(said[0]) > events.index(started)  # after the loading, before a save
    assert events.index(said[0]) < min(events.index(e) for e in of(events, "checkpoint_saved"))
