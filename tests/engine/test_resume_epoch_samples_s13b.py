"""A resume and an epoch's samples (sd-scripts' names, NAME_e000002_...: no step in them): those of the epochs
the state has not ended are kept aside with the save they belong to and rendered again; those of the epochs
it has ended stay. Needs engine/run_resume.py to pass the epochs to samples_past (review s13 f8).
Tiny model, CPU: 4 images x 2 repeats, batch 2: 4 steps an epoch, 2 epochs."""

from __future__ import annotations

from loratui.core import runs
from test_run_files_across_runs import _with_prompts
from test_train import of, run


def _epoch_sample(folder, epoch: int):
    found = [p for p in folder.glob("tiny_e*.png") if runs.sample_epoch(p, "tiny") == epoch]
    assert len(found) == 1, found
    return found[0]


def _resumed(events: list[dict]) -> list[dict]:
    """The events of the latest session (a resume appends to the run's file)."""
    last = max(i for i, e in enumerate(events) if e["event"] == "run_started")
    return events[last:]


def _config(tmp_path, tiny_sd1_dir, **more):
    return _with_prompts(tmp_path, tiny_sd1_dir, **{"sampling.sample_every_n_steps": None,
                                                    "sampling.sample_every_n_epochs": 1,
                                                    "saving.save_every_n_epochs": 1, "saving.save_state": True, **more})


def test_a_resume_at_an_epochs_end_keeps_its_samples_and_renders_the_next_epochs_again(tiny_sd1_dir, tmp_path):
    config = _config(tmp_path, tiny_sd1_dir)
    out = tmp_path / "out"
    assert run(config)[0] == 0
    first, second = _epoch_sample(out / "sample", 1), _epoch_sample(out / "sample", 2)
    code, events = run(config, resume=str(out / "tiny-000001-state"))  # the end of epoch 1, step 4
    assert code == 0
    events = _resumed(events)
    assert first.is_file()  # epoch 1 ended before the state: not rendered again, it stays
    assert [p.name for p in out.glob("tiny-kept-*/sample/*.png")] == [second.name]
    again = _epoch_sample(out / "sample", 2)
    assert [e["step"] for e in of(events, "sample_saved")] == [8]
    record = runs.read_summary(out, "tiny").record
    by_name = {c.path.name: c.samples for c in record.listed()}
    # the kept final shows epoch 2's kept image; the new final only this session's
    assert [p.name for p in by_name["tiny-kept-step00000008.safetensors"]] == [second.name]
    assert by_name["tiny.safetensors"] == [again] and by_name["tiny-000001.safetensors"] == [first]


def test_a_resume_mid_epoch_renders_that_epochs_samples_again(tiny_sd1_dir, tmp_path):
    config = _config(tmp_path, tiny_sd1_dir, **{"saving.save_every_n_steps": 2})
    out = tmp_path / "out"
    assert run(config)[0] == 0
    first, second = _epoch_sample(out / "sample", 1), _epoch_sample(out / "sample", 2)
    code, events = run(config, resume=str(out / "tiny-step00000002-state"))  # inside epoch 1
    assert code == 0
    events = _resumed(events)
    assert sorted(p.name for p in out.glob("tiny-kept-*/sample/*.png")) == sorted([first.name, second.name])
    assert [e["step"] for e in of(events, "sample_saved")] == [4, 8]
    kept = {e["path"].rsplit("/", 1)[1]: [p.rsplit("/", 1)[1] for p in e.get("samples", [])]
            for e in of(events, "checkpoint_saved") if "-kept-" in e["path"]}
    # epoch 1's image went with the saves at its end (the epoch save and the step save of step 4)
    assert kept["tiny-kept-000001.safetensors"] == [first.name] == kept["tiny-kept-step00000004.safetensors"]
    assert kept["tiny-kept-step00000008.safetensors"] == [second.name]
