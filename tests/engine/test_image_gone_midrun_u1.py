"""An image moved or deleted while an uncached run trains (user hunt h14 item 1): the run saves the LoRA
and the state at its last step, as a stop does, and ends as a training error (exit 1, not the config's
exit 2) with its real step, epoch and LoRA, a line saying the image went after the run started and the
newest state to resume from; with the images back, that state resumes. Before training began, a bad
image is still the config's (LoratuiError, nothing written).
Tiny SD1 model on the CPU: 4 images x 2 repeats, batch 2: 4 batches an epoch."""

from __future__ import annotations

import json
import shutil

import pytest

from loratui.core.errors import LoratuiError
from test_train import make_project, of, run


def _delete_images_after_step(monkeypatch, img, trash, at_step: int) -> None:
    """Move every image of the folder aside once step ``at_step`` is reported (the captions stay)."""
    from loratui.engine import run as run_module

    on_step = run_module.Reporter.on_step

    def then_delete(self, tr, **kwargs):
        on_step(self, tr, **kwargs)
        if tr.step == at_step:
            trash.mkdir(exist_ok=True)
            for image in img.glob("*.png"):
                image.rename(trash / image.name)

    monkeypatch.setattr(run_module.Reporter, "on_step", then_delete)


def test_an_image_gone_mid_run_saves_and_ends_with_the_real_step(tiny_sd1_dir, tmp_path, monkeypatch, capsys):
    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_epochs": 3,
                                                      "saving.save_every_n_epochs": 1,
                                                      "dataset.cache_latents": False})
    out, img = tmp_path / "out", tmp_path / "img" / "2_shp"
    _delete_images_after_step(monkeypatch, img, tmp_path / "trash", at_step=5)  # epoch 2's first step
    code, events = run(config, save_state=True)
    assert code == 1  # a training error, not bad input (2)
    steps = [e["step"] for e in of(events, "step")]
    last = steps[-1]
    assert last >= 5  # the batch loaded ahead may still train
    error = of(events, "error")[0]
    assert error["kind"] == "file"
    assert "the image is gone: it was moved, renamed or deleted after the run started" in error["message"]
    assert str(img) in error["message"]
    assert f"the LoRA and the state were saved at step {last}" in error["hint"]
    assert "put the image back where it was, then resume from the newest complete state" in error["hint"]
    assert f"--resume {out / 'tiny-state'}" in error["hint"] or "--resume out/tiny-state" in error["hint"]
    finished = of(events, "finished")[0]
    lora = out / f"tiny-step{last:08d}.safetensors"
    assert (finished["reason"], finished["step"], finished["epoch"]) == ("error", last, 2)
    assert finished["output"] == str(lora) and lora.is_file()
    state = json.loads((out / "tiny-state" / "state.json").read_text(encoding="utf-8"))
    assert state["step"] == last and state["epoch"] == 2
    assert (out / "tiny-000001.safetensors").is_file()  # the epoch save before it stays
    err = capsys.readouterr().err
    assert "fix the config" not in err
    assert err.rstrip().splitlines()[-2].startswith(f"error: {img}")
    assert not (out / "tiny.lock").exists()


def test_a_state_saved_inside_an_accumulation_window_resumes_once_the_images_are_back(tiny_sd1_dir, tmp_path,
                                                                                     monkeypatch):
    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_epochs": 3,
                                                      "training.gradient_accumulation_steps": 2,
                                                      "dataset.cache_latents": False})
    out, img, trash = tmp_path / "out", tmp_path / "img" / "2_shp", tmp_path / "trash"
    # 2 steps an epoch; after step 3 (epoch 2, 2 batches done) the batch loaded ahead trains into a
    # window the next batch, gone, never closes
    _delete_images_after_step(monkeypatch, img, trash, at_step=3)
    code, events = run(config)
    assert code == 1
    finished = of(events, "finished")[0]
    assert (finished["step"], finished["epoch"]) == (3, 2)
    state = json.loads((out / "tiny-state" / "state.json").read_text(encoding="utf-8"))
    assert (state["step"], state["epoch"], state["batches_done"]) == (3, 2, 2)  # the last step's place
    monkeypatch.undo()
    for image in trash.iterdir():
        shutil.move(str(image), img / image.name)
    code, events = run(config, resume=str(out / "tiny-state"))
    assert code == 0
    finished = of(events, "finished")[-1]
    assert (finished["reason"], finished["step"]) == ("completed", 6)


def test_an_image_gone_before_training_is_still_the_configs(tiny_sd1_dir, tmp_path, monkeypatch):
    """Gone between the scan and the latent cache: nothing trained, so bad input (the CLI exits 2)."""
    from loratui.engine import data as data_module

    config = make_project(tmp_path, tiny_sd1_dir, **{"dataset.cache_latents": True})
    prepare = data_module.TrainingData.prepare

    def delete_first(self, *args, **kwargs):
        for image in (tmp_path / "img" / "2_shp").glob("*.png"):
            image.unlink()
        return prepare(self, *args, **kwargs)

    monkeypatch.setattr(data_module.TrainingData, "prepare", delete_first)
    with pytest.raises(LoratuiError, match="the image is gone"):
        run(config)


def test_only_a_data_file_error_is_handled_as_a_file_problem():
    """r3 #1: another run taking the folder back mid-run ("another run is writing to ...") is a LoratuiError
    too, and must not be answered with a save into that run's folder: only DataFileError is a file's."""
    from loratui.core.errors import LoratuiError
    from loratui.engine.data import DataFileError

    assert issubclass(DataFileError, LoratuiError)
    assert not isinstance(LoratuiError("another run (pid 1) is writing to model"), DataFileError)


def test_no_save_when_the_lock_is_no_longer_held():
    from types import SimpleNamespace

    from loratui.engine.run_error_ends import _save_before_ending

    run = SimpleNamespace(world=1, is_main=True, lock=SimpleNamespace(held=False), resume=None, resume_info=None)
    assert _save_before_ending(run, SimpleNamespace(step=5)) == (None, None)
