"""Review findings on `loratui train` (tiny model, CPU): network_weights among the last run's files is
never lost, a learning rate to or from 0 is refused before a model loads, --resume of a path that is
no state folder is one line, a full disk names what was being written and its real size, and the
final LoRA always gets NAME.safetensors. The project: 4 images x 2 repeats, batch 2: 4 steps an epoch."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import pytest

from loratui.core.errors import LoratuiError
from test_resume_hunt9 import _cli, _files, _meta, _no_model_load, _set
from test_train import make_project, of, run


def _loaded_weights(monkeypatch) -> list[Path]:
    """The network_weights files the runs read, in order (each loaded as it was when read)."""
    from loratui.engine import network

    read, real = [], network.read_lora_file
    monkeypatch.setattr(network, "read_lora_file", lambda path: read.append((Path(path), Path(path).read_bytes()))
                        or real(path))
    return read


def _kept_folder(out: Path) -> Path:
    folders = [p for p in out.iterdir() if p.name.startswith("tiny-kept-") and p.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


# ---- 1. network_weights among what a fresh run overwrites or moves: loaded, and kept ------------------

def test_network_weights_on_the_last_final_is_loaded_kept_and_the_new_final_takes_the_name(
        tiny_sd1_dir, tmp_path, monkeypatch):
    config = make_project(tmp_path, tiny_sd1_dir)
    out = tmp_path / "out"
    assert run(config, max_epochs=1)[0] == 0
    a_final = (out / "tiny.safetensors").read_bytes()
    _set(config, **{"network.network_weights": "out/tiny.safetensors"})
    read = _loaded_weights(monkeypatch)
    code, events = run(config, max_epochs=1)
    assert code == 0
    kept = _kept_folder(out) / "tiny.safetensors"
    assert kept.read_bytes() == a_final  # the starting LoRA is never lost
    assert read == [(out / "tiny.safetensors", a_final)]  # the run started from it (read before it was kept)
    # 6. the new final gets the usual name, and the finished event names the file written
    assert (out / "tiny.safetensors").read_bytes() != a_final
    finished = of(events, "finished")[-1]
    assert finished["reason"] == "completed" and finished["output"] == str(out / "tiny.safetensors")
    assert _meta(out / "tiny.safetensors")["ss_training_started_at"] != _meta(kept)["ss_training_started_at"]
    warning = next(e["message"] for e in of(events, "warning") if "network_weights" in e["message"])
    assert f"final LoRA, which this run overwrites when it completes: this run loaded it, and a copy is kept as " \
           f"{kept} (" in warning and "starts from it" not in warning  # it loads the original, not the copy
    assert "\n" not in warning


@pytest.mark.parametrize("where", ["tiny-state/lora.safetensors", "tiny-000001.safetensors"])
def test_network_weights_inside_the_last_runs_state_or_saves_moves_with_them_and_is_loaded(
        tiny_sd1_dir, tmp_path, monkeypatch, where):
    config = make_project(tmp_path, tiny_sd1_dir, **{"saving.save_every_n_epochs": 1,
                                                      "training.max_train_epochs": 2})
    out = tmp_path / "out"
    assert run(config, save_state=True)[0] == 0  # tiny-000001 (+ -state), final, tiny-state
    original = (out / where).read_bytes()
    _set(config, **{"network.network_weights": f"out/{where}"})
    read = _loaded_weights(monkeypatch)
    code, events = run(config, save_state=True)  # writes tiny-000001 and tiny-state anew
    assert code == 0
    moved = _kept_folder(out) / where
    assert moved.read_bytes() == original and read == [(out / where, original)]  # read, then moved aside
    assert (out / where).read_bytes() != original  # this run's own save
    warning = next(e["message"] for e in of(events, "warning") if "network_weights" in e["message"])
    assert f"this run loaded it, then it moved with them to {moved} (point" in warning


# ---- 3. a learning rate to or from 0: refused before a model loads ---------------------------------

@pytest.mark.parametrize("field, value, shown", [("optimizer.unet_lr", 0.0, "optimizer.unet_lr unset -> 0.0"),
                                                 ("optimizer.text_encoder_lr", 0.0,
                                                  "optimizer.text_encoder_lr unset -> 0.0")])
def test_a_learning_rate_set_to_0_since_the_save_is_refused_before_loading(
        tiny_sd1_dir, tmp_path, monkeypatch, capsys, field, value, shown):
    config = make_project(tmp_path, tiny_sd1_dir)
    out = tmp_path / "out"
    assert run(config, max_steps=2)[0] == 0
    _set(config, **{field: value})
    before = _files(out)
    loads = _no_model_load(monkeypatch)
    with pytest.raises(LoratuiError) as err:
        run(config, resume=str(out / "tiny-state"), max_steps=3)
    message = str(err.value)
    assert shown in message and "freezes the" in message and f"remove {field} again" in message
    assert "start a new run without --resume" in message and "\n" not in message
    code, said = _cli(capsys, config, "--resume", out / "tiny-state", "--max-steps", "3")
    assert code == 2 and shown in said and len(said.strip().splitlines()) == 1
    assert loads == [] and _files(out) == before


# ---- 4. --resume of a path that is no state folder: one line ------------------------------------------

def test_resume_of_what_is_no_state_folder_is_one_line_listing_the_states(tiny_sd1_dir, tmp_path, monkeypatch,
                                                                          capsys):
    config = make_project(tmp_path, tiny_sd1_dir)
    assert run(config, max_steps=2)[0] == 0
    monkeypatch.chdir(tmp_path)
    for path, what in ((".", f". ({tmp_path}) is not a loratui state folder"), ("out", "out is not a loratui state"),
                       ("config.toml", "config.toml is a file, not a loratui state folder"),
                       ("/", "/ is not a loratui state folder"), ("nope-state", "nope-state does not exist")):
        code, said = _cli(capsys, "config.toml", "--resume", path)
        assert code == 2 and "Traceback" not in said and len(said.strip().splitlines()) == 1, said
        assert said.startswith(f"error: --resume: {what}") and "out/tiny-state" in said, said


# ---- 5. a full disk during a save names what was being written and its real size --------------------------

def _size_said(message: str) -> float:
    number, unit = re.search(r"needs about ([\d.]+) (bytes|KB|MB|GB)", message).groups()
    return float(number) * {"bytes": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9}[unit]


def test_a_full_disk_during_a_state_save_names_the_folder_and_its_real_size(tiny_sd1_dir, tmp_path, monkeypatch):
    from loratui.engine import state

    config = make_project(tmp_path, tiny_sd1_dir)
    out = tmp_path / "out"
    assert run(config, max_steps=2)[0] == 0
    written = sum(p.stat().st_size for p in (out / "tiny-state").iterdir())

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(state, "save_state", full)
    code, events = run(config, resume=str(out / "tiny-state"), max_steps=3)
    assert code == 1
    error = of(events, "error")[-1]
    assert error["kind"] == "disk_full" and f"writing {out / 'tiny-state'}:" in error["message"]
    assert "the training state needs about" in error["message"]
    assert 0.5 * written < _size_said(error["message"]) <= written  # its tensors: not a made-up 1 MB


def test_a_full_disk_during_a_lora_save_names_the_file_and_its_real_size(tiny_sd1_dir, tmp_path, monkeypatch):
    from loratui.engine import network

    config = make_project(tmp_path, tiny_sd1_dir)
    out = tmp_path / "out"
    assert run(config, max_steps=1)[0] == 0
    written = (out / "tiny.safetensors").stat().st_size

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(network, "save_lora", full)
    code, events = run(config, max_steps=1)
    assert code == 1
    message = of(events, "error")[-1]["message"]
    assert f"writing {out / 'tiny.safetensors'}:" in message and "the LoRA needs about" in message
    assert 0.7 * written < _size_said(message) < 1.3 * written
