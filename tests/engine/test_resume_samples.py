"""A resume and the sample images already in sample/ (review r2): those past the state's step are kept
aside (NAME-kept-<time>/sample/) before the resumed run renders them anew, and every run's checkpoints
show its own images, never another run's of the same name; a step limit inside an epoch emits no
epoch_end (tiny model, CPU; 4 images x 2 repeats, batch 2: 4 steps an epoch)."""

from __future__ import annotations

import json
import os
import re
import time

import pytest

from loratui.core import runs
from loratui.core.events import make_event
from test_run_files_across_runs import _with_prompts
from test_train import make_project, of, run


def _mark(path, text: bytes) -> None:
    """Tell a run's image apart from one rendered again with the same seed (the same bytes); its time
    stays the one its run wrote it at."""
    was = path.stat()
    path.write_bytes(path.read_bytes() + text)
    os.utime(path, ns=(was.st_atime_ns, was.st_mtime_ns))


def _saving(tmp_path, tiny_sd1_dir):
    return _with_prompts(tmp_path, tiny_sd1_dir, **{"training.max_train_epochs": 1, "saving.save_every_n_steps": 2,
                                                    "saving.save_state": True})


def _sample_at(folder, step: int, older_names: bool):
    """The one sample of ``step`` in ``folder`` (sd-scripts' name, NAME_STEP_II_YYYYmmddHHMMSS_SEED.png); with
    ``older_names`` renamed first (in its run's events too) to the name loratui gave it before,
    NAME_STEP_II_SEED.png, as an older version left it: a run made by that version, resumed by this one."""
    found = [p for p in folder.glob("tiny_*.png") if runs.sample_step(p, "tiny") == step]
    assert len(found) == 1, found
    sample = found[0]
    assert re.fullmatch(rf"tiny_{step:06d}_00_\d{{14}}_3\.png", sample.name), sample.name
    if not older_names:
        return sample
    older = sample.rename(folder / f"tiny_{step:06d}_00_3.png")
    events = folder.parent / "tiny.events.jsonl"
    events.write_text(events.read_text().replace(sample.name, older.name))
    return older


@pytest.mark.parametrize("older_names", [False, True], ids=["sd-scripts-names", "older-names"])
def test_a_resume_from_a_mid_run_state_keeps_the_samples_past_it_aside(tiny_sd1_dir, tmp_path, older_names):
    config = _saving(tmp_path, tiny_sd1_dir)
    out = tmp_path / "out"
    assert run(config)[0] == 0  # samples at 2 and 4, a step save and state at 2
    step2, step4 = (_sample_at(out / "sample", step, older_names) for step in (2, 4))
    _mark(step2, b"first")
    _mark(step4, b"first")
    code, events = run(config, resume=str(out / "tiny-step00000002-state"))
    assert code == 0
    kept = [p for p in out.glob("tiny-kept-*/sample/*.png")]
    assert [p.name for p in kept] == [step4.name] and kept[0].read_bytes().endswith(b"first")
    # the step-2 sample is not rendered again: it stays, as it was
    assert step2.read_bytes().endswith(b"first")
    again = _sample_at(out / "sample", 4, False)  # this session's, under sd-scripts' name
    assert not again.read_bytes().endswith(b"first")
    assert sorted(p.name for p in (out / "sample").iterdir()) == sorted([step2.name, again.name])
    said = [e["message"] for e in of(events, "warning") if "moved aside before this run writes them anew" in e["message"]]
    assert len(said) == 1 and (f"1 sample image(s) (sample/{step4.name}) -> "
                               f"{kept[0].parent.parent.name}/sample/") in said[0]
    # the checkpoint list: the kept step-4 LoRA shows the kept image, the new final this session's
    record = runs.read_summary(out, "tiny").record
    by_name = {c.path.name: c for c in record.listed()}
    assert by_name["tiny-kept-step00000004.safetensors"].samples == kept
    assert by_name["tiny.safetensors"].samples == [again]
    assert record.sample_prompts[again.name] == {"prompt": "shp, red circle", "seed": 3}


@pytest.mark.parametrize("older_names", [False, True], ids=["sd-scripts-names", "older-names"])
def test_resuming_an_older_runs_state_keeps_the_later_runs_samples_and_each_run_shows_its_own(tiny_sd1_dir,
                                                                                              tmp_path, older_names):
    config = _saving(tmp_path, tiny_sd1_dir)
    out = tmp_path / "out"
    assert run(config)[0] == 0  # A (with ``older_names``: an older version's run, its samples so named)
    _mark(_sample_at(out / "sample", 4, older_names), b"A-MARK")
    assert run(config)[0] == 0  # B fresh: A's saves and samples -> tiny-kept-X/
    b_sample = _sample_at(out / "sample", 4, False)
    _mark(b_sample, b"B-MARK")
    state = next(out.glob("tiny-kept-*/tiny-step00000002-state"))
    code, events = run(config, resume=str(state))  # C: continues A from step 2
    assert code == 0
    images = {p.relative_to(out).as_posix(): p.read_bytes()[-6:] for p in out.rglob("tiny_000004_00_*.png")}
    assert sorted(images.values()).count(b"B-MARK") == 1 and sorted(images.values()).count(b"A-MARK") == 1
    assert len(images) == 3  # A's and B's kept aside, C's in place
    # B, now earlier run 1: its step-4 checkpoint shows B's image, not A's kept before B began
    b = runs.read_summary(out, "tiny", 1)
    found = runs.earlier_checkpoints(b.record.listed(), out, "tiny", b.record.last_time)
    shown = [p for c in found if c.step == 4 for p in c.samples]
    assert shown and all(p.name == b_sample.name and p.read_bytes().endswith(b"B-MARK") for p in shown)
    # C shows its own image in place
    c = runs.read_summary(out, "tiny").record
    final = next(x for x in c.listed() if x.kind == "final")
    assert final.samples == [_sample_at(out / "sample", 4, False)]
    assert not final.samples[0].read_bytes().endswith((b"A-MARK", b"B-MARK"))


def _earlier_run(out, name: str) -> str:
    events = [make_event("run_started", config="/p/config.toml", output_dir=str(out), output_name=name, model={},
                         dataset={}, schedule={"total_steps": 4, "epochs": 1}, resumed_from=None, pid=1)]
    for step in (1, 2):
        events.append(make_event("step", step=step, total_steps=2, epoch=1, loss=1.0, avg_loss=1.0, lr=1e-3,
                                 images_per_s=2.0, eta_s=1.0))
    events.append(make_event("sample_saved", paths=[str(out / "sample" / f"{name}_000002_00_3.png")], step=2,
                             epoch=1))
    events.append(make_event("checkpoint_saved", path=str(out / f"{name}.safetensors"), kind="final", step=2,
                             epoch=1))
    events.append(make_event("finished", reason="completed", step=2, epoch=1, output=None, elapsed_s=1.0))
    for index, event in enumerate(events):  # one event a second, ending a minute ago
        event["time"] = round(time.time() - 60 - len(events) + index, 3)
    return "".join(json.dumps(e) + "\n" for e in events)


def test_an_earlier_runs_checkpoint_never_shows_a_copy_kept_before_it_began(tmp_path):
    out = tmp_path / "out"
    (out / "sample").mkdir(parents=True)
    (out / "p.events.1.jsonl").write_text(_earlier_run(out, "p"))
    record = runs.read_summary(out, "p", 1).record
    began, ended = record.first_time, record.last_time
    assert began is not None and began <= ended
    assert all(c.run_began == began for c in record.listed())
    older = out / "p-kept-20240101-000000" / "sample" / "p_000002_00_3.png"  # a run before it: same name
    older.parent.mkdir(parents=True)
    older.write_bytes(b"older run's")
    os.utime(older, (began - 600, began - 600))
    in_place = out / "sample" / "p_000002_00_3.png"
    in_place.write_bytes(b"a later run's")
    os.utime(in_place, (ended + 600, ended + 600))

    def shown():
        found = runs.earlier_checkpoints(record.listed(), out, "p", ended)
        return next(c for c in found if c.kind == "final").samples

    assert shown() == []  # neither is this run's: nothing rather than another run's image
    own = out / "p-kept-20250101-000000" / "sample" / "p_000002_00_3.png"
    own.parent.mkdir(parents=True)
    own.write_bytes(b"its own")
    os.utime(own, (ended - 1, ended - 1))
    assert shown() == [own]
    # an image in place older than the run is another run's too
    os.utime(in_place, (began - 60, began - 60))
    assert shown() == [own]
    # ``began`` given: it rules, not the checkpoints' own (an hour earlier: the image in place is in it)
    assert runs.earlier_checkpoints(record.listed(), out, "p", ended, began=began - 3600)[-1].samples == [in_place]


def test_samples_past_a_step_are_read_from_their_names(tmp_path):
    (tmp_path / "sample").mkdir()
    for name in ("p_000002_00_3.png", "p_000004_00_3.png", "p_000004_01_-1.png", "px_000009_00_3.png"):
        (tmp_path / "sample" / name).write_bytes(b"x")
    assert runs.sample_step("p_000004_01_-1.png", "p") == 4 and runs.sample_step("px_000009_00_3.png", "p") is None
    assert [p.name for p in runs.samples_past(tmp_path, "p", 2)] == ["p_000004_00_3.png", "p_000004_01_-1.png"]
    assert runs.samples_past(tmp_path, "p", 4) == []


def test_a_step_limit_inside_an_epoch_emits_no_epoch_end(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir)  # 2 epochs of 4 steps
    out = tmp_path / "out"
    code, events = run(config, max_steps=2)
    assert code == 0 and of(events, "epoch_end") == []
    code, events = run(config, resume=str(out / "tiny-state"))
    assert code == 0
    assert [(e["epoch"], e["step"]) for e in of(events, "epoch_end")] == [(1, 4), (2, 8)]
    series = runs.LossSeries()  # the chart's epoch marks: one per epoch
    for event in events:
        series.add_event(event)
    assert list(series.epochs) == [(4, 1), (8, 2)]


def test_a_step_limit_at_an_epochs_end_emits_it_once(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir)
    out = tmp_path / "out"
    code, events = run(config, max_steps=4)
    assert code == 0 and [(e["epoch"], e["step"]) for e in of(events, "epoch_end")] == [(1, 4)]
    code, events = run(config, resume=str(out / "tiny-state"))
    assert code == 0
    assert [(e["epoch"], e["step"]) for e in of(events, "epoch_end")] == [(1, 4), (2, 8)]


def test_a_step_limit_inside_an_epoch_still_samples_as_sd_scripts_but_max_steps_does_not(tiny_sd1_dir, tmp_path):
    """max_train_steps 6 with 4 batches an epoch ends inside epoch 2: no epoch_end there (the epoch did not
    end), but sd-scripts runs its epoch-end sampling when it leaves the step loop; `--max-steps` is a pause."""
    config = _with_prompts(tmp_path / "a", tiny_sd1_dir, **{"training.max_train_epochs": None,
                                                             "training.max_train_steps": 6,
                                                             "sampling.sample_every_n_steps": None,
                                                             "sampling.sample_every_n_epochs": 1})
    code, events = run(config)
    assert code == 0
    assert [e["step"] for e in of(events, "epoch_end")] == [4]
    assert [e["step"] for e in of(events, "sample_saved")] == [4, 6]
    # named by epoch, as sd-scripts names an epoch's samples (both are its epoch-end sampling)
    names = [e["paths"][0].rsplit("/", 1)[1] for e in of(events, "sample_saved")]
    assert [re.sub(r"_\d{14}_", "_", name) for name in names] == ["tiny_e000001_00_3.png", "tiny_e000002_00_3.png"]
    paused = _with_prompts(tmp_path / "b", tiny_sd1_dir, **{"training.max_train_epochs": 2,
                                                            "sampling.sample_every_n_steps": None,
                                                            "sampling.sample_every_n_epochs": 1})
    code, events = run(paused, max_steps=6)
    assert code == 0 and [e["step"] for e in of(events, "sample_saved")] == [4]
