"""`train --resume STATE` after the dataset changed (s17 f4).

1. A state keeps a fingerprint of the dataset it trained on (engine/resume_dataset.py: per image a caption
   digest and name+size+mtime, in STATE/dataset.json), and a resume says in one line what changed since:
   captions edited, images swapped at the same batch count, added, gone. An older state: nothing said.
2. A state at an epoch's end resumes after the batches of an epoch changed (images added / removed,
   repeats), at the next epoch with the new steps per epoch (engine/resume_refit.py); a state inside an
   epoch is still refused.

Tiny model, CPU: 4 images x 2 repeats, batch 2: 4 steps an epoch, 2 epochs."""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import pytest

from loratui.core.errors import LoratuiError
from loratui.engine.resume_dataset import FILE, changes_line, records_for
from loratui.engine.resume_refit import shifted_plan, shifted_schedule_line
from test_train import make_project, of, run


def _session(events: list[dict]) -> list[dict]:
    """The events of the latest session (a resume appends to the run's file)."""
    last = max(i for i, e in enumerate(events) if e["event"] == "run_started")
    return events[last:]


def _warnings(events) -> list[str]:
    return [e["message"] for e in of(_session(events), "warning")]


def _add_image(folder, name: str = "img9") -> None:
    shutil.copy(folder / "img0.png", folder / f"{name}.png")
    (folder / f"{name}.txt").write_text("shp, extra", encoding="utf-8")


# ---- the pure parts -----------------------------------------------------------------------------------

def test_changes_line_counts_captions_swaps_additions_and_removals(tmp_path):
    images = []
    for i in range(4):
        (tmp_path / f"a{i}.png").write_bytes(b"x" * (i + 1))
        images.append((False, "2_shp", str(tmp_path / f"a{i}.png"), f"caption {i}"))
    saved = records_for(images)
    assert changes_line(saved, records_for(images), kept=True) is None
    edited = [(r, f, p, c + " edited" if i < 2 else c) for i, (r, f, p, c) in enumerate(images)]
    assert changes_line(saved, records_for(edited), kept=True) == (
        "resume: 2 of 4 captions changed since the state was saved (the rest of the run trains on the new ones)")
    (tmp_path / "a3.png").write_bytes(b"another image")  # swapped under the same name
    renamed = images[:2] + [(False, "12_shp", str(tmp_path / "a3.png"), "caption 3")]  # a2 gone, 2_ -> 12_ kept
    line = changes_line(saved, records_for(renamed), kept=True)
    assert line == ("resume: since the state was saved, 1 image file(s) replaced or rewritten (another size or "
                    "time), 1 image(s) gone (the rest of the run trains on the dataset as it is now)")
    assert changes_line(None, records_for(images), kept=False) is None  # an older state: nothing said
    assert "cannot tell" in changes_line(None, records_for(images), kept=True)


def test_shifted_plan_counts_the_epochs_after_the_origin_at_the_new_size():
    epochs = SimpleNamespace(max_train_epochs=10, max_train_steps=None)
    assert shifted_plan(epochs, 40, (5, 500)) == (700, 10)  # 5 epochs of 100, then 5 of 40
    assert shifted_plan(epochs, 200, (5, 500)) == (1500, 10)
    steps = SimpleNamespace(max_train_epochs=None, max_train_steps=1000)
    assert shifted_plan(steps, 200, (5, 500)) == (1000, 8)  # 500 more: 2.5 epochs
    assert shifted_schedule_line(1000, 8, 200, (5, 500), "cpu") == (
        "training 1000 steps (500 in epochs 1-5, then 200 an epoch, epoch 8 cut at 100) on cpu")
    assert shifted_schedule_line(700, 10, 40, (5, 500), "cpu") == (
        "training 700 steps (500 in epochs 1-5, then 5 epoch(s) x 40) on cpu")


# ---- 1. what changed since the save ---------------------------------------------------------------------

def test_a_resume_after_caption_edits_says_how_many_changed(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir)
    out, folder = tmp_path / "out", tmp_path / "img" / "2_shp"
    assert run(config, max_steps=2)[0] == 0  # a pause inside epoch 1
    state = out / "tiny-state"
    info = json.loads((state / "state.json").read_text(encoding="utf-8"))
    assert info["data"]["dataset"] == {"file": FILE, "images": 4}
    assert (state / FILE).is_file()
    for i in (0, 2):
        (folder / f"img{i}.txt").write_text(f"shp, edited {i}", encoding="utf-8")
    code, events = run(config, resume=str(state))
    assert code == 0
    assert ("resume: 2 of 4 captions changed since the state was saved (the rest of the run trains on the new "
            "ones)") in _warnings(events)
    # the resumed run's own state keeps the dataset it read: resumed again, nothing is said
    code, events = run(config, resume=str(state), extend_epochs=1)
    assert code == 0
    assert not [w for w in _warnings(events) if w.startswith("resume:")]


def test_a_resume_after_an_image_was_swapped_says_so(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir)
    out, folder = tmp_path / "out", tmp_path / "img" / "2_shp"
    assert run(config, max_steps=2)[0] == 0
    shutil.copy(folder / "img1.png", folder / "img3.png")  # another image under the same name
    (folder / "img2.png").rename(folder / "img7.png")  # the same batch count: still resumes mid-epoch
    (folder / "img2.txt").rename(folder / "img7.txt")
    code, events = run(config, resume=str(out / "tiny-state"))
    assert code == 0
    assert ("resume: since the state was saved, 1 image file(s) replaced or rewritten (another size or time), "
            "1 image(s) added, 1 image(s) gone (the rest of the run trains on the dataset as it is now)"
            ) in _warnings(events)


def test_an_older_state_without_records_resumes_without_a_word(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir)
    out, folder = tmp_path / "out", tmp_path / "img" / "2_shp"
    assert run(config, max_steps=2)[0] == 0
    state = out / "tiny-state"
    path = state / "state.json"
    info = json.loads(path.read_text(encoding="utf-8"))
    del info["data"]["dataset"]  # as an older loratui wrote it
    path.write_text(json.dumps(info), encoding="utf-8")
    (state / FILE).unlink()
    (folder / "img0.txt").write_text("shp, edited", encoding="utf-8")
    code, events = run(config, resume=str(state))
    assert code == 0
    assert not [w for w in _warnings(events) if w.startswith("resume:")]


def test_a_state_whose_records_went_missing_says_it_cannot_tell(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir)
    out = tmp_path / "out"
    assert run(config, max_steps=2)[0] == 0
    (out / "tiny-state" / FILE).unlink()
    code, events = run(config, resume=str(out / "tiny-state"))
    assert code == 0
    assert [w for w in _warnings(events) if w.startswith("resume:")] == [
        "resume: cannot tell whether captions or images changed since the state was saved (its dataset.json is "
        "missing or damaged): the rest of the run trains on the dataset as it is now"]


# ---- 2. an epoch-end state of a changed dataset --------------------------------------------------------

def _epoch_saves(tmp_path, tiny_sd1_dir):
    config = make_project(tmp_path, tiny_sd1_dir, **{"saving.save_every_n_epochs": 1, "saving.save_state": True,
                                                    "saving.save_every_n_steps": 2})
    assert run(config)[0] == 0  # tiny-000001-state: the end of epoch 1 (step 4); tiny-step00000002-state inside it
    return config, tmp_path / "out"


def test_an_epoch_end_state_resumes_at_the_next_epoch_with_the_new_steps(tiny_sd1_dir, tmp_path):
    config, out = _epoch_saves(tmp_path, tiny_sd1_dir)
    _add_image(tmp_path / "img" / "2_shp")  # 5 images x 2 repeats: 5 batches, 5 steps an epoch
    code, events = run(config, resume=str(out / "tiny-000001-state"))
    assert code == 0
    events = _session(events)
    started = of(events, "run_started")[0]["schedule"]
    assert (started["total_steps"], started["epochs"], started["steps_per_epoch"]) == (9, 2, 5)
    assert [e["step"] for e in of(events, "step")] == [5, 6, 7, 8, 9]
    assert {e["epoch"] for e in of(events, "step")} == {2}
    assert [(e["epoch"], e["step"]) for e in of(events, "epoch_end")] == [(2, 9)]
    line = next(w for w in _warnings(events) if w.startswith("resume: the dataset changed"))
    assert line == ("resume: the dataset changed since this state was saved at the end of epoch 1 (2_shp: 4 -> 5 "
                    "images; 4 -> 5 batches an epoch): an epoch is 5 step(s) now (4 before), so the run goes on at "
                    "epoch 2 from step 4: 9 steps in all, to the end of epoch 2")
    assert "resume: since the state was saved, 1 image(s) added" in " ".join(_warnings(events))
    assert of(events, "finished")[0]["step"] == 9
    # its state keeps the plan's origin: extended, the next epoch is 5 steps more
    info = json.loads((out / "tiny-state" / "state.json").read_text(encoding="utf-8"))
    assert info["data"]["origin"] == {"epoch": 1, "step": 4}
    code, events = run(config, resume=str(out / "tiny-state"), extend_epochs=1)
    assert code == 0
    events = _session(events)
    assert of(events, "run_started")[0]["schedule"]["total_steps"] == 14
    assert [e["step"] for e in of(events, "step")] == [10, 11, 12, 13, 14]


def test_a_stop_at_an_epochs_end_resumes_after_images_were_removed(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir)
    out, folder = tmp_path / "out", tmp_path / "img" / "2_shp"
    assert run(config, max_steps=4)[0] == 0  # the end of epoch 1: the state counts epoch 2, no batch done
    (folder / "img3.png").unlink()  # 3 images x 2 repeats: 3 steps an epoch
    code, events = run(config, resume=str(out / "tiny-state"), max_steps=6)  # a pause inside epoch 2
    assert code == 0
    assert [e["step"] for e in of(_session(events), "step")] == [5, 6]
    # the later state, inside epoch 2, resumes from the origin's plan: 4 + 3 = 7 steps
    code, events = run(config, resume=str(out / "tiny-state"))
    assert code == 0
    events = _session(events)
    assert of(events, "run_started")[0]["schedule"]["total_steps"] == 7
    assert [(e["epoch"], e["step"]) for e in of(events, "step")] == [(2, 7)]


def test_a_mid_epoch_state_with_other_batches_is_still_refused(tiny_sd1_dir, tmp_path):
    config, out = _epoch_saves(tmp_path, tiny_sd1_dir)
    _add_image(tmp_path / "img" / "2_shp")
    with pytest.raises(LoratuiError) as refused:
        run(config, resume=str(out / "tiny-step00000002-state"))
    assert "would point at other images" in str(refused.value)
    assert "the folders changed since the save (2_shp: 4 -> 5 images)" in str(refused.value)


def test_an_epoch_end_state_at_the_plans_end_has_nothing_to_train(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir)
    out = tmp_path / "out"
    assert run(config, save_state=True)[0] == 0  # the end of epoch 2, the last planned
    _add_image(tmp_path / "img" / "2_shp")
    with pytest.raises(LoratuiError, match="nothing to train: the state is at step 8 of 8 .*--extend-epochs N"):
        run(config, resume=str(out / "tiny-state"))
    code, events = run(config, resume=str(out / "tiny-state"), extend_epochs=1)
    assert code == 0
    assert [e["step"] for e in of(_session(events), "step")] == [9, 10, 11, 12, 13]
