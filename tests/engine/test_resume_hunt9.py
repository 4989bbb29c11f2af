"""Resume / extend findings of user test hunt9/a (tiny model, CPU): nothing a newer run made is
overwritten without a kept copy, --extend-epochs counts from the state's run, a changed learning rate
is named and applied, refusals come before anything loads or is written, a moved project is the same
project. The project: 4 images x 2 repeats, batch 2: 4 steps an epoch."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from loratui.commands.train_cmd import train
from loratui.core.errors import LoratuiError
from loratui.core.events import read_events
from test_train import make_project, of, run


def _meta(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        return handle.metadata()


def _set(config, **changes):
    from loratui.core.config import config_from_dict, config_to_dict, load_config, save_config

    data = config_to_dict(load_config(config))
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        data[section][key] = value
    save_config(config_from_dict(data), config)


def _no_model_load(monkeypatch):
    from loratui.engine import models

    loads = []
    real = models.load_base_model
    monkeypatch.setattr(models, "load_base_model", lambda *a, **k: loads.append(1) or real(*a, **k))
    return loads


def _cli(capsys, *args) -> tuple[int, str]:
    """`loratui train ARGS` as the shell runs it: (exit code, stderr)."""
    from loratui.cli import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["train", *map(str, args)])
    return exit_.value.code, capsys.readouterr().err


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---- 1. a new run moves the last run's states aside; a resume of an old state keeps the newer final --

def test_a_new_run_moves_the_last_runs_state_and_a_resume_of_it_keeps_the_newer_final(tiny_sd1_dir, tmp_path, capsys):
    config = make_project(tmp_path, tiny_sd1_dir, **{"saving.save_every_n_epochs": 1})
    out = tmp_path / "out"
    assert run(config, max_epochs=1, save_state=True)[0] == 0  # run A: 1 epoch, state at step 4
    code, events = run(config)  # run B: fresh, 2 epochs, no state
    assert code == 0
    kept_dirs = [p for p in out.iterdir() if p.name.startswith("tiny-kept-") and p.is_dir()]
    assert len(kept_dirs) == 1 and (kept_dirs[0] / "tiny-state" / "state.json").is_file()
    assert not (out / "tiny-state").exists()
    said = [e["message"] for e in of(events, "warning") if "a new run named tiny" in e["message"]]
    assert said and str(kept_dirs[0]) in said[0] and "tiny-state" in said[0] and "overwritten" not in said[0]
    assert (kept_dirs[0] / "tiny.safetensors").is_file()  # f5 #3: run A's final is kept with its state
    b_final = (out / "tiny.safetensors").read_bytes()
    b_epoch1 = (out / "tiny-000001.safetensors").read_bytes()

    # the printed way to extend does not find run A's state: it says why, and where it went
    code, said = _cli(capsys, config, "--resume", out / "tiny-state", "--extend-epochs", "1")
    assert code == 2
    assert "saved no state" in said and "network_weights" in said
    assert str(kept_dirs[0] / "tiny-state") in said

    # resuming run A's state there on purpose: run B's final and epoch save are kept, its events too
    b_events = (out / "tiny.events.jsonl").read_bytes()
    code, events = run(config, resume=str(kept_dirs[0] / "tiny-state"), extend_epochs=1)
    assert code == 0
    kept_final = [p for p in out.glob("tiny-kept-step*.safetensors")]
    assert [p.read_bytes() for p in kept_final] == [b_final]
    assert (out / "tiny-kept-000001.safetensors").read_bytes() == b_epoch1
    assert (out / "tiny.events.1.jsonl").read_bytes() == b_events  # run B's history, not appended to
    assert of(events, "run_started")[0]["resumed_from"] == str(kept_dirs[0] / "tiny-state")
    warnings = " | ".join(e["message"] for e in of(events, "warning"))
    assert f"kept as {kept_final[0].name}" in warnings and "after this state was saved" in warnings


def test_an_older_state_without_saved_at_still_keeps_a_later_runs_final(tiny_sd1_dir, tmp_path):
    """A state saved before state.json recorded saved_at: its file time tells it."""
    config = make_project(tmp_path, tiny_sd1_dir)
    out = tmp_path / "out"
    assert run(config, max_epochs=1, save_state=True)[0] == 0
    legacy = tmp_path / "a-state"
    shutil.copytree(out / "tiny-state", legacy)
    info = json.loads((legacy / "state.json").read_text())
    for key in ("saved_at", "config_dir", "data"):
        info.pop(key)
    (legacy / "state.json").write_text(json.dumps(info))
    past = _meta(out / "tiny.safetensors")["ss_training_started_at"]
    # run A's start (whole seconds): before run B's start however fast A ran (A's start + 1 s was not,
    # on a fast machine, and B's final then did not read as newer than the state)
    os.utime(legacy / "state.json", (float(past), float(past)))
    assert run(config, max_epochs=1)[0] == 0  # run B
    b_final = (out / "tiny.safetensors").read_bytes()
    assert run(config, resume=str(legacy), extend_epochs=1)[0] == 0
    assert [p.read_bytes() for p in out.glob("tiny-kept-step*.safetensors")] == [b_final]


# ---- 2. resuming an earlier epoch's state keeps the newer intermediate saves too -------------------

def test_resuming_an_epoch_state_keeps_the_newer_epoch_saves_and_their_states(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir, **{"saving.save_every_n_epochs": 1,
                                                      "training.max_train_epochs": 3})
    out = tmp_path / "out"
    assert run(config, save_state=True)[0] == 0  # 12 steps; -000001 (4), -000002 (8), final (12)
    epoch2 = (out / "tiny-000002.safetensors").read_bytes()
    epoch1 = (out / "tiny-000001.safetensors").read_bytes()
    code, events = run(config, resume=str(out / "tiny-000001-state"), max_steps=9)
    assert code == 0
    assert (out / "tiny-kept-000002.safetensors").read_bytes() == epoch2
    assert json.loads((out / "tiny-kept-000002-state" / "state.json").read_text())["step"] == 8
    assert (out / "tiny-000001.safetensors").read_bytes() == epoch1  # older than the state: left alone
    assert (out / "tiny-000002.safetensors").is_file()  # this branch's epoch 2
    warnings = " | ".join(e["message"] for e in of(events, "warning"))
    assert "tiny-000002.safetensors -> tiny-kept-000002.safetensors" in warnings
    assert "saves past this state's step 4 moved aside" in warnings


# ---- 3. --extend-epochs counts from the state's run --------------------------------------------------

def test_extend_counts_from_the_epochs_the_states_run_planned(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_epochs": 3})
    assert run(config, max_epochs=1, save_state=True)[0] == 0
    code, events = run(config, resume=str(tmp_path / "out" / "tiny-state"), extend_epochs=1)
    started = of(events, "run_started")[-1]
    assert code == 0 and started["schedule"]["epochs"] == 2 and started["schedule"]["total_steps"] == 8
    assert [e["step"] for e in of(events, "step")][-4:] == [5, 6, 7, 8]


# ---- 4. a changed learning rate is named and applied --------------------------------------------------

def test_a_changed_learning_rate_is_named_and_applied_from_the_resume(tiny_sd1_dir, tmp_path, capsys):
    config = make_project(tmp_path, tiny_sd1_dir, **{"optimizer.max_grad_norm": 1.0})
    assert run(config, max_steps=2)[0] == 0  # a --max-steps run keeps its state
    _set(config, **{"optimizer.learning_rate": 0.01, "optimizer.max_grad_norm": 0.5})
    code, events = run(config, resume=str(tmp_path / "out" / "tiny-state"), max_steps=3)
    assert code == 0
    assert [e["lr"] for e in of(events, "step")] == [0.001, 0.001, 0.01]
    warning = next(e["message"] for e in of(events, "warning") if "the config changed" in e["message"])
    assert "optimizer.learning_rate 0.001 -> 0.01" in warning and "optimizer.max_grad_norm 1.0 -> 0.5" in warning
    assert "take effect from here" in warning and "\n" not in warning


# ---- 7. --resume with --events elsewhere: the standard file follows the run -----------------------------

def test_resume_with_events_elsewhere_links_the_standard_file_to_the_whole_history(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir)
    out = tmp_path / "out"
    assert run(config, max_steps=2)[0] == 0
    first = (out / "tiny.events.jsonl").read_bytes()
    elsewhere = tmp_path / "ext.jsonl"
    code, _ = run(config, resume=str(out / "tiny-state"), events_override=str(elsewhere), max_steps=3)
    assert code == 0
    standard = out / "tiny.events.jsonl"
    assert standard.is_symlink() and standard.resolve() == elsewhere.resolve()
    events = read_events(standard)
    assert [e["step"] for e in of(events, "step")] == [1, 2, 3] and len(of(events, "run_started")) == 2
    assert (out / "tiny.events.1.jsonl").read_bytes() == first  # the file itself is kept


# ---- 9 / 10 / 11 / 12: refusals before anything loads, nothing written -----------------------------------

def test_a_finished_run_without_a_state_says_why_and_the_way_out(tiny_sd1_dir, tmp_path, capsys):
    config = make_project(tmp_path, tiny_sd1_dir)
    assert run(config, max_epochs=1)[0] == 0
    code, said = _cli(capsys, config, "--resume", tmp_path / "out" / "tiny-state", "--extend-epochs", "1")
    assert code == 2
    line = said.strip()
    assert "\n" not in line and "saved no state" in line and "--save-state" in line
    assert 'network_weights = "out/tiny.safetensors"' in line


def test_a_changed_batch_size_is_refused_before_loading_naming_it(tiny_sd1_dir, tmp_path, monkeypatch, capsys):
    config = make_project(tmp_path, tiny_sd1_dir)
    out = tmp_path / "out"
    assert run(config, max_steps=2)[0] == 0
    _set(config, **{"training.train_batch_size": 4})
    before = _files(out)
    loads = _no_model_load(monkeypatch)
    with pytest.raises(LoratuiError) as err:
        run(config, resume=str(out / "tiny-state"))
    message = str(err.value)
    assert "training.train_batch_size was 2 and is 4 now" in message and "set training.train_batch_size = 2" in message
    assert "\n" not in message and loads == [] and _files(out) == before
    code, said = _cli(capsys, config, "--resume", out / "tiny-state")
    assert code == 2 and "training.train_batch_size was 2" in said
    assert _files(out) == before


def test_a_resume_with_nothing_left_to_train_is_refused(tiny_sd1_dir, tmp_path, monkeypatch, capsys):
    config = make_project(tmp_path, tiny_sd1_dir, **{"saving.save_state": True})
    out = tmp_path / "out"
    assert run(config)[0] == 0  # 8 of 8, with its state
    before = _files(out)
    loads = _no_model_load(monkeypatch)
    with pytest.raises(LoratuiError, match=r"nothing to train: the state is at step 8 of 8; --extend-epochs N"):
        run(config, resume=str(out / "tiny-state"))
    # --max-steps equal to the state's step: the flag is the run's total, not steps more
    code, said = _cli(capsys, config, "--resume", out / "tiny-state", "--max-steps", "8")
    assert code == 2 and "nothing to train" in said and "--max-steps is the run's total" in said
    assert loads == [] and _files(out) == before
    assert "N is the run's total" in " ".join(CliRunner().invoke(train, ["--help"]).output.split())


@pytest.mark.parametrize("damage", [{"batches_done": 50}, {"step": 3, "epoch": 1, "batches_done": 0},
                                    {"epoch": 9, "step": 8, "batches_done": 0}])
def test_a_state_whose_place_no_run_reaches_is_refused(tiny_sd1_dir, tmp_path, monkeypatch, damage, capsys):
    config = make_project(tmp_path, tiny_sd1_dir)
    out = tmp_path / "out"
    assert run(config, max_steps=2)[0] == 0
    state = tmp_path / "dmg"
    shutil.copytree(out / "tiny-state", state)
    info = json.loads((state / "state.json").read_text())
    info.update(damage)
    (state / "state.json").write_text(json.dumps(info))
    before = _files(out)
    loads = _no_model_load(monkeypatch)
    with pytest.raises(LoratuiError, match=r"state\.json says .*the file is damaged"):
        run(config, resume=str(state), max_steps=9)
    code, said = _cli(capsys, config, "--resume", state, "--max-steps", "9")
    assert code == 2 and "the file is damaged" in said
    assert loads == [] and _files(out) == before


# ---- 13. a moved project is the same project; resumed_from is absolute ---------------------------------

def test_a_copied_project_resumes_without_a_config_changed_warning(tiny_sd1_dir, tmp_path, monkeypatch):
    first = tmp_path / "p2"
    config = make_project(first, tiny_sd1_dir)
    assert run(config, max_steps=2)[0] == 0
    copy = tmp_path / "p6"
    shutil.copytree(first, copy)
    monkeypatch.chdir(copy)
    code, events = run(copy / "config.toml", resume="out/tiny-state", max_steps=3)
    assert code == 0
    assert not [e for e in of(events, "warning") if "config changed" in e["message"]]
    assert of(events, "run_started")[-1]["resumed_from"] == str(copy / "out" / "tiny-state")


def test_changed_fields_count_paths_from_the_project_folder():
    from loratui.engine.resume_check import changed_fields, other_changes, saved_project_dir

    saved = {"dataset": {"train_data_dir": "/data/p2/img"}, "saving": {"output_dir": "/data/p2/model"},
             "training": {"seed": 1}}
    moved = {"dataset": {"train_data_dir": "/mnt/p6/img"}, "saving": {"output_dir": "/mnt/p6/model"},
             "training": {"seed": 1}}
    base = saved_project_dir(saved, moved, "/mnt/p6")  # an older state: found from output_dir
    assert base == "/data/p2"
    assert changed_fields(saved, moved, saved_base=base, current_base="/mnt/p6") == []
    assert saved_project_dir(saved, moved, "/mnt/p6", "/x/y") == "/x/y"  # recorded in state.json
    other = {**moved, "dataset": {"train_data_dir": "/mnt/p6/img2"}, "training": {"seed": 2}}
    line = other_changes(saved, other, saved_base=base, current_base="/mnt/p6")
    assert 'dataset.train_data_dir "/data/p2/img" -> "/mnt/p6/img2"' in line and "training.seed 1 -> 2" in line


def test_an_event_after_the_last_epoch_says_the_last_epoch_not_the_next():
    """hunt9: a final save that failed on a full disk wrote "epoch": 3 for a 2-epoch run."""
    from types import SimpleNamespace

    from loratui.engine.run import Run

    run = SimpleNamespace(trainer=SimpleNamespace(epoch=3, data=SimpleNamespace(epochs=2)))
    assert Run._epoch_now(run) == 2
    run.trainer.epoch = 1
    assert Run._epoch_now(run) == 1
    assert Run._epoch_now(SimpleNamespace(trainer=None)) == 0
