"""A run that max_train_steps stops inside its first epoch says so in its schedule line (engine/run.py uses
schedule_line): it never reads as a whole epoch's steps (h5 item 6). A behavioural check of the real run."""

from __future__ import annotations

from test_train import make_project, of, run


def test_a_run_cut_inside_its_first_epoch_names_max_train_steps(tiny_sd1_dir, tmp_path, capsys):
    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_epochs": None,
                                                     "training.max_train_steps": 2})
    code, events = run(config)
    assert code == 0
    schedule = of(events, "run_started")[0]["schedule"]
    assert schedule["total_steps"] == 2 and schedule["steps_per_epoch"] > 2  # the cut is inside the epoch
    said = [line for line in capsys.readouterr().err.splitlines() if line.startswith("training ")]
    assert said == [f"training 2 steps (max_train_steps; an epoch is {schedule['steps_per_epoch']} steps) on cpu"]
