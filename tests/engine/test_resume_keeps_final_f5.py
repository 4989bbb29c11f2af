"""User test s12/h5 of runs, fixed in f5 (tiny model, CPU): continuing a finished run keeps the LoRA it
had under its save point's name; a promoted copy in NAME.safetensors is moved aside, not written over; a
stop right after a save does not write the same LoRA again. The project: 4 images x 2 repeats, batch 2:
4 steps an epoch."""

from __future__ import annotations

from test_train import make_project, of, run


def _stop_at(monkeypatch, step: int):
    from loratui.engine import run as run_module

    on_step = run_module.Reporter.on_step

    def stop(self, tr, **kw):
        on_step(self, tr, **kw)
        if tr.step == step:
            tr.stop_requested = True

    monkeypatch.setattr(run_module.Reporter, "on_step", stop)
    return lambda: monkeypatch.setattr(run_module.Reporter, "on_step", on_step)


def _warnings(events) -> str:
    return " | ".join(e["message"] for e in of(events, "warning"))


def test_continuing_a_finished_run_keeps_its_final_under_its_save_points_name(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir)
    out = tmp_path / "out"
    assert run(config, max_steps=2)[0] == 0  # completes mid-epoch at step 2, with a state (--max-steps)
    final_2 = (out / "tiny.safetensors").read_bytes()
    code, events = run(config, resume=str(out / "tiny-state"), max_steps=3)
    assert code == 0
    assert (out / "tiny-step00000002.safetensors").read_bytes() == final_2  # was lost: no file held it
    assert "kept the LoRA this run had at step 2 as tiny-step00000002.safetensors" in _warnings(events)
    kept = [e for e in of(events, "checkpoint_saved") if e["path"].endswith("tiny-step00000002.safetensors")]
    assert [(e["kind"], e["step"]) for e in kept] == [("step", 2)]  # the checkpoint list shows it
    final_3 = (out / "tiny.safetensors").read_bytes()
    assert final_3 != final_2
    # to the end of epoch 1 (step 4), then one epoch more: the final of epoch 1 is kept as its epoch save
    assert run(config, resume=str(out / "tiny-state"), max_steps=4)[0] == 0
    assert (out / "tiny-step00000003.safetensors").read_bytes() == final_3
    final_4 = (out / "tiny.safetensors").read_bytes()
    code, events = run(config, resume=str(out / "tiny-state"), extend_epochs=1)
    assert code == 0
    assert (out / "tiny-000001.safetensors").read_bytes() == final_4
    assert "as tiny-000001.safetensors" in _warnings(events)


def test_a_promoted_copy_is_moved_aside_and_a_stop_on_a_save_step_saves_once(tiny_sd1_dir, tmp_path, monkeypatch):
    from loratui.core.runs import promote_checkpoint

    config = make_project(tmp_path, tiny_sd1_dir, **{"saving.save_every_n_steps": 2,
                                                     "training.max_train_epochs": 1})
    out = tmp_path / "out"
    restore = _stop_at(monkeypatch, 2)
    code, events = run(config)
    restore()
    assert code == 0 and of(events, "finished")[-1]["reason"] == "stopped"
    step_2 = out / "tiny-step00000002.safetensors"
    saves = [e for e in of(events, "checkpoint_saved") if e["kind"] != "state"]
    assert [e["path"] for e in saves] == [str(step_2)]  # not written twice 1.7 s apart
    assert of(events, "finished")[-1]["output"] == str(step_2)
    # the run can be resumed: the promoted copy never takes tiny.safetensors, which the resume writes
    assert promote_checkpoint(step_2, "tiny", out).name == "tiny-promoted.safetensors"
    (out / "tiny.safetensors").write_bytes(step_2.read_bytes())  # as an older loratui promoted it
    code, events = run(config, resume=str(out / "tiny-state"))
    assert code == 0
    assert (out / "tiny-promoted-2.safetensors").read_bytes() == step_2.read_bytes()
    assert "tiny.safetensors was a promoted copy of tiny-step00000002.safetensors: moved to " \
           "tiny-promoted-2.safetensors" in _warnings(events)
    assert (out / "tiny.safetensors").read_bytes() != step_2.read_bytes()  # the resumed run's own final
    assert not list(out.glob("tiny-kept-step*.safetensors"))
