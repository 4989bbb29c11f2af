"""Save / resume: a run stopped mid-epoch and resumed from its state ends with exactly the weights of an
uninterrupted run (CPU), with shuffled captions, flips, dropout, noise offset, accumulation and warmup."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from loratui.core.errors import LoratuiError
from test_train import make_project, of, run

OPTIONS = {
    "training.max_train_epochs": 4, "training.gradient_accumulation_steps": 2, "dataset.flip_aug": True,
    "dataset.shuffle_caption": True, "dataset.caption_tag_dropout_rate": 0.2, "network.network_dropout": 0.1,
    "training.noise_offset": 0.1, "optimizer.lr_scheduler": "cosine", "optimizer.lr_warmup_steps": 2,
    "saving.save_precision": "float",
}


def test_resume_is_identical_to_an_uninterrupted_run(tiny_sd1_dir, tmp_path, monkeypatch):
    from loratui.engine import run as run_module

    full = make_project(tmp_path / "full", tiny_sd1_dir, **OPTIONS)
    code, events = run(full)
    assert code == 0 and len(of(events, "step")) == 8

    # the same run, stopped after step 3 (the middle of epoch 2) as a signal would stop it
    parted = make_project(tmp_path / "parted", tiny_sd1_dir, **OPTIONS)
    on_step = run_module.Reporter.on_step

    def stop_at_3(self, tr, **kw):
        on_step(self, tr, **kw)
        if tr.step == 3:
            tr.stop_requested = True

    monkeypatch.setattr(run_module.Reporter, "on_step", stop_at_3)
    code, events = run(parted)
    monkeypatch.setattr(run_module.Reporter, "on_step", on_step)
    assert code == 0
    assert of(events, "finished")[-1]["reason"] == "stopped"
    state = tmp_path / "parted" / "out" / "tiny-state"
    assert (state / "state.json").is_file()
    assert {e["kind"] for e in of(events, "checkpoint_saved")} == {"step", "state"}

    code, events = run(parted, resume=str(state))
    assert code == 0
    resumed = of(events, "run_started")[-1]
    assert resumed["resumed_from"] == str(state)
    assert [e["step"] for e in of(events, "step")] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert of(events, "finished")[-1]["reason"] == "completed"
    a = load_file(str(tmp_path / "full" / "out" / "tiny.safetensors"))
    b = load_file(str(tmp_path / "parted" / "out" / "tiny.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_resume_from_a_folder_that_is_not_a_state(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir)
    with pytest.raises(LoratuiError, match="not a loratui state folder"):
        run(config, resume=str(tmp_path))


# ---- a kill during a save (issue 11) ------------------------------------------------------------

def _stopped_run(tiny_sd1_dir, root, monkeypatch, at=1):
    from loratui.engine import run as run_module

    config = make_project(root, tiny_sd1_dir, **{"training.max_train_epochs": 2})
    on_step = run_module.Reporter.on_step

    def stop(self, tr, **kw):
        on_step(self, tr, **kw)
        if tr.step == at:
            tr.stop_requested = True

    monkeypatch.setattr(run_module.Reporter, "on_step", stop)
    code, _ = run(config)
    monkeypatch.setattr(run_module.Reporter, "on_step", on_step)
    assert code == 0
    return config, root / "out" / "tiny-state"


def test_resume_after_a_kill_between_the_two_renames_of_a_state_save(tiny_sd1_dir, tmp_path, monkeypatch):
    import shutil

    config, state = _stopped_run(tiny_sd1_dir, tmp_path, monkeypatch)
    # what a SIGKILL between os.replace(folder, old) and os.replace(tmp, folder) leaves behind
    shutil.copytree(state, state.with_name("tiny-state.tmp"))
    state.rename(state.with_name("tiny-state.old"))
    code, events = run(config, resume=str(state))
    assert code == 0 and of(events, "finished")[-1]["reason"] == "completed"
    warnings = [e["message"] for e in of(events, "warning")]
    assert any(f"{state} is missing" in w and "resuming from tiny-state.tmp" in w for w in warnings), warnings
    assert of(events, "run_started")[-1]["resumed_from"] == str(state.with_name("tiny-state.tmp"))


def test_resume_falls_back_to_the_previous_state(tmp_path):
    from loratui.engine.state import find_resume_state

    old = tmp_path / "x-state.old"
    old.mkdir()
    for name in ("lora.safetensors", "optimizer.pt", "rng.pt"):
        (old / name).write_bytes(b"x")
    (old / "state.json").write_text('{"format": 1, "step": 3}')
    (tmp_path / "x-state.tmp").mkdir()  # a save killed while writing: no state.json yet
    path, note = find_resume_state(tmp_path / "x-state")
    assert path == old and "x-state.old, the previous state" in note
    assert find_resume_state(old) == (old, None)
    assert find_resume_state(tmp_path / "nothing") == (tmp_path / "nothing", None)  # read_state_info says why


def test_leftovers_of_our_own_naming_only(tmp_path):
    import os
    import time

    from loratui.engine.state import leftovers

    out = tmp_path / "out"
    out.mkdir()
    # mkstemp's shape: 8 random characters of [a-z0-9_]
    ours = [".tiny.safetensors.a1b2c3d4.tmp", ".tiny-000002.safetensors.x_y9k2m4.tmp",
            ".tiny-step00000500.safetensors.q0w9e8r_.tmp"]
    theirs = [".tinyother.safetensors.a1b2c3d4.tmp", ".other.safetensors.a1b2c3d4.tmp", "tiny.safetensors",
              "notes.tmp", ".tiny.safetensors.bak.tmp", ".tiny-000002.safetensors.A1B2C3D4.tmp"]
    for name in ours + theirs:
        (out / name).write_bytes(b"x" * 10)
    for name, complete in (("tiny-state", True), ("tiny-000002-state", False)):
        (out / name).mkdir()
        if complete:
            for f in ("lora.safetensors", "optimizer.pt", "rng.pt"):
                (out / name / f).write_bytes(b"x")
            (out / name / "state.json").write_text('{"format": 1}')
    (out / "tiny-state.old").mkdir()          # stale: tiny-state is complete
    (out / "tiny-000002-state.tmp").mkdir()   # incomplete itself: garbage
    keep = out / "tiny-000002-state.old"      # the only complete copy of tiny-000002-state: kept
    keep.mkdir()
    for f in ("lora.safetensors", "optimizer.pt", "rng.pt"):
        (keep / f).write_bytes(b"x")
    (keep / "state.json").write_text('{"format": 1}')
    concept = tmp_path / "img" / "2_x"
    concept.mkdir(parents=True)
    stale_caption = concept / ".a.txt.k2j3l4m5.tmp"
    fresh_caption = concept / ".b.txt.zzzz9999.tmp"
    users = concept / ".notes.txt.bak.tmp"  # a user's backup: not mkstemp's shape, never removed
    for path in (stale_caption, fresh_caption, concept / ".c.png.k2k2k2k2.tmp", users):
        path.write_text("x")
    past = time.time() - 3600
    # a killed run's: old (NAME-000002's temps wait min_age_s: a run named tiny-000002 writes the same names)
    for path in (stale_caption, concept / ".c.png.k2k2k2k2.tmp", users, *out.iterdir()):
        os.utime(path, (past, past))
    found = {p.name for p in leftovers(out, "tiny", [tmp_path / "img"], ".txt")}
    assert found == {*ours, "tiny-state.old", "tiny-000002-state.tmp", ".a.txt.k2j3l4m5.tmp"}


def test_a_run_removes_leftover_temp_files_at_start(tiny_sd1_dir, tmp_path, monkeypatch, capsys):
    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_epochs": 1})
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".tiny.safetensors.abcd1234.tmp"
    stale.write_bytes(b"\0" * 4096)  # a SIGKILL during a LoRA save leaves a full-size hidden temp file
    code, _ = run(config)
    assert code == 0 and not stale.exists()
    assert "removed 1 leftover temp file(s) of interrupted saves" in capsys.readouterr().err


def _set(config, **changes):
    """Rewrite "section.key" values of a project's config.toml."""
    from loratui.core.config import config_from_dict, config_to_dict, load_config, save_config

    data = config_to_dict(load_config(config))
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        data[section][key] = value
    save_config(config_from_dict(data), config)


def test_resume_refuses_a_changed_field_the_state_cannot_follow_before_loading(tiny_sd1_dir, tmp_path, monkeypatch):
    """optimizer / network / model changes fail at start-up in one line naming field, saved and current
    values and the ways out; epochs, saving and sampling may change (a note) (issue 12)."""
    from loratui.engine import models

    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_steps": 2})
    code, _ = run(config, save_state=True)
    state = tmp_path / "out" / "tiny-state"
    assert code == 0 and (state / "state.json").is_file()

    loads = []
    real_load = models.load_base_model
    monkeypatch.setattr(models, "load_base_model", lambda *a, **k: loads.append(1) or real_load(*a, **k))
    for field, value in (("optimizer.optimizer_type", "SGD"), ("network.network_dim", 8),
                         ("network.network_train_unet_only", True)):
        _set(config, **{field: value})
        with pytest.raises(LoratuiError) as err:
            run(config, resume=str(state))
        message = str(err.value)
        assert field in message and "set it back to" in message and "without --resume" in message
        assert ("network_weights" in message) == (field != "network.network_dim") and "\n" not in message
        _set(config, **{field: {"optimizer.optimizer_type": "AdamW", "network.network_dim": 4,
                                "network.network_train_unet_only": False}[field]})
    assert loads == []  # refused before any model was loaded

    _set(config, **{"training.max_train_epochs": 3, "training.max_train_steps": 4, "saving.save_every_n_steps": 3})
    monkeypatch.setattr(models, "load_base_model", real_load)
    r = __import__("loratui.engine.run", fromlist=["Run"]).Run(str(config), show_progress=False, resume=str(state))
    assert r.execute() == 0
    assert any("training.max_train_steps" in n and "saving.save_every_n_steps" in n for n in r.resume_notes)


def test_a_state_from_another_optimizer_is_one_line_not_a_keyerror(tiny_sd1_dir, tmp_path):
    """A state saved before configs were kept in it: the optimizer-state check still names the problem."""
    import json

    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_steps": 2, "optimizer.optimizer_type": "Lion"})
    code, _ = run(config, save_state=True)
    state = tmp_path / "out" / "tiny-state"
    info = json.loads((state / "state.json").read_text())
    info.pop("config")
    (state / "state.json").write_text(json.dumps(info))
    _set(config, **{"optimizer.optimizer_type": "AdamW", "training.max_train_steps": 3})
    with pytest.raises(LoratuiError, match="the saved optimizer state does not fit this run's optimizer AdamW"):
        run(config, resume=str(state), max_steps=9)  # the run trained 8 (its 2 epochs): one more to train


def test_resume_with_max_steps_saves_the_state_where_it_stopped(tiny_sd1_dir, tmp_path):
    """`--resume S --max-steps N` leaves a state at step N, so the run can be continued again."""
    import json

    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_steps": 6})
    code, _ = run(config, max_steps=2)
    state = tmp_path / "out" / "tiny-state"
    assert code == 0 and json.loads((state / "state.json").read_text())["step"] == 2
    code, _ = run(config, resume=str(state), max_steps=4)
    assert code == 0 and json.loads((state / "state.json").read_text())["step"] == 4
    code, events = run(config, resume=str(state))
    assert code == 0 and [e["step"] for e in of(events, "step")][-4:] == [5, 6, 7, 8]  # the config's 2 epochs
    # 2 + 2 + 4 steps end where 8 uninterrupted steps end: the step limit inside an epoch kept its place
    whole = make_project(tmp_path / "whole", tiny_sd1_dir, **{"training.max_train_steps": 6})
    assert run(whole)[0] == 0
    a, b = load_file(str(tmp_path / "out" / "tiny.safetensors")), load_file(str(tmp_path / "whole" / "out" / "tiny.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("damage", ["state.json", "optimizer.pt", "rng.pt"])
def test_a_damaged_state_file_is_one_line(tiny_sd1_dir, tmp_path, damage):
    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_steps": 1})
    code, _ = run(config, save_state=True)
    state = tmp_path / "out" / "tiny-state"
    target = state / damage
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2] if damage == "state.json" else b"PK\x03\x04" + bytes(64))
    with pytest.raises(LoratuiError, match=r"--resume: .* (is damaged|is not a loratui state)"):
        run(config, resume=str(state), max_steps=9)  # the run trained 8 (its 2 epochs): one more to train


def test_a_state_past_the_planned_steps_is_refused_before_anything_is_written(tiny_sd1_dir, tmp_path):
    """"step": 999999 in state.json said "completed: 999999 step(s)" and overwrote the final LoRA."""
    import json

    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_steps": 1})
    assert run(config, save_state=True)[0] == 0
    state = tmp_path / "out" / "tiny-state"
    info = json.loads((state / "state.json").read_text())
    info["step"] = 999999
    (state / "state.json").write_text(json.dumps(info))
    final = (tmp_path / "out" / "tiny.safetensors").read_bytes()
    with pytest.raises(LoratuiError, match=r"the state is at step 999,999, past the \d+ steps this config plans"):
        run(config, resume=str(state))
    assert (tmp_path / "out" / "tiny.safetensors").read_bytes() == final


def test_state_files_have_the_umask_mode(tiny_sd1_dir, tmp_path):
    """The state's lora.safetensors is 0644 like everything else a run writes (save_file made it 0600)."""
    import os

    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_steps": 1})
    old = os.umask(0o022)
    try:
        assert run(config, save_state=True)[0] == 0
    finally:
        os.umask(old)
    state = tmp_path / "out" / "tiny-state"
    assert {f.name: oct(f.stat().st_mode & 0o777) for f in state.iterdir()}["lora.safetensors"] == "0o644"
    assert oct((tmp_path / "out" / "tiny.safetensors").stat().st_mode & 0o777) == "0o644"


def test_resume_conflicts_of_a_moved_project_and_of_another_model():
    from loratui.engine.state import resume_conflicts

    saved = {"model": {"pretrained_model_name_or_path": "/data/p/m.safetensors"}, "training": {"max_train_epochs": 2}}
    moved = {"model": {"pretrained_model_name_or_path": "/mnt/p/m.safetensors"}, "training": {"max_train_epochs": 3}}
    errors, notes = resume_conflicts(saved, moved, state="s", lora="l")
    assert errors == [] and "training.max_train_epochs" in notes[0]
    other = {"model": {"pretrained_model_name_or_path": "/mnt/p/x.safetensors"}, "training": {"max_train_epochs": 2}}
    errors, _ = resume_conflicts(saved, other, state="s", lora="l")
    assert len(errors) == 1 and "model.pretrained_model_name_or_path" in errors[0]
    assert resume_conflicts(None, other, state="s", lora="l") == ([], [])


def test_a_new_run_over_the_last_ones_files_says_so(tiny_sd1_dir, tmp_path):
    """A fresh run on the same output_name replaced the last run's final LoRA and state without a word."""
    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_steps": 1})
    code, events = run(config, save_state=True)
    assert code == 0 and not [e for e in of(events, "warning") if "overwritten" in e["message"]]
    code, events = run(config)
    said = [e["message"] for e in of(events, "warning") if "a new run named tiny" in e["message"]]
    # f5: the last run's final moves aside with its state (it was overwritten when this run completed)
    assert code == 0 and said and "tiny.safetensors" in said[0] and "tiny-state" in said[0]
    assert "overwritten" not in said[0]
    (kept,) = (tmp_path / "out").glob("tiny-kept-*/tiny.safetensors")


def test_resuming_an_older_state_keeps_the_newer_final_lora_and_state(tiny_sd1_dir, tmp_path):
    """`--resume NAME-000001-state --max-steps 5` on a finished run replaced its final LoRA and state."""
    import json

    config = make_project(tmp_path, tiny_sd1_dir, **{"saving.save_every_n_epochs": 1})
    code, events = run(config, save_state=True)
    out = tmp_path / "out"
    last = of(events, "step")[-1]["step"]
    final = (out / "tiny.safetensors").read_bytes()
    early = out / "tiny-000001-state"
    first = json.loads((early / "state.json").read_text())["step"]
    assert code == 0 and first < last
    code, events = run(config, resume=str(early), max_steps=first + 1)
    assert code == 0
    kept = out / f"tiny-kept-step{last:08d}.safetensors"  # a name no step save writes or prunes
    assert kept.read_bytes() == final
    assert json.loads((out / f"tiny-kept-step{last:08d}-state" / "state.json").read_text())["step"] == last
    assert json.loads((out / "tiny-state" / "state.json").read_text())["step"] == first + 1
    warnings = [e["message"] for e in of(events, "warning")]
    assert any(f"kept as {kept.name}" in w for w in warnings), warnings
    # the same again (the run retrained to the end first): the second keep gets its own name
    assert run(config, resume=str(out / "tiny-state"))[0] == 0
    final = (out / "tiny.safetensors").read_bytes()
    assert run(config, resume=str(early), max_steps=first + 1)[0] == 0
    assert (out / f"tiny-kept-step{last:08d}-2.safetensors").read_bytes() == final
    assert (out / f"tiny-kept-step{last:08d}-2-state" / "state.json").is_file()
    assert kept.is_file()


def test_a_resume_note_shows_the_values_it_resumes_with():
    """After `train --max-steps 3`, a plain resume said "resuming with changed ..." of a config nobody
    changed: the note shows both values and says a --max-steps run counts."""
    from loratui.engine.state import resume_conflicts

    saved = {"training": {"max_train_steps": 3}}
    errors, notes = resume_conflicts(saved, {"training": {"max_train_epochs": 2}}, state="s", lora="l")
    assert errors == []
    assert notes == ["resuming with other values than the state was saved with (a --max-steps or "
                     "--max-train-epochs run counts): training.max_train_epochs unset -> 2, "
                     "training.max_train_steps 3 -> unset; allowed: they take effect from here"]
