"""`--events PATH` next to the run's own events file: a rotated name (NAME.events.N.jsonl) or a control
file is refused in one line that says which names work; other names stay accepted."""

from __future__ import annotations

from loratui.core import events as ev


def test_the_runs_own_rotated_name_is_refused_naming_what_works(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    ev.events_path(out, "tiny").write_text("")
    for name in ("tiny.events.1.jsonl", "tiny.events.7.jsonl"):
        problem = ev.events_target_problem(out / name, output_name="tiny", output_dir=out)
        assert problem is not None and "\n" not in problem
        assert f"--events {out / name}: {name} is where the output's earlier events files are moved aside" in problem
        assert "`loratui attach` and the app would not follow this run" in problem
        assert f"this run's own file is {ev.events_path(out, 'tiny')}" in problem and "any other .jsonl" in problem
    # the same name in another folder is no rotation target: accepted
    (tmp_path / "mine").mkdir()
    assert ev.events_target_problem(tmp_path / "mine" / "tiny.events.1.jsonl", output_name="tiny",
                                    output_dir=out) is None


def test_a_control_file_is_refused_and_ordinary_names_are_accepted(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for owner in ("tiny", "other"):
        problem = ev.events_target_problem(ev.control_path(out, owner), output_name="tiny", output_dir=out)
        assert "is a run's control file" in problem and "\n" not in problem
    assert ev.events_target_problem(ev.events_path(out, "tiny"), output_name="tiny", output_dir=out) is None
    assert ev.events_target_problem(out / "tiny-extra.jsonl", output_name="tiny", output_dir=out) is None
    assert ev.events_target_problem(tmp_path / "tiny.control.jsonl", output_name="tiny", output_dir=out) is None
    assert ev.events_target_problem(out / "tiny.events.1.jsonl") is None  # without the run's name: as before
