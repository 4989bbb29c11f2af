"""`loratui attach` takes what a new user types (h5 item 1): a project folder (`attach mochi`, `attach .`),
a dataset or concept folder in it, or the config .toml, besides the output folder itself; where it finds
no run it names the folders it looked in."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from loratui.commands.attach_cmd import attach
from loratui.core.errors import LoratuiError
from loratui.core.config import TrainingConfig, save_config
from loratui.core.events import events_path, make_event


def _project(root, *, output_dir="model", name="mochi", runs=True):
    """root/img/10_mochi, root/mochi.toml (output_dir ``output_dir``), and a finished run there."""
    (root / "img" / "10_mochi").mkdir(parents=True)
    cfg = TrainingConfig()
    cfg.dataset.train_data_dir = "img"
    cfg.saving.output_dir = output_dir
    cfg.saving.output_name = name
    save_config(cfg, root / f"{name}.toml")
    out = root / output_dir
    out.mkdir(parents=True, exist_ok=True)
    if runs:
        events = [make_event("run_started", config=str(root / f"{name}.toml"), output_dir=str(out),
                             output_name=name, model={}, dataset={}, schedule={"total_steps": 12, "epochs": 1},
                             resumed_from=None, pid=1),
                  make_event("finished", reason="completed", step=12, epoch=1, output=None)]
        events_path(out, name).write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return out


def _list(*args):
    return CliRunner().invoke(attach, [*map(str, args), "--list"])


def _refusal(result) -> str:
    """The LoratuiError's line (cli.main prints it as `error: ...`, exit 2)."""
    assert isinstance(result.exception, LoratuiError), result.output
    return str(result.exception)


def _listed(result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("  1  ")]


@pytest.mark.parametrize("where", [".", "img", "img/10_mochi", "mochi.toml", "model"])
def test_the_project_its_folders_and_its_config_list_the_run(tmp_path, monkeypatch, where):
    _project(tmp_path / "mochi")
    monkeypatch.chdir(tmp_path / "mochi")
    result = _list(where)
    assert result.exit_code == 0, result.output
    assert _listed(result) and "mochi: completed, step 12/12" in _listed(result)[0]


def test_a_project_folder_says_where_its_runs_are(tmp_path, monkeypatch):
    _project(tmp_path / "mochi")
    monkeypatch.chdir(tmp_path)
    result = _list("mochi")
    assert result.exit_code == 0, result.output
    assert "note: runs of mochi are in mochi/model (`loratui attach mochi/model` opens them directly)" in \
        result.stderr.splitlines()
    json_result = CliRunner().invoke(attach, ["mochi", "--list", "--json"])
    assert json.loads(json_result.stdout)["name"] == "mochi"  # the note stays off stdout


def test_a_config_uses_its_own_output_dir(tmp_path, monkeypatch):
    out = _project(tmp_path / "proj", output_dir="../runs/out")  # not model/: only the config knows it
    monkeypatch.chdir(tmp_path)
    assert out.resolve() == (tmp_path / "runs" / "out").resolve()
    for where in ("proj/mochi.toml", "proj"):
        result = _list(where)
        assert result.exit_code == 0, result.output
        assert "mochi: completed" in _listed(result)[0]


def test_a_config_without_runs_names_its_output_dir(tmp_path, monkeypatch):
    _project(tmp_path / "mochi", runs=False)
    monkeypatch.chdir(tmp_path)
    result = _list("mochi/mochi.toml")
    assert _refusal(result) == ("mochi/mochi.toml: no runs in its output_dir mochi/model yet (no NAME.events.jsonl): "
                                "start one with `loratui train mochi/mochi.toml`")


def test_a_project_without_runs_names_the_folders_looked_in(tmp_path, monkeypatch):
    _project(tmp_path / "mochi", runs=False)
    monkeypatch.chdir(tmp_path)
    result = _list("mochi")
    assert _refusal(result) == ("mochi: no runs here nor in mochi/model (no NAME.events.jsonl): start one with "
                                "`loratui train CONFIG`")


def test_runs_in_two_folders_are_named_not_guessed(tmp_path, monkeypatch):
    root = tmp_path / "mochi"
    _project(root)
    second = TrainingConfig()
    second.dataset.train_data_dir = "img"
    second.saving.output_dir, second.saving.output_name = "out2", "other"
    save_config(second, root / "other.toml")
    (root / "out2").mkdir()
    (root / "out2" / "other.events.jsonl").write_text((root / "model" / "mochi.events.jsonl").read_text())
    monkeypatch.chdir(tmp_path)
    result = _list("mochi")
    assert _refusal(result) == "mochi: runs in 2 folders (mochi/model, mochi/out2): give one of them: " \
                               "`loratui attach FOLDER`"


def test_other_files_and_missing_paths_say_what_to_give(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    for where, what in (("notes.txt", "not a folder or a config .toml"), ("nothere", "no such folder or config")):
        result = _list(where)
        assert _refusal(result).startswith(f"{where}: {what}: give the output_dir of a config")


def test_opening_from_a_config_hands_the_app_that_output_folder(tmp_path, monkeypatch):
    from loratui.tui import launch

    out = _project(tmp_path / "mochi")
    opened = []
    monkeypatch.setattr(launch, "run_app", lambda target, **kw: opened.append((target, kw)))
    result = CliRunner().invoke(attach, [str(tmp_path / "mochi" / "mochi.toml"), "--run", "mochi"])
    assert result.exit_code == 0, result.output
    assert opened == [(tmp_path / "mochi" / "mochi.toml", {"attach": out, "attach_run": "mochi", "attach_earlier": 0})]
