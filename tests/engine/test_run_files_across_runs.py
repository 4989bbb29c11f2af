"""What one run of an output name leaves to the next (user test s11/f8, tiny model, CPU): a new run moves
the last run's sample images aside with its saves, where that run's checkpoint list still finds them; a
resume never lists another run's kept final LoRA as its own save; a run resumed mid-epoch reports the
epoch's average loss over the whole epoch. The project: 4 images x 2 repeats, batch 2: 4 steps an epoch."""

from __future__ import annotations

import hashlib
import re

from loratui.core import runs
from test_train import make_project, of, run

PROMPTS = "shp, red circle --w 64 --h 64 --d 3 --s 2\n"


def _md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _with_prompts(root, tiny_sd1_dir, **overrides):
    root.mkdir(parents=True, exist_ok=True)
    (root / "prompts.txt").write_text(PROMPTS, encoding="utf-8")
    return make_project(root, tiny_sd1_dir, **{"sampling.sample_prompts": "prompts.txt",
                                               "sampling.sample_every_n_steps": 2, **overrides})


def _stop_at(monkeypatch, step: int):
    """The next run stops after ``step`` as the stop key (a control request) stops it."""
    from loratui.engine import run as run_module

    on_step = run_module.Reporter.on_step

    def stop(self, tr, **kw):
        on_step(self, tr, **kw)
        if tr.step == step:
            tr.stop_requested = True

    monkeypatch.setattr(run_module.Reporter, "on_step", stop)
    return lambda: monkeypatch.setattr(run_module.Reporter, "on_step", on_step)


def test_a_new_run_moves_the_last_runs_samples_aside_where_its_checkpoints_find_them(tiny_sd1_dir, tmp_path):
    from loratui.core.config import config_from_dict, config_to_dict, load_config, save_config

    config = _with_prompts(tmp_path, tiny_sd1_dir, **{"training.max_train_epochs": 1,
                                                      "saving.save_every_n_steps": 3})
    out = tmp_path / "out"
    assert run(config)[0] == 0  # run A: 4 steps, samples at 2 and 4, a step save at 3
    a_samples = {p.name: _md5(p) for p in sorted((out / "sample").iterdir())}
    a2, a4 = sorted(a_samples)  # sd-scripts' names: NAME_STEP_II_YYYYmmddHHMMSS_SEED.png
    assert re.fullmatch(r"tiny_000002_00_\d{14}_3\.png", a2) and re.fullmatch(r"tiny_000004_00_\d{14}_3\.png", a4)
    # what the start dialog lists: the samples after the saves, when asked for (default: saves only)
    assert [p.name for p in runs.previous_outputs(out, "tiny")] == ["tiny-step00000003.safetensors",
                                                                   "tiny.safetensors"]
    listed = runs.previous_outputs(out, "tiny", samples=True)
    assert [p.relative_to(out).as_posix() for p in listed] == [
        "tiny-step00000003.safetensors", "tiny.safetensors", f"sample/{a2}", f"sample/{a4}"]
    assert runs.previous_outputs_text(out, "tiny").startswith("the last run's tiny-step00000003.safetensors, "
                                                              "tiny.safetensors and 2 more in ")
    (out / "sample" / "other_000002_00_3.png").write_bytes(b"another name's sample")

    data = config_to_dict(load_config(config))
    data["optimizer"]["learning_rate"] = 5e-3
    save_config(config_from_dict(data), config)
    code, events = run(config)  # run B: fresh, samples of the same steps (named with their own time)
    assert code == 0
    kept = [p for p in out.iterdir() if p.name.startswith("tiny-kept-")]
    assert len(kept) == 1 and kept[0].is_dir()
    assert (kept[0] / "tiny-step00000003.safetensors").is_file()  # the saves and the samples: one folder
    assert {p.name: _md5(p) for p in (kept[0] / "sample").iterdir()} == a_samples  # A's images, as they were
    b_samples = sorted(p.name for p in (out / "sample").iterdir() if p.name.startswith("tiny_"))  # B's own now
    assert [re.sub(r"_\d{14}_", "_", name) for name in b_samples] == ["tiny_000002_00_3.png", "tiny_000004_00_3.png"]
    assert not set(b_samples) & set(a_samples) and (out / "sample" / "other_000002_00_3.png").is_file()
    assert (out / "sample" / "other_000002_00_3.png").read_bytes() == b"another name's sample"  # not this name's
    said = [e["message"] for e in of(events, "warning") if "a new run named tiny" in e["message"]]
    assert len(said) == 1 and str(kept[0]) in said[0]
    assert ("final LoRA, states and intermediate saves (tiny-step00000003.safetensors, tiny.safetensors) and its 2 sample "
            f"image(s) (sample/{a2} and 1 more) moved to") in said[0]
    assert (kept[0] / "tiny.safetensors").is_file()  # f5: A's final is kept with its saves, not written over

    # run A, now an earlier run: its samples are listed where they are now
    earlier = runs.read_summary(out, "tiny", 1)
    found = runs.earlier_checkpoints(earlier.record.listed(), out, "tiny", earlier.record.last_time)
    samples = [p for checkpoint in found for p in checkpoint.samples]
    assert sorted(samples) == sorted(kept[0] / "sample" / name for name in a_samples)
    assert [c.kind for c in found if c.samples] == ["sample", "final"]


def test_a_resume_lists_only_its_own_saves_and_the_whole_epochs_average(tiny_sd1_dir, tmp_path, monkeypatch):
    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_epochs": 2})
    out = tmp_path / "out"
    code, whole = run(config)  # run A completes: tiny.safetensors at step 8
    assert code == 0
    restore = _stop_at(monkeypatch, 2)
    code, events = run(config)  # run B: the same run from scratch, stopped mid-epoch 1
    restore()
    assert code == 0 and of(events, "finished")[-1]["reason"] == "stopped"
    # B moved A's final into tiny-kept-<time>/ (f5); a folder from before that still has it in place
    (kept_final,) = out.glob("tiny-kept-*/tiny.safetensors")
    kept_final.rename(out / "tiny.safetensors")
    code, events = run(config, resume=str(out / "tiny-state"))
    assert code == 0 and of(events, "finished")[-1]["reason"] == "completed"

    # A's final was kept aside before B writes its own, and said, but it is not one of B's checkpoints
    assert (out / "tiny-kept-step00000008.safetensors").is_file()
    said = [e["message"] for e in of(events, "warning") if "tiny-kept-step00000008.safetensors" in e["message"]]
    assert len(said) == 1 and said[0].endswith("(another run's final LoRA: not one of this run's checkpoints)")
    saved = [e["path"] for e in of(events, "checkpoint_saved")]
    assert not [path for path in saved if "kept" in path]
    record = runs.read_summary(out, "tiny").record
    assert [(c.path.name, c.step) for c in record.listed()] == [("tiny-step00000002.safetensors", 2),
                                                                ("tiny.safetensors", 8)]

    # epoch 1's average counts the steps before the stop too: as the uninterrupted run's
    expected = [(e["epoch"], e["avg_loss"]) for e in of(whole, "epoch_end")]
    assert [(e["epoch"], e["avg_loss"]) for e in of(events, "epoch_end")] == expected
    assert [e["step"] for e in of(events, "step")] == list(range(1, 9))


def test_samples_alone_get_a_kept_folder_of_their_own(tmp_path):
    """The last run saved nothing to move: its samples still go aside, in a folder of their own."""
    import os

    from loratui.engine.run_folder import move_samples_aside

    out = tmp_path / "out"
    (out / "sample").mkdir(parents=True)
    (out / "sample" / "p_000005_00_3.png").write_bytes(b"png")
    os.utime(out / "sample" / "p_000005_00_3.png", (1_700_000_000, 1_700_000_000))
    (out / "p-kept-x").mkdir()
    folder, moved = move_samples_aside(out, "p", None)
    assert folder is not None and folder.parent == out and folder.name.startswith("p-kept-2023")
    assert moved == [out / "sample" / "p_000005_00_3.png"]
    assert (folder / "sample" / "p_000005_00_3.png").read_bytes() == b"png"
    assert move_samples_aside(out, "p", None) == (None, [])  # nothing left: no empty folder made
    assert sorted(p.name for p in out.iterdir()) == sorted(["sample", "p-kept-x", folder.name])


def test_an_older_states_epoch_losses_come_from_its_last_losses():
    from loratui.engine.run_resume import epoch_losses_so_far

    assert epoch_losses_so_far({"epoch_loss": {"sum": 2.5, "steps": 2}, "batches_done": 4}, 1) == (2.5, 2)
    info = {"batches_done": 4, "losses": [9.0, 1.0, 2.0, 3.0, 4.0]}  # a state saved before epoch_loss was kept
    assert epoch_losses_so_far(info, 2) == (7.0, 2)  # 4 batches, 2 per step: its last 2 losses
    assert epoch_losses_so_far({"batches_done": 0, "losses": [1.0]}, 1) == (0.0, 0)
    assert epoch_losses_so_far({"batches_done": 8, "losses": [1.0]}, 1) == (0.0, 0)  # not kept: unknown
