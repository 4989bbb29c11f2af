"""What the run record keeps of sample_saved events now that they carry each image's prompt, and how it
lists a save's samples across a resume now that a sample's name holds the time it was rendered (sd-scripts'
names: the resumed session's image of a step is another file than the one kept aside)."""

from __future__ import annotations

from pathlib import Path

from loratui.core import runs
from loratui.core.events import make_event
from loratui.core.run_record import RunRecord


def _record(out: Path, *events: dict) -> RunRecord:
    record = RunRecord(out, "t")
    for event in events:
        record.feed(event)
    return record


def test_the_prompts_of_a_sample_saved_event_are_kept_by_file_name(tmp_path):
    sample = tmp_path / "sample"
    record = _record(tmp_path, make_event(
        "sample_saved", paths=[str(sample / "t_000002_00_20260101000000_5.png"),
                               str(sample / "t_000002_02_20260101000000.png")],
        step=2, epoch=1, prompts=[{"prompt": "a red circle", "seed": 5}, {"prompt": "a square", "seed": 43}]))
    assert record.sample_prompts == {"t_000002_00_20260101000000_5.png": {"prompt": "a red circle", "seed": 5},
                                     "t_000002_02_20260101000000.png": {"prompt": "a square", "seed": 43}}
    # an older event (no prompts), or one whose prompts do not pair with its paths, says none
    assert runs.prompts_by_sample(make_event("sample_saved", paths=["a.png"], step=1, epoch=1)) == {}
    assert runs.prompts_by_sample(make_event("sample_saved", paths=["a.png", "b.png"], step=1, epoch=1,
                                             prompts=[{"prompt": "x", "seed": 1}])) == {}
    # an entry not of the shape is left out; a seed that is not a whole number is None
    assert runs.prompts_by_sample(make_event("sample_saved", paths=["a.png", "b.png"], step=1, epoch=1,
                                             prompts=["x", {"prompt": "y", "seed": True}])) == {
        "b.png": {"prompt": "y", "seed": None}}


def test_a_resumed_sessions_sample_is_the_only_one_its_save_of_that_step_lists(tmp_path):
    """Session 1 saved tiny.safetensors at step 4 with its sample; the resume from step 2 kept that save and
    its sample aside (a checkpoint_saved with samples), then rendered step 4 again under a new name."""
    sample, kept = tmp_path / "sample", tmp_path / "t-kept-1" / "sample"
    first, again = "t_000004_00_20260101000000_3.png", "t_000004_00_20260101000100_3.png"
    record = _record(
        tmp_path,
        make_event("run_started", output_dir=str(tmp_path), output_name="t", model={}, dataset={}, schedule={}),
        make_event("sample_saved", paths=[str(sample / first)], step=4, epoch=1),
        make_event("checkpoint_saved", path=str(tmp_path / "t.safetensors"), kind="final", step=4, epoch=1),
        make_event("run_started", output_dir=str(tmp_path), output_name="t", model={}, dataset={}, schedule={},
                   resumed_from=str(tmp_path / "t-step00000002-state")),
        make_event("checkpoint_saved", path=str(tmp_path / "t-kept-step00000004.safetensors"), kind="step", step=4,
                   epoch=1, samples=[str(kept / first)]),
        make_event("sample_saved", paths=[str(sample / again)], step=4, epoch=1),
        make_event("checkpoint_saved", path=str(tmp_path / "t.safetensors"), kind="final", step=4, epoch=1))
    by_name = {c.path.name: c.samples for c in record.listed()}
    assert by_name == {"t-kept-step00000004.safetensors": [kept / first], "t.safetensors": [sample / again]}


def test_an_epochs_samples_past_the_states_epoch_are_rendered_again(tmp_path):
    """A state mid-epoch 2 (or at epoch 1's end): the resumed run renders epoch 2's samples again, not
    epoch 1's nor sample_at_first's (epoch 0); with no epoch given, an epoch's sample always stays."""
    folder = tmp_path / "sample"
    folder.mkdir()
    names = ["t_e000000_00_20260101000000.png", "t_e000001_00_20260101000100.png", "t_000006_00_20260101000150.png",
             "t_e000002_00_20260101000200.png", "t_000006_00_3.png"]
    for name in names:
        (folder / name).write_bytes(b"png")
    assert [runs.sample_epoch(name, "t") for name in names] == [0, 1, None, 2, None]
    assert [p.name for p in runs.samples_past(tmp_path, "t", 5, epoch=1)] == sorted(names[2:])
    assert [p.name for p in runs.samples_past(tmp_path, "t", 5)] == sorted([names[2], names[4]])
