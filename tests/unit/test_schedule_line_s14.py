"""The engine's schedule line: a run bounded by max_train_steps never reads as a whole epoch's steps
(h5 item 6: 'training 12 steps (1 epoch(s) x 60)' on a 12-step run)."""

from __future__ import annotations

from loratui.engine.schedule_line import schedule_line


def test_whole_epochs_say_epochs_times_steps():
    assert schedule_line(26, 2, 13, "cpu") == "training 26 steps (2 epoch(s) x 13) on cpu"


def test_steps_bound_inside_the_first_epoch_names_max_train_steps():
    line = schedule_line(12, 1, 60, "cpu")
    assert line == "training 12 steps (max_train_steps; an epoch is 60 steps) on cpu"
    assert "x 60" not in line


def test_steps_bound_across_epochs_says_where_the_last_is_cut():
    assert schedule_line(100, 2, 60, "cuda:0") == ("training 100 steps (max_train_steps; an epoch is 60 steps: "
                                                   "2 epoch(s), the last cut at 40) on cuda:0")


def test_steps_ending_on_an_epoch_boundary_read_as_whole_epochs():
    assert schedule_line(120, 2, 60, "cpu") == "training 120 steps (2 epoch(s) x 60) on cpu"


def test_run_py_uses_it():
    """engine/run.py says the line through schedule_line (read as text: importing run.py pulls in torch)."""
    from pathlib import Path

    import loratui.engine.schedule_line as module

    run_py = Path(module.__file__).with_name("run.py").read_text(encoding="utf-8")
    assert "self.say(schedule_line(data.total_steps, data.epochs, data.steps_per_epoch, device))" in run_py
