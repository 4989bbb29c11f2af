"""User-test findings (hunt9): damaged event lines, odd events files in an output folder, `--events`
pointing at another run's history, and `loratui attach` off a terminal."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from loratui.core import events as ev
from loratui.core import runs


def _line(kind, **fields) -> str:
    return json.dumps(ev.make_event(kind, **fields))


def _finished_run(folder, name, *, newline=True):
    folder.mkdir(parents=True, exist_ok=True)
    lines = [_line("run_started", config=None, output_dir=str(folder), output_name=name, model={}, dataset={},
                   schedule={"total_steps": 2, "epochs": 1}, resumed_from=None, pid=1),
             *(_line("step", step=step, total_steps=2, epoch=1, loss=0.5, avg_loss=0.5, lr=1e-4, images_per_s=1.0,
                     eta_s=1.0) for step in (1, 2)),
             _line("finished", reason="completed", step=2, epoch=1, output=None, elapsed_s=3.0)]
    text = "\n".join(lines) + ("\n" if newline else "")
    ev.events_path(folder, name).write_text(text, encoding="utf-8")


# ---- 8: a well-formed JSON line with a missing or wrong-typed field ----------------------------------

DAMAGED = [
    '{"event": "finished", "reason": "completed", "step": "abc", "epoch": null}',
    '{"event": "finished"}',
    '{"event": "step", "step": 1, "total_steps": "x"}',
    '{"event": "step", "step": "abc", "total_steps": 4}',
    '{"event": "step", "step": 1, "total_steps": 4, "lr": "fast"}',
    '{"event": "checkpoint_saved", "path": "/o/x.safetensors", "kind": "epoch", "step": "2", "epoch": 1}',
    '{"event": "sample_saved", "paths": [1, 2], "step": 1, "epoch": 1}',
    '{"event": "run_started", "schedule": "soon"}',
    '{"event": "run_started", "schedule": {"total_steps": "many"}}',
    '{"event": "epoch_end", "epoch": 1}',
    '{"event": "warning", "message": "x", "time": "noon"}',
]


@pytest.mark.parametrize("line", DAMAGED)
def test_a_damaged_event_line_is_skipped_by_every_reader(line):
    assert ev.event_problem(json.loads(line)) is not None
    assert ev.parse_line(line) is None
    assert ev.parse_lines([line.encode()]) == []
    record = runs.RunRecord(".", "x")
    record.feed(json.loads(line))  # a direct feed skips it too
    assert record.events == 0 and record.step == 0


def test_events_without_the_fields_nobody_reads_still_count():
    """A step without total_steps (or with null) is still a step: total_steps falls back to the schedule."""
    for line in ('{"event": "step", "step": 1}', '{"event": "step", "step": 1, "total_steps": null}'):
        assert ev.parse_line(line) is not None
    record = runs.RunRecord(".", "x")
    record.feed({"event": "run_started", "schedule": {"total_steps": 9}})
    record.feed({"event": "step", "step": 3, "total_steps": None})
    assert (record.step, record.total_steps) == (3, 9)
    record = runs.RunRecord(".", "x")
    record.feed({"event": "run_started", "schedule": None, "config": None})
    assert record.total_steps is None and record.config is None


def test_one_damaged_file_does_not_hide_the_other_runs(tmp_path):
    from loratui.commands.attach_cmd import attach

    _finished_run(tmp_path, "good")
    ev.events_path(tmp_path, "bad").write_text(DAMAGED[0] + "\n", encoding="utf-8")
    ev.events_path(tmp_path, "half").write_text(
        ev.events_path(tmp_path, "good").read_text() + DAMAGED[2] + "\n" + DAMAGED[1] + "\n", encoding="utf-8")
    by_name = {r.name: r for r in runs.list_runs(tmp_path)}
    assert by_name["good"].describe() == "good: completed, step 2/2, epoch 1"
    assert by_name["half"].describe() == "half: completed, step 2/2, epoch 1"  # its good lines are read
    assert "no readable events in bad.events.jsonl" in by_name["bad"].describe()
    for args in ([str(tmp_path), "--list"], [str(tmp_path), "--list", "--run", "good"],
                 [str(tmp_path), "--list", "--json"]):
        result = CliRunner().invoke(attach, args)
        assert result.exit_code == 0 and result.exception is None, result.output
        assert "good" in result.output


# ---- 14: odd events files -------------------------------------------------------------------------------

def test_a_finished_run_that_lost_only_its_last_newline_is_finished(tmp_path):
    _finished_run(tmp_path, "r", newline=False)
    summary = runs.read_summary(tmp_path, "r")
    assert (summary.status, summary.reason, summary.step, summary.problem) == ("finished", "completed", 2, None)
    ev.events_path(tmp_path, "r").write_text(
        ev.events_path(tmp_path, "r").read_text() + '\n{"event": "step", "step": 3, "lo', encoding="utf-8")
    assert runs.read_summary(tmp_path, "r").step == 2  # a cut-off last line is still skipped


def test_empty_dangling_link_and_folder_events_files(tmp_path):
    from loratui.commands.attach_cmd import attach

    _finished_run(tmp_path, "good")
    ev.events_path(tmp_path, "empty").write_text("")
    (tmp_path / "gone.events.jsonl").symlink_to(tmp_path / "elsewhere" / "moved.jsonl")
    (tmp_path / "x.events.jsonl").mkdir()
    by_name = {r.name: r for r in runs.list_runs(tmp_path)}
    assert set(by_name) == {"good", "empty", "gone"}  # a folder named like an events file is no run
    assert by_name["empty"].describe() == "empty: no events yet: its events file is empty"
    gone = by_name["gone"].describe()
    assert "events file is gone" in gone and str(tmp_path / "elsewhere" / "moved.jsonl") in gone
    assert by_name["gone"].updated > 0  # the link's own time
    result = CliRunner().invoke(attach, [str(tmp_path), "--list"])
    assert result.exit_code == 0, result.output
    assert "good: completed" in result.output and "empty: no events yet" in result.output
    result = CliRunner().invoke(attach, [str(tmp_path), "--list", "--json"])
    problems = {json.loads(x)["name"]: json.loads(x)["problem"] for x in result.output.splitlines()}
    assert problems["good"] is None and "empty" in problems["empty"]


def test_an_events_file_that_cannot_be_read_is_named(tmp_path):
    (tmp_path / "x.events.jsonl").mkdir()
    summary = runs.read_summary(tmp_path, "x")  # asked by name (a live lock for it, say)
    assert summary.problem == "x.events.jsonl is a folder, not an events file"


def test_a_live_run_before_its_first_event_has_no_problem(tmp_path):
    import os

    ev.lock_path(tmp_path, "fresh").write_text(f"{os.getpid()}\n")
    (summary,) = runs.list_runs(tmp_path)
    assert summary.status == "live" and summary.problem is None
    ev.events_path(tmp_path, "fresh").write_text("")
    (summary,) = runs.list_runs(tmp_path)
    assert summary.describe().startswith("fresh: live (pid ")


# ---- 6: --events pointing at another run's history --------------------------------------------------------

def test_events_target_refuses_another_runs_history(tmp_path):
    model = tmp_path / "model"
    _finished_run(model, "loha")
    _finished_run(model, "lora")
    loha = ev.events_path(model, "loha")
    problem = ev.events_target_problem(loha, output_name="lora", output_dir=model)
    assert problem.startswith(f"--events {loha}: that is an events file of the run 'loha'")
    assert str(ev.events_path(model, "lora")) in problem and "\n" not in problem
    # not there yet, or rotated: still loha's name in lora's output folder
    assert "run 'other'" in ev.events_target_problem(model / "other.events.jsonl", output_name="lora", output_dir=model)
    assert "run 'loha'" in ev.events_target_problem(model / "loha.events.2.jsonl", output_name="lora",
                                                    output_dir=model)
    # elsewhere: the file's run_started names the run
    (tmp_path / "copy.jsonl").write_text(loha.read_text())
    problem = ev.events_target_problem(tmp_path / "copy.jsonl", output_name="lora", output_dir=model)
    assert "holds the events of the run 'loha', not of 'lora'" in problem
    assert "holds the events of the run 'loha'" in ev.events_target_problem(tmp_path / "copy.jsonl", output_name="lora")
    # what stays accepted
    assert ev.events_target_problem(ev.events_path(model, "lora"), output_name="lora", output_dir=model) is None
    ev.events_path(model, "lora").write_text(loha.read_text())  # its own file, whatever an earlier bug wrote there
    assert ev.events_target_problem(ev.events_path(model, "lora"), output_name="lora", output_dir=model) is None
    assert ev.events_target_problem(tmp_path / "copy.jsonl", output_name="loha", output_dir=model) is None
    assert ev.events_target_problem(tmp_path / "new.events.jsonl", output_name="lora", output_dir=model) is None
    assert ev.events_target_problem(loha) is None  # the old signature checks what it did
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_text('{"event": "finished"}\n')
    assert ev.events_target_problem(damaged, output_name="lora") is None  # an events file, damaged


def test_rotation_still_sees_a_damaged_step_as_a_step(tmp_path):
    path = tmp_path / "x.events.jsonl"
    path.write_text('{"event": "run_started"}\n{"event": "step", "step": "one"}\n')
    assert ev._has_step(path)


# ---- 19: attach off a terminal with one run ---------------------------------------------------------------

def test_attach_off_a_terminal_lists_then_says_how_to_open(tmp_path):
    from loratui.commands.attach_cmd import attach
    from loratui.core.errors import LoratuiError

    _finished_run(tmp_path / "out", "r")
    result = CliRunner().invoke(attach, [str(tmp_path / "out")])  # CliRunner: no terminal; the real run_app
    assert result.output.startswith("  1  r: completed, step 2/2")
    assert isinstance(result.exception, LoratuiError)
    message = str(result.exception)
    assert "no terminal" in message and "--run r" in message and "--list" in message and "\n" not in message
    assert "no terminal for the app" in CliRunner().invoke(attach, ["--help"]).output


def test_the_run_picker_names_an_events_file_problem_not_a_crash():
    from pathlib import Path

    from loratui.core.runs import RunSummary
    from loratui.tui.screens.run_picker import run_label

    odd = RunSummary(Path("/o"), "r", "crashed", None, None, 0, None, None, 0.0, None,
                     problem="no events yet: its events file is empty")
    assert run_label(odd).startswith("? NO EVENTS r")
    crashed = RunSummary(Path("/o"), "r", "crashed", None, None, 3, 10, 1, 0.0, None)
    assert run_label(crashed).startswith("✗ CRASHED r")
