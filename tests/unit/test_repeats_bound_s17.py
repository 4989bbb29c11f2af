"""A concept folder with more than 10,000 repeats: `train`, `config check` and `steps` all count it (as
sd-scripts trains it) with one line naming the folder, its repeats and the run's total steps; only a run
of over 10 million steps (in all or in one epoch) is refused, by all three alike."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fixtures.bad_inputs import make_project, write_png
from fixtures.cli_run import run_main
from loratui.cli import cli
from loratui.core.config import check_paths, field_spec, load_config
from loratui.core.errors import LoratuiError
from loratui.core.plan import MAX_TOTAL_STEPS, compute_schedule, epochs_for_target_steps, plan_epoch, scan_for_config


def _project(tmp_path, folder: str, extra: str = ""):
    config = make_project(tmp_path, extra=extra)  # 10_cat with 2 images, batch 1, 1 epoch
    write_png(tmp_path / "img" / folder / "a.png")
    return config


def _schedule(config):
    cfg = load_config(config)
    return compute_schedule(cfg, scan_for_config(cfg))


def test_the_bound_is_max_train_steps_own_limit():
    assert MAX_TOTAL_STEPS == field_spec("max_train_steps", "training").max == 10_000_000


def test_many_repeats_are_counted_with_one_line_naming_folder_repeats_and_total(tmp_path):
    config = _project(tmp_path, "20000_x")
    schedule = _schedule(config)
    assert schedule.total_steps == 20_020
    [line] = [n for n in schedule.notes if "20000_x" in n]
    assert "\n" not in line
    assert "train folder '20000_x' has 20,000 repeats" in line and "the run is 20,020 steps" in line
    assert "e.g. '10_x'" in line
    assert check_paths(load_config(config)) == []  # no longer refused at 10,000


def test_the_note_gives_the_max_train_steps_total_when_steps_bound_the_run(tmp_path):
    config = _project(tmp_path, "20000_x", extra="[training]\nmax_train_steps = 500")
    cfg = load_config(config)
    cfg.training.max_train_epochs = None
    schedule = compute_schedule(cfg, scan_for_config(cfg))
    assert schedule.total_steps == 500
    assert any("'20000_x' has 20,000 repeats" in n and "the run is 500 steps" in n for n in schedule.notes)


def test_ten_thousand_repeats_say_nothing(tmp_path):
    schedule = _schedule(_project(tmp_path, "10000_x"))
    assert not any("10000_x" in n for n in schedule.notes)


def test_a_run_over_ten_million_steps_is_refused_saying_how_to_lower_it(tmp_path):
    config = _project(tmp_path, "20000_x", extra="[training]\nmax_train_epochs = 600")
    with pytest.raises(LoratuiError) as caught:
        _schedule(config)
    message = str(caught.value)
    assert "\n" not in message
    assert "the run is 12,012,000 steps (600 epoch(s) x 20,020), over 10,000,000" in message
    assert "lower training.max_train_epochs or the repeats" in message
    assert "'20000_x' has 20,000 repeats x 1 image(s): rename it" in message


def test_exactly_ten_million_steps_trains(tmp_path):
    config = make_project(tmp_path, images=0, extra="[training]\nmax_train_epochs = 1000")
    write_png(tmp_path / "img" / "10000_x" / "a.png")  # 10,000 steps an epoch x 1,000 epochs
    schedule = _schedule(config)
    assert schedule.total_steps == MAX_TOTAL_STEPS
    cfg = load_config(config)
    cfg.training.max_train_epochs = 1001
    with pytest.raises(LoratuiError, match="10,010,000 steps"):
        compute_schedule(cfg, scan_for_config(cfg))


def test_an_epoch_over_ten_million_steps_is_refused_even_when_max_train_steps_stops_early(tmp_path):
    config = _project(tmp_path, "20000000_x", extra="[training]\nmax_train_steps = 100")
    cfg = load_config(config)
    cfg.training.max_train_epochs = None
    with pytest.raises(LoratuiError, match=r"one epoch is 20,000,020 steps .*lower the repeats .*'20000000_x'"):
        compute_schedule(cfg, scan_for_config(cfg))


def test_an_epoch_of_over_a_billion_samples_is_refused_whatever_the_batch(tmp_path):
    config = _project(tmp_path, "600000000_x", extra="[training]\ntrain_batch_size = 1024\n"
                                                      "gradient_accumulation_steps = 1024")
    write_png(tmp_path / "img" / "600000000_x" / "b.png")  # 1.2 billion samples: 1,145 steps
    with pytest.raises(LoratuiError, match=r"one epoch holds 1,200,000,020 samples \(over 1,000,000,000"):
        _schedule(config)


def test_the_target_steps_view_notes_the_folder_too(tmp_path):
    cfg = load_config(_project(tmp_path, "20000_x"))
    plan = plan_epoch(cfg, scan_for_config(cfg))
    target = epochs_for_target_steps(40_000, plan.steps_per_epoch)
    schedule = plan.with_epochs(target.epochs)
    assert any("'20000_x' has 20,000 repeats" in n and "the run is 40,040 steps" in n for n in schedule.notes)


def test_steps_config_check_and_train_agree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _project(tmp_path, "20000_x")
    runner = CliRunner()
    steps = runner.invoke(cli, ["steps", "c.toml", "--json"])
    assert steps.exit_code == 0, steps.output
    assert any("the run is 20,020 steps" in n for n in json.loads(steps.output)["notes"])
    check = runner.invoke(cli, ["config", "check", "c.toml"])
    assert check.exit_code == 0, check.output
    assert check.stdout.splitlines()[0] == "ok"
    warnings = [line for line in check.stderr.splitlines() if "'20000_x'" in line]
    assert len(warnings) == 1  # the scan's own line about it is not said a second time
    assert warnings[0].startswith("warning: train folder '20000_x' has 20,000 repeats")
    assert "the run is 20,020 steps" in warnings[0]


def test_an_absurd_run_is_refused_by_steps_check_and_train_before_the_ml_stack(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _project(tmp_path, "20000_x", extra="[training]\nmax_train_epochs = 600")
    words = "c.toml: the run is 12,012,000 steps"
    code, _, err = run_main(["steps", "c.toml"], capsys)
    assert code == 2 and err.startswith("error: " + words) and len(err.splitlines()) == 1
    code, out, _ = run_main(["config", "check", "c.toml"], capsys)
    assert code == 1 and out.startswith(words)
    code, _, err = run_main(["train", "c.toml"], capsys)
    assert code == 2 and err.startswith("error: " + words)
    assert not (tmp_path / "out" / "c.events.jsonl").exists()
    # --max-train-epochs as the run applies it: fewer epochs train (the fake model then stops the run later)
    from loratui.commands.train_cmd import _schedule_preflight

    cfg = load_config("c.toml")
    _schedule_preflight("c.toml", cfg, world=1, max_steps=None, max_epochs=10)
    _schedule_preflight("c.toml", cfg, world=1, max_steps=1000, max_epochs=None)
    with pytest.raises(LoratuiError, match="c.toml: the run is"):
        _schedule_preflight("c.toml", cfg, world=1, max_steps=None, max_epochs=None)
