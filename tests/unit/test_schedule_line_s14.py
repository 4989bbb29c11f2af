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


def test_a_limit_from_the_command_line_is_named_as_given():
    assert schedule_line(12, 1, 60, "cpu", limit="--max-steps") == \
        "training 12 steps (--max-steps; an epoch is 60 steps) on cpu"
