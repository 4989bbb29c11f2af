"""User test s13/h7 of the Train screen lifecycle, fixed in f7 (no model): r on an extension stopped or
crashed part way asks for the extension's plan, a resume that is loading shows no numbers of the
session before it (and its elapsed time never goes back), a run killed by a signal says which and what
resumes it, and a refusal points at the error line, not at the Settings screen."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from loratui.core.events import make_event
from loratui.tui.services.followed_run import FollowedRun, RunCommand
from loratui.tui.services.run_endings import ended_words
from loratui.tui.services.run_following import RunFollowing
from loratui.tui.services.runs import RunService, session_plan
from loratui.tui.widgets.run_status import status_lines


def _config(folder: Path, epochs: int) -> Path:
    from loratui.core.config import TrainingConfig, config_to_dict, config_from_dict, save_config

    data = config_to_dict(TrainingConfig())
    data["training"]["max_train_epochs"] = epochs
    data["saving"].update(output_dir="out", output_name="x")
    path = folder / "config.toml"
    save_config(config_from_dict(data), path)
    return path


def _state(out: Path, step: int) -> Path:
    folder = out / "x-state"
    folder.mkdir(parents=True)
    (folder / "state.json").write_text(json.dumps({"format": 1, "step": step, "epoch": 3, "batches_done": 2,
                                                   "config": {"saving": {"output_name": "x"}}}))
    for name in ("lora.safetensors", "optimizer.pt", "rng.pt"):
        (folder / name).write_bytes(b"-")
    return folder


def _line(event: str, when: float, **fields) -> bytes:
    return (json.dumps({**make_event(event, **fields), "time": when}) + "\n").encode()


def _text(snapshot) -> str:
    return "".join(part for part, _ in status_lines(snapshot))


# ---- 1. r goes on to the end the extension planned -----------------------------------------------

def test_r_after_an_extension_asks_for_its_plan_only_where_the_config_plans_less(tmp_path):
    config = _config(tmp_path, 2)
    crashed = SimpleNamespace(total_steps=39, epochs=3, state_step=26, config=config)  # kill -9 at 28: state at 26
    assert session_plan(crashed) == {"max_epochs": 3}
    assert session_plan(SimpleNamespace(total_steps=39, epochs=3, state_step=28, config=config)) == {"max_epochs": 3}
    # a --max-steps session ending mid-epoch: its epochs do not say the config's steps, nothing is guessed
    assert session_plan(SimpleNamespace(total_steps=35, epochs=3, state_step=28, config=config)) == {}
    _config(tmp_path, 4)  # edited since: the config's plan (52) leaves steps to train, and wins
    assert session_plan(crashed) == {}
    assert session_plan(SimpleNamespace(total_steps=39, epochs=3, state_step=39, config=config)) == {}  # done
    assert session_plan(SimpleNamespace(total_steps=39, epochs=3, state_step=None, config=config)) == {}
    command = RunService(app=None).command(config, resume=tmp_path / "out" / "x-state", max_epochs=3)
    assert command.display.endswith(f"--resume {tmp_path / 'out' / 'x-state'} --max-train-epochs 3")


# ---- 3. a resume that loads shows no numbers of the session before it --------------------------------

def test_a_resume_loading_is_starting_with_the_states_step_and_no_old_numbers(tmp_path):
    out = tmp_path / "out"
    state = _state(out, 7)
    run = FollowedRun(out, "x")
    old = [_line("run_started", 1000.0, config="/p/c.toml", output_dir=str(out), output_name="x", model={},
                 dataset={}, schedule={"total_steps": 78, "epochs": 6}, resumed_from=None, pid=111)]
    old += [_line("step", 1000.0 + s * 10, step=s, total_steps=78, epoch=1, loss=0.5, avg_loss=0.5, lr=1e-3,
                  images_per_s=2.0, eta_s=900.0) for s in range(1, 10)]
    run.feed(old)  # killed at step 9; its state is at step 7
    run.command = RunCommand(("loratui", "train", "c.toml", "--resume", str(state)), "", 1, out, "x", tmp_path)
    assert RunFollowing._status(run, 222) == "starting"  # the new process has written nothing yet
    run.status = "starting"
    before = run.snapshot(222)
    assert (before.step, before.total_steps, before.eta_s, before.loss, before.epoch) == (7, None, None, None, None)
    shown = _text(before)
    assert "STARTING" in shown and "LIVE" not in shown and "ETA" not in shown
    assert "resuming from step 7: loading the model and the dataset" in shown and "step 9" not in shown
    assert before.elapsed_s == 90.0  # its last event, not the clock since the dead session began

    run.feed([_line("run_started", 1500.0, config="/p/c.toml", output_dir=str(out), output_name="x", model={},
                    dataset={}, schedule={"total_steps": 26, "epochs": 2}, resumed_from=str(state), pid=222,
                    launched_at=1490.0)])
    assert RunFollowing._status(run, 222) == "starting"  # caching: still no step of this session
    loading = run.snapshot(222)
    assert (loading.step, loading.total_steps, loading.eta_s) == (7, 26, None)
    assert loading.elapsed_s >= before.elapsed_s  # never back
    run.feed([_line("step", 1510.0, step=8, total_steps=26, epoch=1, loss=0.4, avg_loss=0.4, lr=1e-3,
                    images_per_s=2.0, eta_s=60.0)])
    assert RunFollowing._status(run, 222) == "live"
    run.status = "live"
    assert run.snapshot(222).step == 8 and "● LIVE" in _text(run.snapshot(222))


# ---- 4. a signal named, and what resumes it ------------------------------------------------------------

def test_a_run_killed_by_a_signal_says_which_and_what_resumes_it(tmp_path):
    out = tmp_path / "out"
    _state(out, 7)
    run = FollowedRun(out, "x")
    run.feed([_line("run_started", 1000.0, config="/p/c.toml", output_dir=str(out), output_name="x", model={},
                    dataset={}, schedule={"total_steps": 78, "epochs": 6}, resumed_from=None, pid=111)])
    run.exit_code = -9
    line = RunFollowing._crash_line(run)
    assert line == ("x: gone without finishing: killed by signal 9 (SIGKILL: kill -9, or the OOM killer when the "
                    "machine ran out of memory); r resumes from step 7")
    run.exit_code = None  # launched by another app or a shell: no exit status to read
    line = RunFollowing._crash_line(run)
    assert "its process (pid 111) ended without a word in its events: killed (kill -9, or the OOM killer" in line
    assert "r resumes from step 7; " in line
    assert ended_words(-15).startswith("killed by signal 15 (SIGTERM") and ended_words(1) == "exited with code 1"
    crashed = SimpleNamespace(status="crashed", reason=None, name="x", step=9, total_steps=78, epoch=1, epochs=6,
                              loss=0.5, avg_loss=0.5, lr=1e-3, images_per_s=2.0, eta_s=None, elapsed_s=9,
                              peak_vram_gib=None, vram_estimate_gib=None, pid=None, caching=None, device="cpu",
                              checkpoints=(), log_tail=("step 9",), state_step=7, ended_by=ended_words(-9))
    assert "✗ CRASHED x" in _text(crashed) and "killed by signal 9 (SIGKILL" in _text(crashed)
    assert _text(crashed).endswith("r resumes from step 7")


def test_a_refusal_points_at_the_error_line_not_the_settings_screen():
    refused = SimpleNamespace(status="refused", reason=None, name="x", step=28, total_steps=39, epoch=3, epochs=3,
                              loss=None, avg_loss=None, lr=None, images_per_s=None, eta_s=None, elapsed_s=9,
                              peak_vram_gib=None, vram_estimate_gib=None, pid=None, caching=None, device="cpu",
                              checkpoints=())
    shown = _text(refused)
    assert "3: Settings" not in shown and "refused to start: why is under this line" in shown
